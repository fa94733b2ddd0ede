#!/usr/bin/python3
"""Draws how well a fitted model describes its data: the margins and the Mahalanobis distances.

Usage: scripts/plot_fit.py MODEL.h5 DATA.h5[:/X] OUT.png [--rows N] [--nvmm PATH]

One row of three panels per margin j: a histogram of column j with the fitted marginal density
(the univariate law of X_j, src/numerics.md 9.4, from `nvmm score --marginal j --logpdf-at`); the
log-density against the log of the histogram's heights over the whole range of the data, where
the tails show; and a QQ plot of the column's empirical quantiles against the fitted marginal's
(`nvmm score --marginal j --quantile`), on the line y = x when the fit is right. A last row: a QQ
plot of the rows' squared Mahalanobis distances (x - E X)' Cov(X)^-1 (x - E X), E X and Cov X
the model's, against their distribution under the model, simulated with `nvmm sample` (as many
rows as the data has, at least 20000; the panel says so). Where Cov X is infinite (an
InverseGamma subordinator of shape <= 2) the simulated rows' mean and covariance stand in, the
same for both sides, and the panel says that too.

Prints, per margin, the Kolmogorov-Smirnov statistic D of the rows' marginal CDF values
(`nvmm score --marginal j --cdf`) against the uniform law and its asymptotic p-value
(Kolmogorov's series at sqrt(n) D, with Stephens' small-sample correction); the p-value assumes
a model fixed in advance, so for a model fitted to these rows it is conservative.

--rows N (default 20000): data sets with more rows are drawn from by a deterministic sample of N
rows (numpy's generator seeded 0), which the plots and the statistics use. --nvmm PATH: the nvmm
program (default: `nvmm` on PATH, else build/src/cli/nvmm of this checkout); it runs as one
process.

Needs /usr/bin/python3 with Debian's python3-h5py, python3-numpy and python3-matplotlib.
Exits 0 on success, 1 when a file is missing or unusable or nvmm fails, 2 on a usage error.
"""
import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile

from nvmm_plot import PlotError, as_str, imports, run  # next to this script

PROG = "plot_fit"
h5py, plt, np = imports(PROG, "python3-h5py, python3-numpy and python3-matplotlib")
QQ_POINTS = 199  # fitted quantiles per margin: enough for a smooth QQ line, each a quadrature
GRID = 241  # density grid points per margin




def split_spec(spec):
    """'FILE.h5[:/dataset]' as (file, dataset), /X by default (as nvmm reads it)."""
    i = spec.rfind(":")
    if i > 0 and spec[i + 1:i + 2] == "/":
        return spec[:i], spec[i + 1:]
    return spec, "/X"


def read_model(path):
    if not os.path.exists(path):
        raise PlotError(f"'{path}': no such file")
    try:
        with h5py.File(path, "r") as f:
            fam = as_str(f.attrs["family"])
            m = {"family": fam, "mu": f["mu"][()], "gamma": f["gamma"][()],
                 "sigma": f["sigma"][()]}
            m["gig"] = (None if fam == "gauss" else
                        tuple(float(f[k][()]) for k in ("gig_p", "gig_a", "gig_b")))
    except (OSError, KeyError) as e:
        raise PlotError(f"'{path}' is not an nvmm model file ({e})") from None
    return m


def read_rows(spec, rows):
    """The data's rows (all, or a deterministic sample of `rows`), column names, total n."""
    path, dset = split_spec(spec)
    if not os.path.exists(path):
        raise PlotError(f"'{path}': no such file")
    try:
        with h5py.File(path, "r") as f:
            ds = f[dset]
            if ds.ndim != 2:
                raise PlotError(f"'{path}:{dset}' is not a 2-D data set")
            n = ds.shape[0]
            if n > rows:
                # h5py's fancy indexing wants increasing indices.
                idx = np.sort(np.random.default_rng(0).choice(n, size=rows, replace=False))
                x = ds[idx, :]
            else:
                x = ds[()]
            names = [as_str(c) for c in ds.attrs["columns"]] if "columns" in ds.attrs else None
    except (OSError, KeyError) as e:
        raise PlotError(f"cannot read '{path}:{dset}' ({e})") from None
    return np.asarray(x, dtype=float), names, n


def subordinator_moments(gig):
    """E Y and E Y^2 of Y ~ GIG(p, a, b) (a or b may be 0: Gamma, InverseGamma), by the
    trapezoid rule over t = log y, where the density is smooth and decays double-exponentially
    (InverseGamma: exponentially in t); None for a moment that is infinite."""
    if gig is None:
        return 1.0, 1.0
    p, a, b = gig
    t = np.linspace(-60.0, 60.0, 240001)
    lw = p * t - 0.5 * (a * np.exp(np.minimum(t, 700)) + b * np.exp(np.minimum(-t, 700)))
    w = np.exp(lw - lw.max())
    ey = float(np.sum(w * np.exp(t)) / np.sum(w))
    ey2 = float(np.sum(w * np.exp(2 * t)) / np.sum(w))
    if a == 0:  # InverseGamma of shape -p: E Y^r finite only for r < -p
        return (ey if -p > 1 else None), (ey2 if -p > 2 else None)
    return ey, ey2


def nvmm_run(nvmm, args):
    r = subprocess.run([nvmm] + args, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        msg = (r.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise PlotError(f"nvmm {args[0]} failed: {msg}")
    return r.stdout


def law_values(nvmm, model, j, kind, points):
    """nvmm score --marginal j --KIND points: the values, one per point."""
    arg = ",".join(repr(float(v)) for v in points)
    out = nvmm_run(nvmm, ["score", "--model", model, "--marginal", str(j), f"--{kind}", arg])
    word = {"quantile": "quantile", "logpdf-at": "logpdf", "at": "cdf"}[kind]
    vals = [float(line.split()[2]) for line in out.splitlines() if line.startswith(word + " ")]
    if len(vals) != len(points):
        raise PlotError(f"nvmm score --{kind} gave {len(vals)} values for {len(points)} points")
    return np.array(vals)


def ks_pvalue(d, n):
    """Asymptotic P(D_n >= d) of the Kolmogorov-Smirnov statistic: Kolmogorov's series
    2 sum (-1)^(k-1) exp(-2 k^2 l^2) at l = (sqrt(n) + 0.12 + 0.11 / sqrt(n)) d (Stephens)."""
    lam = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d
    if lam < 0.2:
        return 1.0
    s = sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return min(1.0, max(0.0, 2 * s))


def ks_stat(u):
    u = np.sort(u)
    n = u.size
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - u), np.max(u - (i - 1) / n)))


def mahalanobis2(x, mean, cov):
    c = np.linalg.cholesky(cov)
    z = np.linalg.solve(c, (x - mean).T)
    return np.sum(z * z, axis=0)


def plot(model_path, data_spec, out, rows, nvmm):
    m = read_model(model_path)
    x, names, n_all = read_rows(data_spec, rows)
    n, d = x.shape
    if d != m["mu"].size:
        raise PlotError(f"'{data_spec}' has {d} columns but the model has d = {m['mu'].size}")
    if n < 2:
        raise PlotError(f"'{data_spec}' has fewer than 2 rows")
    with tempfile.TemporaryDirectory(prefix="plot_fit.") as tmp:
        rows_h5 = os.path.join(tmp, "rows.h5")
        with h5py.File(rows_h5, "w") as f:
            f["X"] = x
        fig, axes = plt.subplots(d + 1, 3, figsize=(13, 3.2 * (d + 1)), squeeze=False)
        for j in range(d):
            name = names[j] if names and j < len(names) else f"column {j}"
            col = x[:, j]
            cdf_h5 = os.path.join(tmp, f"cdf{j}.h5")
            nvmm_run(nvmm, ["score", "--model", model_path, "--marginal", str(j), "--data",
                            rows_h5, "--cdf", "--out", cdf_h5])
            with h5py.File(cdf_h5, "r") as f:
                u = f["cdf"][()].ravel()
            dks = ks_stat(u)
            pks = ks_pvalue(dks, n)
            print(f"margin {j} ({name}): KS D = {dks:.5f}, asymptotic p = {pks:.4f}, n = {n}")
            lo, hi = np.quantile(col, [0.005, 0.995])
            pad = 0.1 * (hi - lo)
            grid = np.linspace(lo - pad, hi + pad, GRID)
            wide = np.linspace(col.min(), col.max(), GRID)
            lf = law_values(nvmm, model_path, j, "logpdf-at", grid)
            lfw = law_values(nvmm, model_path, j, "logpdf-at", wide)
            ax = axes[j][0]
            ax.hist(col[(col >= grid[0]) & (col <= grid[-1])], bins=80, density=True,
                    color="0.8", label="data")
            # The histogram holds the rows in the window only; scale the density to match.
            inside = np.mean((col >= grid[0]) & (col <= grid[-1]))
            ax.plot(grid, np.exp(lf) / inside, color="C0", label="fitted marginal")
            ax.set_title(f"{name}: density")
            ax.legend(fontsize=8)
            ax = axes[j][1]
            counts, edges = np.histogram(col, bins=100)
            mid = 0.5 * (edges[1:] + edges[:-1])
            keep = counts > 0
            ax.plot(mid[keep], np.log(counts[keep] / (n * np.diff(edges)[keep])), ".",
                    color="0.5", label="log histogram")
            ax.plot(wide, lfw, color="C0", label="fitted log-density")
            ax.set_title(f"{name}: log-density (tails)")
            ax.legend(fontsize=8)
            ax = axes[j][2]
            p = (np.arange(1, QQ_POINTS + 1) - 0.5) / QQ_POINTS
            qf = law_values(nvmm, model_path, j, "quantile", p)
            qe = np.quantile(col, p)
            ax.plot(qf, qe, ".", color="C0", markersize=3)
            ends = [min(qf[0], qe[0]), max(qf[-1], qe[-1])]
            ax.plot(ends, ends, color="0.5", linewidth=0.8)
            ax.set_xlabel("fitted marginal quantile")
            ax.set_ylabel("data quantile")
            ax.set_title(f"{name}: QQ, KS D = {dks:.4f} (p = {pks:.3f})")
        # The Mahalanobis panel: data against nvmm sample's draws from the model.
        nsim = max(n, 20000)
        sim_h5 = os.path.join(tmp, "sim.h5")
        nvmm_run(nvmm, ["sample", "--model", model_path, "--n", str(nsim), "--seed", "1",
                        "--out", sim_h5])
        with h5py.File(sim_h5, "r") as f:
            sim = f["X"][()]
        ey, ey2 = subordinator_moments(m["gig"])
        if ey is not None and ey2 is not None:
            g = m["gamma"]
            mean = m["mu"] + g * ey
            cov = ey * m["sigma"] + (ey2 - ey * ey) * np.outer(g, g)
            how = "the model's E X and Cov X"
        else:
            mean, cov = sim.mean(axis=0), np.cov(sim, rowvar=False)
            how = "Cov X infinite: the simulated rows' mean and covariance"
        d2 = np.sort(mahalanobis2(x, mean, cov))
        d2s = mahalanobis2(sim, mean, cov)
        p = (np.arange(1, n + 1) - 0.5) / n
        ref = np.quantile(d2s, p)
        ax = axes[d][0]
        ax.plot(ref, d2, ".", color="C0", markersize=2)
        ax.plot([0, max(ref[-1], d2[-1])], [0, max(ref[-1], d2[-1])], color="0.5", linewidth=0.8)
        ax.set_xlabel(f"simulated quantile (nvmm sample, {nsim} rows)")
        ax.set_ylabel("data quantile")
        ax.set_title("squared Mahalanobis distance: QQ")
        ax = axes[d][1]
        ax.plot(np.log10(ref), np.log10(d2), ".", color="C0", markersize=2)
        lim = [np.log10(max(min(ref[0], d2[0]), 1e-300)), np.log10(max(ref[-1], d2[-1]))]
        ax.plot(lim, lim, color="0.5", linewidth=0.8)
        ax.set_xlabel("log10 simulated quantile")
        ax.set_ylabel("log10 data quantile")
        ax.set_title("the same, log scales")
        ax = axes[d][2]
        ax.axis("off")
        ax.text(0.0, 0.9, f"(x - E X)' Cov(X)^-1 (x - E X) with {how};\n"
                f"reference law simulated by nvmm sample ({nsim} rows, seed 1).",
                fontsize=9, va="top", wrap=True)
        sampled = f", a sample of {n} of {n_all} rows" if n < n_all else f", {n} rows"
        fig.suptitle(f"{m['family'].upper()} model {os.path.basename(model_path)} on "
                     f"{os.path.basename(split_spec(data_spec)[0])}{sampled}")
        # tight_layout ignores the suptitle: keep half an inch above the panels for it.
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / (3.2 * (d + 1))))
        try:
            fig.savefig(out, format="png", dpi=80)
        except OSError as e:
            raise PlotError(f"cannot write '{out}' ({e.strerror or e})") from None
        finally:
            plt.close(fig)


def default_nvmm():
    found = shutil.which("nvmm")
    if found:
        return found
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "src", "cli",
                        "nvmm")


def main(argv):
    ap = argparse.ArgumentParser(prog=PROG, description="Plot a fitted model against its data: "
                                 "margins, QQ plots, Mahalanobis distances.")
    ap.add_argument("model", metavar="MODEL.h5", help="model file")
    ap.add_argument("data", metavar="DATA.h5[:/X]", help="the data (dataset /X by default)")
    ap.add_argument("out", metavar="OUT.png", help="where the PNG goes")
    ap.add_argument("--rows", type=int, default=20000, help="rows drawn from larger data sets")
    ap.add_argument("--nvmm", default=None, help="the nvmm program")
    args = ap.parse_args(argv)
    if args.rows < 2:
        ap.error(f"--rows must be at least 2, not {args.rows}")
    nvmm = args.nvmm or default_nvmm()
    if not (os.path.isfile(nvmm) and os.access(nvmm, os.X_OK)):
        ap.error(f"no nvmm program at '{nvmm}' (give --nvmm PATH)")
    return run(PROG, lambda: plot(args.model, args.data, args.out, args.rows, nvmm))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
