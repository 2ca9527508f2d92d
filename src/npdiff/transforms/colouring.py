"""Colourings of sparsity patterns: few jvp (or vjp) passes for a sparse Jacobian.

``colour_columns`` finds a distance-1 column colouring (columns of one colour
share no row), so that the product of the Jacobian with one 0/1 seed per
colour holds every entry. ``colour_symmetric`` finds a star colouring of a
symmetric (Hessian) pattern: an entry H[i, j] is read either from row i (when
j's colour is unique in row i) or from row j (when i's colour is unique in row
j), so a tridiagonal Hessian needs 3 passes and an arrowhead one 2.

Both first try cyclic colourings (column j gets colour j mod k: optimal for
banded and stencil patterns), then a greedy colouring in random order,
vectorised as rounds of independent sets (Jones-Plassmann), and keep the
fewest colours; every candidate is checked in O(nnz) before it is used.
"""
from __future__ import annotations

import numpy as np

from ..ir.indexsets import Pattern

MAX_CONFLICTS = 1 << 25  # above this many column pairs sharing a row, fall back to one colour per column


def _cyclic_ok(P: Pattern, rows: np.ndarray, k: int) -> bool:
    counts = np.bincount(rows * k + P.indices % k, minlength=P.nrows * k)
    return counts.max(initial=0) <= 1


def _conflict_graph(P: Pattern) -> tuple[np.ndarray, np.ndarray] | None:
    """Return (a, b) edges between distinct columns sharing a row (both directions), or None if too many."""
    lens = P.lengths()
    if int((lens.astype(np.int64) ** 2).sum()) > MAX_CONFLICTS:
        return None
    rows = P.rows()
    reps = lens[rows]  # each entry pairs with every entry of its row
    a = np.repeat(P.indices, reps)
    starts = np.repeat(P.indptr[rows], reps)
    ptr = np.zeros(len(reps) + 1, dtype=np.int64)
    np.cumsum(reps, out=ptr[1:])
    b = P.indices[starts + np.arange(ptr[-1], dtype=np.int64) - np.repeat(ptr[:-1], reps)]
    keep = a != b
    n = P.ncols
    keys = np.unique(a[keep] * n + b[keep])
    return keys // n, keys % n


def greedy(n: int, a: np.ndarray, b: np.ndarray, seed: int = 0) -> np.ndarray:
    """Return a colouring of the graph with edges (a, b) (both directions listed): greedy, random order."""
    rng = np.random.default_rng(seed)
    deg = np.bincount(a, minlength=n)
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((rng.random(n), -deg))] = np.arange(n)
    colour = np.full(n, -1, dtype=np.int64)
    while True:
        free = colour < 0
        if not free.any():
            return colour
        live = free[a]
        a, b = a[live], b[live]
        both = free[b]
        blocked = np.zeros(n, bool)
        lower = both & (rank[b] < rank[a])
        blocked[a[lower]] = True
        pick = free & ~blocked
        e = pick[a] & ~both  # coloured neighbours of the picked vertices
        v, c = a[e], colour[b[e]]
        width = int(c.max(initial=0)) + 2
        keys = np.unique(v * width + c)
        v, c = keys // width, keys % width
        first = np.searchsorted(v, v)  # position of each vertex's first key
        j = np.arange(len(v)) - first
        mex = np.bincount(v[c == j], minlength=n)  # sorted distinct colours: the first gap is the mex
        colour[pick] = mex[pick]


def _best(candidates):
    return min(candidates, key=lambda c: (int(c.max(initial=-1)) + 1))


def colour_columns(P: Pattern) -> tuple[int, np.ndarray]:
    """Return (number of colours, colour of each column) such that columns of one colour share no row."""
    n = P.ncols
    if n == 0:
        return 0, np.zeros(0, dtype=np.int64)
    rows = P.rows()
    low = max(int(P.lengths().max(initial=0)), 1)
    candidates = []
    for k in range(low, min(n, low + 8) + 1):
        if k * P.nrows <= 1 << 26 and _cyclic_ok(P, rows, k):
            candidates.append(np.arange(n, dtype=np.int64) % k)
            break
    if not candidates or int(candidates[0].max()) + 1 > low + 2:  # cyclic is within 2 of the bound
        graph = _conflict_graph(P)
        candidates.append(greedy(n, *graph) if graph is not None else np.arange(n, dtype=np.int64))
    colour = _best(candidates)
    return int(colour.max()) + 1, colour


def _star_sources(P: Pattern, rows: np.ndarray, colour: np.ndarray, k: int):
    """Return (ok, from_row) for a colouring: can every entry be read directly, and from its own row?"""
    counts = np.bincount(rows * k + colour[P.indices], minlength=P.nrows * k)
    own = counts[rows * k + colour[P.indices]] == 1
    other = counts[P.indices * k + colour[rows]] == 1
    return bool((own | other).all()), own


def colour_symmetric(P: Pattern) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Return (p, colour, first, second) for a symmetric pattern P (a Hessian's).

    With B of shape (p, n), B[c] = H @ (indicator of colour c), the entry of P
    at position e (CSR order) is B[first[e], second[e]].
    """
    n = P.ncols
    rows = P.rows()
    L = int(P.lengths().max(initial=0))
    found = []

    def consider(colour):
        k = int(colour.max(initial=-1)) + 1
        if k * n > 1 << 27:
            return
        ok, own = _star_sources(P, rows, colour, max(k, 1))
        if ok:
            found.append((k, colour, own))

    for k in range(max(1, (L + 1) // 2), min(n, L + 8, 64) + 1):
        consider(np.arange(n, dtype=np.int64) % k)
        if found:
            break
    if not found or found[0][0] > 3:  # greedy can beat cyclic colourings (arrowheads: 2)
        off = rows != P.indices
        consider(greedy(n, rows[off], P.indices[off]))
    if not found:
        p, colour = colour_columns(P)  # distance-2: every colour is unique in every row
        found.append((p, colour, np.ones(P.nnz, bool)))
    k, colour, own = min(found, key=lambda f: f[0])
    first = np.where(own, colour[P.indices], colour[rows])
    second = np.where(own, rows, P.indices)
    return k, colour, first, second
