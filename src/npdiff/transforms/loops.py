"""Roll an unrolled Python loop back into one body run K times (``primitives/loops.py``).

Tracing a Python loop records one copy of its body per iteration. Before a
gradient is taken, ``roll`` looks for the longest run of consecutive,
structurally identical copies in the graph's creation order: copy k+1 applies
the same primitives, with the same parameters, shapes and dtypes, to the
matching nodes of copy k (the carries), to its own nodes, or to the same nodes
computed before the loop (invariants), or to a constant of its own (data read
by the step number: those are stacked, and step k reads row k), or reads ``x[t]``
at a position t advancing by a constant (a slice at a run-time start). That run
becomes a ``loop_scan`` node
over a body graph built once, so differentiation, emission and compilation
cost one body, not K. Anything that breaks the pattern (a branch taken
differently, a random draw, a value guard inside the loop, an intermediate
result of an early iteration read after the loop) shortens the run or leaves
the graph as it is: rolling never changes what is computed.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np

from ..ir.graph import Node, const, intern, make_input, toposort
from ..primitives import PRIMS, apply
from ..primitives.helpers import zeros
from ..primitives.loops import LoopBody, StepAdjoint
from .substitute import substitute
from .vjp import vjp_nodes

MIN_NODES = 1000  # graphs smaller than this are left unrolled
MIN_STEPS = 16  # ... and so are runs of fewer copies
MIN_RUN = 128  # ... or of fewer nodes (after a first run is rolled: the same loop split by a constant)
MAX_TRAJECTORY_BYTES = 1 << 28  # the stored carries of every step (reverse mode reads them back)
IMPURE = frozenset({"draw", "rng_new", "guard"})
DATA_OPS = frozenset({"einsum", "stack", "concatenate", "solve", "triangular_solve"})  # constants read as data
_local = threading.local()


@contextmanager
def rolling(enabled: bool):
    """Context in which ``enabled()`` says whether gradients may roll loops (the NumPy backend)."""
    before = getattr(_local, "on", False)
    _local.on = enabled
    try:
        yield
    finally:
        _local.on = before


def enabled() -> bool:
    """Return True if the code being generated may contain rolled loops."""
    from .. import config
    return getattr(_local, "on", False) and config.roll_loops


def roll(out: Node, avoid: list | None = None) -> Node:
    """Return out with its long runs of identical loop bodies rolled into ``loop_scan`` nodes, or out itself.

    ``avoid``: nodes (guard predicates) whose ancestors must stay unrolled.
    """
    origin: dict[int, int] = {}  # id(rebuilt node) -> uid of the traced node it stands for (trace order)
    for i in range(32):  # one loop after another (or one loop split where a constant changed the graph)
        new = _roll_one(out, avoid, MIN_NODES if i == 0 else MIN_RUN, origin)
        if new is out:
            break
        out = new
    return out


def _roll_one(out: Node, avoid: list | None, least: int, origin: dict[int, int]) -> Node:
    """Return out with a run of identical bodies (near the middle of its graph) rolled, or out itself.

    ``origin`` places the nodes an earlier roll rebuilt where the traced nodes they replace were.
    """
    order = [n for n in toposort([out]) if n.op not in ("const", "input")]
    if len(order) < least:
        return out
    order.sort(key=lambda n: (origin.get(id(n), n.uid), n.uid))  # trace order: each iteration's nodes are consecutive
    pos = {id(n): i for i, n in enumerate(order)}
    for start, period, steps in _find_runs(order, least):  # a run refused below leaves the others a chance
        new = _try_run(out, order, pos, start, period, steps, avoid, origin)
        if new is not None:
            return new
    return out


def _try_run(out, order, pos, start, period, steps, avoid, origin) -> Node | None:
    """Return out with this run rolled, or None where the run is not one loop (or must stay unrolled)."""
    region = _verified(order, pos, start, period, steps, out)
    if region is None:
        return None
    turn = _best_rotation(order, pos, region[0], period)
    if turn:  # start the body where the fewest values cross from one step to the next
        region = _verified(order, pos, region[0] + turn, period, region[1] - 1, out) or region
    while (cut := _in_progression(order, region[0], period, region[1])) < region[1]:
        # x[t, ...] leaves its progression (x[t - 1] wrapping): the run ends there, or starts after
        region = (_verified(order, pos, region[0], period, cut, out) if cut >= MIN_STEPS
                  else _verified(order, pos, region[0] + cut * period, period, region[1] - cut, out))
        if region is None:
            return None
    start, steps, carries, init, exports = region
    ids = {id(n) for n in order[start:start + steps * period]}
    if avoid and any(id(n) in ids for n in toposort(avoid)):
        return None
    if any(n.op in IMPURE for n in order[start:start + period]):
        return None
    new = _rolled(out, order, start, period, steps, carries, init, exports, origin)
    return None if new is out else new


def _find_runs(order: list[Node], least: int):
    """Yield (start, period, steps) of periodic runs of operation signatures, around the middle first."""
    codes: dict = {}
    sig = [codes.setdefault((n.op, _masked(n), n.shape, n.dtype), len(codes)) for n in order]
    n = len(sig)
    seen = set()
    for mid in (n // 2, n // 3, 2 * n // 3, n // 5, 4 * n // 5, n // 10, 9 * n // 10):
        period = _period(sig, mid)
        if period is None:
            continue
        end = mid
        while end + period < n and sig[end] == sig[end + period]:
            end += 1
        start = mid
        while start > 0 and sig[start - 1] == sig[start - 1 + period]:
            start -= 1
        steps = (end + period - start) // period
        if steps >= MIN_STEPS and steps * period >= min(least, MIN_NODES // 2) and (start, period) not in seen:
            seen.add((start, period))
            yield start, period, steps


def _stepped(node: Node):
    """Return (position, the rest of the index) of ``x[t, ...]``: a gather at a constant integer t, else None."""
    if node.op != "gather" or len(node.args) != 1 or not node.args[0].shape:
        return None
    index = node.p["index"]
    if not index or index[0][0] != "i" or not isinstance(index[0][1], int):
        return None
    return index[0][1] % node.args[0].shape[0], index[1:]


def _masked(node: Node):
    """Return node's parameters with the position of ``x[t, ...]`` left out (it may advance with the step)."""
    s = _stepped(node)
    return node.params if s is None else ("stepped", s[1])


def _steps_read(order, start, period, steps) -> dict | None:
    """Return {offset: stacked positions} of gathers ``x[t, ...]`` whose t advances by a constant per step.

    None if a parameter differs between copies otherwise (t not in arithmetic progression, or x not
    the same value from before the run).
    """
    found: dict = {}
    for q in range(period):
        nodes = [order[start + k * period + q] for k in range(steps)]
        if all(n.params == nodes[0].params for n in nodes):
            continue
        ts = [_stepped(n) for n in nodes]
        if any(t is None for t in ts) or any(n.args[0] is not nodes[0].args[0] for n in nodes):
            return None
        pos = np.array([t[0] for t in ts], dtype=np.intp)
        if np.any(np.diff(pos) != pos[1] - pos[0]):
            return None
        found[q] = pos
    return found


def _in_progression(order, start, period, steps) -> int:
    """Return how many copies from ``start`` on read every ``x[t, ...]`` of theirs in one progression of t."""
    for q in range(period):
        nodes = [order[start + k * period + q] for k in range(steps)]
        if all(n.params == nodes[0].params for n in nodes):
            continue
        ts = [_stepped(n) for n in nodes]
        for k in range(steps):
            if ts[k] is None or nodes[k].args[0] is not nodes[0].args[0] or ts[k][1] != ts[0][1]:
                steps = k
                break
            if k >= 2 and ts[k][0] - ts[k - 1][0] != ts[1][0] - ts[0][0]:
                steps = k
                break
    return max(steps, 1)


def _period(sig: list[int], mid: int, window: int = 1 << 15) -> int | None:
    """Return the period repeated most often from sig[mid] on (prefix function), or None."""
    t = sig[mid:mid + window]
    pi = [0] * len(t)
    votes: dict[int, int] = {}
    k = 0
    for i in range(1, len(t)):
        while k and t[i] != t[k]:
            k = pi[k - 1]
        if t[i] == t[k]:
            k += 1
        pi[i] = k
        p = i + 1 - k
        if k and i + 1 >= 2 * p:
            votes[p] = votes.get(p, 0) + 1
    return max(votes, key=votes.get) if votes else None


def _verified(order, pos, start, period, steps, out):
    """Return (start, steps, carries, init, exports) of the part of the run that is one loop, or None.

    ``carries``: body positions whose value the next copy reads; ``init``: position -> the node the
    first copy reads instead; ``exports``: positions of the last copy read after the run.
    """
    for _ in range(4):  # the first copies may differ (values hoisted into them): start later
        if steps < MIN_STEPS:
            return None
        ok = _consistent_steps(order, pos, start, period, steps)
        if ok < MIN_STEPS:  # copy ``ok`` reads an earlier copy than its previous one: start after it
            skip = max(1, ok - 1)
            start, steps = start + skip * period, steps - skip
            continue
        steps = ok
        first = _first_copy(order, pos, start, period)
        if first is None:
            start, steps = start + period, steps - 1
            continue
        carries, init = first
        while steps >= MIN_STEPS:
            end = start + steps * period
            exports = _exports(order, pos, start, period, steps, out)
            if isinstance(exports, int):  # an earlier copy is read after the run: end the run there
                steps = exports
                continue
            size = sum(order[start + q].size * order[start + q].dtype.itemsize for q in carries)
            if (steps + 1) * size > MAX_TRAJECTORY_BYTES or not carries or end > len(order):
                return None
            dtypes = {order[start + q].dtype for q in list(carries) + exports}
            if len(dtypes) != 1 or next(iter(dtypes)).kind not in "fc":
                return None
            return start, steps, carries, init, exports
        return None
    return None


def _best_rotation(order, pos, start, period) -> int:
    """Return the offset r in [0, period) at which starting each copy makes the carried values smallest.

    A value at offset a (from copy 1's start) whose last reader is at offset b is carried across a
    boundary r exactly when a < r <= b; summed over values with a difference array.
    """
    base = start + period
    last: dict[int, int] = {}
    for i in range(base, base + 2 * period):
        for a in order[i].args:
            p = pos.get(id(a))
            if p is not None and p >= start:
                last[p - base] = max(last.get(p - base, p - base), i - base)
    cost = [0] * (2 * period + 2)
    for a, b in last.items():
        size = order[base + a].size
        cost[max(a + 1, 0)] += size
        cost[min(b + 1, 2 * period + 1)] -= size
    run, best, where = 0, None, 0
    for r in range(period + 1):
        run += cost[r]
        if r and (best is None or run < best):
            best, where = run, r
    return 0 if where == period else where


def _consistent_steps(order, pos, start, period, steps) -> int:
    """Return how many copies from ``start`` on read their arguments as copy 2 reads copy 1's.

    (Copy 1 against copy 0 is ``_first_copy``'s check: copy 0 reads initial values where copy 1 reads carries.)
    """
    for i in range(start + 2 * period, start + steps * period):
        node, prev = order[i], order[i - period]
        first = start + ((i - start) // period - 1) * period  # the previous copy's first position
        for a, b in zip(node.args, prev.args):
            if a is b:
                pa = pos.get(id(a))
                if pa is not None and pa >= start:
                    return (i - start) // period
                continue
            if _scannable(a, b, node):  # a constant of its own per step (data indexed by the step number)
                continue
            pa, pb = pos.get(id(a)), pos.get(id(b))
            if pa is None or pb is None or pa != pb + period or pa < first:
                return (i - start) // period
    return steps


def _first_copy(order, pos, start, period):
    """Return (carries, init) if the copy at ``start`` reads the loop's initial values consistently, else None."""
    init: dict[int, Node] = {}
    for i in range(start, start + period):
        node, nxt = order[i], order[i + period]
        for a, a1 in zip(node.args, nxt.args):
            p1 = pos.get(id(a1))
            if a1 is a:
                pa = pos.get(id(a))
                if pa is not None and pa >= start:
                    return None
            elif _scannable(a, a1, node):
                continue
            elif p1 is not None and start <= p1 < start + period:  # a carry: a is its initial value
                pa = pos.get(id(a))
                if (pa is not None and pa >= start) or init.setdefault(p1 - start, a) is not a:
                    return None
                if a.shape != a1.shape and PRIMS[node.op].elementwise is not True:
                    return None  # only an elementwise reader sees a broadcast initial value as it is (_like)
            elif p1 is None or p1 < start + period or pos.get(id(a)) != p1 - period:
                return None  # (two different nodes from before the run: step 0 would read copy 1's)
    return sorted(init), init


def _scannable(a: Node, b: Node, reader: Node) -> bool:
    """Return True if a and b are different constants of one shape and type (one step's data each).

    Only where ``reader`` takes them as data: an index array (``y[idx[k]] = v``) or a sparse
    matrix's structure must stay constant, since their rules read the values (repeated indices).
    """
    return (a.op == "const" and b.op == "const" and a.shape == b.shape and a.dtype == b.dtype
            and a.weak == b.weak and (PRIMS[reader.op].elementwise is True or reader.op in DATA_OPS))


def _scanned(order, start, period, steps, tmpl) -> dict | None:
    """Return {(offset, arg): stacked constant} for argument slots reading another constant per step.

    None if a slot's values cannot be stacked exactly (a Python number read by a non-float operation).
    """
    slots: dict = {}
    for q, node in enumerate(tmpl):
        for j, a in enumerate(node.args):
            if a.op != "const":
                continue
            vals = [order[start + k * period + q].args[j] for k in range(steps)]
            if all(v is a for v in vals):
                continue
            dtype = node.dtype if a.weak else a.dtype  # a Python number takes the dtype it meets
            if a.weak and dtype.kind not in "fc":
                return None
            slots[(q, j)] = np.stack([np.asarray(v.value, dtype=dtype) for v in vals])
    return slots


def _exports(order, pos, start, period, steps, out):
    """Return the positions of the last copy read after the run, or the step count ending it earlier."""
    end = start + steps * period
    last = end - period
    exports: set[int] = set()
    readers = order[end:] + [out]
    for node in readers:
        for a in ((node,) if node is out else node.args):
            p = pos.get(id(a))
            if p is None or p < start or p >= end:
                continue
            if p < last:
                return (p - start) // period + 1
            exports.add(p - last)
    return sorted(exports)


def _rolled(out, order, start, period, steps, carries, init, exports, origin) -> Node:
    """Return out rebuilt with the run replaced by ``loop_scan`` over a body built from copy 1."""
    tmpl = order[start + period:start + 2 * period]
    carry_in = {q: make_input(f"c{q}", order[start + q].shape, order[start + q].dtype) for q in carries}
    memo: dict[int, Node] = {id(order[start + q]): carry_in[q] for q in carries}
    inv: dict[int, Node] = {}
    inv_nodes: list[Node] = []
    local = {id(n) for n in tmpl}
    scanned = _scanned(order, start, period, steps, tmpl)
    stepped = _steps_read(order, start, period, steps)
    if scanned is None or stepped is None or sum(v.nbytes for v in scanned.values()) > MAX_TRAJECTORY_BYTES:
        return out
    scanned.update({(q, "t"): v for q, v in stepped.items()})  # x[t]: step k reads t[k]
    xs_in = {slot: make_input(f"x{i}", v.shape[1:], v.dtype) for i, (slot, v) in enumerate(scanned.items())}
    for q, node in enumerate(tmpl):
        if q in stepped:  # x[t, ...] at the step's t: a slice at a run-time start (dynamic.py), then the rest
            x = _invariant(node.args[0], inv, inv_nodes)  # the same value before the run (_steps_read)
            row = apply("dynamic_slice", x, xs_in[(q, "t")], axis=0, size=1)
            memo[id(node)] = apply("gather", row, index=(("i", 0), *_stepped(node)[1]))
            continue
        args = []
        for j, a in enumerate(node.args):
            if (q, j) in xs_in:
                args.append(xs_in[(q, j)])
            elif id(a) in memo:
                args.append(memo[id(a)])
            elif a.op == "const" or id(a) in local:
                args.append(memo.get(id(a), a))
            else:  # computed before the loop (an argument, a parameter read, a hoisted constant)
                args.append(_invariant(a, inv, inv_nodes))
        memo[id(node)] = intern(node.op, tuple(args), node.params, node.shape, node.dtype)
    exports = [q for q in exports if q not in carries]
    body = LoopBody(steps, [carry_in[q] for q in carries], [inv[id(a)] for a in inv_nodes] + list(xs_in.values()),
                    [memo[id(tmpl[q])] for q in carries], [memo[id(tmpl[q])] for q in exports],
                    make_adjoint=_adjoint, scanned=len(xs_in))
    starts = [_like(init[q], order[start + q]) for q in carries]
    traj = apply("loop_scan", *starts, *inv_nodes, *map(const, scanned.values()), body=body)
    final = apply("loop_final", traj, body=body)
    last = start + (steps - 1) * period
    mapping, at = {}, 0
    for q in carries + exports:
        n = order[last + q]
        piece = apply("gather", final, index=(("s", at, at + n.size, 1),))
        mapping[id(n)] = apply("reshape", piece, shape=n.shape)
        at += n.size
    here = order[start + steps * period - 1].uid
    for node in [traj, final, *mapping.values()]:
        origin[id(node)] = here
    return substitute([out], mapping, origin)[0]


def _like(a: Node, carry: Node) -> Node:
    """Return the initial value a broadcast to its carry's shape (``s = p[0]`` before ``s = s + x``).

    ``_first_copy`` lets a differ in shape only where elementwise operations read it (broadcasting
    it first changes nothing there; a sum over the broadcast axis would change).
    """
    return a if a.shape == carry.shape else apply("broadcast_to", a, shape=carry.shape)


def _invariant(a: Node, inv: dict, inv_nodes: list) -> Node:
    """Return the body's input standing for a, a value computed before the loop (made on first use)."""
    if id(a) not in inv:
        inv[id(a)] = make_input(f"v{len(inv)}", a.shape, a.dtype)
        inv_nodes.append(a)
    return inv[id(a)]


def _adjoint(body: LoopBody, need: tuple, last: bool) -> StepAdjoint:
    """Return the step's VJP (``LoopBody.adjoint``), reading the forward values it needs as stored residuals."""
    outs = body.carry_out + (body.exports if last else [])
    cts = [make_input(f"g{i}", o.shape, o.dtype) for i, o in enumerate(outs)]
    wrt = body.carry_in + [v for v, f in zip(body.inv_in, need) if f]
    got = vjp_nodes(outs, wrt, cts)
    res = [g if g is not None else zeros(w.shape, w.dtype) for g, w in zip(got, wrt)]
    fwd = _residuals(res, cts, body.carry_in + body.inv_in)
    res_in = [make_input(f"r{i}", n.shape, n.dtype) for i, n in enumerate(fwd)]
    res = substitute(res, {id(n): r for n, r in zip(fwd, res_in)}) if fwd else res
    return StepAdjoint(body.carry_in, body.inv_in, cts, res_in, fwd, res)


def _residuals(outs: list[Node], cts: list[Node], primals: list[Node]) -> list[Node]:
    """Return the nodes computed from the primal inputs alone that the cotangent part of outs reads."""
    order = toposort(outs)
    lin = {id(c) for c in cts}
    live = {id(p) for p in primals}  # computed from the step's inputs (not constants only)
    for n in order:
        if any(id(a) in lin for a in n.args):
            lin.add(id(n))
        elif any(id(a) in live for a in n.args):
            live.add(id(n))
    found: dict[int, Node] = {}
    for n in order:
        if id(n) in lin:
            for a in n.args:
                if id(a) in live and a.op != "input":
                    found.setdefault(id(a), a)
    for o in outs:
        if id(o) in live and o.op != "input":
            found.setdefault(id(o), o)
    return list(found.values())
