"""autograd.scipy.signal: autograd's own ``convolve`` (convolution over chosen axes, contraction over others).

``convolve(A, B, axes=None, dot_axes=[(), ()], mode="full")`` convolves A and B
along the paired axes ``axes = (axes of A, axes of B)`` (default: every axis),
sums the products over the paired ``dot_axes`` (as ``np.tensordot``) and keeps
the other axes as an outer product. The result's axes are A's other axes, then
B's, then the convolved ones; ``mode`` is ``"full"``, ``"valid"`` or ``"same"``
(the size of A along each convolved axis, centred as SciPy's). It is written
with ``np.einsum`` and constant 0/1 shift tensors, so npdiff traces it.
This is not ``scipy.signal.convolve`` (which takes no ``axes``/``dot_axes``).
"""
from __future__ import annotations

import string

import numpy as np

__all__ = ["convolve"]


def _shifts(na: int, nb: int) -> np.ndarray:
    """Return T with T[m, j, k] = 1 where k = m + j (shape (na, nb, na + nb - 1))."""
    t = np.zeros((na, nb, na + nb - 1))
    m, j = np.meshgrid(np.arange(na), np.arange(nb), indexing="ij")
    t[m, j, m + j] = 1.0
    return t


def _window(mode: str, na: int, nb: int) -> slice:
    """Return the part of the full convolution (length na + nb - 1) that ``mode`` keeps."""
    if mode == "full":
        return slice(None)
    if mode == "valid":
        return slice(min(na, nb) - 1, max(na, nb))
    start = (nb - 1) // 2  # "same": A's length, centred on the full result
    return slice(start, start + na)


def convolve(A, B, axes=None, dot_axes=[(), ()], mode="full"):  # noqa: B006 - autograd's signature; never mutated
    """Return the convolution of A and B along ``axes``, contracted along ``dot_axes`` (autograd's convolve)."""
    if mode not in ("full", "valid", "same"):
        raise ValueError(f"Mode {mode} undefined, it can be one of 'valid', 'full', and 'same'")
    nda, ndb = np.ndim(A), np.ndim(B)
    axes = [list(range(nda)), list(range(nda))] if axes is None else [list(axes[0]), list(axes[1])]
    dots = [list(dot_axes[0]), list(dot_axes[1])]
    letters = iter(string.ascii_letters)
    sa, sb = [""] * nda, [""] * ndb
    for ia, ib in zip(*dots):
        sa[ia] = sb[ib] = next(letters)
    shifts, subs, out_conv, windows = [], [], [], []
    for ia, ib in zip(*axes):
        m, j, k = next(letters), next(letters), next(letters)
        sa[ia], sb[ib] = m, j
        na, nb = np.shape(A)[ia], np.shape(B)[ib]
        shifts.append(_shifts(na, nb))
        subs.append(m + j + k)
        out_conv.append(k)
        windows.append(_window(mode, na, nb))
    diffs = [np.shape(A)[ia] - np.shape(B)[ib] for ia, ib in zip(*axes)]
    if mode == "valid" and any(d > 0 for d in diffs) and any(d < 0 for d in diffs):
        raise ValueError("One array must be larger than the other along all convolved dimensions")
    for s in (sa, sb):
        for i, x in enumerate(s):
            if not x:
                s[i] = next(letters)
    kept_a = [x for i, x in enumerate(sa) if i not in axes[0] and i not in dots[0]]
    kept_b = [x for i, x in enumerate(sb) if i not in axes[1] and i not in dots[1]]
    spec = ",".join(["".join(sa), "".join(sb)] + subs) + "->" + "".join(kept_a + kept_b + out_conv)
    out = np.einsum(spec, A, B, *shifts)
    lead = len(kept_a) + len(kept_b)
    return out[(slice(None),) * lead + tuple(windows)]
