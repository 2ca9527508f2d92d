"""Sparse derivatives from npdiff in scipy.optimize: minimize(method="trust-constr")
with a sparse Hessian and a sparse constraint Jacobian, and
least_squares(jac_sparsity=...) with npdiff's structural sparsity pattern.

Size: n = 300 variables. Sparse code generation today propagates a dense
boolean pattern per graph node: it refuses problems above about 2000 variables
(a ValueError naming the limit) and its cost grows like n^2 (about a minute
at n = 1000 on a loaded 2-core machine); the generated functions themselves
are fast. Set NPDIFF_EXAMPLE_SMALL=1 for n = 100.
"""
import os
import time

import numpy as np
from scipy.optimize import NonlinearConstraint, least_squares, minimize

import npdiff

N = 100 if os.environ.get("NPDIFF_EXAMPLE_SMALL") else 300


def broyden(x):
    """Broyden tridiagonal residuals: r_i = (3 - 2 x_i) x_i - x_{i-1} - 2 x_{i+1} + 1."""
    xm = np.concatenate([np.zeros(1), x[:-1]])
    xp = np.concatenate([x[1:], np.zeros(1)])
    return (3.0 - 2.0 * x) * x - xm - 2.0 * xp + 1.0


def objective(x):
    """A separable-plus-chain objective with a tridiagonal Hessian."""
    return np.sum((x - 0.5) ** 2) + 0.1 * np.sum((x[1:] - x[:-1] ** 2) ** 2)


def ring(x):
    """Constraints coupling neighbours: x_i^2 + x_{i+1}^2 <= 0.4 (active at the solution)."""
    return x[:-1] ** 2 + x[1:] ** 2


def timed(label, fn):
    t = time.perf_counter()
    out = fn()
    print(f"{label:<46} {time.perf_counter() - t:7.3f} s")
    return out


def main():
    x0 = np.zeros(N)
    print(f"n = {N}")
    # least_squares with the pattern and the sparse Jacobian
    pattern = timed("sparsity pattern of the residuals", lambda: npdiff.sparsity(broyden, (N,)))
    jac = npdiff.jacobian(broyden, sparse=True)                  # scipy.sparse.csr_array per call
    timed("generate sparse Jacobian", lambda: jac(x0))
    ls = timed("least_squares, npdiff sparse jac", lambda: least_squares(broyden, -np.ones(N), jac=jac))
    ls_fd = timed("least_squares, FD with jac_sparsity", lambda: least_squares(
        broyden, -np.ones(N), jac_sparsity=pattern))
    print(f"  npdiff: nfev={ls.nfev} njev={ls.njev} cost={ls.cost:.2e};  "
          f"FD+sparsity: nfev={ls_fd.nfev} cost={ls_fd.cost:.2e};  pattern nnz={int(np.sum(pattern))}")

    # trust-constr with a sparse Hessian and sparse constraint Jacobian
    grad = npdiff.grad(objective)
    hess = npdiff.hessian(objective, sparse=True)
    cjac = npdiff.jacobian(ring, sparse=True)
    chess = npdiff.hessian(lambda x, v: v @ ring(x), sparse=True)   # Hessian of v . c(x) in x
    timed("generate sparse Hessians and Jacobian", lambda: (hess(x0), cjac(x0), chess(x0, np.ones(N - 1))))
    con = NonlinearConstraint(ring, -np.inf, 0.4, jac=cjac, hess=lambda x, v: chess(x, v))
    res = timed("trust-constr, npdiff grad + sparse hess", lambda: minimize(
        objective, x0, method="trust-constr", jac=grad, hess=hess, constraints=[con]))
    print(f"  trust-constr: nit={res.nit} status={res.status} f={res.fun:.6f} "
          f"max constraint={np.max(ring(res.x)):.4f}")
    return ls, res


if __name__ == "__main__":
    main()
