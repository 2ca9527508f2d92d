"""The NumPy backend's rolled loops: ``loop_scan`` and ``loop_rev`` as ``for`` loops over nested functions.

The body (and, for reverse mode, its vector-Jacobian product) is printed once
as a nested ``def`` by an emitter sharing the function's names and constants;
the loop stores the carries of every step in the rows of the packed
trajectory (``primitives/loops.py``) and the reverse sweep reads them back.
"""
from __future__ import annotations

from ..ir.graph import Node


def _child(em):
    """Return an emitter for a nested function, sharing em's constants and names (no shadowing)."""
    child = em.__class__(em.writer)
    child.used, child.counts = em.used, em.counts
    return child


def _function(em, name: str, inputs: list[Node], outputs: list[Node]) -> list[str]:
    """Return the lines of ``def name(inputs): ... return outputs`` (a nested function)."""
    child = _child(em)
    params = [child.bind_input(n, em.fresh(n.p["name"])) for n in inputs]
    body = child.emit(outputs)
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
    """Return the statements computing a ``loop_scan`` trajectory into ``out``."""
    body = node.p["body"]
    nc = len(body.carry_in)
    init, inv = names[:nc], names[nc:]
    step = em.fresh("_loop_step")
    lines = _function(em, step, body.carry_in + body.inv_in, body.carry_out)
    k, rows = em.fresh("_k"), em.fresh("rows")
    carry = [em.fresh(n.p["name"]) for n in body.carry_in]
    steps, size = body.steps, body.carry_size
    lines += [f"{out} = np.empty({body.length}, dtype=np.{body.dtype.name})",
              f"{rows} = {out}[:{(steps + 1) * size}].reshape({steps + 1}, {size})"]
    lines += _store(f"{rows}[0, ", init, body.carry_in)
    lines.append(f"{_tuple(carry)} = {_tuple(init)}")
    loop_steps = steps - 1 if body.exports else steps
    lines += [f"for {k} in range(1, {loop_steps + 1}):", f"    {_tuple(carry)} = {step}({', '.join(carry + inv)})"]
    lines += ["    " + s for s in _store(f"{rows}[{k}, ", carry, body.carry_in)]
    if body.exports:
        last = em.fresh("_loop_last")
        lines += _function(em, last, body.carry_in + body.inv_in, body.carry_out + body.exports)
        ex = [em.fresh("ex") for _ in body.exports]
        lines.append(f"{_tuple(carry + ex)} = {last}({', '.join(carry + inv)})")
        lines += _store(f"{rows}[{steps}, ", carry, body.carry_in)
        lines += _store(f"{out}[", ex, body.exports, (steps + 1) * size)
    return lines


def emit_rev(em, names: list[str], node: Node, out: str) -> list[str]:
    """Return the statements of a ``loop_rev`` reverse sweep, packing the cotangents into ``out``."""
    body, need, final = node.p["body"], node.p["need"], node.p["final"]
    traj, inv, ct = names[0], names[1:-1], names[-1]
    steps, size = body.steps, body.carry_size
    adj = em.fresh("_loop_adjoint")
    lines = _function(em, adj, *body.adjoint(need, False))
    rows, k = em.fresh("rows"), em.fresh("_k")
    lines.append(f"{rows} = {traj}[:{(steps + 1) * size}].reshape({steps + 1}, {size})")
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
    here = _read(f"{rows}[{steps - 1}, ", body.carry_in)
    if body.exports:
        last = em.fresh("_loop_adjoint_last")
        lines += _function(em, last, *body.adjoint(need, True))
        lines.append(f"{_tuple(g + acc)} = {last}({', '.join(here + inv + g + ge)})")
    else:
        lines.append(f"{_tuple(g + acc)} = {adj}({', '.join(here + inv + g)})")
    if ct_rows is not None:
        src = f"{ct_rows}[{steps - 1}, "
        lines += [f"{x} = {x} + {r}" for x, r in zip(g, _read(src, body.carry_in))]
    d = [em.fresh("d") for _ in acc]
    args = ", ".join(_read(f"{rows}[{k}, ", body.carry_in) + inv + g)
    lines += [f"for {k} in range({steps - 2}, -1, -1):", f"    {_tuple(g + d)} = {adj}({args})"]
    lines += [f"    {a} = {a} + {x}" for a, x in zip(acc, d)]
    if ct_rows is not None:
        src = f"{ct_rows}[{k}, "
        lines += [f"    {x} = {x} + {r}" for x, r in zip(g, _read(src, body.carry_in))]
    lines.append(f"{out} = np.empty({node.shape[0]}, dtype=np.{node.dtype.name})")
    needed = body.carry_in + [v for v, f in zip(body.inv_in, need) if f]
    return lines + _store(f"{out}[", g + acc, needed)


BLOCKS = {"loop_scan": emit_scan, "loop_rev": emit_rev}
