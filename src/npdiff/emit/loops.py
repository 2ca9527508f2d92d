"""The NumPy backend's rolled loops: ``loop_scan`` and ``loop_rev`` as ``for`` loops over nested functions.

The body (and, for reverse mode, its vector-Jacobian product) is printed once
as a nested ``def`` by an emitter sharing the function's names and constants;
the loop stores the carries of every step in the rows of the packed
trajectory (``primitives/loops.py``) and the reverse sweep reads them back.
"""
from __future__ import annotations

from ..ir.graph import Node, toposort


def _child(em):
    """Return an emitter for a nested function, sharing em's constants and names (no shadowing)."""
    child = em.__class__(em.writer)
    child.used, child.counts = em.used, em.counts
    return child


def _function(em, name: str, groups: list, plain: list[Node], outputs: list[Node]) -> list[str]:
    """Return the lines of a nested ``def name(group..., plain...): ... return outputs``.

    ``groups``: (parameter name, [(index, node)]): a tuple parameter whose entries bind these nodes
    (only those the outputs read); ``plain``: nodes bound to parameters of their own.
    """
    child = _child(em)
    used = {id(n) for n in toposort(outputs)}
    params, unpack = [], []
    for hint, items in groups:
        pname = em.fresh(hint)
        params.append(pname)
        unpack += [f"{child.bind_input(n, em.fresh(n.p['name']))} = {pname}[{i}]" for i, n in items if id(n) in used]
    params += [child.bind_input(n, em.fresh(n.p["name"])) for n in plain]
    body = unpack + child.emit(outputs)
    ret = ", ".join(child.name_of(o) for o in outputs) + ("," if len(outputs) == 1 else "")
    return [f"def {name}({', '.join(params)}):"] + ["    " + line for line in body + [f"return {ret}"]]


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


def emit_scan(em, names: list[str], node: Node, out: str) -> list[str]:
    """Return the statements building a ``loop_scan`` trajectory in ``out``: one tuple per step.

    The packed-array layout of the node (``primitives/loops.py``) is what ``impl`` computes; the printed
    code keeps a list of what each step returns (no copies), read only by ``emit_final`` and
    ``emit_rev``: the next carries, the last step's exports, then the values the reverse sweep reads.
    """
    body = node.p["body"]
    nc = len(body.carry_in)
    init, inv = names[:nc], names[nc:]
    prev = [("prev", list(enumerate(body.carry_in)))]
    step = em.fresh("_loop_step")
    lines = _function(em, step, prev, body.inv_in, body.carry_out + body.residuals(False))
    k, t = em.fresh("_k"), em.fresh("carry")
    lines += [f"{t} = ({_tuple(init)})", f"{out} = [{t}]",
              f"for {k} in range({body.steps - 1 if body.exports else body.steps}):",
              f"    {t} = {step}({t}{_tail(body, inv, k)})", f"    {out}.append({t})"]
    if body.exports:
        last = em.fresh("_loop_last")
        lines += _function(em, last, prev, body.inv_in, body.carry_out + body.exports + body.residuals(True))
        lines.append(f"{out}.append({last}({t}{_tail(body, inv, str(body.steps - 1))}))")
    return lines


def _tail(body, inv: list[str], k: str) -> str:
    """Return ", v0, v1, xs0[k]": the invariants' names, per-step data read at step k."""
    n = len(inv) - body.scanned
    return "".join(", " + v for v in inv[:n]) + "".join(f", {x}[{k}]" for x in inv[n:])


def emit_final(em, names: list[str], node: Node, out: str) -> list[str]:
    """Return the statement packing the last trajectory entry (carries, exports) into ``out``."""
    body = node.p["body"]
    parts = body.carry_out + body.exports
    if len(parts) == 1 and parts[0].ndim == 1:
        return [f"{out} = {names[0]}[-1][0]"]
    items = [f"{names[0]}[-1][{i}]" if n.ndim == 1 else f"np.ravel({names[0]}[-1][{i}])" for i, n in enumerate(parts)]
    return [f"{out} = np.concatenate(({_tuple(items)}))"]


def _adjoint_function(em, name: str, body, last: bool) -> list[str]:
    """Return the nested function of one step's VJP: (carries before, step's outputs, invariants, cotangents)."""
    adj = body.adjoint(body._adjoints["need"], last)
    skip = len(body.carry_in) + (len(body.exports) if last else 0)
    groups = [("prev", list(enumerate(adj.carries))), ("step", [(skip + i, r) for i, r in enumerate(adj.res_in)])]
    return _function(em, name, groups, adj.invariants + adj.cts, adj.outputs)


def emit_rev(em, names: list[str], node: Node, out: str) -> list[str]:
    """Return the statements of a ``loop_rev`` reverse sweep, packing the cotangents into ``out``."""
    body, need, final = node.p["body"], node.p["need"], node.p["final"]
    traj, inv, ct = names[0], names[1:-1], names[-1]
    steps, size = body.steps, body.carry_size
    adj = em.fresh("_loop_adjoint")
    lines = _adjoint_function(em, adj, body, False)
    k = em.fresh("_k")
    g = [em.fresh("g") for _ in body.carry_in]
    acc = [em.fresh("acc") for v, f in zip(body.inv_in, need) if f]
    if final:  # the cotangent of the final carries and exports only
        ct_rows, ge = None, _read(f"{ct}[", body.exports, size)
        lines.append(f"{_tuple(g)} = {_tuple(_read(f'{ct}[', body.carry_in))}")
    else:
        ct_rows = em.fresh("ct_rows")
        lines.append(f"{ct_rows} = {ct}[:{(steps + 1) * size}].reshape({steps + 1}, {size})")
        ge = _read(f"{ct}[", body.exports, (steps + 1) * size)
        lines.append(f"{_tuple(g)} = {_tuple(_read(f'{ct_rows}[{steps}, ', body.carry_in))}")
    gs = "".join(", " + v for v in g)
    tail = _tail(body, inv, str(steps - 1)) + gs
    if body.exports:
        last = em.fresh("_loop_adjoint_last")
        lines += _adjoint_function(em, last, body, True)
        ex = "".join(", " + e for e in ge)
        lines.append(f"{_tuple(g + acc)} = {last}({traj}[{steps - 1}], {traj}[{steps}]{tail}{ex})")
    else:
        lines.append(f"{_tuple(g + acc)} = {adj}({traj}[{steps - 1}], {traj}[{steps}]{tail})")
    if ct_rows is not None:
        src = f"{ct_rows}[{steps - 1}, "
        lines += [f"{x} = {x} + {r}" for x, r in zip(g, _read(src, body.carry_in))]
    d = [em.fresh("d") for _ in acc]
    lines += [f"for {k} in range({steps - 2}, -1, -1):",
              f"    {_tuple(g + d)} = {adj}({traj}[{k}], {traj}[{k} + 1]{_tail(body, inv, k)}{gs})"]
    lines += [f"    {a} = {a} + {x}" for a, x in zip(acc, d)]
    if ct_rows is not None:
        src = f"{ct_rows}[{k}, "
        lines += [f"    {x} = {x} + {r}" for x, r in zip(g, _read(src, body.carry_in))]
    lines.append(f"{out} = np.empty({node.shape[0]}, dtype=np.{node.dtype.name})")
    needed = body.carry_in + [v for v, f in zip(body.inv_in, need) if f]
    return lines + _store(f"{out}[", g + acc, needed)


BLOCKS = {"loop_scan": emit_scan, "loop_final": emit_final, "loop_rev": emit_rev}
