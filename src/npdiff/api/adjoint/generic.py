"""Shape-generic adjoint source transformation (the Numpy2AD-style mode).

``transform_generic(f)`` reads the source of a straight-line NumPy function
and writes the source of its adjoint ``f_ad(x, ..., x_a, ..., out_a)`` without
knowing any argument shape: the code it emits is correct for every shape the
function accepts, NumPy broadcasting, 0-d arrays, Python scalars, 1-d and
stacked ``@`` operands included. ``transform_expr_generic("D = A @ B + C")``
does the same for one assignment and returns bare statements.

How it works, on the AST alone (``adjoint_ast``):

1. Forward sweep. Each statement is split into one operation per line; the
   intermediates are named ``v0, v1, ...`` and user assignments keep their
   names (a reassigned name gets a new version, ``x_1``, so every value the
   reverse sweep needs survives). Sub-expressions that do not depend on the
   arguments (literals, globals, ``X.shape[0]``, ``np.eye(n)``, and
   zero-derivative functions such as ``np.floor(x)``) are constants: they are
   printed as written and get no adjoint.
2. Reverse sweep. The operations are visited backwards; each one whose result
   has an adjoint adds its contributions to its operands' adjoints. The first
   contribution to an intermediate initialises it (``v1_a = ...``), later ones
   add (``v1_a = v1_a + ...``); the arguments' adjoints always add, so the
   incoming ``x_a`` are accumulated into and never modified in place.
   Elementwise functions (every NumPy and scipy.special ufunc npdiff has
   partials for) print the primitive's registered partial (``adjoint_partials``).
3. Broadcasting. A contribution through a broadcasting operation is reduced
   to its operand's shape with ``_unbroadcast`` unless the two shapes are
   known to agree (elementwise functions, a scalar literal operand, ...).
   The few helpers the adjoint needs (``_unbroadcast``, ``_matmul_grad_a``...)
   are printed at the top of the generated source, only when used
   (``adjoint_runtime``).

Anything else raises ``UnsupportedOperationError``, pointing at the traced
mode (``transform(f, *shapes)``), which supports every operation npdiff traces.
"""
from __future__ import annotations

import ast
import inspect
import textwrap

from ...errors import UnsupportedOperationError
from .lowering import Transformer
from .runtime import (
    _unbroadcast,  # noqa: F401  (re-exported for tests and users)
    helper_source,
)

__all__ = [
    "UnsupportedOperationError",
    "expr_inputs",
    "helper_source",
    "transform_expr_generic",
    "transform_generic",
]


# --------------------------------------------------------------------------
# Front ends.
# --------------------------------------------------------------------------

def _get_source(func_or_source):
    """Return (dedented source, line offset) of a function object or source string."""
    if isinstance(func_or_source, str):
        return textwrap.dedent(func_or_source), 0
    try:
        src = inspect.getsource(func_or_source)
    except (OSError, TypeError) as exc:
        raise ValueError(f"cannot read the source of {func_or_source!r} ({exc}); "
                         "pass the function's source as a string") from exc
    offset = 0
    code = getattr(func_or_source, "__code__", None)
    if code is not None:
        offset = code.co_firstlineno - 1
    return textwrap.dedent(src), offset


def _names_in(tree) -> set[str]:
    names = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name):
            names.add(n.id)
        elif isinstance(n, ast.arg):
            names.add(n.arg)
    return names


def _body_statements(tr: Transformer, body, stop_at_return=True):
    """Lower the assignments of body; return its final Return node, if any."""
    ret = None
    for stmt in body:
        tr.stmt = stmt
        if ret is not None:
            raise tr.unsupported("a statement after `return`", stmt)
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            continue  # docstring
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Return) and stop_at_return:
            ret = stmt
            continue
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                raise tr.unsupported("an assignment to something other than one plain name", stmt)
            tr.statement(stmt.targets[0].id, stmt.value)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None and isinstance(stmt.target, ast.Name):
            tr.statement(stmt.target.id, stmt.value)
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            value = ast.BinOp(ast.Name(stmt.target.id, ast.Load()), stmt.op, stmt.value)
            tr.statement(stmt.target.id, ast.copy_location(value, stmt))
        else:
            what = {ast.If: "an `if` statement", ast.For: "a `for` loop", ast.While: "a `while` loop",
                    ast.With: "a `with` statement", ast.FunctionDef: "a nested function",
                    ast.Import: "an import", ast.ImportFrom: "an import", ast.Try: "a `try` statement",
                    ast.Expr: "an expression statement", ast.Assert: "an `assert` statement",
                    ast.Return: "a `return` statement"}.get(type(stmt), f"the statement `{type(stmt).__name__}`")
            raise tr.unsupported(what, stmt)
    tr.stmt = None
    return ret


def _imports(body: str) -> str:
    """Return the import lines the generated body needs besides NumPy."""
    return "import scipy.special\n" if "scipy." in body else ""


def _namespace(func) -> dict | None:
    """Return the names a function's calls resolve in (its globals and closure), or None for source text."""
    if isinstance(func, str) or not hasattr(func, "__globals__"):
        return None
    ns = dict(func.__globals__)
    try:
        ns.update(inspect.getclosurevars(func).nonlocals)
    except (TypeError, ValueError):  # pragma: no cover - unusual function objects
        pass
    return ns


def _module_source(helpers: set, body: str, with_helpers: bool) -> str:
    parts = ["import numpy as np\n" + _imports(body)]
    if with_helpers and helpers:
        parts.append(helper_source(helpers))
    parts.append(body)
    return "\n\n\n".join(p.strip("\n") for p in parts) + "\n"


def transform_generic(func_or_source, name=None, *, helpers=True) -> str:
    """Return the source of the shape-generic adjoint of a NumPy function.

    For ``def f(X, M, y): ... return b`` the result defines
    ``f_ad(X, M, y, X_a, M_a, y_a, b_a)`` (``out_a`` when the function returns
    an expression or an argument) returning ``(b, X_a, M_a, y_a)``: the value
    and each input adjoint incremented by its contribution. The code is
    correct for any argument shapes the function accepts. ``name`` names the
    generated function (default ``<f>_ad``); with ``helpers=False`` the
    run-time helpers it uses (see ``helper_source``) are left out.
    """
    src, offset = _get_source(func_or_source)
    tree = ast.parse(src)
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if len(defs) != 1:
        raise ValueError(f"expected the source of exactly one function, found {len(defs)}")
    fdef = defs[0]
    tr = Transformer(src, _names_in(fdef), offset, _namespace(func_or_source))
    if isinstance(fdef, ast.AsyncFunctionDef):
        raise tr.unsupported("an `async` function", None)
    spec = fdef.args
    if spec.vararg or spec.kwarg or spec.kwonlyargs:
        raise tr.unsupported("a function with *args, **kwargs or keyword-only arguments", None)
    args = [a.arg for a in spec.posonlyargs + spec.args]

    # signature names
    taken = set(args)
    arg_adj = []
    for arg in args:
        adj = f"{arg}_a"
        while adj in taken:
            adj += "_"
        taken.add(adj)
        arg_adj.append(adj)
    returns = [n for n in fdef.body if isinstance(n, ast.Return)]
    ret_node = returns[-1].value if returns else None
    if isinstance(ret_node, ast.Name) and ret_node.id not in args:
        out_adj = f"{ret_node.id}_a"
    else:
        out_adj = "out_a"
    while out_adj in taken:
        out_adj += "_"
    taken.add(out_adj)
    tr.reserved |= taken
    tr.forbidden |= set(arg_adj) | {out_adj}

    for arg in args:
        tr.bound.add(arg)
        tr.env[arg] = arg
        tr.active.add(arg)

    ret = _body_statements(tr, fdef.body)
    if ret is None or ret.value is None:
        tr.stmt = fdef
        raise tr.unsupported("a function without a `return <value>` at the end", None)
    tr.stmt = ret
    if isinstance(ret.value, (ast.Tuple, ast.List)):
        raise tr.unsupported("returning several values", None)
    value = ret.value
    if isinstance(value, ast.Name) and value.id not in args and value.id in tr.env:
        out = tr.env[value.id]
    else:
        out = tr.statement("out", value)
    tr.stmt = None

    seeds = dict(zip(args, arg_adj))
    if out in tr.active:
        seeds[out] = out_adj
    rev = tr.reverse(seeds)

    fname = name or f"{fdef.name}_ad"
    lines = [f"def {fname}({', '.join(args + arg_adj + [out_adj])}):"]
    lines += [f"    {s}" for s in tr.forward]
    if tr.forward and rev:
        lines.append("")
    lines += [f"    {s}" for s in rev]
    lines.append(f"    return ({', '.join([out] + arg_adj)})")
    return _module_source(tr.helpers, "\n".join(lines) + "\n", helpers)


def transform_expr_generic(expr: str, *, helpers=True) -> str:
    """Return the shape-generic adjoint statements of an assignment such as ``"D = A @ B + C"``.

    The right-hand side names are the inputs: the statements compute the
    value (forward part), then increment ``A_a``, ``B_a``, ``C_a`` by the
    contributions propagated from ``D_a``. Run them where the inputs, their
    adjoints, ``D_a`` and ``np`` are defined. The run-time helpers they use
    (``_unbroadcast``...) are defined first, and ``scipy.special`` imported
    if used, unless ``helpers=False`` (then execute ``helper_source()`` in
    that namespace once, and define ``scipy`` there if needed). Several
    statements separated by newlines or ``;`` are accepted; the last target
    is the output.
    """
    src = textwrap.dedent(expr).strip()
    tree = ast.parse(src)
    tr = Transformer(src, _names_in(tree))
    targets = []
    for stmt in tree.body:
        tr.stmt = stmt
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            targets.append(stmt.targets[0].id)
        else:
            raise tr.unsupported("anything but assignments `name = expression`", stmt)
    if not targets:
        raise ValueError("expected an assignment such as 'D = A @ B + C'")
    inputs = expr_inputs(tree)
    output = targets[-1]
    if output in inputs:
        tr.stmt = tree.body[-1]
        raise tr.unsupported(f"aliasing (`{output}` is both read and assigned)", None)
    out_adj = f"{output}_a"
    adjs = [f"{i}_a" for i in inputs]
    tr.reserved |= set(adjs) | {out_adj}
    tr.forbidden |= set(adjs) | {out_adj}
    for name in inputs:
        tr.bound.add(name)
        tr.env[name] = name
        tr.active.add(name)
    _body_statements(tr, tree.body, stop_at_return=False)
    out = tr.env[output]
    seeds = {name: adj for name, adj in zip(inputs, adjs)}
    if out in tr.active:
        seeds[out] = out_adj
    tr.reverse(seeds)
    body = "\n".join(tr.forward + tr.lines) + "\n"
    if out != output:  # the output name was taken (cannot happen without aliasing)
        body += f"{output} = {out}\n"
    if helpers and tr.helpers:
        body = helper_source(tr.helpers) + "\n\n" + body
    imports = _imports(body) if helpers else ""
    return imports + ("\n" if imports and tr.helpers else "") + body


def expr_inputs(tree) -> list[str]:
    """Return the names an assignment sequence reads before assigning them (modules and called functions excluded)."""
    inputs, assigned = [], set()
    for stmt in tree.body:
        roots = set()
        for n in ast.walk(stmt.value):
            if isinstance(n, ast.Call):
                f = n.func
                while isinstance(f, ast.Attribute):
                    f = f.value
                roots.add(id(f))
        for n in ast.walk(stmt.value):
            if (isinstance(n, ast.Name) and id(n) not in roots and n.id not in ("np", "numpy", "math", "scipy")
                    and n.id not in assigned and n.id not in inputs):
                inputs.append(n.id)
        assigned.add(stmt.targets[0].id)
    return inputs
