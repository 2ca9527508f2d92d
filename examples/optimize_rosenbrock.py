"""scipy.optimize.minimize with npdiff's jac=, hess= and hessp= on the extended
Rosenbrock function, against finite-difference gradients.

Prints the time, the iterations and the function evaluations of each run.

    python examples/optimize_rosenbrock.py            # n = 200: a few seconds
    python examples/optimize_rosenbrock.py --large    # n = 1000: about a minute

At n = 1000 a dense hess= costs a 1000 x 1000 Hessian per iteration (on a
loaded 2-core machine: about 10 ms/iteration with hess=, 0.7 ms with hessp=,
about 4000 trust-ncg iterations each); hessp= is the choice for large n. The
finite-difference run is capped (n function calls per gradient).
Set NPDIFF_EXAMPLE_SMALL=1 for a quick run (n = 20), as the test suite does.
"""
import os
import sys
import time

import numpy as np
from scipy.optimize import minimize

import npdiff

N = 20 if os.environ.get("NPDIFF_EXAMPLE_SMALL") else 1000 if "--large" in sys.argv[1:] else 200
FD_ITERS = 50 if os.environ.get("NPDIFF_EXAMPLE_SMALL") else 100


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
    print(f"{label:<44} {elapsed:8.3f} s ({1e3 * elapsed / max(res.nit, 1):7.2f} ms/iteration)  "
          f"nit={res.nit:<5} nfev={res.nfev:<7} max|x - 1| = {err:.1e}  success={res.success}", flush=True)
    return res


def main():
    grad = npdiff.grad(rosenbrock)
    hess = npdiff.hessian(rosenbrock)    # dense; coloured: 3 passes, not n
    hessp = npdiff.hvp(rosenbrock)       # hessp(x, p) = H(x) @ p
    x = np.zeros(N)
    print(f"extended Rosenbrock, n = {N}; generating the code of grad, hess and hessp ...", flush=True)
    t = time.perf_counter()
    grad(x), hess(x), hessp(x, x)        # generate code once, outside the timings
    print(f"code generation (grad, hess, hessp): {time.perf_counter() - t:.2f} s", flush=True)
    results = {
        "trust-ncg, npdiff jac + hess": run("trust-ncg, npdiff jac + hess", method="trust-ncg",
                                            jac=grad, hess=hess),
        "trust-ncg, npdiff jac + hessp": run("trust-ncg, npdiff jac + hessp", method="trust-ncg",
                                             jac=grad, hessp=hessp),
        "L-BFGS-B, npdiff jac": run("L-BFGS-B, npdiff jac", method="L-BFGS-B", jac=grad),
        # each finite-difference gradient costs n function calls: stop after FD_ITERS iterations
        "L-BFGS-B, finite differences": run(f"L-BFGS-B, finite differences ({FD_ITERS} it. max)",
                                            method="L-BFGS-B", options={"maxiter": FD_ITERS}),
    }
    return results


if __name__ == "__main__":
    main()
