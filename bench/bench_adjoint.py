"""Adjoint (reverse-mode) source code: npdiff.transform vs Numpy2AD's
generated code and a hand-written adjoint, for MMA (D = A @ B + C) and GLS,
at n = 10 and n = 200. Numpy2AD is optional."""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded BLAS, as in DESIGN.md

import numpy as np
from common import per_call, table

import npdiff


def mma(A, B, C):
    return A @ B + C


def gls(X, M, y):
    M_inv = np.linalg.inv(M)
    return np.linalg.inv(X.T @ M_inv @ X) @ X.T @ M_inv @ y


def mma_hand(A, B, C, A_a, B_a, C_a, out_a):
    return A @ B + C, A_a + out_a @ B.T, B_a + A.T @ out_a, C_a + out_a


def _load(src, name):
    ns = {"np": np}
    exec(src, ns)
    return ns[name]


def _inputs(n, rng):
    X = rng.normal(size=(n, 3))
    L = rng.normal(size=(n, n)) / np.sqrt(n)
    M = L @ L.T + np.eye(n)
    y = rng.normal(size=(n, 1))
    return X, M, y


def main():
    rng = np.random.default_rng(0)
    try:
        import numpy2ad
    except ImportError:
        numpy2ad = None
    for n in (10, 200):
        A, B, C = rng.normal(size=(n, n)), rng.normal(size=(n, n)), rng.normal(size=(n, n))
        ct = rng.normal(size=(n, n))
        zeros = [np.zeros((n, n))] * 3
        rows = [("hand-written adjoint", per_call(mma_hand, A, B, C, *zeros, ct))]
        shaped = _load(npdiff.transform(mma, (n, n), (n, n), (n, n)), "mma_ad")
        generic = _load(npdiff.transform(mma), "mma_ad")
        ref = mma_hand(A, B, C, *zeros, ct)
        for label, fn in (("npdiff.transform (shapes)", shaped), ("npdiff.transform (generic)", generic)):
            got = fn(A, B, C, *zeros, ct)
            assert all(np.allclose(g, r) for g, r in zip(got, ref))
            rows.append((label, per_call(fn, A, B, C, *zeros, ct)))
        if numpy2ad is not None:
            n2 = _load(numpy2ad.transform(mma), "mma_ad")
            # Numpy2AD increments its adjoint arguments in place: give it fresh arrays each call
            rows.append(("numpy2ad", per_call(lambda: n2(A, B, C, *[z.copy() for z in zeros], ct))))
            rows.append(("  (the 3 copies it needs)", per_call(lambda: [z.copy() for z in zeros])))
        table(f"MMA adjoint D = A @ B + C, n = {n}", rows, "hand-written adjoint")

        X, M, y = _inputs(n, rng)
        ct = rng.normal(size=(3, 1))
        zs = [np.zeros_like(X), np.zeros_like(M), np.zeros_like(y)]
        shaped = _load(npdiff.transform(gls, X.shape, M.shape, y.shape), "gls_ad")
        generic = _load(npdiff.transform(gls), "gls_ad")
        ref = shaped(X, M, y, *zs, ct)
        rows = [("npdiff.transform (shapes)", per_call(shaped, X, M, y, *zs, ct))]
        got = generic(X, M, y, *zs, ct)
        assert all(np.allclose(g, r) for g, r in zip(got, ref))
        rows.append(("npdiff.transform (generic)", per_call(generic, X, M, y, *zs, ct)))
        if numpy2ad is not None:
            n2 = _load(numpy2ad.transform(gls), "gls_ad")
            got = n2(X, M, y, *[z.copy() for z in zs], ct)
            assert all(np.allclose(g, r) for g, r in zip(got, ref))
            rows.append(("numpy2ad", per_call(lambda: n2(X, M, y, *[z.copy() for z in zs], ct))))
        table(f"GLS adjoint, X ({n}, 3), M ({n}, {n}), y ({n}, 1)", rows, "npdiff.transform (shapes)")


if __name__ == "__main__":
    main()
