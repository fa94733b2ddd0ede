#!/usr/bin/python3
"""Draws the convergence picture of an `nvmm fit` from the history stored in its model file.

Usage: scripts/plot_history.py MODEL.h5 OUT.png [--tol X]

Two panels, as in the batch-EM tutorial: left, "Log-likelihood ascent" (the mean log-likelihood
per row after each EM iteration, /history/loglik); right, "Parameter change" (the hybrid RMS
parameter change the fit stops on, /history/param_change) on a log scale, with the stopping
tolerance as a dashed grey line labelled tol. EM never lowers the likelihood, so the left curve
should rise and flatten; the right one should fall and cross the tol line at the last iteration
of a converged fit. Under SQUAREM (the default) the updates that were extrapolations are marked
with green triangles and the rejected ones (the fit went back to the plain EM iterate; the
curve dips there) with red crosses, from the accel_step and accel_reject counters.

The tolerance comes from the fit's own record: the "tol" member of the JSON object in the /meta
config_text attribute (`nvmm fit` stores there its effective configuration, every key; files of
versions before the JSON record hold `key = value` lines, read too). A file without it (one not
written by `nvmm fit`) takes --tol X, and without it the line is left out. When the file and --tol disagree, the file
wins and a note says so on stderr.

Needs /usr/bin/python3 with Debian's python3-h5py and python3-matplotlib (scripts/deps.sh).
Exits 0 on success, 1 when the model file is missing, unreadable or has no usable /history, and
2 on a usage error.
"""
import argparse
import json
import math
import os
import sys

try:
    import h5py
    import matplotlib

    matplotlib.use("Agg")  # no display: must come before pyplot is imported
    import matplotlib.pyplot as plt
    import numpy as np
except ImportError as _e:
    sys.exit(f"plot_history: error: {_e}; install python3-h5py and python3-matplotlib "
             "(scripts/deps.sh) and run with /usr/bin/python3")

PROG = "plot_history"


class PlotError(Exception):
    """A problem with the input file, reported as one line and exit status 1."""


def as_str(v):
    """An HDF5 string attribute as str (h5py gives str for UTF-8, bytes for ASCII)."""
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def tol_from_config(text):
    """The tol of a stored configuration (a JSON object; or, from versions before it, the last
    `tol = X` line), or None when there is none."""
    try:
        cfg = json.loads(text)
    except ValueError:
        cfg = None
    if isinstance(cfg, dict):
        tol = cfg.get("tol")
        return float(tol) if isinstance(tol, (int, float)) else None
    tol = None
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "tol":
            try:
                tol = float(value.strip())
            except ValueError:
                print(f"{PROG}: note: ignoring unparsable 'tol = {value.strip()}' in /meta "
                      "config_text", file=sys.stderr)
    return tol


def read_counters(h, n):
    """{name: per-iteration array} from /history/counters and its 'names', or {} when the file
    has none (written before the counters were named)."""
    if "counters" not in h or "names" not in h["counters"].attrs:
        return {}
    c = np.asarray(h["counters"][...], dtype=float)
    names = [as_str(x) for x in h["counters"].attrs["names"]]
    if c.ndim != 2 or c.shape[0] != n or c.shape[1] != len(names):
        return {}
    return {name: c[:, k] for k, name in enumerate(names)}


def read_history(path):
    """(loglik, param_change, meta) from a model file; meta holds the /meta attributes, if any,
    plus the root's 'family' attribute. Raises PlotError with a message naming the file."""
    if not os.path.exists(path):
        raise PlotError(f"'{path}': no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise PlotError(f"'{path}' is not a readable HDF5 file ({e})") from None
    with f:
        if "history" not in f or not isinstance(f["history"], h5py.Group):
            what = "an nvmm data file" if "X" in f else "a file"
            raise PlotError(f"'{path}' has no /history group ({what}, not a model written by "
                            "`nvmm fit`)")
        h = f["history"]
        for name in ("loglik", "param_change"):
            if name not in h or not isinstance(h[name], h5py.Dataset):
                raise PlotError(f"'{path}': /history has no dataset '{name}'")
        loglik = np.asarray(h["loglik"][...], dtype=float).ravel()
        change = np.asarray(h["param_change"][...], dtype=float).ravel()
        if loglik.size != change.size:
            raise PlotError(f"'{path}': /history/loglik has {loglik.size} entries but "
                            f"/history/param_change has {change.size}")
        if loglik.size == 0:
            raise PlotError(f"'{path}': /history is empty (the fit ran no iterations)")
        meta = {"counters": read_counters(h, loglik.size)}
        if "meta" in f:
            for k, v in f["meta"].attrs.items():
                meta[k] = as_str(v) if isinstance(v, (bytes, str)) else v
        if "family" in f.attrs:
            meta["family"] = as_str(f.attrs["family"])
    return loglik, change, meta


def choose_tol(meta, cli_tol):
    """The tolerance to draw and where it came from, or (None, None)."""
    file_tol = tol_from_config(meta["config_text"]) if "config_text" in meta else None
    if file_tol is not None:
        if cli_tol is not None and not math.isclose(cli_tol, file_tol, rel_tol=1e-12):
            print(f"{PROG}: note: the file's tol = {file_tol:g} is drawn, not --tol {cli_tol:g}",
                  file=sys.stderr)
        return file_tol, "file"
    if cli_tol is not None:
        return cli_tol, "--tol"
    if "config_text" in meta:
        print(f"{PROG}: note: the fit ran at the default tolerance, which the file does not "
              "record; pass --tol X to draw the line", file=sys.stderr)
    return None, None


def plot(loglik, change, meta, tol, out):
    it = np.arange(1, loglik.size + 1)
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(12, 4.4))

    a0.plot(it, loglik)
    # SQUAREM: the updates that were extrapolations, and those whose extrapolation was rejected
    # (the fit went back to the plain EM iterate). Nothing to mark for plain EM.
    cnt = meta.get("counters", {})
    marks = [(cnt.get("accel_step"), "^", "C2", "extrapolation"),
             (cnt.get("accel_reject"), "x", "C3", "rejected extrapolation")]
    pc = np.where(np.isfinite(change) & (change > 0), change, np.nan)
    for c, marker, color, label in marks:
        if c is not None and np.any(c > 0):
            sel = c > 0
            a0.plot(it[sel], loglik[sel], marker, color=color, ls="none", label=label)
            a1.plot(it[sel], pc[sel], marker, color=color, ls="none", label=label)
    if any(c is not None and np.any(c > 0) for c, *_ in marks):
        a0.legend()
    a0.set_xlabel("iteration")
    a0.set_ylabel("mean log-likelihood")
    a0.set_title("Log-likelihood ascent")

    # Zero or non-finite changes have no place on a log axis: leave gaps rather than fail.
    a1.semilogy(it, pc)
    if tol is not None and tol > 0:
        a1.axhline(tol, color="0.5", ls="--", lw=1, label="tol")
    if a1.get_legend_handles_labels()[0]:
        a1.legend()
    a1.set_xlabel("iteration")
    a1.set_ylabel("parameter change (hybrid RMS)")
    a1.set_title("Parameter change")

    bits = [meta.get("family", "").upper() or "nvmm fit"]
    if "n" in meta:
        bits.append(f"n = {int(meta['n'])}")
    if "ranks" in meta:
        bits.append(f"{int(meta['ranks'])} ranks")
    bits.append(f"{loglik.size} iterations")
    if "reason" in meta:
        bits.append(str(meta["reason"]))
    fig.suptitle(", ".join(bits))
    fig.tight_layout()
    try:
        fig.savefig(out, format="png", dpi=100)
    except OSError as e:
        raise PlotError(f"cannot write '{out}' ({e.strerror or e})") from None
    finally:
        plt.close(fig)


def main(argv):
    ap = argparse.ArgumentParser(
        prog=PROG, description="Plot an nvmm fit's log-likelihood and parameter-change history.")
    ap.add_argument("model", metavar="MODEL.h5", help="model file written by `nvmm fit`")
    ap.add_argument("out", metavar="OUT.png", help="where the PNG goes")
    ap.add_argument("--tol", type=float, default=None,
                    help="tolerance line to draw when the file does not record one")
    args = ap.parse_args(argv)
    if args.tol is not None and not (math.isfinite(args.tol) and args.tol > 0):
        ap.error(f"--tol must be a positive number, not {args.tol:g}")
    try:
        loglik, change, meta = read_history(args.model)
        tol, _ = choose_tol(meta, args.tol)
        plot(loglik, change, meta, tol, args.out)
    except PlotError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
