"""The cheap-gradient bound on ordinary code: gradient time over function time for a corpus of
likelihoods and objectives written the usual way (``X @ beta``, ``np.dot(X, beta)``, ``scipy.stats`` log-densities,
in-place accumulation, test functions, a small simulation), at n = 2 to 10^5 (observations or
dimensions). The function time is the user's own NumPy function; the gradient is
``npdiff.grad`` (generated code, default backend). Reports each ratio, then the median and the
worst per size. Theory allows a small constant (issue 23's targets: median <= 2, worst <= 4).
``X.dot(beta)`` with a plain ``X`` and traced ``beta`` cannot be traced (NumPy's C method converts
its argument; the error names that call); the regressions here use ``X @ b`` and ``np.dot(X, b)``.

    python bench/bench_corpus.py            # n = 2, 100, 10^4, 10^5
    python bench/bench_corpus.py --quick    # n = 2, 100, 10^4
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded BLAS, as in DESIGN.md

import statistics
import sys

import numpy as np
import scipy.stats as st
from common import per_call

import npdiff

P = 5  # regression coefficients


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, P))
    beta = rng.standard_normal(P) * 0.3
    eta = X.dot(beta)
    return rng, X, beta, eta


def corpus(n):
    """Return [(name, f, x)]: f(x) -> float, with its data of n observations (or n dimensions)."""
    rng, X, beta, eta = _data(n)
    y_lin = eta + 0.5 * rng.standard_normal(n)
    y_bin = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    y_cnt = rng.poisson(np.exp(eta)).astype(float)
    z = rng.standard_normal(n)
    pos = np.abs(z) + 0.1
    theta2 = np.array([0.1, -0.3])
    xs = np.linspace(-1.2, 1.3, n)

    def linear_nll(p):
        r = y_lin - np.dot(X, p[:P])
        s2 = np.exp(2.0 * p[P])
        return 0.5 * r.dot(r) / s2 + n * p[P]

    def logistic_nll(b):
        e = X @ b
        return np.sum(np.logaddexp(0.0, e) - y_bin * e)

    def poisson_nll(b):
        e = np.dot(X, b)
        return np.sum(np.exp(e) - y_cnt * e)

    def probit_nll(b):
        e = np.dot(X, b)
        return -np.sum(y_bin * st.norm.logcdf(e) + (1 - y_bin) * st.norm.logcdf(-e))

    def norm_logpdf(t):
        return -np.sum(st.norm.logpdf(z, t[0], np.exp(t[1])))

    def student_t_logpdf(t):
        return -np.sum(st.t.logpdf(z, np.exp(t[0]) + 1.0, loc=t[1]))

    def gamma_logpdf(t):
        return -np.sum(st.gamma.logpdf(pos, np.exp(t[0]), scale=np.exp(t[1])))

    def poisson_logpmf(b):
        return -np.sum(st.poisson.logpmf(y_cnt, np.exp(X @ b)))

    def accumulate(x):  # in-place accumulation, as in hand-written code
        acc = np.zeros_like(x)
        acc += x ** 2
        acc[1:] += 0.5 * x[:-1] * x[1:]
        acc[:-1] -= 0.1 * np.sin(x[1:])
        return np.sum(acc)

    def rosenbrock(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    def rastrigin(x):
        return 10.0 * x.size + np.sum(x ** 2 - 10.0 * np.cos(2 * np.pi * x))

    def ackley(x):
        return (-20.0 * np.exp(-0.2 * np.sqrt(np.mean(x ** 2))) - np.exp(np.mean(np.cos(2 * np.pi * x)))
                + 20.0 + np.e)

    def styblinski_tang(x):
        return 0.5 * np.sum(x ** 4 - 16.0 * x ** 2 + 5.0 * x)

    def heat_chain(u0):  # a small simulation: 20 explicit steps of a 1-D heat equation, then a loss
        u = u0
        for _ in range(20):
            lap = np.zeros_like(u)
            lap[1:-1] = u[2:] - 2.0 * u[1:-1] + u[:-2]
            u = u + 0.2 * lap - 0.01 * u ** 3
        return np.sum(u ** 2)

    rows = [("linear regression NLL (np.dot)", linear_nll, np.append(beta, 0.1)),
            ("logistic regression NLL", logistic_nll, beta), ("Poisson regression NLL", poisson_nll, beta),
            ("probit NLL (norm.logcdf)", probit_nll, beta),
            ("scipy.stats.norm.logpdf", norm_logpdf, theta2), ("scipy.stats.t.logpdf", student_t_logpdf, theta2),
            ("scipy.stats.gamma.logpdf", gamma_logpdf, theta2),
            ("scipy.stats.poisson.logpmf (X @ b)", poisson_logpmf, beta),
            ("in-place accumulation", accumulate, xs), ("Rosenbrock", rosenbrock, xs),
            ("Rastrigin", rastrigin, xs), ("Ackley", ackley, xs), ("Styblinski-Tang", styblinski_tang, xs)]
    if n >= 3:
        rows.append(("heat equation, 20 steps", heat_chain, np.sin(np.linspace(0, 3, n))))
    return rows


def check(f, g, x):
    """Raise if npdiff's gradient disagrees with central differences along a random direction."""
    d = np.random.default_rng(1).standard_normal(x.shape)
    h = 1e-6 * max(1.0, float(np.abs(x).max()))
    fd = (f(x + h * d) - f(x - h * d)) / (2 * h)
    got = float(np.dot(g(x), d))
    if not np.isclose(got, fd, rtol=1e-4, atol=1e-6 * (1 + abs(fd))):
        raise AssertionError(f"gradient check failed: {got} vs finite differences {fd}")


def main(argv=()):
    sizes = (2, 100, 10 ** 4) if "--quick" in argv else (2, 100, 10 ** 4, 10 ** 5)
    summary = []
    for n in sizes:
        print(f"\nn = {n}: gradient time / function time (npdiff.grad, default backend)")
        ratios = []
        for name, f, x in corpus(n):
            g = npdiff.grad(f)
            check(f, g, x)
            tf = per_call(f, x, repeat=5, target=0.02)
            tg = per_call(g, x, repeat=5, target=0.02)
            ratios.append(tg / tf)
            print(f"  {name:<36} f {tf * 1e6:10.2f} us   grad {tg * 1e6:10.2f} us   {tg / tf:6.2f}x")
        med, worst = statistics.median(ratios), max(ratios)
        summary.append((n, med, worst))
        print(f"  median {med:.2f}x, worst {worst:.2f}x")
    print("\nsummary: n, median, worst gradient/function ratio")
    for n, med, worst in summary:
        print(f"  n = {n:<7} median {med:5.2f}x   worst {worst:5.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
