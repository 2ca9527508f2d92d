"""A parameter sweep: many independent gradient and Hessian evaluations as Dask tasks.

``npdiff`` generates the gradient and Hessian code once, in this process. The
GeneratedFunctions pickle by their source, so they are shipped to the workers
as the task functions themselves (``client.map(grad_f, ...)``); the workers
need NumPy and npdiff importable, not the original Python function.

    python examples/dask_sweep.py [count]      # default 1000 evaluations of each (seconds)
    python examples/dask_sweep.py --large      # 10**4 evaluations of each (a minute or two)

With ``NPDIFF_EXAMPLE_SMALL=1`` it runs 200. On a multi-machine cluster, pass
``Client("tcp://scheduler:8786")`` instead of the local cluster.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

import npdiff

N = 8  # unknowns


def energy(x, a):
    """Return a Rosenbrock-like energy of x with stiffness a (a 0-d array)."""
    return np.sum(a * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def points(count: int, seed: int = 0):
    """Return count (x, a) pairs of the sweep."""
    rng = np.random.default_rng(seed)
    xs = rng.uniform(-1.5, 1.5, size=(count, N))
    As = np.logspace(0, 2, count)
    return [(x, np.asarray(a)) for x, a in zip(xs, As)]


def run(count: int, client) -> dict:
    """Return the gradients and Hessians of the sweep, computed as Dask tasks on ``client``."""
    print(f"generating the gradient and Hessian code for x of shape ({N},) ...", flush=True)
    grad_f = npdiff.grad(energy).specialize((N,), ())  # GeneratedFunctions: picklable task functions
    hess_f = npdiff.hessian(energy).specialize((N,), ())
    pts = points(count)
    xs, As = [p[0] for p in pts], [p[1] for p in pts]
    t0 = time.perf_counter()
    print(f"mapping {count} gradient and {count} Hessian evaluations onto the workers ...", flush=True)
    [gf, hf] = client.scatter([grad_f, hess_f], broadcast=True)  # ship each function once
    grads = client.map(lambda f, x, a: f(x, a), [gf] * count, xs, As, pure=False)
    hessians = client.map(lambda f, x, a: f(x, a), [hf] * count, xs, As, pure=False)
    out = {"grads": np.array(client.gather(grads)), "hessians": np.array(client.gather(hessians))}
    out["seconds"] = time.perf_counter() - t0
    out["points"] = pts
    return out


def main():
    small = os.environ.get("NPDIFF_EXAMPLE_SMALL") == "1"
    args = sys.argv[1:]
    count = 10_000 if "--large" in args else int(args[0]) if args else (200 if small else 1000)
    from dask.distributed import Client, LocalCluster
    print("starting a local Dask cluster of 2 worker processes ...", flush=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, Client(cluster) as client:
        out = run(count, client)
    norms = np.linalg.norm(out["grads"], axis=1)
    min_eig = np.linalg.eigvalsh(out["hessians"])[:, 0]
    print(f"{count} gradients and {count} Hessians in {out['seconds']:.2f} s on 2 worker processes")
    print(f"gradient norm: min {norms.min():.3g}, max {norms.max():.3g}; "
          f"points with an indefinite Hessian: {(min_eig < 0).sum()}")


if __name__ == "__main__":
    main()
