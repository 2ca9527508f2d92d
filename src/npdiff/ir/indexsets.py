"""Index-set sparsity patterns and the per-primitive rules that propagate them.

A ``Pattern`` says, for each element of a node (flattened, C order), the sorted
set of input elements it may depend on, stored like a CSR matrix: row r's
set is ``indices[indptr[r]:indptr[r + 1]]``. Everything here is vectorised
NumPy in O(nnz) (or O(nnz log nnz) where a sort merges sets): no Python loop
runs over elements.

Each primitive record names its rule in its ``sparsity`` field: a callable
``(node, pats) -> Pattern`` where ``pats`` holds one pattern (or None: no
dependence) per argument. The generic rules below cover most primitives:
``ELEMENTWISE`` (union of the broadcast arguments' sets), ``index_map(k)``
(each output element is one element of the first k arguments: found by running
the primitive's NumPy ``impl`` on element numbers), ``REDUCE`` (union over the
reduced axes), ``PREFIX`` (cumulative along an axis) and ``DENSE`` (the
explicit opt-out: every output element depends on everything its arguments
depend on). Primitives with a finer structure (scatter, einsum) have their
own rules here too. Rules raise ``TooLarge`` rather than build a pattern with
more than ``limit()`` entries.
"""
from __future__ import annotations

import itertools

import numpy as np

from .specs import build_index, parse

_LIMIT = [1 << 24]
_ATOM = itertools.count()


class TooLarge(Exception):
    """A pattern would have more entries than the current limit."""


def limit() -> int:
    """Return the largest number of entries a pattern may have."""
    return _LIMIT[0]


def set_limit(value: int) -> int:
    """Set the entry limit and return the previous one."""
    old, _LIMIT[0] = _LIMIT[0], int(value)
    return old


def _check(total) -> None:
    if total > _LIMIT[0]:
        raise TooLarge(f"a sparsity pattern would have {int(total)} entries (limit {_LIMIT[0]})")


class Pattern:
    """Per row (output element), the sorted input elements it may depend on (CSR-like)."""

    __slots__ = ("_indices", "_indptr", "_nrows", "_parts", "atoms", "ncols")

    def __init__(self, indptr: np.ndarray | None, indices: np.ndarray | None, ncols: int,
                 atoms: frozenset | None = None, parts: list | None = None):
        self._indptr = indptr
        self._indices = indices
        self.ncols = int(ncols)
        # the patterns this one is the row-wise union of (itself, unless built by union()): a union
        # with a pattern whose atoms are all among ours is ours, found without comparing entries
        self.atoms = frozenset([next(_ATOM)]) if atoms is None else atoms
        self._parts = parts  # a union not merged yet: chains of elementwise operations merge once
        self._nrows = len(indptr) - 1 if indptr is not None else parts[0].nrows

    def _merge(self) -> None:
        parts, self._parts = self._parts, None
        n = self.ncols
        _check(sum(p.nnz for p in parts))
        keys = np.concatenate([p.rows() * n + p.indices for p in parts])
        out = _from_keys(keys, self._nrows, n, runs=True)
        self._indptr, self._indices = out._indptr, out._indices

    @property
    def indptr(self) -> np.ndarray:
        """Return the row pointers (entries of row r: indices[indptr[r]:indptr[r + 1]])."""
        if self._parts is not None:
            self._merge()
        return self._indptr

    @property
    def indices(self) -> np.ndarray:
        """Return the column (input element) of each entry, sorted within each row."""
        if self._parts is not None:
            self._merge()
        return self._indices

    @property
    def nrows(self) -> int:
        """Return the number of rows."""
        return self._nrows

    @property
    def nnz(self) -> int:
        """Return the number of entries."""
        return int(self.indptr[-1])

    def lengths(self) -> np.ndarray:
        """Return the number of entries of each row."""
        return np.diff(self.indptr)

    def rows(self) -> np.ndarray:
        """Return the row of each entry."""
        return np.repeat(np.arange(self.nrows, dtype=np.int64), self.lengths())

    def transpose(self) -> Pattern:
        """Return the pattern of the transposed matrix."""
        order = np.argsort(self.indices, kind="stable")
        rows = self.rows()[order]
        return Pattern(_indptr(self.indices, self.ncols), rows, self.nrows)

    def toarray(self) -> np.ndarray:
        """Return the dense boolean matrix (for tests and small sizes)."""
        out = np.zeros((self.nrows, self.ncols), bool)
        out[self.rows(), self.indices] = True
        return out

    def same(self, other: Pattern) -> bool:
        """Return True if both patterns have the same entries."""
        return self is other or (np.array_equal(self.indptr, other.indptr)
                                 and np.array_equal(self.indices, other.indices))


def _indptr(rows: np.ndarray, nrows: int) -> np.ndarray:
    out = np.zeros(nrows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=nrows), out=out[1:])
    return out


def identity(n: int) -> Pattern:
    """Return the pattern of the n x n identity."""
    return Pattern(np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int64), n)


def empty(nrows: int, ncols: int) -> Pattern:
    """Return a pattern with no entries."""
    return Pattern(np.zeros(nrows + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), ncols)


def _spans(starts: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (positions of starts[k] + 0..lens[k]-1 concatenated, exclusive cumsum of lens)."""
    ptr = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=ptr[1:])
    total = int(ptr[-1])
    _check(total)
    pos = np.repeat(starts - ptr[:-1], lens) + np.arange(total, dtype=np.int64)
    return pos, ptr


def take(p: Pattern, src: np.ndarray) -> Pattern:
    """Return the pattern whose row k is row src[k] of p."""
    src = np.asarray(src, dtype=np.int64).ravel()
    if len(src) == p.nrows and (len(src) == 0 or (src[0] == 0 and (np.diff(src) == 1).all())):
        return p
    pos, ptr = _spans(p.indptr[src], p.lengths()[src])
    return Pattern(ptr, p.indices[pos], p.ncols)


def stack_rows(pats: list[Pattern]) -> Pattern:
    """Return the rows of all patterns one after another."""
    if len(pats) == 1:
        return pats[0]
    offs = np.cumsum([0] + [p.nnz for p in pats[:-1]])
    indptr = np.concatenate([pats[0].indptr[:1]] + [p.indptr[1:] + o for p, o in zip(pats, offs)])
    return Pattern(indptr, np.concatenate([p.indices for p in pats]), pats[0].ncols)


def _from_keys(keys: np.ndarray, nrows: int, ncols: int, runs: bool) -> Pattern:
    """Return the pattern of the entries row * ncols + col in keys (duplicates allowed).

    With ``runs`` the keys are a few sorted runs one after another: the stable
    sort (timsort) merges them in linear time.
    """
    keys = np.sort(keys, kind="stable" if runs else "quicksort")
    if len(keys):
        keep = np.empty(len(keys), bool)
        keep[0] = True
        np.not_equal(keys[1:], keys[:-1], out=keep[1:])
        keys = keys[keep]
    rows = keys // ncols if ncols else keys
    return Pattern(_indptr(rows, nrows), keys - rows * ncols, ncols)


def union(pats: list[Pattern]) -> Pattern:
    """Return the row-wise union of patterns with the same rows (merged when first read)."""
    flat = []
    for p in pats:
        flat.extend(p._parts if p._parts is not None else [p])
    distinct = []
    for p in sorted(flat, key=lambda p: -len(p.atoms)):
        if not any(p.atoms <= q.atoms for q in distinct):
            distinct.append(p)
    for p in pats:  # one of the arguments may already be the whole union
        if all(q.atoms <= p.atoms for q in distinct):
            return p
    if len(distinct) == 1:
        return distinct[0]
    return Pattern(None, None, distinct[0].ncols, frozenset().union(*[p.atoms for p in distinct]), distinct)


def gather_union(p: Pattern, out_rows: np.ndarray, src_rows: np.ndarray, nrows: int) -> Pattern:
    """Return the pattern whose row r is the union of the rows src_rows[k] of p with out_rows[k] == r."""
    out_rows = np.asarray(out_rows, dtype=np.int64).ravel()
    src_rows = np.asarray(src_rows, dtype=np.int64).ravel()
    lens = p.lengths()[src_rows]
    pos, _ = _spans(p.indptr[src_rows], lens)
    cols = p.indices[pos]
    if nrows * p.ncols <= max(4 * len(cols), 1 << 16):  # few cells: mark them, no sort
        mark = np.zeros(nrows * p.ncols, bool)
        mark[np.repeat(out_rows, lens) * p.ncols + cols] = True
        keys = np.flatnonzero(mark)
        rows = keys // p.ncols
        return Pattern(_indptr(rows, nrows), keys - rows * p.ncols, p.ncols)
    keys = np.repeat(out_rows, lens) * p.ncols + cols
    return _from_keys(keys, nrows, p.ncols, runs=False)


def full_rows(nrows: int, cols: np.ndarray, ncols: int) -> Pattern:
    """Return the pattern with the same sorted columns in every row."""
    _check(nrows * len(cols))
    return Pattern(np.arange(nrows + 1, dtype=np.int64) * len(cols), np.tile(cols, nrows), ncols)


# -- generic rules ---------------------------------------------------------------------------

def _ncols(pats) -> int:
    return next(p.ncols for p in pats if p is not None)


def _filled(node, pats) -> list[Pattern]:
    n = _ncols(pats)
    return [empty(a.size, n) if p is None else p for a, p in zip(node.args, pats)]


def _positions(shape, out_shape) -> np.ndarray:
    """Return, per element of out_shape, the element of a broadcast array of shape ``shape``."""
    shape = tuple(shape)
    ids = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)
    return np.broadcast_to(ids, tuple(out_shape)).ravel()


def elementwise_of(*argnums):
    """Return the elementwise rule over the given arguments (all when none are given)."""
    def rule(node, pats):
        picked = [(a, p) for i, (a, p) in enumerate(zip(node.args, pats))
                  if p is not None and (not argnums or i in argnums)]
        if not picked:
            return None
        return union([take(p, _positions(a.shape, node.shape)) for a, p in picked])
    rule.__name__ = "ELEMENTWISE" if not argnums else f"elementwise_of{argnums}"
    return rule


ELEMENTWISE = elementwise_of()


def index_map(ndata: int | None = None):
    """Return the rule of a primitive whose output elements are elements of its data arguments.

    The first ``ndata`` arguments (all when None) are data; the others are
    index arrays, which must be constants (a computed index gives ``DENSE``).
    The primitive's ``impl`` is run on element numbers to find each output
    element's source.
    """
    def rule(node, pats, record):
        k = len(node.args) if ndata is None else ndata
        if any(a.op != "const" for a in node.args[k:]):
            return DENSE(node, pats)
        filled = _filled(node, pats)
        call, off = [], 0
        for a in node.args[:k]:
            call.append(np.arange(off, off + a.size, dtype=np.int64).reshape(a.shape))
            off += a.size
        call += [a.value for a in node.args[k:]]
        src = np.asarray(record.impl(*call, **node.p))
        return take(stack_rows(filled[:k]), np.broadcast_to(src, node.shape).ravel())
    rule.__name__ = "INDEX_MAP" if ndata is None else f"index_map({ndata})"
    rule.wants_record = True  # the driver passes the primitive's record (its impl finds the sources)
    return rule


INDEX_MAP = index_map()


def REDUCE(node, pats):
    """Reduction over ``axes``: an output element depends on its whole reduced group."""
    x, (p,) = node.args[0], pats
    axes = tuple(a % max(x.ndim, 1) for a in node.p["axes"])
    if not axes:
        return p
    keep = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
    group = _positions(keep, x.shape)
    return gather_union(p, group, np.arange(x.size), node.size)


def PREFIX(node, pats):
    """Cumulative along ``axis`` (cumsum, cumprod): element k depends on elements 0..k."""
    x, (p,) = node.args[0], pats
    axis = node.p["axis"]
    if axis is None:
        shape, axis = (x.size,), 0
    else:
        shape, axis = x.shape, axis % x.ndim
    length = shape[axis]
    stride = int(np.prod(shape[axis + 1:], dtype=np.int64))
    src = np.arange(x.size, dtype=np.int64)
    reps = length - (src // stride) % length
    _check(int((reps * p.lengths()).sum()))
    ptr = np.zeros(len(reps) + 1, dtype=np.int64)
    np.cumsum(reps, out=ptr[1:])
    srcs = np.repeat(src, reps)
    steps = np.arange(ptr[-1], dtype=np.int64) - np.repeat(ptr[:-1], reps)
    return gather_union(p, srcs + steps * stride, srcs, node.size)


def DENSE(node, pats):
    """Explicit opt-out: every output element depends on everything the arguments depend on."""
    live = [p for p in pats if p is not None]
    cols = np.unique(np.concatenate([p.indices for p in live])) if live else np.zeros(0, np.int64)
    return full_rows(node.size, cols, _ncols(pats))


# -- rules of particular primitives -----------------------------------------------------------

def _targets(node, shape, first):
    """Return, per element of x[index] for x of ``shape``, its element number in x."""
    idx = build_index(node.p["index"], [a.value for a in node.args[first:]])
    return np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)[idx]


def _placed(p: Pattern, tgt: np.ndarray, src: np.ndarray, nrows: int) -> Pattern | None:
    """Return the pattern with row tgt[k] = row src[k] of p and other rows empty, or None if tgt repeats."""
    if len(tgt) and np.bincount(tgt, minlength=nrows).max() > 1:
        return None
    where = np.full(nrows, p.nrows, dtype=np.int64)  # row p.nrows: an appended empty row
    where[tgt] = src
    padded = Pattern(np.append(p.indptr, p.indptr[-1]), p.indices, p.ncols)
    return take(padded, where)


def SCATTER_ADD(node, pats):
    """``scatter_add(v, *arrays)``: zeros with v added at the index (repeated targets sum)."""
    if any(a.op != "const" for a in node.args[1:]):
        return DENSE(node, pats)
    v, p = node.args[0], pats[0]
    tgt = _targets(node, node.shape, 1)
    tgt, src = tgt.ravel(), _positions(v.shape, tgt.shape)
    placed = _placed(p, tgt, src, node.size)
    return placed if placed is not None else gather_union(p, tgt, src, node.size)


def INDEX_ADD(node, pats):
    """``index_add(y, v, *arrays)``: y with v added at the index."""
    if any(a.op != "const" for a in node.args[2:]):
        return DENSE(node, pats)
    y, v = node.args[:2]
    filled = _filled(node, pats)
    tgt = _targets(node, node.shape, 2)
    tgt, vpos = tgt.ravel(), _positions(v.shape, tgt.shape)
    placed = _placed(filled[1], tgt, vpos, node.size)
    if placed is not None:
        return union([p for p, q in ((filled[0], pats[0]), (placed, pats[1])) if q is not None])
    p = stack_rows(filled[:2])
    out_rows = np.concatenate([np.arange(y.size, dtype=np.int64), tgt])
    src = np.concatenate([np.arange(y.size, dtype=np.int64), y.size + vpos])
    return gather_union(p, out_rows, src, node.size)


def EINSUM(node, pats):
    """Contraction: structural, with constant operands' zeros taken into account."""
    ins, out = parse(node.p["spec"])
    sizes = {c: d for sub, a in zip(ins, node.args) for c, d in zip(sub, a.shape)}
    filled = _filled(node, pats)
    offs = np.cumsum([0] + [a.size for a in node.args[:-1]])
    out_rows, src_rows = [], []
    for i, (a, p) in enumerate(zip(node.args, pats)):
        if p is None:
            continue
        labels = "".join(sorted(set(out) | set(ins[i])))
        _check(int(np.prod([sizes[c] for c in labels], dtype=np.int64)))
        ops, subs = [np.ones(a.shape)], [ins[i]]
        for j, b in enumerate(node.args):
            if j != i:
                ops.append((np.asarray(b.value) != 0).astype(float) if b.op == "const" else np.ones(b.shape))
                subs.append(ins[j])
        linked = np.einsum(",".join(subs) + "->" + labels, *ops, optimize=len(ops) > 2) > 0
        coords = dict(zip(labels, np.nonzero(linked)))
        count = int(linked.sum())
        orow = (np.ravel_multi_index([coords[c] for c in out], node.shape) if out
                else np.zeros(count, np.int64))
        erow = (np.ravel_multi_index([coords[c] for c in ins[i]], a.shape) if ins[i]
                else np.zeros(count, np.int64))
        out_rows.append(orow)
        src_rows.append(erow + offs[i])
    return gather_union(stack_rows(filled), np.concatenate(out_rows), np.concatenate(src_rows), node.size)
