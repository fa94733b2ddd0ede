#!/usr/bin/python3
"""Reference VaR and expected shortfall of univariate NIG and GH laws, by mpmath at 30 digits.

Writes tests/data/risk_ref.tsv, read by tests/mpi/risk.sh, which compares `nvmm risk` on the
one-column model of each row with it. Independent of nvmm's code: the density is the classical
GH density (Barndorff-Nielsen's (lambda, alpha, beta, delta, mu) form, through mpmath's
besselk), the CDF is mpmath.quad of that density, the quantile Newton's method on the CDF (mpmath.findroot's
method, written out so that each step integrates only from the previous point), and
the shortfall the quad of x f(x) below the quantile.

nvmm's law: R | Y ~ N(mu + gamma Y, s2 Y), Y ~ GIG(p, a, b) (density proportional to
y^(p-1) exp(-(a y + b/y)/2); NIG: InverseGaussian(mu_ig, lambda) = GIG(-1/2, lambda/mu_ig^2,
lambda)). With W = s2 Y, R | W ~ N(mu + beta W, W), beta = gamma / s2, W ~ GIG(p, psi, chi) with
psi = a / s2, chi = b s2, so delta = sqrt(chi), alpha = sqrt(psi + beta^2), lambda = p.
Loss L = -R; at level A, VaR = -q with P(R <= q) = 1 - A, ES = E[L | L >= VaR] =
-E[R 1{R <= q}] / (1 - A).
Rerun: scripts/gen_risk_table.py > tests/data/risk_ref.tsv
"""
import sys

import mpmath as mp

mp.mp.dps = 30

# (family, mu, gamma, s2, par): NIG par = (mu_ig, lambda); GH par = (p, a, b).
CASES = [
    ("nig", 0.3, 0.4, 1.2, (1.0, 1.5)),
    ("nig", -1.1, -0.7, 0.5, (2.3, 0.8)),
    ("gh", 0.3, 0.4, 1.2, (1.3, 2.0, 0.7)),
    ("gh", -0.2, -0.5, 0.8, (-2.4, 0.6, 3.1)),
]
LEVELS = [0.99, 0.975]


def gig_of(fam, par):
    if fam == "nig":
        mu_ig, lam = (mp.mpf(v) for v in par)
        return mp.mpf(-0.5), lam / mu_ig**2, lam
    return tuple(mp.mpf(v) for v in par)


def law(mu, gamma, s2, p, a, b):
    """The density of R in the classical GH form, and E R, sd R (for the quadrature's split)."""
    mu, gamma, s2 = mp.mpf(mu), mp.mpf(gamma), mp.mpf(s2)
    beta = gamma / s2
    chi, psi = b * s2, a / s2
    delta = mp.sqrt(chi)
    alpha = mp.sqrt(psi + beta**2)
    g = mp.sqrt(psi)  # sqrt(alpha^2 - beta^2)
    norm = (g / delta) ** p / (mp.sqrt(2 * mp.pi) * mp.besselk(p, delta * g))

    def f(x):
        r = mp.sqrt(delta**2 + (x - mu) ** 2)
        return (norm * mp.exp(beta * (x - mu)) * mp.besselk(p - 0.5, alpha * r)
                / (r / alpha) ** (0.5 - p))

    # Moments of W ~ GIG(p, psi, chi): E W^k = (chi/psi)^(k/2) K_{p+k}(w) / K_p(w).
    w = mp.sqrt(chi * psi)
    ew = mp.sqrt(chi / psi) * mp.besselk(p + 1, w) / mp.besselk(p, w)
    ew2 = (chi / psi) * mp.besselk(p + 2, w) / mp.besselk(p, w)
    mean = mu + beta * ew
    sd = mp.sqrt(ew + beta**2 * (ew2 - ew**2))
    return f, mean, sd


def main():
    out = sys.stdout
    out.write("# family mu gamma s2 par1 par2 par3 level var es (mpmath %s, %d digits)\n"
              % (mp.__version__, mp.mp.dps))
    for fam, mu, gamma, s2, par in CASES:
        p, a, b = gig_of(fam, par)
        f, mean, sd = law(mu, gamma, s2, p, a, b)
        # The total mass is 1 to the working precision: a check of the density's normalization.
        total = mp.quad(f, [-mp.inf, mean - 4 * sd, mean, mean + 4 * sd, mp.inf])
        assert abs(total - 1) < mp.mpf(10) ** -20, (fam, total)

        def cdf(x):
            pts = [-mp.inf] + [t for t in (mean - 8 * sd, mean - 4 * sd, mean) if t < x] + [x]
            return mp.quad(f, pts)

        pars = list(par) + [0.0] * (3 - len(par))
        for level in LEVELS:
            tail = 1 - mp.mpf(level)
            # Newton on F(q) = 1 - A; each step adds the integral from the previous point, so
            # the tail integral from -inf is done once (then once more at the root, as a check).
            q = mean - 2.5 * sd
            big = cdf(q)
            for _ in range(100):
                step = (big - tail) / f(q)
                q_new = q - step
                big += mp.quad(f, [q, q_new])
                q = q_new
                if abs(step) < mp.mpf(10) ** -25 * (1 + abs(q)):
                    break
            else:
                raise RuntimeError("no convergence")
            assert abs(cdf(q) - tail) < mp.mpf(10) ** -22 * tail, (fam, level)
            pts = [-mp.inf] + [t for t in (mean - 8 * sd, mean - 4 * sd) if t < q] + [q]
            es = -mp.quad(lambda x: x * f(x), pts) / tail
            out.write("%s %r %r %r %r %r %r %r %s %s\n"
                      % (fam, mu, gamma, s2, pars[0], pars[1], pars[2], level,
                         mp.nstr(-q, 20), mp.nstr(es, 20)))


if __name__ == "__main__":
    main()
