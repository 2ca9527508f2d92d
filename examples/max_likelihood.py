"""Maximum likelihood with npdiff gradients: logistic regression, and the
hyper-parameters of a Gaussian process (Cholesky factor and slogdet in the
negative log marginal likelihood).

Set NPDIFF_EXAMPLE_SMALL=1 for smaller data sets, as the test suite does.
"""
import os

import numpy as np
from scipy.optimize import minimize

import npdiff

SMALL = bool(os.environ.get("NPDIFF_EXAMPLE_SMALL"))


def logistic_nll(w, X, y):
    """Negative log-likelihood of logistic regression (labels y in {0, 1})."""
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - y * z) + 0.5e-2 * np.sum(w ** 2)


def gp_nll(log_params, t, y):
    """Negative log marginal likelihood of a GP with a squared-exponential kernel.

    log_params = (log amplitude, log length scale, log noise standard deviation).
    """
    amp2 = np.exp(2.0 * log_params[0])
    ell2 = np.exp(2.0 * log_params[1])
    noise2 = np.exp(2.0 * log_params[2])
    d2 = (t[:, None] - t[None, :]) ** 2
    K = amp2 * np.exp(-0.5 * d2 / ell2) + (noise2 + 1e-8) * np.eye(t.shape[0])
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L, y)                      # L^{-1} y
    _, logdet = np.linalg.slogdet(K)
    return 0.5 * alpha @ alpha + 0.5 * logdet + 0.5 * t.shape[0] * np.log(2.0 * np.pi)


def fit_logistic(rng):
    n, d = (200, 5) if SMALL else (5000, 20)
    X = rng.standard_normal((n, d))
    w_true = rng.standard_normal(d)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-X @ w_true))).astype(float)
    grad = npdiff.grad(logistic_nll)                   # gradient in w; X and y are data
    hess = npdiff.hessian(logistic_nll)
    res = minimize(logistic_nll, np.zeros(d), args=(X, y), jac=grad, hess=hess, method="trust-exact")
    print(f"logistic regression n={n} d={d}: nit={res.nit} nll={res.fun:.3f} "
          f"|grad|={np.linalg.norm(grad(res.x, X, y)):.1e}")
    return res


def fit_gp(rng):
    n = 30 if SMALL else 200
    t = np.sort(rng.uniform(0.0, 10.0, n))
    y = np.sin(t) + 0.1 * rng.standard_normal(n)
    vg = npdiff.value_and_grad(gp_nll)                  # one call: (value, gradient)
    res = minimize(vg, np.zeros(3), args=(t, y), jac=True, method="L-BFGS-B")
    amp, ell, noise = np.exp(res.x)
    print(f"GP hyper-parameters n={n}: nit={res.nit} nll={res.fun:.3f} amplitude={amp:.3f} "
          f"length scale={ell:.3f} noise={noise:.3f}")
    return res


def main():
    rng = np.random.default_rng(0)
    return fit_logistic(rng), fit_gp(rng)


if __name__ == "__main__":
    main()
