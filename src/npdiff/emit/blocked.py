"""Blocked NumPy emission: long elementwise chains on large arrays run block by block, in cache.

The default backend's array printer (``array.py``) makes one pass over memory
per operation. For arrays of at least ``config.block_min_size`` elements, every
maximal group of elementwise nodes of one shape (found by the numba backend's
planner, ``fused.plan``, with this module's ``blockable`` as the membership
test), with the full reductions and 1-d slice scatters of its values, is
printed as one Python loop over blocks of ``config.block_size`` elements (whole
rows along axis 0 for arrays of two or more dimensions, or columns along the
last axis when one row is larger than a block: ``block_axis``). Inside the loop each
operation is the same NumPy ufunc on slices, written with ``out=`` into
temporaries allocated once per call and reused as soon as their value dies;
values read after the loop are written straight into their preallocated
result arrays, reductions accumulate one partial per block, and scatters add
each block into their (zeroed) output. Everything else (and every graph with no
array that large, so small-n source is unchanged) is ``array.py``'s emission.
"""
from __future__ import annotations

import math

import numpy as np

from .. import config
from ..ir.graph import Node
from ..primitives import PRIMS
from ..primitives.helpers import dtype_name
from ..primitives.registry import owns_result, short_name
from .array import ArrayBackend
from .fused import FLOATS, Group, Planner, emit_units, slice_start

CACHE_BYTES = 1 << 20  # what a block's temporaries may take (about half a core's L2 cache)
_KINDS = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.bool_))
# elementwise primitives whose NumPy expression may return a view of an argument: never blocked
_VIEWS = frozenset({"stop_gradient", "no_derivative", "real", "imag", "conj"})
_ACC = {"reduce_sum": ("{a} += np.sum({v})", "0.0"), "reduce_prod": ("{a} *= np.prod({v})", "1.0"),
        "reduce_max": ("{a} = np.maximum({a}, np.max({v}))", "-np.inf"),
        "reduce_min": ("{a} = np.minimum({a}, np.min({v}))", "np.inf"),
        "einsum": ("{a} += np.vdot({v}, {w})", "0.0")}  # a dot product of two values of the group's shape


def _ufunc(prim) -> str | None:
    """Return the name under ``np`` of the ufunc computing prim (one output), or None."""
    uf = prim.impl
    if isinstance(uf, np.ufunc) and uf.nout == 1 and getattr(np, uf.__name__, None) is uf:
        return uf.__name__
    return None


def block_axis(shape: tuple) -> int:
    """Return the axis an array of this shape is cut along: 0, or the last when rows exceed a block."""
    return 0 if len(shape) < 2 or math.prod(shape[1:]) <= config.block_size else len(shape) - 1


def blockable(n: Node) -> bool:
    """Return True if elementwise node n may run block by block (large, real or bool, a NumPy form known)."""
    prim = PRIMS.get(n.op)
    if prim is None or not prim.elementwise or n.op in _VIEWS or n.ndim == 0 or n.dtype not in _KINDS:
        return False
    if n.size < max(config.block_min_size, 1) or config.block_min_size <= 0 or n.shape[block_axis(n.shape)] < 2:
        return False
    for a in n.args:
        if not (a.dtype in _KINDS or (a.op == "const" and a.weak and isinstance(a.value, (int, float)))):
            return False
    return n.op == "convert" or isinstance(prim.emit, str)


def _same_loop(n: Node) -> bool:
    """Return True if the ufunc of node n with ``out=`` a result-dtype array runs the loop its expression runs.

    The loop is chosen from the inputs: floats promote to the result's dtype, and a bool result
    (a comparison, a logical operation) is what its loop writes; anything else (bool arithmetic:
    ``np.reciprocal(mask, out=f)`` divides as bool) takes the expression.
    """
    if n.dtype == np.bool_:
        return True
    arrays = [a.dtype for a in n.args if not (a.op == "const" and a.weak)]
    return all(d in FLOATS for d in arrays) and np.result_type(*arrays) == n.dtype


def _is_dot(n: Node) -> bool:
    """Return True if n is the full contraction of two real arrays of one shape (``a @ b``, ``np.vdot``...)."""
    if n.op != "einsum" or len(n.args) != 2 or n.ndim != 0 or n.dtype not in FLOATS:
        return False
    a, b = n.args
    ins, out = n.p["spec"].split("->")
    x, y = ins.split(",")
    return (not out and x == y and len(set(x)) == len(x) == a.ndim and a.shape == b.shape
            and a.dtype == b.dtype == n.dtype)


def _is_axis_sum(n: Node) -> bool:
    """Return True if n sums a real array over some (not all) of its axes."""
    return n.op == "reduce_sum" and n.ndim > 0 and n.dtype in FLOATS and n.args[0].dtype == n.dtype


class _BlockPlanner(Planner):
    """The numba planner (``fused.plan``), whose groups also take dot products and axis sums of their values."""

    def visit(self, n: Node) -> int | None:
        if _is_axis_sum(n):
            k = self.member_of(n.args[0])
            if k is not None:
                self.groups[k].reductions.append(n)
            return k
        if not _is_dot(n):
            return super().visit(n)
        for a in n.args:
            k = self.member_of(a)
            if k is not None and self.groups[k].shape == a.shape and self.can_join(k, n):
                self.groups[k].reductions.append(n)
                return k
        return None


class BlockedBackend(ArrayBackend):
    """Array emission in which large elementwise groups become loops over cache-sized blocks."""

    def emit(self, nodes):
        em = self.em
        least = config.block_min_size
        if least <= 0:
            return em.emit(nodes)
        order = em.to_emit(nodes)
        if not any(n.size >= least and n.ndim for n in order):  # nothing that large: the plain printer
            return em.emit(nodes, order=order)
        order = [n for n in order if n.op != "input"]
        planner = _BlockPlanner(order, {id(n) for n in nodes}, blockable)
        for n in order:
            planner.record(n, planner.visit(n))
        gid = planner.result(order)
        readers: dict[int, list] = {}  # id(node) -> the nodes of this call reading it
        for n in order:
            for a in n.args:
                readers.setdefault(id(a), []).append(n)
        fresh = {id(n) for n in order if n.op != "const"} - {id(n) for n in nodes}  # computed here, not wanted
        return emit_units(em, nodes, order, gid, lambda g, outside: _Loop(em, g, readers, fresh).lines(outside))


class _Loop:
    """The statements of one group's block loop: allocations, the loop, the results after it."""

    def __init__(self, em, g: Group, readers: dict | None = None, fresh: set | None = None):
        self.em, self.g = em, g
        self.readers, self.fresh = readers or {}, fresh or set()
        self.mine = {id(n) for n in g.members}
        self.axis = block_axis(g.shape)
        self.across = max(1, math.prod(g.shape) // g.shape[self.axis])  # elements per unit of the axis cut
        self.i, self.j = em.fresh("_i"), em.fresh("_j")
        self.cut = f"{self.i}:{self.j}" if self.axis == 0 else f"..., {self.i}:{self.j}"  # a block's index
        self.pre: list[str] = []  # before the loop: result arrays, temporaries, accumulators
        self.head: list[str] = []  # first statements of each block: slices of the arrays it reads/writes
        self.body: list[str] = []
        self.post: list[str] = []  # after the loop: the reductions' values
        self.local: dict[int, str] = {}  # id(member) -> its name inside the block
        self.sliced: dict[str, str] = {}  # full array name -> its block slice's name
        self.free: dict[np.dtype, list[str]] = {}  # temporaries whose value died, per dtype
        self.temps: list[str] = []  # all temporaries (sliced again for the last, shorter block)
        self.temp_dtypes: list[np.dtype] = []
        self.temp_names: set[str] = set()
        self.released: set[int] = set()  # members whose temporary is free again

    def block_of(self, name: str) -> str:
        """Return the name of full array ``name``'s slice of the current block (bound once per block)."""
        if name not in self.sliced:
            s = self.em.fresh("_s")
            self.sliced[name] = s
            self.head.append(f"{s} = {name}[{self.cut}]")
        return self.sliced[name]

    def arg(self, a: Node) -> str:
        """Return the expression of argument a inside the block."""
        if id(a) in self.mine:
            return self.local[id(a)]
        name = self.em.name_of(a)
        gs, ax = self.g.shape, self.axis
        if (a.ndim == len(gs) and a.shape[ax] == gs[ax]) or (ax and a.ndim and a.shape[-1] == gs[-1]):
            return self.block_of(name)
        return name  # a scalar, or broadcast along the axis cut: the whole array in every block

    def temp(self, dt: np.dtype) -> str:
        """Return a free temporary of dtype dt (allocated once per call)."""
        pool = self.free.setdefault(dt, [])
        if pool:
            return pool.pop()
        t = self.em.fresh("_blk")
        self.temps.append(t)
        self.temp_names.add(t)
        self.temp_dtypes.append(dt)
        return t

    def _step(self) -> int:
        """Return the units of the axis cut per block: ``config.block_size`` elements, fewer when many temporaries.

        The block's temporaries should stay within ``CACHE_BYTES``; a long chain (a loop unrolled
        into hundreds of live values) gets smaller blocks, down to an eighth of ``block_size``.
        """
        width = sum(dt.itemsize for dt in self.temp_dtypes) or 1
        size = min(config.block_size, max(config.block_size // 8, CACHE_BYTES // width))
        return max(1, size // self.across)

    def lines(self, outside: set) -> list[str]:
        """Return the statements computing the group (members read outside are stored in full arrays)."""
        g, em = self.g, self.em
        pos = {id(n): k for k, n in enumerate(g.members)}
        last = {}  # id(member) -> the last position (member index) at which the block reads it
        for k, n in enumerate(g.members):
            for a in n.args:
                if id(a) in pos:
                    last[id(a)] = k
        reduced: dict[int, list] = {}  # position -> reductions accumulated once its member is computed
        for r in g.reductions:
            at = max(pos[id(a)] for a in r.args if id(a) in pos)
            reduced.setdefault(at, []).append(r)
            for a in r.args:
                if id(a) in pos:
                    last[id(a)] = max(last.get(id(a), at), at)
        last_ext = {id(a): (k, a) for k, n in enumerate(g.members) for a in n.args if id(a) not in pos}
        spares: dict[int, list] = {}  # position -> arrays computed before the loop that are last read there
        for k, a in last_ext.values():
            spares.setdefault(k, []).append(a)
        pool: list = []  # those whose last read has been emitted (or is being emitted) in the block
        dies: dict[int, list] = {}  # position -> the members last read there
        for n in g.members:
            dies.setdefault(last.get(id(n), pos[id(n)]), []).append(n)
        scattered = self._scatters()
        for k, n in enumerate(g.members):
            # temporaries read for the last time by this member may receive its result (same index)
            held = {id(a) for r in reduced.get(k, ()) for a in r.args}
            pool += spares.get(k, ())
            self._member(n, [a for a in n.args if last.get(id(a)) == k and id(a) not in held], id(n) in outside, pool)
            for r in reduced.get(k, ()):
                self._reduction(r)
            for target, start in scattered.get(id(n), ()):
                at = f"{self.i}:{self.j}" if not start else f"{self.i} + {start}:{self.j} + {start}"
                self.body.append(f"{target}[{at}] += {self.local[id(n)]}")
            self._release(dies.get(k, ()))
            if id(n) not in outside:  # lives only inside the loop: no later statement may read it
                em.names[id(n)] = f"<block value {self.local[id(n)]}>"
        self.step = self._step()
        shape = list(g.shape)
        shape[self.axis] = self.step
        temps = [f"{t} = np.empty({tuple(shape)}, dtype=np.{dtype_name(dt)})"
                 for t, dt in zip(self.temps, self.temp_dtypes)]
        return em.writer.statements(temps + self.pre + self._loop() + self.post)

    def _release(self, values) -> None:
        """Return the temporaries holding values (whose last use has been emitted) to the free lists."""
        for a in values:
            t = self.local[id(a)]
            if id(a) not in self.released and t in self.temp_names:
                self.released.add(id(a))
                self.free.setdefault(a.dtype, []).append(t)

    def _member(self, n: Node, dying: list, stored: bool, pool: list) -> None:
        """Emit member n into its result array's slice or a temporary (``dying``: arguments read for the last time)."""
        em, prim = self.em, PRIMS[n.op]
        args = [self.arg(a) for a in n.args]
        self._release(dying)
        if stored:
            spare = self._spare(n, pool)
            full = em.name_of(spare) if spare is not None else em.fresh(short_name(n.op))
            em.names[id(n)] = full
            if spare is None:
                self.pre.append(f"{full} = np.empty({tuple(n.shape)}, dtype=np.{dtype_name(n.dtype)})")
            dst = self.block_of(full)
        else:
            dst = None
        uf = _ufunc(prim) if _same_loop(n) else None
        if uf and n.op == "power" and n.args[1].op == "const" and n.args[1].weak and n.args[1].value == 2:
            uf, args = "square", args[:1]
        if uf is not None or n.op == "convert":
            dst = dst or self.temp(n.dtype)
            self.body.append(f"{dst}[...] = {args[0]}" if n.op == "convert"
                             else f"np.{uf}({', '.join(args)}, out={dst})")
        else:  # a NumPy or SciPy expression: a fresh block-sized array
            code = prim.emit.format(*args, **dict(n.params))
            if dst is None:
                dst = em.fresh(short_name(n.op))
                self.body.append(f"{dst} = {code}")
            else:
                self.body.append(f"{dst}[...] = {code}")
        self.local[id(n)] = dst

    def _spare(self, n: Node, pool: list) -> Node | None:
        """Return an array computed before the loop that stored member n may overwrite, taken from pool, or None.

        Like the whole-array printer's in-place updates: a value this call computed, that owns its
        memory, of n's shape and dtype, read only by members of this group (the last at or before n,
        so each block's slice is no longer read once n writes it), neither returned nor read after
        the loop: no fresh array of n's size is allocated.
        """
        for i, a in enumerate(pool):
            if (id(a) in self.fresh and a.shape == n.shape and a.dtype == n.dtype and owns_result(a)
                    and all(id(u) in self.mine for u in self.readers.get(id(a), ()))):
                del pool[i]
                return a
        return None

    def _reduction(self, r: Node) -> None:
        """Accumulate the full reduction r one block at a time; its value is bound after the loop."""
        if r.ndim:
            return self._axis_sum(r)
        upd, start = _ACC[r.op]
        acc = self.em.fresh("_acc")
        self.pre.append(f"{acc} = {start}")
        v = [self.arg(a) for a in r.args]
        self.body.append(upd.format(a=acc, v=v[0], w=v[-1]))
        s = self.em.fresh(short_name(r.op))
        self.em.names[id(r)] = s
        self.post.append(f"{s} = np.{dtype_name(r.dtype)}({acc})")

    def _axis_sum(self, r: Node) -> None:
        """Sum over axes: added up across blocks if the axis cut is summed, else each block's part written."""
        em, axes = self.em, tuple(sorted(a % r.args[0].ndim for a in r.p["axes"]))
        s = em.fresh(short_name(r.op))
        em.names[id(r)] = s
        part = f"np.sum({self.local[id(r.args[0])]}, axis={axes})"
        if self.axis in axes:
            self.pre.append(f"{s} = np.zeros({tuple(r.shape)}, dtype=np.{dtype_name(r.dtype)})")
            self.body.append(f"{s} += {part}")
        else:
            self.pre.append(f"{s} = np.empty({tuple(r.shape)}, dtype=np.{dtype_name(r.dtype)})")
            self.body.append(f"{s}[{self.cut}] = {part}")

    def _scatters(self) -> dict[int, list]:
        """Allocate each scatter chain's output; return {id(value): [(output, start)]} of its additions."""
        em, out = self.em, {}
        for chain in self.g.scatters:
            last = chain[-1]
            o = em.fresh(short_name(chain[0].op))
            for c in chain[:-1]:
                em.names[id(c)] = f"<block part of {o}>"
            em.names[id(last)] = o
            if chain[0].op == "scatter_add":
                self.pre.append(f"{o} = np.zeros({tuple(last.shape)}, dtype=np.{dtype_name(last.dtype)})")
            else:  # index_add onto a value computed before the loop
                copy = "" if id(chain[0]) in self.g.inplace else ".copy()"
                self.pre.append(f"{o} = {em.name_of(chain[0].args[0])}{copy}")
            for c in chain:  # additions only: their order does not matter
                v = c.args[-1]
                out.setdefault(id(v), []).append((o, slice_start(c, v)))
        return out

    def _loop(self) -> list[str]:
        """Return the loop over the blocks (the last, shorter one slices the temporaries)."""
        i, j, n, step = self.i, self.j, self.g.shape[self.axis], self.step
        cut = "" if self.axis == 0 else "..., "
        lines = [f"for {i} in range(0, {n}, {step}):", f"    {j} = {i} + {step}"]
        if n % step:
            lines += [f"    if {j} > {n}:", f"        {j} = {n}"]
            lines += [f"        {t} = {t}[{cut}:{n % step}]" for t in self.temps]
        return lines + ["    " + s for s in self.head + self.body]
