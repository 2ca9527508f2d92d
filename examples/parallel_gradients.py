"""Generated gradients in worker processes: a multiprocessing spawn pool and a
concurrent.futures.ProcessPoolExecutor evaluate one GeneratedFunction over many
parameter sets.

A GeneratedFunction pickles by its source, so the workers need NumPy only: the
function it was generated from is never imported there.
Set NPDIFF_EXAMPLE_SMALL=1 for fewer parameter sets, as the test suite does.
"""
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

import npdiff

SMALL = bool(os.environ.get("NPDIFF_EXAMPLE_SMALL"))


def neg_log_density(theta):
    """A banana-shaped negative log density in 2 dimensions."""
    return 0.5 * (theta[0] ** 2 / 4.0 + (theta[1] - theta[0] ** 2) ** 2)


def main():
    n_sets = 8 if SMALL else 2000
    rng = np.random.default_rng(1)
    thetas = list(rng.standard_normal((n_sets, 2)))
    grad = npdiff.grad(neg_log_density).specialize((2,))    # a GeneratedFunction

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        pool_grads = pool.map(grad, thetas, chunksize=max(1, n_sets // 8))
    with ProcessPoolExecutor(2, mp_context=ctx) as ex:
        ex_grads = list(ex.map(grad, thetas, chunksize=max(1, n_sets // 8)))

    local = np.array([grad(t) for t in thetas])
    assert np.allclose(np.array(pool_grads), local) and np.allclose(np.array(ex_grads), local)
    # the closed form, to show the numbers are right
    th = np.array(thetas)
    r = th[:, 1] - th[:, 0] ** 2
    exact = np.stack([th[:, 0] / 4.0 - 2.0 * th[:, 0] * r, r], axis=1)
    print(f"{n_sets} gradients from a spawn Pool and a ProcessPoolExecutor; "
          f"max error vs closed form {np.max(np.abs(local - exact)):.1e}")
    return local, exact


if __name__ == "__main__":
    main()
