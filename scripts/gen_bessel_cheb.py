#!/usr/bin/python3
"""gen_bessel_cheb.py: writes src/bessel_cheb.c, the coefficient tables of src/bessel.c.

Purpose
    src/bessel.c evaluates K_mu(z) at a reduced order mu in [-1/2, 1/2] from fixed expansions
    whose coefficients this script computes with mpmath (nothing is copied from Cephes, GSL or
    Numerical Recipes):

    1. Integer orders (mu = 0), z <= 1: the power series in y = (z/2)^2 with the logarithmic
       term (DLMF 10.31.1 at n = 0 and 1), written with L = log(2/z) - gamma as
           K_0(z)     = L I0(y) + SH(y),       I0 = sum y^k/(k!)^2,  SH = sum H_k y^k/(k!)^2,
           z K_1(z)/2 = L AK(y) + S1(y),       AK = -sum k y^k/(k!)^2,
                                               S1 = sum (1/2 - k H_k) y^k/(k!)^2,
       k = 0..TEMME_N-1 (H_k the harmonic number). The coefficients are exact rationals,
       rounded once to double.

    2. z > 1: seven pieces [1,1.4], [1.4,2], [2,3], [3,5], [5,9], [9,21], [21,inf), each with
       the variable x = A/z + B in [-1, 1] (linear in 1/z; A, B listed in BOUNDS). On each
       piece the smooth, bounded functions
           F(mu, z)  = e^z sqrt(2z/pi) K_mu(z)       (-> 1 as z -> inf, even in mu)
           F1(mu, z) = e^z sqrt(2z/pi) K_{mu+1}(z)   (-> 1 as z -> inf)
       are interpolated at Chebyshev points: in x alone at mu = 0 (the K_0, K_1 tables), and
       in x crossed with s = 8 mu^2 - 1 (F, which depends on mu^2 only) or m = 2 mu (F1) for
       the general tables. Chebyshev coefficients are truncated to NT terms in x (and NS, NM in
       s, m); the x direction is then converted to monomials in x (Estrin's scheme evaluates
       those with a third of the latency of Clenshaw's recurrence, and the conversion is well
       conditioned: the sum of |monomial terms| stays within a few percent of |F|; printed).

    The script prints the bound of every truncation (sum of the dropped |coefficients|) and,
    with --verify, evaluates the rounded tables in double precision exactly as src/bessel.c
    does (Python floats are IEEE doubles; Estrin's scheme without FMA) at random points and
    reports the worst errors of F, F1 and of their mu-derivatives against mpmath.

How to rerun (from the repository root; about 20 s on two cores)
    scripts/gen_bessel_cheb.py > src/bessel_cheb.c   # truncation bounds on stderr (last run:
                                                     # dropped |coefficients| below 4.1e-18)
    scripts/gen_bessel_cheb.py --verify 400     # check the committed tables, print worst errors
                                                # (last run, absolute, the functions being near
                                                # 1: F 3.8e-16, F1 6.9e-16, dF/dmu 9.8e-17,
                                                # dF1/dmu 7.9e-16, K_0 1.9e-16, K_1 3.5e-16)

Requires Debian's python3-mpmath (mpmath >= 1.1) for /usr/bin/python3.
"""

import argparse
import fractions
import multiprocessing
import random
import sys

import mpmath as mp

DPS = 40

TEMME_N = 12  # terms of the z <= 1 series: the tail at y = 1/4 is below 1e-22 of K_0, K_1
NT = 12       # monomial terms in x per piece
NS = 8        # Chebyshev terms in s = 8 mu^2 - 1 for F
NM = 16       # Chebyshev terms in m = 2 mu for F1
NX_FIT = 32   # interpolation points in x (coefficients beyond 32 are below 1e-30)
NS_FIT = 14   # ... in s
NM_FIT = 26   # ... in m

# Pieces (lo, hi) of (1, inf) and their maps x = A/z + B of [lo, hi] onto [1, -1]:
# A = 2 lo hi/(hi - lo), B = -(hi + lo)/(hi - lo), rounded to double (the fit uses the rounded
# values, so the map need not be exact); for hi = inf, A = 2 lo, B = -1. Each piece needs at
# most 12 terms in x (dropped coefficients below 1e-18).
BOUNDS = [(1.0, 1.4), (1.4, 2.0), (2.0, 3.0), (3.0, 5.0), (5.0, 9.0), (9.0, 21.0), (21.0, None)]
PIECES = [(lo, hi, 2.0 * lo * hi / (hi - lo), -(hi + lo) / (hi - lo)) if hi else
          (lo, hi, 2.0 * lo, -1.0) for lo, hi in BOUNDS]


def zof(p, x):
    """z at x on piece p (inverse of x = A/z + B)."""
    A, B = mp.mpf(PIECES[p][2]), mp.mpf(PIECES[p][3])
    return A / (x - B)


def fF(mu, z):
    return mp.exp(z) * mp.sqrt(2 * z / mp.pi) * mp.besselk(mu, z)


def fF1(mu, z):
    return mp.exp(z) * mp.sqrt(2 * z / mp.pi) * mp.besselk(mu + 1, z)


def nodes(n):
    return [mp.cos(mp.pi * (j + mp.mpf(1) / 2) / n) for j in range(n)]


def cheb(vals):
    """Chebyshev coefficients of the interpolant through vals at nodes(len(vals))."""
    n = len(vals)
    return [(2 if k else 1) * mp.fsum(vals[j] * mp.cos(mp.pi * k * (j + mp.mpf(1) / 2) / n)
                                      for j in range(n)) / n for k in range(n)]


def cheb_to_monomial(c):
    """Monomial coefficients of sum c_k T_k(x)."""
    n = len(c)
    t = [[mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]]
    for k in range(2, n):
        nxt = [mp.mpf(0)] * (k + 1)
        for i, v in enumerate(t[k - 1]):
            nxt[i + 1] += 2 * v
        for i, v in enumerate(t[k - 2]):
            nxt[i] -= v
        t.append(nxt)
    a = [mp.mpf(0)] * n
    for k in range(n):
        for i, v in enumerate(t[k]):
            a[i] += c[k] * v
    return a


def eval_grid(args):
    """Row of function values at one x node: F over the s nodes, F1 over the m nodes."""
    p, x = args
    with mp.workdps(DPS):
        z = zof(p, mp.mpf(x))
        rf = [fF(mp.sqrt((s + 1) / 8), z) for s in nodes(NS_FIT)]
        rf1 = [fF1(m / 2, z) for m in nodes(NM_FIT)]
        r0 = [fF(0, z), fF1(0, z)]
        return rf, rf1, r0


def fit_piece(p, pool):
    """Monomial-in-x tables of one piece and the truncation bounds."""
    xs = nodes(NX_FIT)
    rows = pool.map(eval_grid, [(p, x) for x in xs])
    out = {}
    with mp.workdps(DPS):
        # mu = 0: 1D in x.
        for idx, name in ((0, 'k0'), (1, 'k1')):
            c = cheb([r[2][idx] for r in rows])
            out[name] = cheb_to_monomial(c[:NT])
            out[name + '_drop'] = mp.fsum(abs(v) for v in c[NT:])
        # 2D: first along mu (per x node), then along x.
        for key, nmu, nkeep in (('f', NS_FIT, NS), ('f1', NM_FIT, NM)):
            ci = 0 if key == 'f' else 1
            cmu = [cheb(r[ci]) for r in rows]  # [x node][mu coeff]
            full = [[None] * nmu for _ in range(NX_FIT)]
            for j in range(nmu):
                cx = cheb([cmu[i][j] for i in range(NX_FIT)])
                for k in range(NX_FIT):
                    full[k][j] = cx[k]
            drop = mp.fsum(abs(full[k][j]) for k in range(NX_FIT) for j in range(nmu)
                           if k >= NT or j >= nkeep)
            mono = [[None] * nkeep for _ in range(NT)]
            for j in range(nkeep):
                a = cheb_to_monomial([full[k][j] for k in range(NT)])
                for k in range(NT):
                    mono[k][j] = a[k]
            out[key] = mono
            out[key + '_drop'] = drop
    return out


def k01_series():
    """Exact coefficients of the mu = 0 series (see the module docstring), as fractions."""
    i0, sh, ak, s1 = [], [], [], []
    fact = fractions.Fraction(1)
    h = fractions.Fraction(0)
    for k in range(TEMME_N):
        if k:
            fact *= k
            h += fractions.Fraction(1, k)
        w = 1 / (fact * fact)
        i0.append(w)
        sh.append(h * w)
        ak.append(-k * w)
        s1.append((fractions.Fraction(1, 2) - k * h) * w)
    return i0, sh, ak, s1


def fmt(v):
    return repr(float(v))


def row(vals, indent="     "):
    """One brace-enclosed row of doubles, wrapped at three per line (within 100 columns)."""
    items = [fmt(v) for v in list(vals)]
    lines = [", ".join(items[i:i + 3]) for i in range(0, len(items), 3)]
    return indent + "{" + (",\n" + indent + " ").join(lines) + "},\n"


def write_c(tabs):
    o = sys.stdout
    o.write("/* bessel_cheb.c: coefficient tables of src/bessel.c. GENERATED by\n"
            " * scripts/gen_bessel_cheb.py (mpmath, mp.dps = %d); do not edit, rerun the script:\n"
            " *   scripts/gen_bessel_cheb.py > src/bessel_cheb.c\n"
            " * The compiler checks the array dimensions against the declarations in\n"
            " * src/bessel_impl.h. */\n\n"
            "#include \"bessel_impl.h\"\n\n"
            "/* clang-format off */\n\n"
            % DPS)
    i0, sh, ak, s1 = k01_series()
    o.write("/* K_0, K_1 for z <= 1 (mu = 0): [I0, SH, AK, S1][k], exact rationals rounded once:\n"
            " * I0 = 1/(k!)^2, SH = H_k/(k!)^2, AK = -k/(k!)^2, S1 = (1/2 - k H_k)/(k!)^2. */\n")
    o.write("const double nvmm__bessel_k01_series[4][%d] = {\n" % TEMME_N)
    for name, arr in (("I0", i0), ("SH", sh), ("AK", ak), ("S1", s1)):
        o.write("    {/* %s */\n" % name)
        for v in arr:
            o.write("     %s,\n" % fmt(v))
        o.write("    },\n")
    o.write("};\n\n")
    o.write("/* Pieces above z = 1: x = A/z + B maps [lo, hi] onto [1, -1]. {A, B} per piece. */\n")
    o.write("const double nvmm__bessel_cheb_map[%d][2] = {\n" % len(PIECES))
    for lo, hi, A, B in PIECES:
        o.write("    {%s, %s}, /* [%s, %s] */\n" % (fmt(A), fmt(B), lo, hi if hi else "inf"))
    o.write("};\n\n")
    o.write("/* mu = 0: e^z sqrt(2z/pi) K_0(z) and e^z sqrt(2z/pi) K_1(z) as polynomials in x,\n"
            " * [piece][K_0, K_1][power of x]. */\n")
    o.write("const double nvmm__bessel_k01_cheb[%d][2][%d] = {\n" % (len(PIECES), NT))
    for p, t in enumerate(tabs):
        o.write("    {/* piece %d */\n" % p)
        for name in ('k0', 'k1'):
            o.write(row(t[name]))
        o.write("    },\n")
    o.write("};\n\n")
    o.write("/* General mu: e^z sqrt(2z/pi) K_mu(z) = sum_j T_j(8 mu^2 - 1) sum_i F[p][j][i] x^i,\n"
            " * [piece][Chebyshev index in s = 8 mu^2 - 1][power of x]. */\n")
    o.write("const double nvmm__bessel_kmu_f[%d][%d][%d] = {\n" % (len(PIECES), NS, NT))
    for p, t in enumerate(tabs):
        o.write("    {/* piece %d */\n" % p)
        for j in range(NS):
            o.write(row(t['f'][i][j] for i in range(NT)))
        o.write("    },\n")
    o.write("};\n\n")
    o.write("/* e^z sqrt(2z/pi) K_{mu+1}(z) = sum_j T_j(2 mu) sum_i F1[p][j][i] x^i,\n"
            " * [piece][Chebyshev index in m = 2 mu][power of x]. */\n")
    o.write("const double nvmm__bessel_kmu_f1[%d][%d][%d] = {\n" % (len(PIECES), NM, NT))
    for p, t in enumerate(tabs):
        o.write("    {/* piece %d */\n" % p)
        for j in range(NM):
            o.write(row(t['f1'][i][j] for i in range(NT)))
        o.write("    },\n")
    o.write("};\n\n/* clang-format on */\n")


# ---- verification: evaluates the committed tables as src/bessel.c does ---------------------


def read_tables(path):
    """The arrays of src/bessel_cheb.c as nested lists of floats, by name."""
    import re
    text = open(path).read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = {}
    for m in re.finditer(r"const double (\w+)((?:\[\d+\])+) = (\{.*?\});", text, flags=re.S):
        body = m.group(3).replace("{", "[").replace("}", "]")
        out[m.group(1)] = eval(body)
    return out


def estrin(c, x):
    """Estrin's scheme in double, in the order src/bessel.c uses (no FMA)."""
    x2 = x * x
    x4 = x2 * x2
    x8 = x4 * x4
    p = [c[2 * i] + c[2 * i + 1] * x for i in range(len(c) // 2)]
    q = [p[0] + p[1] * x2, p[2] + p[3] * x2, p[4] + p[5] * x2]
    return (q[0] + q[1] * x4) + q[2] * x8


def cheb_vals(t, n):
    """T_j(t) and T_j'(t), j < n, in double."""
    tv, dv = [1.0, t], [0.0, 1.0]
    for j in range(2, n):
        tv.append(2.0 * t * tv[j - 1] - tv[j - 2])
        dv.append(2.0 * tv[j - 1] + 2.0 * t * dv[j - 1] - dv[j - 2])
    return tv[:n], dv[:n]


def verify_point(args):
    tabs, mu, z = args
    p = (z >= 1.4) + (z >= 2) + (z >= 3) + (z >= 5) + (z >= 9) + (z >= 21)
    A, B = tabs['nvmm__bessel_cheb_map'][p]
    x = A * (1.0 / z) + B
    s = 8.0 * mu * mu - 1.0
    ts, dts = cheb_vals(s, NS)
    tm, dtm = cheb_vals(2.0 * mu, NM)
    F = tabs['nvmm__bessel_kmu_f'][p]
    F1 = tabs['nvmm__bessel_kmu_f1'][p]
    cf, cfd, c1, c1d = [0.0] * NT, [0.0] * NT, [0.0] * NT, [0.0] * NT
    for j in range(NS):
        for i in range(NT):
            cf[i] += F[j][i] * ts[j]
            cfd[i] += F[j][i] * dts[j]
    for j in range(NM):
        for i in range(NT):
            c1[i] += F1[j][i] * tm[j]
            c1d[i] += F1[j][i] * dtm[j]
    cfd = [16.0 * mu * v for v in cfd]
    c1d = [2.0 * v for v in c1d]
    got = [estrin(cf, x), estrin(c1, x), estrin(cfd, x), estrin(c1d, x)]
    with mp.workdps(DPS):
        m, zz = mp.mpf(mu), mp.mpf(z)
        ref = [fF(m, zz), fF1(m, zz), mp.diff(lambda t: fF(t, zz), m),
               mp.diff(lambda t: fF1(t, zz), m)]
        err = [float(abs(g - r)) for g, r in zip(got, ref)]
        if mu == 0.0:
            k01 = tabs['nvmm__bessel_k01_cheb'][p]
            err.append(float(abs(estrin(k01[0], x) - ref[0])))
            err.append(float(abs(estrin(k01[1], x) - ref[1])))
        else:
            err += [0.0, 0.0]
    return err


def verify(n):
    tabs = read_tables("src/bessel_cheb.c")
    rnd = random.Random(20250101)
    pts = []
    for i in range(n):
        mu = 0.0 if i % 8 == 0 else rnd.uniform(-0.5, 0.5)
        z = 10 ** rnd.uniform(0, 5) if i % 3 else rnd.uniform(1.0, 25.0)
        pts.append((tabs, mu, z))
    pts.append((tabs, -0.5, 1.0))
    pts.append((tabs, 0.0, 1.0))
    pts.append((tabs, 0.49999, 1e300))
    with multiprocessing.Pool() as pool:
        errs = pool.map(verify_point, pts)
    names = ["F", "F1", "dF/dmu", "dF1/dmu", "K0 table", "K1 table"]
    for i, name in enumerate(names):
        w = max(range(len(pts)), key=lambda k: errs[k][i])
        print("worst abs error of %-8s %.3g at mu = %r, z = %r"
              % (name, errs[w][i], pts[w][1], pts[w][2]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--verify", type=int, metavar="N",
                    help="check src/bessel_cheb.c at N random points instead of writing it")
    opts = ap.parse_args()
    mp.mp.dps = DPS
    if opts.verify:
        verify(opts.verify)
        return
    with multiprocessing.Pool() as pool:
        tabs = [fit_piece(p, pool) for p in range(len(PIECES))]
    for p, t in enumerate(tabs):
        cond = max(mp.fsum(abs(v) for v in t[k]) for k in ('k0', 'k1'))
        sys.stderr.write("piece %d: dropped |coeff| K0 %.2g K1 %.2g F %.2g F1 %.2g; "
                         "sum |monomial| %.4f\n"
                         % (p, t['k0_drop'], t['k1_drop'], t['f_drop'], t['f1_drop'], cond))
    write_c(tabs)


if __name__ == "__main__":
    main()
