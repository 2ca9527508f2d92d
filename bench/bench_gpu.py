"""The array-API backend on a GPU: gradient of a logistic loss on CuPy arrays or PyTorch CUDA tensors,
against the NumPy backend on the CPU. Prints "no GPU here" and exits cleanly where there is none."""
from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded BLAS, as in DESIGN.md

import numpy as np
from common import fmt, per_call

import npdiff


def loss(w, X, y):
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - y * z)


def gpu_libraries():
    """Return [(label, to_device, synchronize)] for every GPU library that finds a device."""
    found = []
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() > 0:
            found.append(("CuPy", cupy.asarray, cupy.cuda.Device().synchronize))
    except Exception:  # not installed, or no driver/device
        pass
    try:
        import torch
        if torch.cuda.is_available():
            found.append(("PyTorch CUDA", lambda a: torch.asarray(a, device="cuda"), torch.cuda.synchronize))
    except Exception:
        pass
    return found


def main(rows: int = 1_000_000, features: int = 32) -> int:
    libs = gpu_libraries()
    if not libs:
        print("no GPU here: neither CuPy nor PyTorch finds a CUDA device; nothing to measure "
              "(the array-API backend itself is tested on CPU with array_api_strict, Dask and PyTorch)")
        return 0
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, features))
    y = (X @ np.linspace(-1, 1, features) > 0).astype(np.float64)
    w = np.zeros(features)
    ref = npdiff.grad(loss)(w, X, y)
    print(f"gradient of a logistic loss, {rows} rows x {features} features")
    print(f"  {'NumPy backend (CPU)':24s} {fmt(per_call(npdiff.grad(loss), w, X, y, repeat=3))}")
    g = npdiff.grad(loss, backend="array_api")
    for label, to_dev, sync in libs:
        args = [to_dev(a) for a in (w, X, y)]

        def call():
            g(*args)
            sync()
        out = g(*args)
        host = out.get() if hasattr(out, "get") else out.cpu().numpy()
        err = float(np.max(np.abs(host - ref)))
        print(f"  {label + ' (array API)':24s} {fmt(per_call(call, repeat=3))}   max |difference| {err:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
