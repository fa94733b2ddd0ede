#!/usr/bin/python3
"""Reference log-densities of the univariate NIG and GH laws from scipy.stats.

Writes tests/data/mixture_d1_ref.tsv, read by tests/test_model.c. scipy's norminvgauss and
genhyperbolic are independent implementations (their own parametrization and Bessel code), so
agreement checks both nvmm's density formula and its parameter mapping.

nvmm's model: X | Y ~ N(mu + gamma Y, Y sigma2). With W = sigma2 Y, X | W ~ N(mu + beta W, W),
beta = gamma / sigma2, and W ~ GIG(p, a / sigma2, b sigma2) (scale rule of src/numerics.md 2.5).
The classical GH(lambda, alpha, beta, delta, mu) has W ~ GIG(lambda, chi = delta^2,
psi = alpha^2 - beta^2); scipy's genhyperbolic(p, a, b, loc, scale) is that law with
a = alpha delta, b = beta delta, scale = delta, loc = mu, and norminvgauss(a, b, loc, scale) is
the case p = -1/2. Rerun: scripts/gen_mixture_table.py > tests/data/mixture_d1_ref.tsv
"""
import math
import sys

from scipy import stats

# (family, mu, gamma, sigma2, par): NIG par = (mu_ig, lambda); GH par = (p, a, b).
CASES = [
    ("nig", 0.3, 0.4, 1.2, (1.0, 1.5)),
    ("nig", -1.1, -0.7, 0.5, (2.3, 0.8)),
    ("nig", 0.0, 0.0, 2.0, (0.5, 4.0)),
    ("nig", 2.5, 1.3, 0.3, (1.7, 0.2)),
    ("gh", 0.3, 0.4, 1.2, (1.3, 2.0, 0.7)),
    ("gh", -0.2, -0.5, 0.8, (-2.4, 0.6, 3.1)),
    ("gh", 1.0, 0.25, 1.5, (-0.5, 1.5, 1.5)),
    ("gh", 0.0, 0.9, 0.4, (4.5, 3.0, 0.2)),
    ("gh", 0.7, -1.2, 2.2, (0.2, 0.05, 8.0)),
]
XS = [-12.0, -4.3, -1.1, -0.2, 0.0, 0.37, 1.6, 3.9, 11.5]


def to_scipy(gamma, sigma2, p, a, b):
    beta = gamma / sigma2
    chi = b * sigma2
    psi = a / sigma2
    delta = math.sqrt(chi)
    alpha = math.sqrt(psi + beta * beta)
    return alpha * delta, beta * delta, delta


def main():
    out = sys.stdout
    out.write("# family mu gamma sigma2 par1 par2 par3 x logpdf (scipy %s)\n"
              % __import__("scipy").__version__)
    for fam, mu, gamma, sigma2, par in CASES:
        if fam == "nig":
            mu_ig, lam = par
            p, a, b = -0.5, lam / mu_ig**2, lam
            pars = (mu_ig, lam, 0.0)
        else:
            p, a, b = par
            pars = par
        sa, sb, scale = to_scipy(gamma, sigma2, p, a, b)
        for x in XS:
            if fam == "nig":
                lp = stats.norminvgauss.logpdf(x, sa, sb, loc=mu, scale=scale)
            else:
                lp = stats.genhyperbolic.logpdf(x, p, sa, sb, loc=mu, scale=scale)
            out.write("%s %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n"
                      % (fam, mu, gamma, sigma2, pars[0], pars[1], pars[2], x, lp))


if __name__ == "__main__":
    main()
