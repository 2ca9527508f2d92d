"""Regression and count models written as statistics libraries write them (scipy.stats log-densities,
the linear predictor, in-place accumulation): npdiff's gradient and Hessian per call against the
hand-written analytic score and Hessian, and against numerical differentiation
(scipy.optimize.approx_fprime of the log-likelihood, and of the analytic score for the Hessian), side by
side in one run. Run: python bench/bench_models.py  (about a minute)."""
from __future__ import annotations

import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded BLAS, as in DESIGN.md

import numpy as np
from common import fmt, per_call
from scipy import special, stats
from scipy.optimize import approx_fprime

import npdiff

N, K = 2000, 5
EPS = np.sqrt(np.finfo(float).eps)
rng = np.random.default_rng(0)
X = np.column_stack([np.ones(N), rng.standard_normal((N, K - 1))])
BETA = np.array([0.3, -0.2, 0.1, 0.25, -0.15])


def linpred(params):
    """The linear predictor (X.dot(params) in library code; X @ params until constant.dot(traced) lands)."""
    return X @ params


# -- probit (statsmodels' Probit.loglike) ------------------------------------------------------------------
Y_BIN = (X @ BETA + rng.standard_normal(N) > 0).astype(float)


def probit_loglike(params):
    q = 2 * Y_BIN - 1
    return np.sum(np.log(np.clip(stats.norm.cdf(q * linpred(params)), 1e-300, 1)))


def probit_score(params):
    q = 2 * Y_BIN - 1
    z = q * (X @ params)
    return X.T @ (q * np.exp(stats.norm.logpdf(z) - stats.norm.logcdf(z)))


def probit_hessian(params):
    xb = X @ params
    q = 2 * Y_BIN - 1
    lam = q * np.exp(stats.norm.logpdf(q * xb) - stats.norm.logcdf(q * xb))
    return -(X.T * (lam * (lam + xb))) @ X


# -- Poisson regression with in-place accumulation -------------------------------------------------------
Y_CNT = rng.poisson(np.exp(X @ BETA)).astype(float)


def poisson_loglike(params):
    xb = linpred(params)
    ll = np.zeros(N)
    ll += Y_CNT * xb
    ll -= np.exp(xb)
    ll -= special.gammaln(Y_CNT + 1)
    return np.sum(ll)


def poisson_score(params):
    return X.T @ (Y_CNT - np.exp(X @ params))


def poisson_hessian(params):
    mu = np.exp(X @ params)
    return -(X.T * mu) @ X


# -- negative binomial (NB2) through scipy.stats.nbinom.logpmf ----------------------------------------------
Y_NB = rng.negative_binomial(2.0, 2.0 / (2.0 + np.exp(X @ BETA))).astype(float)


def nb2_loglike(params):
    mu = np.exp(linpred(params[:-1]))
    n = 1.0 / params[-1]
    return np.sum(stats.nbinom.logpmf(Y_NB, n, n / (n + mu)))


def nb2_score(params):
    beta, alpha = params[:-1], params[-1]
    mu = np.exp(X @ beta)
    a1 = 1.0 / alpha
    dbeta = X.T @ ((Y_NB - mu) / (1.0 + alpha * mu))
    dalpha = np.sum(a1 ** 2 * (np.log1p(alpha * mu) - special.digamma(Y_NB + a1) + special.digamma(a1))
                    + (Y_NB - mu) / (alpha * (1.0 + alpha * mu)))
    return np.append(dbeta, dalpha)


MODELS = [
    ("probit (norm.cdf)", probit_loglike, probit_score, probit_hessian, BETA),
    ("Poisson (in-place)", poisson_loglike, poisson_score, poisson_hessian, BETA),
    ("NB2 (nbinom.logpmf)", nb2_loglike, nb2_score, None, np.append(BETA, 0.5)),
]


def main():
    print(f"n = {N} observations, {K} regressors; per-call times, best of 7 (ratios: time / npdiff's)")
    for name, loglike, score, hess, p in MODELS:
        t0 = time.perf_counter()
        g, H = npdiff.grad(loglike), npdiff.hessian(loglike)
        g(p)
        first_g = time.perf_counter() - t0
        t0 = time.perf_counter()
        H(p)
        first_h = time.perf_counter() - t0
        assert np.allclose(g(p), score(p), rtol=1e-8, atol=1e-8), name
        if hess is not None:
            assert np.allclose(H(p), hess(p), rtol=1e-8, atol=1e-6), name
        t = {
            "npdiff grad": per_call(g, p),
            "analytic score": per_call(score, p),
            "approx_fprime(loglike)": per_call(lambda q: approx_fprime(q, loglike, EPS), p, repeat=3),
            "npdiff hessian": per_call(H, p),
            "approx_fprime(score)": per_call(lambda q: approx_fprime(q, score, EPS), p, repeat=3),
        }
        if hess is not None:
            t["analytic hessian"] = per_call(hess, p)
        print(f"\n{name}  (first call: grad {first_g * 1e3:.0f} ms, hessian {first_h * 1e3:.0f} ms)")
        for label in ("npdiff grad", "analytic score", "approx_fprime(loglike)"):
            print(f"  {label:<26} {fmt(t[label])}   {t[label] / t['npdiff grad']:7.2f}x")
        for label in ("npdiff hessian", "analytic hessian", "approx_fprime(score)"):
            if label in t:
                print(f"  {label:<26} {fmt(t[label])}   {t[label] / t['npdiff hessian']:7.2f}x")


if __name__ == "__main__":
    main()
