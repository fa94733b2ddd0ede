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

A fit run with --algorithm incremental also holds /history/incremental, one value per
mini-batch step, and then both panels share an x axis in passes over the data: a step covers
batch_rows of the n rows (the /meta attribute n; batch_rows from the stored configuration, see
below), an epoch's last step only the rows left, and each batch-EM iteration after the epochs
covers one pass. Left: the mean log-likelihood of each step's mini-batch under the model
entering the step (batch_loglik, a light grey line at the passes before the step: noisy, as
every mini-batch is a different sample), the full-data mean log-likelihood after the step where
the fit evaluated it (loglik: every --eval-every steps and at the last; orange circles), then
the batch iterations as above; a dotted line marks the end of the epochs. Right: each step's
parameter change (param_change, grey) and then the iterations'. With --finish none the fit ran
no batch iterations and /history/loglik is empty: only the steps are drawn. The y range of the
left panel is cut to the bulk of the mini-batch values (and every full-data value), so that a
few outlying mini-batches do not flatten the full-data curve.

The tolerance comes from the fit's own record: the "tol" member of the JSON object in the /meta
config_text attribute (`nvmm fit` stores there its effective configuration, every key; files of
versions before the JSON record hold `key = value` lines, read too). A file without it (one not
written by `nvmm fit`) takes --tol X, and without it the line is left out. When the file and
--tol disagree, the file wins and a note says so on stderr.

Needs /usr/bin/python3 with Debian's python3-h5py and python3-matplotlib (scripts/deps.sh).
Exits 0 on success, 1 when the model file is missing, unreadable or has no usable /history, and
2 on a usage error.
"""
import argparse
import json
import math
import os
import sys

from nvmm_plot import PlotError, as_str, imports, run  # next to this script

PROG = "plot_history"
h5py, plt, np = imports(PROG, "python3-h5py and python3-matplotlib")


def config_json(text):
    """The stored configuration as a dict, or {} when it is not a JSON object (older files)."""
    try:
        cfg = json.loads(text)
    except ValueError:
        return {}
    return cfg if isinstance(cfg, dict) else {}


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


def is_count(v):
    """Whether v is a positive whole number (a JSON integer or an HDF5 int attribute)."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1


def step_passes(steps, n, batch_rows):
    """(before, after): the passes over the data done before and after each mini-batch step.
    An epoch is ceil(n / batch_rows) steps through a permutation of the rows, its last step
    taking only the rows left (src/minibatch.c), so a fractional epoch count or a batch size
    that does not divide n keeps the epochs at whole passes."""
    per_epoch = -(-n // batch_rows)
    epoch, k = np.divmod(np.arange(steps, dtype=np.int64), per_epoch)
    after = epoch + np.minimum((k + 1) * batch_rows, n) / n
    return np.concatenate(([0.0], after[:-1])), after


def read_incremental(path, h, meta):
    """{name: per-step array, 'before', 'after', 'batch_rows', 'epochs'} from
    /history/incremental, or None when the fit ran no mini-batch steps. Raises PlotError when
    the group is malformed or the steps cannot be placed in passes over the data."""
    if "incremental" not in h:
        return None
    g = h["incremental"]
    if not isinstance(g, h5py.Group):
        raise PlotError(f"'{path}': /history/incremental is not a group")
    inc = {}
    # Only what is drawn must be there: elapsed is not.
    for name in ("batch_loglik", "loglik", "param_change"):
        if name not in g or not isinstance(g[name], h5py.Dataset):
            raise PlotError(f"'{path}': /history/incremental has no dataset '{name}'")
        inc[name] = np.asarray(g[name][...], dtype=float).ravel()
    steps = inc["batch_loglik"].size
    if any(a.size != steps for a in inc.values()):
        raise PlotError(f"'{path}': the datasets of /history/incremental differ in length ("
                        + ", ".join(f"{k} {a.size}" for k, a in inc.items()) + ")")
    if steps == 0:
        return None
    cfg = config_json(meta.get("config_text", ""))
    n, rows = meta.get("n"), cfg.get("batch_rows")
    if not (is_count(n) and is_count(rows) and rows <= n):
        n_s, rows_s = ("missing" if v is None else v for v in (n, rows))
        raise PlotError(f"'{path}': cannot place the mini-batch steps in passes over the data "
                        f"(/meta n = {n_s}, batch_rows = {rows_s} in /meta config_text)")
    inc["before"], inc["after"] = step_passes(steps, int(n), int(rows))
    inc["batch_rows"] = int(rows)
    epochs = cfg.get("epochs")
    inc["epochs"] = float(epochs) if isinstance(epochs, (int, float)) else None
    return inc


def read_history(path):
    """(loglik, param_change, meta) from a model file; meta holds the /meta attributes, if any,
    the root's 'family' attribute, and under 'incremental' the mini-batch steps' history
    (read_incremental; None for a batch fit). Raises PlotError with a message naming the
    file."""
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
        meta = {"counters": read_counters(h, loglik.size)}
        if "meta" in f:
            for k, v in f["meta"].attrs.items():
                meta[k] = as_str(v) if isinstance(v, (bytes, str)) else v
        if "family" in f.attrs:
            meta["family"] = as_str(f.attrs["family"])
        meta["incremental"] = read_incremental(path, h, meta)
        # --finish none leaves no batch iterations: the steps alone are a history.
        if loglik.size == 0 and meta["incremental"] is None:
            raise PlotError(f"'{path}': /history is empty (the fit ran no iterations)")
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


def draw_steps(a0, a1, inc, loglik):
    """The mini-batch steps of an incremental fit, on the passes axis: the left panel's
    mini-batch and evaluated full-data log-likelihoods, the right panel's step changes."""
    a0.plot(inc["before"], inc["batch_loglik"], color="0.6", lw=0.7, label="mini-batch (per step)")
    ev = np.isfinite(inc["loglik"])
    if ev.any():
        a0.plot(inc["after"][ev], inc["loglik"][ev], "o", color="C1", ms=4,
                label="full data (evaluated)")
    pc = np.where(np.isfinite(inc["param_change"]) & (inc["param_change"] > 0),
                  inc["param_change"], np.nan)
    a1.semilogy(inc["after"], pc, color="0.6", lw=0.7, label="mini-batch step")
    if loglik.size:
        end = inc["after"][-1]
        # Marked in place rather than in the legends, which the steps' lines already crowd.
        for a in (a0, a1):
            a.axvline(end, color="0.5", ls=":", lw=1)
            a.text(end, 0.98, " end of the epochs", transform=a.get_xaxis_transform(),
                   rotation=90, ha="left", va="top", fontsize="small", color="0.4")
        # Batch EM starts from the epochs' model, whose full-data value the last step holds.
        if np.isfinite(inc["loglik"][-1]):
            a0.plot([end, end + 1], [inc["loglik"][-1], loglik[0]], color="C0")


def fit_ylim(a0, inc, loglik):
    """Cuts the left panel's y range to the bulk of the mini-batch values plus every full-data
    value: a mini-batch's mean is a small sample's, and a few outlying batches would otherwise
    stretch the axis until the full-data ascent is a flat line."""
    noisy = inc["batch_loglik"][np.isfinite(inc["batch_loglik"])]
    full = np.concatenate((inc["loglik"], loglik))
    full = full[np.isfinite(full)]
    vals = np.concatenate((np.quantile(noisy, [0.02, 0.98]) if noisy.size else [], full))
    if vals.size == 0:
        return
    lo, hi = vals.min(), vals.max()
    pad = 0.05 * (hi - lo) if hi > lo else 0.5 * max(abs(lo), 1e-3)
    a0.set_ylim(lo - pad, hi + pad)


def plot(loglik, change, meta, tol, out):
    inc = meta.get("incremental")
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(12, 4.4))
    if inc is None:
        it = np.arange(1, loglik.size + 1)
        xlabel, line = "iteration", {}
    else:
        # Each batch iteration after the epochs is one more pass over the data.
        it = inc["after"][-1] + np.arange(1, loglik.size + 1)
        xlabel = "passes over the data"
        line = {"color": "C0", "marker": ".", "ms": 4, "label": "batch EM iteration"}
        draw_steps(a0, a1, inc, loglik)

    # Zero or non-finite changes have no place on a log axis: leave gaps rather than fail.
    pc = np.where(np.isfinite(change) & (change > 0), change, np.nan)
    if loglik.size:
        a0.plot(it, loglik, **line)
        if inc is not None:  # under the markers and before them in the legend, as on the left
            a1.semilogy(it, pc, **line)
    # SQUAREM: the updates that were extrapolations, and those whose extrapolation was rejected
    # (the fit went back to the plain EM iterate). Nothing to mark for plain EM.
    cnt = meta.get("counters", {})
    marks = [(cnt.get("accel_step"), "^", "C2", "extrapolation"),
             (cnt.get("accel_reject"), "x", "C3", "rejected extrapolation")]
    for c, marker, color, label in marks:
        if c is not None and np.any(c > 0):
            sel = c > 0
            a0.plot(it[sel], loglik[sel], marker, color=color, ls="none", label=label)
            a1.plot(it[sel], pc[sel], marker, color=color, ls="none", label=label)
    if inc is not None:
        fit_ylim(a0, inc, loglik)
        a0.legend(fontsize="small")
    elif any(c is not None and np.any(c > 0) for c, *_ in marks):
        a0.legend()
    a0.set_xlabel(xlabel)
    a0.set_ylabel("mean log-likelihood")
    a0.set_title("Log-likelihood ascent")

    if inc is None:
        a1.semilogy(it, pc)
    if tol is not None and tol > 0:
        a1.axhline(tol, color="0.5", ls="--", lw=1, label="tol")
    if a1.get_legend_handles_labels()[0]:
        a1.legend(**({} if inc is None else {"fontsize": "small"}))
    a1.set_xlabel(xlabel)
    a1.set_ylabel("parameter change (hybrid RMS)")
    a1.set_title("Parameter change")

    bits = [meta.get("family", "").upper() or "nvmm fit"]
    if "n" in meta:
        bits.append(f"n = {int(meta['n'])}")
    if "ranks" in meta:
        r = int(meta["ranks"])
        bits.append(f"{r} rank{'' if r == 1 else 's'}")
    if inc is None:
        bits.append(f"{loglik.size} iterations")
    else:
        steps = f"{inc['after'].size} mini-batch steps of {inc['batch_rows']} rows"
        if inc["epochs"] is not None:
            steps += f" ({inc['epochs']:g} epoch{'' if inc['epochs'] == 1 else 's'})"
        bits.append(steps + (f" + {loglik.size} iterations" if loglik.size else ""))
    if "reason" in meta:
        # An incremental fit without a batch finish stops when its epochs are done.
        epochs_done = inc is not None and meta["reason"] == "epochs"
        bits.append("stopped after the epochs" if epochs_done else str(meta["reason"]))
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

    def draw():
        loglik, change, meta = read_history(args.model)
        tol, _ = choose_tol(meta, args.tol)
        plot(loglik, change, meta, tol, args.out)

    return run(PROG, draw)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
