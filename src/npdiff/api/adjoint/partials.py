"""Elementwise adjoint formulas of the shape-generic adjoint, read from the registry.

The AST-based adjoint (``adjoint_generic``) keeps no table of derivatives of
its own for elementwise functions: ``contribution("exp", ...)`` builds the
primitive's registered partial ``d out / d arg_i`` on 0-d symbolic inputs
(``graph.make_input``), multiplies it by the incoming adjoint and prints the
resulting small graph as one NumPy expression over the operands' names,
with each node printed by its primitive's own emit template (``PRIMS[op].emit``).
The 0-d placeholders make the expression shape-generic, because elementwise
partials broadcast; a partial whose graph contains anything that is not
elementwise (a broadcast, a reshape, a non-scalar constant) is refused with
``ShapeDependent``.
"""
from __future__ import annotations

import ast

import numpy as np

from ...emit.writer import array_source as _array_source
from ...emit.writer import literal
from ...ir.graph import Node, const, make_input, toposort
from ...primitives import PRIMS, ops

__all__ = ["ShapeDependent", "contribution", "differentiable", "forward_expr", "nondiff", "prim_of_ufunc"]

# complex parts: their partials are meaningful only with their own (complex) jvp rules
_EXCLUDED = {"real", "imag", "conj"}
_SCALAR = np.dtype(np.float64)


class ShapeDependent(ValueError):
    """A printed partial would depend on the placeholder shape (or cannot be printed inline)."""


def _nin(prim) -> int:
    return getattr(prim.impl, "nin", 1)


def _elementwise(name: str) -> bool:
    """Return True if name is an elementwise primitive (the record's ``elementwise`` fact)."""
    prim = PRIMS.get(name)
    return prim is not None and bool(prim.elementwise)


def differentiable(name: str) -> bool:
    """Return True if name is an elementwise primitive with one registered partial per argument."""
    prim = PRIMS.get(name)
    return (_elementwise(name) and not prim.nondiff and name not in _EXCLUDED
            and len(prim.partials) == _nin(prim))


def nondiff(name: str) -> bool:
    """Return True if name is an elementwise primitive whose derivative is zero (floor, sign, comparisons...)."""
    prim = PRIMS.get(name)
    return _elementwise(name) and prim.nondiff


def prim_of_ufunc(func) -> str | None:
    """Return the name of the elementwise primitive a NumPy or scipy.special ufunc lowers to, or None."""
    if not isinstance(func, np.ufunc):
        return None
    if _UFUNCS_BUILT_FOR[0] != len(PRIMS):  # rebuilt if primitives were registered since
        _UFUNCS.clear()
        try:
            import scipy.special as sc
        except ImportError:  # pragma: no cover - SciPy is optional
            sc = None
        for name, prim in PRIMS.items():
            if _elementwise(name):
                for uf in (prim.impl, getattr(np, name, None), getattr(sc, name, None)):
                    if isinstance(uf, np.ufunc):
                        _UFUNCS.setdefault(uf, name)
        _UFUNCS_BUILT_FOR[0] = len(PRIMS)
    return _UFUNCS.get(func)


_UFUNCS: dict = {}  # ufunc -> primitive name
_UFUNCS_BUILT_FOR = [-1]  # the size of PRIMS when _UFUNCS was built


def forward_expr(name: str, operands: list[str]) -> str:
    """Return the NumPy source of primitive name applied to the operand expressions."""
    return _unparse(PRIMS[name].emit.format(*[f"({t})" for t in operands]))


def contribution(name: str, operands: list, i: int, g: str, out: str) -> tuple[str, str] | None:
    """Return (sign, expression) of the adjoint ``g * d out / d operand_i``, or None when it is zero.

    ``operands`` lists (source text, value) per argument of primitive name:
    value is the number of a literal operand (built as a constant, so the
    partial simplifies: ``x ** 2`` gives ``g * (x * 2)``), else None (a
    symbolic 0-d input printed as the text). ``out`` names the primitive's
    result, ``g`` its adjoint. The sign is ``"-"`` when the expression is negated.
    """
    texts: dict[int, str] = {}

    def placeholder(label, text):
        node = make_input(label, (), _SCALAR)
        texts[id(node)] = text
        return node

    args = [const(v) if v is not None else placeholder(f"_x{k}", t) for k, (t, v) in enumerate(operands)]
    o, gn = placeholder("_out", out), placeholder("_g", g)
    d = PRIMS[name].partials[i](*args, o)
    sign = "+"
    if d is not None and d.op == "negative":  # print g * d for d = -e as a subtraction of g * e
        sign, d = "-", d.args[0]
    c = gn if d is None else ops.mul(gn, d)
    if _is_zero(c):
        return None
    if c.op == "negative":
        sign, c = "+" if sign == "-" else "-", c.args[0]
    return sign, print_expr(c, texts)


def _is_zero(node: Node) -> bool:
    if node.op == "broadcast_to":
        node = node.args[0]
    return node.op == "const" and not np.any(node.value)


def print_expr(root: Node, texts: dict) -> str:
    """Return one NumPy expression computing root; ``texts`` maps placeholder ids to source text."""
    code: dict[int, str] = {}
    for node in toposort([root]):
        if id(node) in texts:
            src = texts[id(node)]
        elif node.op == "const":
            if node.ndim:
                raise ShapeDependent(f"a constant of shape {node.shape}")
            src = literal(node.value) if node.weak else None
            src = src or (repr(node.value) if node.weak else _array_source(np.asarray(node.value)))
        elif not _elementwise(node.op):
            raise ShapeDependent(f"the operation {node.op!r}")
        else:
            tmpl = PRIMS[node.op].emit
            args = [code[id(a)] for a in node.args]
            src = tmpl(args, node) if callable(tmpl) else tmpl.format(*args, **node.p)
            if not isinstance(src, str):
                raise ShapeDependent(f"the operation {node.op!r} (printed as several statements)")
        code[id(node)] = f"({src})"
    return _unparse(code[id(root)])


def _unparse(src: str) -> str:
    """Normalise an expression (drops redundant parentheses)."""
    return ast.unparse(ast.parse(src, mode="eval"))
