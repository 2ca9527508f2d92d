"""A Gaussian process's log marginal likelihood, maximised in its kernel parameters with BFGS.

An autograd program: only its import lines differ (npdiff's compat module in place of autograd).
"""
import npdiff.compat.autograd.numpy.random as npr
import npdiff.compat.autograd.scipy.stats.multivariate_normal as mvn

import npdiff.compat.autograd.numpy as np
from npdiff.compat.autograd import value_and_grad


def rbf_covariance(params, x, xp):
    """Return the squared-exponential kernel between the rows of x and xp."""
    output_scale = np.exp(params[0])
    lengthscales = np.exp(params[1:])
    diffs = np.expand_dims(x / lengthscales, 1) - np.expand_dims(xp / lengthscales, 0)
    return output_scale * np.exp(-0.5 * np.sum(diffs ** 2, axis=2))


def problem(seed=0, n=40, d=1):
    """Return (objective, initial parameters): minus the log marginal likelihood of noisy sine data."""
    rs = npr.RandomState(seed)
    x = np.sort(rs.uniform(-4.0, 4.0, (n, d)), axis=0)
    y = np.sin(np.sum(x, axis=1)) + 0.1 * rs.randn(n)

    def objective(params):
        mean, noise = params[0], np.exp(params[1]) + 1e-4
        cov = rbf_covariance(params[2:], x, x) + noise * np.eye(n)
        return -mvn.logpdf(y, mean * np.ones(n), cov)
    return objective, 0.1 * rs.randn(3 + d)


def main():
    from scipy.optimize import minimize
    objective, params = problem()
    result = minimize(value_and_grad(objective), params, jac=True, method="BFGS")
    print(f"minus log marginal likelihood {objective(params):.4f} -> {result.fun:.4f} in {result.nit} iterations")


if __name__ == "__main__":
    main()
