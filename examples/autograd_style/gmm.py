"""A Gaussian mixture's log-likelihood in its proportions, means and Cholesky factors, fitted with Adam.

An autograd program: only its import lines differ (npdiff's compat module in place of autograd).
"""
import npdiff.compat.autograd.numpy.random as npr
import npdiff.compat.autograd.scipy.stats.multivariate_normal as mvn
from npdiff.compat.autograd.scipy.special import logsumexp

import npdiff.compat.autograd.numpy as np
from npdiff.compat.autograd import grad
from npdiff.compat.autograd.misc.optimizers import adam


def init_params(k, d, scale, rs):
    """Return a dict of parameters: log proportions, means, lower-triangular Cholesky factors."""
    return {"log_proportions": rs.randn(k) * scale,
            "means": rs.randn(k, d) * 2.0,
            "lower_tris": np.tile(np.eye(d), (k, 1, 1)) + scale * rs.randn(k, d, d)}


def log_normalize(x):
    return x - logsumexp(x)


def mixture_log_likelihood(params, data):
    """Return the log-likelihood of the data under the mixture."""
    cluster_lls = []
    for log_p, mean, tril in zip(log_normalize(params["log_proportions"]), params["means"], params["lower_tris"]):
        chol = np.tril(tril)
        cov = np.dot(chol, chol.T) + 1e-3 * np.eye(chol.shape[0])
        cluster_lls.append(log_p + mvn.logpdf(data, mean, cov))
    return np.sum(logsumexp(np.vstack(cluster_lls), axis=0))


def make_data(n, rs):
    """Return points from two elongated clusters."""
    a = rs.randn(n // 2, 2) * np.array([2.0, 0.3]) + np.array([0.0, 2.0])
    b = rs.randn(n - n // 2, 2) * np.array([0.3, 1.5]) + np.array([2.0, -1.0])
    return np.concatenate([a, b])


def problem(seed=0, n=200, k=3):
    """Return (objective, initial parameters): minus the mixture's log-likelihood."""
    rs = npr.RandomState(seed)
    data = make_data(n, rs)
    params = init_params(k, 2, 0.1, rs)
    return (lambda params: -mixture_log_likelihood(params, data)), params


def main(num_iters=100):
    objective, params = problem()
    params = adam(grad(lambda p, i: objective(p)), params, step_size=0.1, num_iters=num_iters,
                  callback=lambda p, i, g: i % 25 or print(f"iteration {i:3d}  -log-likelihood {objective(p):.3f}"))
    print(f"final -log-likelihood {objective(params):.3f}")


if __name__ == "__main__":
    main()
