"""Numpy2AD-style adjoint source transformation: ``transform`` and ``transform_expr``.

``transform(f)`` (no shapes) writes a shape-generic adjoint from f's source
(see ``adjoint_generic``). ``transform(f, *arg_shapes)`` traces f through the
graph pipeline instead, so it supports everything npdiff traces, and prints
the specialised, simplified reverse-mode code:

    def f_ad(A, B, C, A_a, B_a, C_a, out_a):
        ...forward sweep (the user's variable names)...
        ...reverse sweep...
        A_a = A_a + <adjoint of A>
        return (out, A_a, B_a, C_a)

Each ``X_a`` comes back incremented by the adjoint of ``X`` (the arrays passed
in are not modified: the names are rebound). The output adjoint is named
``<returned variable>_a`` when the function returns a plain variable, else
``out_a``.
"""
from __future__ import annotations

import ast
import inspect
import os
import sys
import textwrap
from collections.abc import Callable

import numpy as np

from ...emit.array import Emitter, _tree_source
from ...emit.generated import GeneratedFunction
from ...emit.writer import npz_path
from ...ir.graph import Node, make_input, toposort
from ...ir.pytree import tree_flatten
from ...tracing.tracer import Tracer, trace, tracing
from ...transforms import vjp_nodes
from ..core import ShapeDtype, aval, func_name
from .generic import expr_inputs, transform_expr_generic, transform_generic

__all__ = ["transform", "transform_expr"]

# --------------------------------------------------------------------------
# Public functions.
# --------------------------------------------------------------------------

def transform(func, *arg_shapes, out_file=None, checks: bool = True) -> str:
    """Return the source of the adjoint ``<name>_ad(A, ..., A_a, ..., out_a)`` of func.

    The adjoint returns ``(out, A_a, B_a, ...)``, each ``X_a`` incremented by
    the adjoint of ``X`` (reverse-mode accumulation, as in Numpy2AD). Without
    ``arg_shapes`` the code is shape-generic (broadcasting included) and is
    derived from func's source; with shapes (tuples, ``ShapeDtype``s or example
    arrays) func is traced and the code is specialised and simplified (a
    GeneratedFunction from ``numpify`` brings its own shapes). With
    ``out_file`` the source is also written there as an importable module
    (constant arrays of more than ``writer.LITERAL_MAX`` elements go to a
    ``.npz`` file next to it; without ``out_file`` they are printed).
    ``func`` may also be the source text of one function. ``checks=False`` (with shapes) leaves out
    the argument conversions and shape checks, as hand-written code does: the caller then passes
    arrays of the given shapes.
    """
    if not arg_shapes and isinstance(func, GeneratedFunction):
        arg_shapes = tuple(ShapeDtype(s, d) for s, d in zip(func.arg_shapes, func.arg_dtypes))
    if not arg_shapes:
        source = transform_generic(func)
    else:
        source = _transform_traced(func, arg_shapes, out_file, checks)
    if out_file is not None:
        with open(os.fspath(out_file), "w", encoding="utf-8") as fh:
            fh.write(source)
    return source


def transform_expr(expr: str, **arg_shapes) -> str:
    """Return the adjoint statements of one assignment such as ``"D = A @ B + C"``.

    The statements compute the value (``D``) and then increment ``A_a``,
    ``B_a``, ``C_a`` by the contributions propagated from ``D_a``; run them
    where the inputs, their adjoints, ``D_a`` and ``np`` are defined. Without
    shapes the code is shape-generic; with one shape per input
    (``A=(3, 4), B=(4, 2), C=(3, 2)``) it is traced, specialised and simplified.
    """
    if not arg_shapes:
        return transform_expr_generic(expr)
    src = textwrap.dedent(expr).strip()
    tree = ast.parse(src)
    targets = []
    for stmt in tree.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            raise ValueError(f"transform_expr expects assignments `name = expression`, got "
                             f"`{ast.unparse(stmt)}`")
        targets.append(stmt.targets[0].id)
    if not targets:
        raise ValueError("expected an assignment such as 'D = A @ B + C'")
    inputs = expr_inputs(tree)
    output = targets[-1]
    if output in inputs:
        raise ValueError(f"aliasing is not supported: `{output}` is both read and assigned")
    missing = [n for n in inputs if n not in arg_shapes]
    extra = [n for n in arg_shapes if n not in inputs]
    if missing or extra:
        parts = []
        if missing:
            parts.append("no shape given for " + ", ".join(missing))
        if extra:
            parts.append("shapes given for names the expression does not read: " + ", ".join(extra))
        raise ValueError("transform_expr: " + "; ".join(parts) + f" (inputs: {', '.join(inputs)})")
    fsrc = f"def _expr({', '.join(inputs)}):\n" + textwrap.indent(src, "    ") + f"\n    return {output}\n"
    ns = _exec_namespace()
    exec(compile(fsrc, "<npdiff transform_expr>", "exec"), ns)
    fn = ns["_expr"]
    fn.__npdiff_source__ = fsrc
    avals = [aval(arg_shapes[n]) for n in inputs]
    res = _adjoint_code(fn, avals, inputs, [f"{output}_a"], expr_mode=True, out_value_name=output,
                        source=fsrc)
    try:
        header = res["writer"].text_header()
    except ValueError as exc:
        raise ValueError(f"transform_expr: the adjoint uses {exc}; use transform(func, *shapes, out_file=...) "
                         f"instead") from None
    lines = header + res["body"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# Traced mode.
# --------------------------------------------------------------------------

def _exec_namespace() -> dict:
    import math
    ns = {"np": np, "numpy": np, "math": math}
    try:
        import scipy.special  # noqa: F401
        ns["scipy"] = sys.modules["scipy"]
    except ImportError:  # pragma: no cover - scipy is optional
        pass
    return ns


def _function_from_source(source: str) -> Callable:
    src = textwrap.dedent(source)
    tree = ast.parse(src)
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if len(defs) != 1:
        raise ValueError(f"expected the source of exactly one function, found {len(defs)}")
    ns = _exec_namespace()
    exec(compile(src, f"<npdiff {defs[0].name}>", "exec"), ns)
    fn = ns[defs[0].name]
    fn.__npdiff_source__ = src
    return fn


def _function_def(func, source=None):
    """Return the ast.FunctionDef of func, or None when its source is unavailable."""
    try:
        src = source or getattr(func, "__npdiff_source__", None) or inspect.getsource(func)
        tree = ast.parse(textwrap.dedent(src))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node
    return None


def _output_adjoint_names(fdef, args: list[str], n_leaves: int) -> list[str]:
    """``<var>_a`` for returned plain variables (not arguments), else ``out_a`` / ``out<i>_a``."""
    default = ["out_a"] if n_leaves == 1 else [f"out{i}_a" for i in range(n_leaves)]
    if fdef is None:
        return default
    returns = [n for n in ast.walk(fdef) if isinstance(n, ast.Return) and n.value is not None]
    if len(returns) != 1:
        return default
    value = returns[0].value
    elts = value.elts if isinstance(value, (ast.Tuple, ast.List)) and n_leaves != 1 else [value]
    if len(elts) != n_leaves:
        return default
    names = []
    for i, e in enumerate(elts):
        if isinstance(e, ast.Name) and e.id not in args:
            names.append(f"{e.id}_a")
        else:
            names.append(default[i])
    if len(set(names)) != len(names):
        return default
    return names


def _transform_traced(func, arg_shapes, out_file, checks=True) -> str:
    if isinstance(func, str):
        func = _function_from_source(func)
    if not callable(func):
        raise TypeError(f"transform expects a function, got {type(func).__name__}")
    avals = [aval(s) for s in arg_shapes]
    names = _param_names(func, len(avals))
    fdef = _function_def(func)
    res = _adjoint_code(func, avals, names, None, fdef=fdef, checks=checks)
    name = f"{func_name(func)}_ad"
    writer = res["writer"]
    lines = [f"def {name}({', '.join(res['params'])}):"]
    lines += ["    " + c for c in res["checks"]] + ([""] if res["checks"] else [])
    lines += ["    " + ln if ln else "" for ln in res["body"]]
    lines.append(f"    return {res['return']}")
    try:
        header = writer.text_header(npz_path(out_file) if out_file is not None else None)
    except ValueError as exc:
        raise ValueError(f"the adjoint of {func_name(func)} uses {exc}; pass out_file= to write a module that "
                         f"loads them from a .npz file next to it") from None
    return writer.module(["\n".join(lines)], header=header)


def _param_names(func, n: int) -> list[str]:
    from ..core import arg_names
    names = list(getattr(func, "arg_names", None) or ())
    if isinstance(func, GeneratedFunction) and len(names) == n:
        return names
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        sig = None
    if sig is not None:
        try:
            sig.bind(*range(n))
        except TypeError as exc:
            raise TypeError(f"{func_name(func)}: {n} argument shape(s) given, but {exc}") from None
    return arg_names(func, n)


class _Names:
    """Collect the user's variable names for traced values: the function's locals at return."""

    def __init__(self, func):
        fn = inspect.unwrap(func) if callable(func) else func
        self.code = getattr(fn, "__code__", None)
        self.frame_locals: dict = {}
        self._frame = None

    def __enter__(self):
        self._old = sys.getprofile()
        if self.code is not None:
            sys.setprofile(self._hook)
        return self

    def _hook(self, frame, event, arg):
        if frame.f_code is self.code:
            if event == "call" and self._frame is None:
                self._frame = frame
            elif event == "return" and frame is self._frame:
                self.frame_locals = dict(frame.f_locals)
        if self._old is not None:
            self._old(frame, event, arg)

    def __exit__(self, *exc):
        sys.setprofile(self._old)
        return False

    def hints(self) -> dict[int, str]:
        out: dict[int, str] = {}
        for name, value in self.frame_locals.items():
            if isinstance(value, Tracer) and value.node.op != "input" and id(value.node) not in out:
                if name.isidentifier() and not name.startswith("_"):
                    out[id(value.node)] = name
        return out


def _unique_names(base: list[str], taken: set[str]) -> list[str]:
    out = []
    for b in base:
        n = b
        while n in taken:
            n += "_"
        taken.add(n)
        out.append(n)
    return out


def _adjoint_code(func, avals, names, out_adj_names, *, fdef=None, expr_mode=False,
                  out_value_name=None, source=None, checks=True) -> dict:
    """Trace func and emit its adjoint; return the pieces of the generated code."""
    for nm, (shape, dtype) in zip(names, avals):
        if not np.issubdtype(dtype, np.inexact):
            raise TypeError(f"transform: argument {nm!r} has dtype {dtype}; adjoints need floating-point "
                            f"arguments (pass e.g. ShapeDtype({shape}, np.float64))")
    collector = _Names(func)
    with tracing():
        with collector:
            ins, out = trace(func, avals, names)
        leaves, structure = tree_flatten(out)
        if not leaves:
            raise ValueError(f"{func_name(func)} returns no array")
        for _i, leaf in enumerate(leaves):
            if not isinstance(leaf, Node):
                raise TypeError(f"{func_name(func)} returns a {type(leaf).__name__}, not an array")
            if not np.issubdtype(leaf.dtype, np.inexact):
                raise TypeError(f"transform: the output of {func_name(func)} has dtype {leaf.dtype}; "
                                "adjoints need a floating-point output")
        taken = set(names) | {"np", "math", "scipy", "os", "_consts", "_npz", "_bad_shape"}
        adj_names = _unique_names([f"{n}_a" for n in names], taken)
        if out_adj_names is None:
            out_adj_names = _output_adjoint_names(fdef, names, len(leaves))
        out_adj_names = _unique_names(out_adj_names, taken)
        adj_ins = [make_input(n, s, d) for n, (s, d) in zip(adj_names, avals)]
        ct_ins = [make_input(n, leaf.shape, leaf.dtype) for n, leaf in zip(out_adj_names, leaves)]
        cts = vjp_nodes(leaves, ins, ct_ins)
        accs = [a if c is None else a + c for a, c in zip(adj_ins, cts)]

    hints = collector.hints()
    if not expr_mode and len(leaves) == 1 and leaves[0].op not in ("input", "const"):
        hints.setdefault(id(leaves[0]), "out")
    em = Emitter()
    em.used |= taken | set(adj_names) | set(out_adj_names)
    all_params = names + adj_names + out_adj_names
    for node, nm in zip(ins + adj_ins + ct_ins, all_params):
        em.bind_input(node, nm)
    forced = {}
    for acc, nm in zip(accs, adj_names):
        if acc.op != "input":
            forced[id(acc)] = nm
    if expr_mode:
        leaf = leaves[0]
        if leaf.op not in ("input", "const"):
            forced[id(leaf)] = out_value_name
        em.used.add(out_value_name)

    body: list[str] = []

    def emit_all(outputs):
        return em.emit(outputs, forced=forced, hints=hints)

    # forward values the reverse sweep reads are outputs of the forward sweep (never updated in place)
    fwd = {id(n) for n in toposort(leaves)}
    shared = [n for n in toposort(accs) if id(n) in fwd and n.op not in ("const", "input")]
    forward = emit_all(leaves + shared)
    reverse = emit_all(accs)
    body = forward + ([""] if forward and reverse and not expr_mode else []) + reverse
    out_exprs = [em.output_expr(leaf) for leaf in leaves]
    if expr_mode and out_exprs[0] != out_value_name:
        body.append(f"{out_value_name} = {out_exprs[0]}")
    check_lines = []
    for p, n in zip(all_params, ins + adj_ins + ct_ins) if checks else ():
        check_lines += em.writer.arg_checks(p, n.shape)
    value_src = _tree_source(structure, out_exprs)
    ret = f"({', '.join([value_src] + [em.name_of(a) for a in accs])})"
    return {"params": all_params, "checks": check_lines, "writer": em.writer, "body": body, "return": ret}
