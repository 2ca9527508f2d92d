"""Gradient of a logistic-regression loss over data held as a chunked Dask array.

The loss is ordinary NumPy code. ``npdiff.grad(loss, backend="array_api")``
generates code against the array API standard, so called with Dask arrays it
builds a lazy Dask graph: every chunk of rows is processed where it lives and
the gradient is a tree reduction of per-chunk partial sums. No process ever
holds the whole data set.

    python examples/dask_logistic.py [rows]      # default 2 * 10**6 rows, 10 features (seconds)
    python examples/dask_logistic.py --large     # 10**7 rows

With ``NPDIFF_EXAMPLE_SMALL=1`` it runs on 20 000 rows. The same code runs on a
multi-machine cluster: pass ``Client("tcp://scheduler:8786")`` instead of the
local cluster (see docs/backends.md).
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

import npdiff


def loss(w, X, y):
    """Return the summed logistic loss of weights w on rows X with labels y in {0, 1}."""
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - y * z)


def make_data(rows: int, features: int, chunk: int, seed: int = 0):
    """Return (X, y, w_true): Dask arrays generated chunk by chunk on the workers."""
    import dask.array as da
    rs = da.random.RandomState(seed)
    X = rs.standard_normal((rows, features), chunks=(chunk, features))
    w_true = np.linspace(-1.0, 1.0, features)
    noise = rs.standard_normal((rows,), chunks=(chunk,))
    y = ((X @ w_true + noise) > 0).astype(np.float64)
    return X, y, w_true


def run(rows: int, features: int = 10, chunk: int | None = None, check_rows: int = 1000, client=None) -> dict:
    """Return the gradient at w = 0 over all rows, and the check against NumPy on the first rows."""
    import dask.array as da
    chunk = chunk or max(rows // 20, 1)
    X, y, _ = make_data(rows, features, chunk)
    w = da.from_array(np.zeros(features), chunks=-1)  # one namespace for every argument: Dask
    grad = npdiff.grad(loss, backend="array_api")
    t0 = time.perf_counter()
    g = grad(w, X, y)  # lazy: a Dask graph, nothing computed yet
    assert isinstance(g, da.Array)
    g = g.compute() if client is None else client.compute(g).result()
    elapsed = time.perf_counter() - t0
    # the same gradient from the NumPy backend, on rows small enough to hold in memory
    m = min(check_rows, rows)
    Xs, ys = X[:m].compute(), y[:m].compute()
    g_sub = grad(w, X[:m], y[:m]).compute()
    g_np = npdiff.grad(loss)(np.zeros(features), Xs, ys)
    return {"grad": g, "grad_subset": g_sub, "grad_subset_numpy": g_np, "seconds": elapsed, "chunks": X.numblocks[0]}


def main():
    small = os.environ.get("NPDIFF_EXAMPLE_SMALL") == "1"
    args = sys.argv[1:]
    rows = 10_000_000 if "--large" in args else int(args[0]) if args else (20_000 if small else 2_000_000)
    from dask.distributed import Client, LocalCluster
    print(f"starting a local Dask cluster of 2 worker processes; gradient over {rows} rows in chunks ...", flush=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, Client(cluster) as client:
        out = run(rows, client=client)
    print(f"rows: {rows}, chunks: {out['chunks']}, gradient in {out['seconds']:.2f} s")
    print("gradient at w = 0:", np.round(out["grad"], 3))
    err = np.max(np.abs(out["grad_subset"] - out["grad_subset_numpy"]))
    print(f"first rows, Dask vs NumPy backend: max difference {err:.2e}")
    assert err < 1e-9


if __name__ == "__main__":
    main()
