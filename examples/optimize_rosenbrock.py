"""scipy.optimize.minimize with npdiff's jac=, hess= and hessp= on the extended
Rosenbrock function (n = 1000), against finite-difference gradients.

Prints the time, the iterations and the function evaluations of each run.
Set NPDIFF_EXAMPLE_SMALL=1 for a quick run (n = 20), as the test suite does.
"""
import os
import time

import numpy as np
from scipy.optimize import minimize

import npdiff

N = 20 if os.environ.get("NPDIFF_EXAMPLE_SMALL") else 1000


def rosenbrock(x):
    """Extended Rosenbrock function, plain NumPy."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def run(label, **kwargs):
    x0 = np.full(N, -1.2)
    x0[1::2] = 1.0
    t = time.perf_counter()
    res = minimize(rosenbrock, x0, **kwargs)
    elapsed = time.perf_counter() - t
    err = np.max(np.abs(res.x - 1.0))
    print(f"{label:<34} {elapsed:8.3f} s  nit={res.nit:<5} nfev={res.nfev:<7} "
          f"max|x - 1| = {err:.1e}  success={res.success}")
    return res


def main():
    grad = npdiff.grad(rosenbrock)
    hess = npdiff.hessian(rosenbrock)    # dense; coloured: 3 passes, not n
    hessp = npdiff.hvp(rosenbrock)       # hessp(x, p) = H(x) @ p
    x = np.zeros(N)
    for f in (grad, hess):               # generate code once, outside the timings
        f(x)
    hessp(x, x)

    print(f"extended Rosenbrock, n = {N}")
    results = {
        "trust-ncg, npdiff jac + hess": run("trust-ncg, npdiff jac + hess", method="trust-ncg",
                                            jac=grad, hess=hess),
        "trust-ncg, npdiff jac + hessp": run("trust-ncg, npdiff jac + hessp", method="trust-ncg",
                                             jac=grad, hessp=hessp),
        "L-BFGS-B, npdiff jac": run("L-BFGS-B, npdiff jac", method="L-BFGS-B", jac=grad),
        "L-BFGS-B, finite differences": run("L-BFGS-B, finite differences", method="L-BFGS-B"),
    }
    return results


if __name__ == "__main__":
    main()
