#!/usr/bin/python3
"""gen_bessel_table.py: writes the mpmath reference table for tests/test_bessel.c.

Purpose
    tests/data/bessel_ref.tsv holds, for a fixed grid of (nu, z), high-precision values of
        lnk = log K_nu(z)
        rp  = K_{nu+1}(z) / K_nu(z)
        rm  = K_{nu-1}(z) / K_nu(z)
        d1  = d/dnu log K_nu(z)
        d2  = d^2/dnu^2 log K_nu(z)
    computed with mpmath (besselk for the values, mpmath.diff for the order derivatives; both
    work at extended precision internally), printed with 20 significant digits. The grid
    covers nu in [-60, 60] (signed: the table does not assume K_{-nu} = K_nu), with nu = 0,
    integers, exact half-integers, values next to +-0.5 and tiny |nu|, crossed with z
    log-spaced over [1e-150, 1e4] (denser over [1e-3, 1e4], where EM data lives) plus the
    switches between the methods of src/bessel.c and their two sides. A few extra rows sit
    at the edges z = 1e-300 and z = 1e5.
    nu and z are written with repr(), so C's strtod reads back exactly the doubles that
    mpmath evaluated.

How to rerun (from the repository root; about a minute and a half on two cores)
    scripts/gen_bessel_table.py > tests/data/bessel_ref.tsv
    scripts/gen_bessel_table.py --verify 300   # recompute 300 rows at 70 digits, report drift
                                               # (last run: 3e-41, i.e. the table is exact to
                                               # its 20 printed digits)

Requires Debian's python3-mpmath (mpmath >= 1.1) for /usr/bin/python3.
"""

import argparse
import multiprocessing
import random
import sys

import mpmath as mp

# 40 digits: every quantity is printed with 20, so 40 leaves ample room for the internal
# cancellation of mpmath.diff (it raises its own precision further for the step).
DPS = 40

# Orders: zero, tiny, near +-1/2 on both sides, exact half-integers, integers and
# "high-entropy" generic values, signed, up to |nu| = 60.
NUS = [
    0.0, 1e-9, -1e-3, 0.0123, 0.1, -0.25, 0.3, -0.3999, 0.4999, -0.4999, 0.5, -0.5,
    0.5001, -0.5001, 0.75, -0.875, 1.0, -1.0, 1.3, -1.5, 2.0, -2.0, 2.5, -2.7, 3.0,
    3.14159, -4.5, 5.0, -6.25, 7.77, -9.5, 10.0, -12.345, 15.5, 19.9, -20.0, 25.4, -30.0,
    33.3, -40.0, 40.0, 47.9, -49.5, 55.5, 59.99, -60.0, 60.0, -59.5,
]

# Arguments: 30 log-spaced over [1e-150, 1e-3), 34 over [1e-3, 1e4], plus the switches between
# the methods of src/bessel.c (z = 1, 1.4, 2, 3, 5, 9, 21, each with its neighbours at a relative
# 1e-7) and a few typical E-step values.
ZS = sorted(
    set(
        [10.0 ** (-150.0 + 147.0 * j / 30.0) for j in range(30)]
        + [10.0 ** (-3.0 + 7.0 * j / 33.0) for j in range(34)]
        + [2.0, 1.9999999, 2.0000001, 0.5, 1.7, 3.3, 25.0, 30.0]
        # The other switches of src/bessel.c (series / Chebyshev pieces) and their sides.
        + [b * f for b in (1.0, 1.4, 3.0, 5.0, 9.0, 21.0) for f in (1.0 - 1e-7, 1.0, 1.0 + 1e-7)]
    )
)

# Extra rows at the edges of the documented domain.
EDGE = [(nu, z) for nu in (0.0, 0.3, -0.4999, 1.0, 2.5, -7.3, 60.0, -60.0)
        for z in (1e-300, 1e5)]


def values(args):
    """All five quantities at one (nu, z), as mpf numbers."""
    nu_f, z_f = args
    with mp.workdps(DPS):
        nu = mp.mpf(nu_f)
        z = mp.mpf(z_f)

        def lnk(n):
            return mp.log(mp.besselk(n, z))

        k0 = mp.besselk(nu, z)
        vals = [
            mp.log(k0),
            mp.besselk(nu + 1, z) / k0,
            mp.besselk(nu - 1, z) / k0,
            mp.diff(lnk, nu, 1),
            mp.diff(lnk, nu, 2),
        ]
        return [+v for v in vals]


def row(args):
    """One table row: nu and z as read back by strtod, then the five values."""
    return [repr(args[0]), repr(args[1])] + [mp.nstr(v, 20, min_fixed=1, max_fixed=0)
                                             for v in values(args)]


def grid():
    return [(nu, z) for nu in NUS for z in ZS] + EDGE


def verify(n):
    """Recomputes n random rows at higher precision and prints the worst relative drift.

    The workers see the new DPS because the pools are forked after it is set (Linux default).
    """
    global DPS
    pts = random.Random(20240607).sample(grid(), n)
    with multiprocessing.Pool() as pool:
        lo = pool.map(values, pts)
    DPS = 70
    with multiprocessing.Pool() as pool:
        hi = pool.map(values, pts)
    worst = 0.0
    for a, b in zip(lo, hi):
        for x, y in zip(a, b):
            worst = max(worst, float(abs(x - y) / max(1, abs(y))))
    print("worst drift over %d rows: %.3g" % (n, worst))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--verify", type=int, metavar="N",
                    help="recompute N rows at 70 digits instead of writing the table")
    opts = ap.parse_args()
    if opts.verify:
        verify(opts.verify)
        return
    pts = grid()
    with multiprocessing.Pool() as pool:
        rows = pool.map(row, pts, chunksize=8)
    out = sys.stdout
    out.write("# bessel_ref.tsv: mpmath reference for log K_nu(z), its order-neighbour ratios and\n")
    out.write("# order derivatives; written by scripts/gen_bessel_table.py (mp.dps = %d).\n" % DPS)
    out.write("# nu\tz\tlnk\trp\trm\td1\td2\n")
    for r in rows:
        out.write("\t".join(r) + "\n")


if __name__ == "__main__":
    main()
