"""Fit a logistic regression with scipy.optimize.minimize where the data live in a chunked Dask array.

The parameters ``w`` are a small NumPy array in this process; the rows ``X``, ``y`` are a Dask array
generated chunk by chunk on the workers of a ``LocalCluster``. ``npdiff.value_and_grad(loss,
backend="array_api")`` is called with both: the NumPy ``w`` is promoted into Dask (as NumPy itself
does when it meets a Dask array), so each evaluation is one lazy Dask graph, and ``client.compute``
runs it as one Dask computation per iteration: every worker reduces its own chunks, only partial
sums travel. ``.result()`` (or ``.compute()``) brings the value and the gradient back as NumPy for
SciPy. Each evaluation prints its time and the workers' peak resident memory so far.

    python examples/dask_minimize.py            # 200 000 rows (16 MB): seconds
    python examples/dask_minimize.py --large    # 25 000 000 rows (2 GB) on workers limited to 1 GiB each

With ``--large`` the data are larger than a worker's memory limit: they are never held whole, each
iteration streams the chunks through the workers (generating them again, as reading them from
disk would).
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
from scipy.optimize import minimize

import npdiff

FEATURES = 10


def loss(w, X, y):
    """Return the mean logistic loss of weights w on rows X with labels y in {0, 1}, plus a ridge term."""
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z) + 1e-4 * np.sum(w ** 2)


def make_data(rows: int, chunk: int, seed: int = 0):
    """Return (X, y, w_true): Dask arrays generated chunk by chunk on the workers (never held whole)."""
    import dask.array as da
    rs = da.random.RandomState(seed)
    X = rs.standard_normal((rows, FEATURES), chunks=(chunk, FEATURES))
    w_true = np.linspace(-1.0, 1.0, FEATURES)
    y = ((X @ w_true + rs.logistic(size=(rows,), chunks=(chunk,))) > 0).astype(np.float64)
    return X, y, w_true


def _peak_rss() -> float:
    """Return this process's peak resident memory so far, in MiB."""
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 10  # KiB on Linux
    except ImportError:  # Windows: the current resident memory
        import psutil
        return psutil.Process().memory_info().rss / 2 ** 20


def worker_memory(client) -> float:
    """Return the largest peak resident memory of the workers so far, in MiB."""
    return max(client.run(_peak_rss).values())


def fit(rows: int, client, chunk: int | None = None, maxiter: int = 30, verbose: bool = True) -> dict:
    """Return the fitted weights, the iterations' records and the true weights."""
    X, y, w_true = make_data(rows, chunk or (500_000 if rows > 4_000_000 else max(rows // 8, 1)))
    vg = npdiff.value_and_grad(loss, backend="array_api")
    records = []

    def fun(w):
        t0 = time.perf_counter()
        value, grad = vg(w, X, y)  # NumPy w, Dask X and y: a lazy Dask graph for both results
        value, grad = client.compute([value, grad], sync=True)  # one Dask computation, back as NumPy
        rec = {"seconds": time.perf_counter() - t0, "value": float(value), "grad_norm": float(np.linalg.norm(grad))}
        rec["worker_mib"] = worker_memory(client)
        records.append(rec)
        if verbose:
            print(f"  evaluation {len(records):3d}: loss {rec['value']:.6f}  |grad| {rec['grad_norm']:.2e}  "
                  f"{rec['seconds']:.2f} s  peak worker memory {rec['worker_mib']:.0f} MiB", flush=True)
        return float(value), np.asarray(grad, dtype=np.float64)

    res = minimize(fun, np.zeros(FEATURES), jac=True, method="L-BFGS-B", options={"maxiter": maxiter})
    return {"w": res.x, "w_true": w_true, "records": records, "result": res, "chunks": X.numblocks[0]}


def main():
    large = "--large" in sys.argv[1:]
    small = os.environ.get("NPDIFF_EXAMPLE_SMALL") == "1"
    rows = 25_000_000 if large else 20_000 if small else 200_000
    limit = "1GiB" if large else "2GiB"
    from dask.distributed import Client, LocalCluster
    data_mib = rows * (FEATURES + 1) * 8 / 2 ** 20
    print(f"starting a local Dask cluster of 2 worker processes ({limit} each); the data: {rows} rows x "
          f"{FEATURES} features ({data_mib:.0f} MiB), generated chunk by chunk on the workers", flush=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=limit,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        print("minimize(L-BFGS-B): each evaluation is one Dask computation of (loss, gradient)", flush=True)
        t0 = time.perf_counter()
        out = fit(rows, client)
        total = time.perf_counter() - t0
    recs = out["records"]
    print(f"{len(recs)} evaluations over {out['chunks']} chunks in {total:.1f} s "
          f"({np.mean([r['seconds'] for r in recs]):.2f} s each); peak worker memory "
          f"{max(r['worker_mib'] for r in recs):.0f} MiB for {data_mib:.0f} MiB of data")
    print(f"success={out['result'].success}; fitted w: {np.round(out['w'], 2)}")
    print(f"true w:              {np.round(out['w_true'], 2)}")


if __name__ == "__main__":
    main()
