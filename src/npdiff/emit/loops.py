"""The NumPy backend's rolled loops: ``loop_scan`` and ``loop_rev`` as ``for`` loops.

The body (and, for reverse mode, its vector-Jacobian product) is printed once,
inside the loop, by an emitter sharing the function's names and constants;
the forward loop keeps what each step computes (the next carries and the values
the reverse sweep reads) in a list, and the reverse loop reads them back.
"""
from __future__ import annotations

from ..ir.graph import Node, toposort


def _block(em, bind: list, outputs: list[Node]) -> tuple[list[str], list[str]]:
    """Return (statements, output names) computing outputs inline, each input node bound to an expression.

    ``bind``: (node, source) pairs: a name the node's value already has, or an expression read into a
    fresh name (only for nodes the outputs read). The statements are printed by an emitter sharing
    em's constants and names, so they can sit inside em's function (in a ``for`` loop).
    """
    child = em.__class__(em.writer)
    child.used, child.counts = em.used, em.counts
    used = {id(n) for n in toposort(outputs)}
    lines = []
    for node, source in bind:
        if id(node) not in used:
            continue
        if source.isidentifier():
            child.bind_input(node, source)
        else:
            lines.append(f"{child.bind_input(node, em.fresh(node.p['name']))} = {source}")
    lines += child.emit(outputs)
    return lines, [child.name_of(o) for o in outputs]


def _slots(nodes: list[Node], at: int = 0):
    """Yield (node, start, stop) of nodes packed one after the other from ``at``."""
    for n in nodes:
        yield n, at, at + n.size
        at += n.size


def _read(src: str, nodes: list[Node], at: int = 0) -> list[str]:
    """Return expressions reading nodes packed in ``src`` from ``at`` (src: "rows[k, " or "vec[")."""
    out = []
    for n, a, b in _slots(nodes, at):
        if n.ndim == 0:
            out.append(f"{src}{a}]")
        elif n.ndim == 1:
            out.append(f"{src}{a}:{b}]")
        else:
            out.append(f"{src}{a}:{b}].reshape({n.shape})")
    return out


def _store(dst: str, names: list[str], nodes: list[Node], at: int = 0) -> list[str]:
    """Return statements writing the named values packed into ``dst`` from ``at`` (dst as ``_read``'s src)."""
    lines = []
    for name, (n, a, b) in zip(names, _slots(nodes, at)):
        if n.ndim == 0:
            lines.append(f"{dst}{a}] = {name}")
        else:
            lines.append(f"{dst}{a}:{b}] = {name}" + (".ravel()" if n.ndim > 1 else ""))
    return lines


def _tuple(names: list[str]) -> str:
    return ", ".join(names) + ("," if len(names) == 1 else "")


def _inv(body, inv: list[str], k: str) -> list:
    """Return (node, source) bindings of the invariants; per-step data is read at row k."""
    n = len(inv) - body.scanned
    return [(v, name if i < n else f"{name}[{k}]") for i, (v, name) in enumerate(zip(body.inv_in, inv))]


def emit_scan(em, names: list[str], node: Node, out: str) -> list[str]:
    """Return the statements building a ``loop_scan`` trajectory in ``out``: one tuple per step.

    The packed-array layout of the node (``primitives/loops.py``) is what ``impl`` computes; the printed
    code keeps a list of what each step computes (no copies), read only by ``emit_final`` and
    ``emit_rev``: the next carries, the last step's exports, then the values the reverse sweep reads.
    """
    body = node.p["body"]
    nc = len(body.carry_in)
    init, inv = names[:nc], names[nc:]
    carry = [em.fresh(n.p["name"]) for n in body.carry_in]
    k = em.fresh("_k")
    step, outs = _block(em, list(zip(body.carry_in, carry)) + _inv(body, inv, k),
                        body.carry_out + body.residuals(False))
    lines = [f"{_tuple(carry)} = {_tuple(init)}", f"{out} = [({_tuple(carry)})]",
             f"for {k} in range({body.steps - 1 if body.exports else body.steps}):"]
    lines += ["    " + line for line in step + [f"{out}.append(({_tuple(outs)}))",
                                                f"{_tuple(carry)} = {_tuple(outs[:nc])}"]]
    if body.exports:
        last, outs = _block(em, list(zip(body.carry_in, carry)) + _inv(body, inv, str(body.steps - 1)),
                            body.carry_out + body.exports + body.residuals(True))
        lines += last + [f"{out}.append(({_tuple(outs)}))"]
    return lines


def emit_final(em, names: list[str], node: Node, out: str) -> list[str]:
    """Return the statement packing the last trajectory entry (carries, exports) into ``out``."""
    body = node.p["body"]
    parts = body.carry_out + body.exports
    if len(parts) == 1 and parts[0].ndim == 1:
        return [f"{out} = {names[0]}[-1][0]"]
    items = [f"{names[0]}[-1][{i}]" if n.ndim == 1 else f"np.ravel({names[0]}[-1][{i}])" for i, n in enumerate(parts)]
    return [f"{out} = np.concatenate(({_tuple(items)}))"]


def _adjoint_block(em, body, last: bool, traj: str, k: str, inv: list[str], cts: list[str], outputs=None):
    """Return (statements, names of the outputs) of one step's VJP at step k, inline (``outputs``: instead of its own)."""
    adj = body.adjoint(body.need, last)
    skip = len(body.carry_in) + (len(body.exports) if last else 0)
    bind = [(c, f"{traj}[{k}][{i}]") for i, c in enumerate(adj.carries)]
    after = str(int(k) + 1) if k.isdigit() else f"{k} + 1"
    bind += [(r, f"{traj}[{after}][{skip + i}]") for i, r in enumerate(adj.res_in)]
    bind += _inv(body, inv, k) + list(zip(adj.cts, cts))
    return _block(em, bind, adj.outputs if outputs is None else outputs)


def _pads(node: Node) -> list[Node] | None:
    """Return the ``dynamic_pad`` nodes node sums (a sum of rows placed at run-time starts), or None."""
    if node.op == "dynamic_pad":
        return [node]
    if node.op == "add" and all(a.shape == node.shape and a.dtype == node.dtype for a in node.args):
        parts = [_pads(a) for a in node.args]
        return None if None in parts else [p for ps in parts for p in ps]
    return None


def _padded(body, need: tuple) -> tuple[list[Node], dict[int, list[tuple[int, int, int]]]]:
    """Return the step VJP's outputs for the reverse loop, and {accumulator: [(position, axis, size)]}.

    An invariant's cotangent that sums ``dynamic_pad``s (x[t] read at a run-time t) is not an output:
    its pieces and their starts (at ``position`` and the next, after the other outputs) are, added
    into the accumulator in place: O(piece) per step, not O(len(x)).
    """
    adj = body.adjoint(need, False)
    nc = len(body.carry_in)
    outs, extra, where = list(adj.outputs[:nc]), [], {}
    for j, o in enumerate(adj.outputs[nc:]):
        pads = _pads(o)
        if pads is None:
            outs.append(o)
            continue
        where[j] = [(len(extra) + 2 * i, d.p["axis"], d.args[0].shape[d.p["axis"]]) for i, d in enumerate(pads)]
        extra += [x for d in pads for x in d.args]
    shift = len(outs)
    return outs + extra, {j: [(shift + i, ax, n) for i, ax, n in w] for j, w in where.items()}


def emit_rev(em, names: list[str], node: Node, out: str) -> list[str]:
    """Return the statements of a ``loop_rev`` reverse sweep, packing the cotangents into ``out``."""
    body, need, final = node.p["body"], node.p["need"], node.p["final"]
    traj, inv, ct = names[0], names[1:-1], names[-1]
    steps, size, nc = body.steps, body.carry_size, len(body.carry_in)
    g = [em.fresh("g") for _ in body.carry_in]
    acc = [em.fresh("acc") for v, f in zip(body.inv_in, need) if f]
    if final:  # the cotangent of the final carries and exports only
        ct_rows, ge = None, _read(f"{ct}[", body.exports, size)
        lines = [f"{_tuple(g)} = {_tuple(_read(f'{ct}[', body.carry_in))}"]
    else:
        ct_rows = em.fresh("ct_rows")
        ge = _read(f"{ct}[", body.exports, (steps + 1) * size)
        lines = [f"{ct_rows} = {ct}[:{(steps + 1) * size}].reshape({steps + 1}, {size})",
                 f"{_tuple(g)} = {_tuple(_read(f'{ct_rows}[{steps}, ', body.carry_in))}"]
    step, outs = _adjoint_block(em, body, bool(body.exports), traj, str(steps - 1), inv, g + ge)
    lines += step + [f"{_tuple(g + acc)} = {_tuple(outs)}"]
    if ct_rows is not None:
        src = f"{ct_rows}[{steps - 1}, "
        lines += [f"{x} = {x} + {r}" for x, r in zip(g, _read(src, body.carry_in))]
    k = em.fresh("_k")
    outputs, padded = _padded(body, need)
    step, outs = _adjoint_block(em, body, False, traj, k, inv, g, outputs)
    lines += [f"{acc[j]} = np.array({acc[j]})" for j in padded]  # owned: added to in place below
    lines += [f"for {k} in range({steps - 2}, -1, -1):"] + ["    " + line for line in step]
    lines += [f"    {_tuple(g)} = {_tuple(outs[:nc])}"]
    rest = iter(outs[nc:])
    for j, a in enumerate(acc):
        if j not in padded:
            lines.append(f"    {a} = {a} + {next(rest)}")
        for at, axis, n in padded.get(j, ()):
            lines.append(f"    {a}[{':, ' * axis}{outs[at + 1]}:{outs[at + 1]} + {n}] += {outs[at]}")
    if ct_rows is not None:
        src = f"{ct_rows}[{k}, "
        lines += [f"    {x} = {x} + {r}" for x, r in zip(g, _read(src, body.carry_in))]
    lines.append(f"{out} = np.empty({node.shape[0]}, dtype=np.{node.dtype.name})")
    needed = body.carry_in + [v for v, f in zip(body.inv_in, need) if f]
    return lines + _store(f"{out}[", g + acc, needed)


BLOCKS = {"loop_scan": emit_scan, "loop_final": emit_final, "loop_rev": emit_rev}
