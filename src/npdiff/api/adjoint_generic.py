"""Shape-generic adjoint source transformation (the Numpy2AD-style mode).

``transform_generic(f)`` reads the source of a straight-line NumPy function
and writes the source of its adjoint ``f_ad(x, ..., x_a, ..., out_a)`` without
knowing any argument shape: the code it emits is correct for every shape the
function accepts, NumPy broadcasting, 0-d arrays, Python scalars, 1-d and
stacked ``@`` operands included. ``transform_expr_generic("D = A @ B + C")``
does the same for one assignment and returns bare statements.

How it works, on the AST alone:

1. Forward sweep. Each statement is split into one operation per line; the
   intermediates are named ``v0, v1, ...`` and user assignments keep their
   names (a reassigned name gets a new version, ``x_1``, so every value the
   reverse sweep needs survives). Sub-expressions that do not depend on the
   arguments (literals, globals, ``X.shape[0]``, ``np.eye(n)``) are constants:
   they are printed as written and get no adjoint.
2. Reverse sweep. The operations are visited backwards; each one whose result
   has an adjoint adds its contributions to its operands' adjoints. The first
   contribution to an intermediate initialises it (``v1_a = ...``), later ones
   add (``v1_a = v1_a + ...``); the arguments' adjoints always add, so the
   incoming ``x_a`` are accumulated into and never modified in place.
3. Broadcasting. A contribution through a broadcasting operation is reduced
   to its operand's shape with ``_unbroadcast`` unless the two shapes are
   known to agree (elementwise functions, a scalar literal operand, ...).
   The few helpers the adjoint needs (``_unbroadcast``, ``_matmul_grad_a``...)
   are printed at the top of the generated source, only when used.

Anything else raises ``UnsupportedOperationError``, pointing at the traced
mode (``transform(f, *shapes)``), which supports every operation npdiff traces.
"""
from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass, field

import numpy as np

try:
    from ..errors import UnsupportedOperationError
except ImportError:  # pragma: no cover - errors.py is provided by the core
    class UnsupportedOperationError(NotImplementedError):
        """An operation npdiff has no rule for."""

__all__ = ["transform_generic", "transform_expr_generic", "helper_source",
           "UnsupportedOperationError"]

_HINT = ("pass argument shapes to transform() to use the traced (shape-specialised) "
         "mode, which supports every operation npdiff traces")

# --------------------------------------------------------------------------
# Run-time helpers, printed into the generated source when used.
# --------------------------------------------------------------------------

_HELPERS = {
    "_unbroadcast": ((), '''
def _unbroadcast(g, x):
    """Sum the adjoint g down to the shape of x (undo NumPy broadcasting)."""
    shape = np.shape(x)
    if np.shape(g) == shape:
        return g
    lead = np.ndim(g) - len(shape)
    if lead < 0:
        return g + np.zeros(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and np.shape(g)[lead + i] != 1)
    g = np.sum(g, axis=axes, keepdims=True).reshape(shape)
    return g if isinstance(x, np.ndarray) else g[()]
'''),
    "_mT": ((), '''
def _mT(x):
    """Matrix transpose: swap the last two axes (x.T for a 2-d x)."""
    return np.swapaxes(x, -1, -2)
'''),
    "_matmul_grad_a": (("_unbroadcast", "_mT"), '''
def _matmul_grad_a(g, a, b):
    """Adjoint of a in c = a @ b: g @ b.T for matrices, any np.matmul operands."""
    if np.ndim(b) == 1:
        if np.ndim(a) == 1:
            return g * b
        return g[..., :, None] * b
    if np.ndim(a) == 1:
        return _unbroadcast((g[..., None, :] @ _mT(b))[..., 0, :], a)
    return _unbroadcast(g @ _mT(b), a)
'''),
    "_matmul_grad_b": (("_unbroadcast", "_mT"), '''
def _matmul_grad_b(g, a, b):
    """Adjoint of b in c = a @ b: a.T @ g for matrices, any np.matmul operands."""
    if np.ndim(a) == 1:
        if np.ndim(b) == 1:
            return g * a
        return _unbroadcast(a[:, None] * g[..., None, :], b)
    if np.ndim(b) == 1:
        return _unbroadcast((g[..., None, :] @ a)[..., 0, :], b)
    return _unbroadcast(_mT(a) @ g, b)
'''),
    "_dot_grad_a": (("_unbroadcast", "_matmul_grad_a"), '''
def _dot_grad_a(g, a, b):
    """Adjoint of a in c = np.dot(a, b), any operand dimensions."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * b, a)
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        return _matmul_grad_a(g, a, b)
    if np.ndim(b) == 1:
        return np.multiply.outer(g, b)
    axes_b = [i for i in range(np.ndim(b)) if i != np.ndim(b) - 2]
    return np.tensordot(g, b, axes=(list(range(np.ndim(a) - 1, np.ndim(g))), axes_b))
'''),
    "_dot_grad_b": (("_unbroadcast", "_matmul_grad_b"), '''
def _dot_grad_b(g, a, b):
    """Adjoint of b in c = np.dot(a, b), any operand dimensions."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(a * g, b)
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        return _matmul_grad_b(g, a, b)
    lead = list(range(np.ndim(a) - 1))
    if np.ndim(b) == 1:
        return np.tensordot(a, g, axes=(lead, lead))
    return np.moveaxis(np.tensordot(a, g, axes=(lead, lead)), 0, -2)
'''),
    "_solve_grad_b": (("_mT",), '''
def _solve_grad_b(a, g):
    """Adjoint of b in x = np.linalg.solve(a, b): solve(a.T, g)."""
    if np.ndim(g) < np.ndim(a):
        return np.linalg.solve(_mT(a), g[..., None])[..., 0]
    return np.linalg.solve(_mT(a), g)
'''),
    "_solve_grad_A": (("_unbroadcast", "_mT"), '''
def _solve_grad_A(w, x, a):
    """Minus the adjoint of a in x = np.linalg.solve(a, b): w @ x.T, w = solve(a.T, g)."""
    if np.ndim(x) < np.ndim(a):
        return _unbroadcast(w[..., :, None] * x[..., None, :], a)
    return _unbroadcast(w @ _mT(x), a)
'''),
}

# The helpers also live in this module, so they can be imported and tested.
for _name, (_deps, _src) in _HELPERS.items():
    exec(compile(_src, f"<npdiff helper {_name}>", "exec"), globals())
del _name, _deps, _src


def _helper_closure(names) -> list[str]:
    """Return the helpers in names plus their dependencies, in definition order."""
    need = set()

    def visit(n):
        if n not in need:
            need.add(n)
            for d in _HELPERS[n][0]:
                visit(d)

    for n in names:
        visit(n)
    return [n for n in _HELPERS if n in need]


def helper_source(names=None) -> str:
    """Return the source of the named run-time helpers (all by default) and their dependencies."""
    names = list(_HELPERS) if names is None else _helper_closure(names)
    return "\n\n\n".join(_HELPERS[n][1].strip() for n in names) + "\n"


# --------------------------------------------------------------------------
# Operation tables.
# --------------------------------------------------------------------------

_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div",
           ast.MatMult: "matmul", ast.Pow: "pow"}
_BINSYM = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@", "pow": "**"}
_OPSYM = {ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>",
          ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^", ast.Not: "not",
          ast.Invert: "~"}

# Elementwise functions: adjoint contribution (g: result adjoint, x: operand,
# v: result) and its sign.
_UNARY = {
    "exp": ("{g} * {v}", "+"),
    "log": ("{g} / {x}", "+"),
    "sin": ("{g} * np.cos({x})", "+"),
    "cos": ("{g} * np.sin({x})", "-"),
    "tan": ("{g} * (1 + {v} ** 2)", "+"),
    "sinh": ("{g} * np.cosh({x})", "+"),
    "cosh": ("{g} * np.sinh({x})", "+"),
    "tanh": ("{g} * (1 - {v} ** 2)", "+"),
    "sqrt": ("{g} / (2 * {v})", "+"),
    "square": ("{g} * (2 * {x})", "+"),
    "abs": ("{g} * np.sign({x})", "+"),
    "log1p": ("{g} / (1 + {x})", "+"),
    "expm1": ("{g} * ({v} + 1)", "+"),
}
_NP_ALIASES = {"absolute": "abs", "true_divide": "divide"}

# np.<name>(...) -> (kind, number of array arguments, names of the static
# parameters that may follow them, positionally or by keyword).
_CALLS = {name: (name, 1, ()) for name in _UNARY}
_CALLS.update({
    "add": ("add", 2, ()), "subtract": ("sub", 2, ()), "multiply": ("mul", 2, ()),
    "divide": ("div", 2, ()), "power": ("pow", 2, ()), "matmul": ("matmul", 2, ()),
    "negative": ("neg", 1, ()), "positive": ("copy", 1, ()), "dot": ("dot", 2, ()),
    "sum": ("sum", 1, ("axis", "keepdims")), "mean": ("mean", 1, ("axis", "keepdims")),
    "trace": ("trace", 1, ()), "transpose": ("transpose", 1, ("axes",)),
    "swapaxes": ("swapaxes", 1, ("axis1", "axis2")), "reshape": ("reshape", 1, ("shape",)),
    "linalg.inv": ("inv", 1, ()), "linalg.solve": ("solve", 2, ()),
    "linalg.det": ("det", 1, ()),
})
# x.<name>(...) -> (kind, number of further array arguments, static parameters).
_METHODS = {
    "sum": ("sum", 0, ("axis", "keepdims")), "mean": ("mean", 0, ("axis", "keepdims")),
    "dot": ("dot", 1, ()), "transpose": ("transpose", 0, ("axes",)),
    "reshape": ("reshape", 0, ("shape",)), "swapaxes": ("swapaxes", 0, ("axis1", "axis2")),
}
_KW_ALIASES = {"newshape": "shape"}

# Expressions of an array that depend on its shape only: constants.
_SHAPE_ATTRS = {"shape", "ndim", "size", "dtype"}
_SHAPE_CALLS = {"shape", "ndim", "size", "zeros_like", "ones_like", "empty_like"}

# Operations whose result has the shape of their first operand.
_SAME_SHAPE = set(_UNARY) | {"neg", "copy", "inv"}


# --------------------------------------------------------------------------
# Intermediate representation.
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Opnd:
    """An operand: a differentiable variable (by emitted name) or a constant."""
    text: str
    var: bool
    literal: object = None   # numeric value of a scalar literal
    scalar: bool = False     # a scalar constant (literal, np.pi...): cannot broadcast
    pure: bool = True        # free of calls (safe to share by CSE)

    @property
    def p(self) -> str:
        return self.text if self.var else f"({self.text})"


@dataclass
class _Op:
    kind: str
    out: str
    args: list
    params: dict = field(default_factory=dict)


def _unparse(code: str) -> str:
    """Normalise a line (drops redundant parentheses)."""
    return ast.unparse(ast.parse(code))


def _is_scalar_const(node) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float, complex)) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _is_scalar_const(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS and not isinstance(node.op, ast.MatMult):
        return _is_scalar_const(node.left) and _is_scalar_const(node.right)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id in ("np", "numpy") and node.attr in ("pi", "e", "inf", "euler_gamma")
    return False


def _literal_value(node):
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return None


class _Transformer:
    """Builds the forward and reverse sweeps of a block of assignments."""

    def __init__(self, source: str, reserved, line_offset: int = 0):
        self.source = source
        self.line_offset = line_offset
        self.reserved = set(reserved) | set(_HELPERS) | {"np", "numpy"}
        self.bound: set[str] = set()
        self.forbidden: set[str] = set(_HELPERS) | {"np"}
        self.env: dict[str, str] = {}       # user name -> emitted name of its current value
        self.active: set[str] = set()       # emitted names of differentiable values
        self.forward: list[str] = []
        self.ops: list[_Op] = []
        self.cse: dict = {}
        self.parent: dict[str, str] = {}     # union-find: values known to share a shape
        self.helpers: set[str] = set()
        self.counter = 0
        self.stmt = None

    # ----- names
    def fresh(self, base: str) -> str:
        name, k = base, 0
        while name in self.reserved or name in self.bound:
            k += 1
            name = f"{base}_{k}"
        self.bound.add(name)
        return name

    def fresh_v(self) -> str:
        while True:
            name = f"v{self.counter}"
            self.counter += 1
            if name not in self.reserved and name not in self.bound:
                self.bound.add(name)
                return name

    def bind_user(self, name: str) -> str:
        """Return the emitted name for a new value of the user variable name."""
        if name not in self.bound and name not in self.forbidden:
            self.bound.add(name)
            return name
        return self.fresh(name)

    # ----- shapes
    def find(self, x: str) -> str:
        while self.parent.get(x, x) != x:
            x = self.parent[x]
        return x

    def union(self, a: str, b: str):
        self.parent[self.find(a)] = self.find(b)

    def same_shape(self, a: str, b: str) -> bool:
        return self.find(a) == self.find(b)

    # ----- errors
    def unsupported(self, what: str, node=None):
        where = ""
        stmt = self.stmt if self.stmt is not None else node
        if stmt is not None:
            seg = ast.get_source_segment(self.source, stmt) or ast.unparse(stmt)
            seg = " ".join(seg.split())
            line = getattr(stmt, "lineno", None)
            where = f" (line {line + self.line_offset}: `{seg}`)" if line else f" (`{seg}`)"
        return UnsupportedOperationError(
            f"{what} is not supported by the shape-generic adjoint transformation{where}; {_HINT}")

    # ----- activity
    def is_active(self, node) -> bool:
        if isinstance(node, ast.Name):
            return self.env.get(node.id) in self.active
        if isinstance(node, ast.Attribute) and node.attr in _SHAPE_ATTRS:
            return False
        if isinstance(node, ast.Call):
            name = self.np_name(node.func)
            if name in _SHAPE_CALLS or (isinstance(node.func, ast.Name) and node.func.id == "len"
                                        and "len" not in self.env):
                return False
        return any(self.is_active(c) for c in ast.iter_child_nodes(node))

    def np_name(self, func):
        """Return 'exp' for np.exp, 'linalg.inv' for numpy.linalg.inv, else None."""
        parts = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if (isinstance(func, ast.Name) and func.id in ("np", "numpy") and func.id not in self.env
                and parts):
            name = ".".join(reversed(parts))
            return _NP_ALIASES.get(name, name)
        return None

    def const(self, node) -> _Opnd:
        """A constant operand: the expression as written, with renamed variables."""
        env = self.env

        class Rename(ast.NodeTransformer):
            def visit_Name(self, n):
                if n.id in env:
                    return ast.copy_location(ast.Name(env[n.id], n.ctx), n)
                if n.id == "numpy":
                    return ast.copy_location(ast.Name("np", n.ctx), n)
                return n

        new = Rename().visit(ast.parse(ast.unparse(node), mode="eval").body)
        pure = not any(isinstance(n, ast.Call) for n in ast.walk(new))
        return _Opnd(ast.unparse(new), False, _literal_value(node), _is_scalar_const(node), pure)

    # ----- lowering
    def statement(self, target: str, value) -> str:
        """Lower `target = value`; return the emitted name of target."""
        new = self.bind_user(target)   # the right-hand side still reads the old binding
        if self.is_active(value):
            self.lower(value, new)
        else:
            self.forward.append(_unparse(f"{new} = {self.const(value).text}"))
        self.env[target] = new
        return new

    def lower(self, node, target=None) -> _Opnd:
        if not self.is_active(node):
            return self.const(node)
        if isinstance(node, ast.Name):
            opnd = _Opnd(self.env[node.id], True)
            return self.emit("copy", target, [opnd]) if target else opnd
        if isinstance(node, ast.BinOp):
            kind = _BINOPS.get(type(node.op))
            if kind is None:
                raise self.unsupported(f"the operator `{_OPSYM.get(type(node.op), '?')}`", node)
            a, b = self.lower(node.left), self.lower(node.right)
            return self.emit(kind, target, [a, b])
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return self.emit("neg", target, [self.lower(node.operand)])
            if isinstance(node.op, ast.UAdd):
                return self.lower(node.operand, target)
            raise self.unsupported(f"the operator `{_OPSYM.get(type(node.op), '?')}`", node)
        if isinstance(node, ast.Attribute):
            if node.attr in ("T", "mT"):
                return self.emit(node.attr, target, [self.lower(node.value)])
            raise self.unsupported(f"the attribute `.{node.attr}`", node)
        if isinstance(node, ast.Call):
            return self.lower_call(node, target)
        what = {ast.Subscript: "indexing", ast.Compare: "a comparison", ast.IfExp: "a conditional expression",
                ast.BoolOp: "a boolean operator", ast.Tuple: "a tuple", ast.List: "a list",
                ast.Lambda: "a lambda", ast.ListComp: "a comprehension"}.get(type(node), "the expression")
        raise self.unsupported(f"{what} `{ast.unparse(node)}`", node)

    def lower_call(self, node, target) -> _Opnd:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise self.unsupported(f"the call `{ast.unparse(node)}` with * or ** arguments", node)
        name = self.np_name(node.func)
        if name is not None:
            if name not in _CALLS:
                raise self.unsupported(f"`np.{name}`", node)
            kind, narr, static = _CALLS[name]
            arrays, rest = node.args[:narr], node.args[narr:]
            if len(arrays) < narr:
                raise self.unsupported(f"`{ast.unparse(node)}` with array arguments given by keyword", node)
            label = f"np.{name}"
        elif (isinstance(node.func, ast.Attribute) and node.func.attr in _METHODS
              and self.is_active(node.func.value)):
            kind, nmore, static = _METHODS[node.func.attr]
            arrays = [node.func.value] + node.args[:nmore]
            rest = node.args[nmore:]
            label = f".{node.func.attr}()"
            if kind in ("transpose", "reshape") and len(rest) > 1:
                rest = [ast.Tuple(elts=list(rest), ctx=ast.Load())]
        else:
            raise self.unsupported(f"the call `{ast.unparse(node.func)}`", node)
        if len(rest) > len(static):
            raise self.unsupported(f"`{label}` with {len(node.args)} positional arguments", node)
        params = dict(zip(static, rest))
        for kw in node.keywords:
            key = _KW_ALIASES.get(kw.arg, kw.arg)
            if key not in static or key in params:
                raise self.unsupported(f"`{label}` with the keyword argument `{kw.arg}=`", node)
            params[key] = kw.value
        for key, value in params.items():
            if self.is_active(value):
                raise self.unsupported(f"`{label}` with a differentiable `{key}` argument", node)
        params = {k: self.const(v).text for k, v in params.items()}
        params = {k: v for k, v in params.items() if v != "None"}
        if params.get("keepdims") == "False":
            del params["keepdims"]
        args = [self.lower(a) for a in arrays]
        if kind == "swapaxes" and len(params) != 2:
            raise self.unsupported("`swapaxes` without both axes", node)
        if kind == "reshape" and "shape" not in params:
            raise self.unsupported("`reshape` without a shape", node)
        return self.emit(kind, target, args, params)

    def emit(self, kind, target, args, params=None) -> _Opnd:
        params = params or {}
        key = (kind, tuple((a.var, a.text) for a in args), tuple(sorted(params.items())))
        shareable = all(a.pure for a in args)
        if target is None and shareable and key in self.cse:
            return _Opnd(self.cse[key], True)
        out = target or self.fresh_v()
        self.forward.append(_unparse(f"{out} = {self.forward_expr(kind, args, params)}"))
        self.ops.append(_Op(kind, out, args, params))
        self.active.add(out)
        if shareable:
            self.cse[key] = out
        # shapes known to agree
        a = args[0]
        if kind in _SAME_SHAPE and a.var:
            self.union(out, a.text)
        elif kind in ("add", "sub", "mul", "div", "pow"):
            b = args[1]
            if a.var and (b.scalar or (b.var and self.same_shape(a.text, b.text))):
                self.union(out, a.text)
            elif b.var and a.scalar and kind != "pow":
                self.union(out, b.text)
        return _Opnd(out, True)

    @staticmethod
    def forward_expr(kind, args, params) -> str:
        a = args[0].p
        if kind in _BINSYM:
            return f"{a} {_BINSYM[kind]} {args[1].p}"
        if kind == "neg":
            return f"-{a}"
        if kind == "copy":
            return a
        if kind in ("T", "mT"):
            return f"{a}.{kind}"
        if kind in _UNARY:
            return f"np.{kind}({a})"
        if kind in ("inv", "det"):
            return f"np.linalg.{kind}({a})"
        if kind == "solve":
            return f"np.linalg.solve({a}, {args[1].p})"
        if kind == "dot":
            return f"np.dot({a}, {args[1].p})"
        if kind in ("sum", "mean"):
            extra = "".join(f", {k}={params[k]}" for k in ("axis", "keepdims") if k in params)
            return f"np.{kind}({a}{extra})"
        if kind == "transpose":
            return f"np.transpose({a}, {params['axes']})" if "axes" in params else f"np.transpose({a})"
        if kind == "swapaxes":
            return f"np.swapaxes({a}, {params['axis1']}, {params['axis2']})"
        if kind == "reshape":
            return f"np.reshape({a}, {params['shape']})"
        return f"np.{kind}({a})"  # trace

    # ----- reverse sweep
    def reverse(self, seeds: dict) -> list[str]:
        """Return the reverse-sweep lines.

        seeds maps emitted names to the adjoint names that exist on entry: the
        output's (initialised by the caller) and the inputs' (accumulated into).
        """
        self.adj = dict(seeds)
        self.canon = dict(seeds)
        self.lines = []
        for op in reversed(self.ops):
            g = self.adj.get(op.out)
            if g is not None:
                self.rule(op, g)
        return self.lines

    def contribute(self, target: str, expr: str, sign="+", reduce=True, init=None):
        if reduce:
            self.helpers.add("_unbroadcast")
            expr = f"_unbroadcast({expr}, {target})"
            init = None
        cur = self.adj.get(target)
        if cur is None:
            init = expr if init is None else init
            if sign == "+" and init.isidentifier():
                self.adj[target] = init   # alias: no copy needed, nothing is modified in place
                return
            name = self.canon.setdefault(target, self.fresh(f"{target}_a"))
            self.lines.append(_unparse(f"{name} = {'-' if sign == '-' else ''}({init})"))
        else:
            name = self.canon.setdefault(target, self.fresh(f"{target}_a"))
            self.lines.append(_unparse(f"{name} = {cur} {sign} ({expr})"))
        self.adj[target] = name

    def rule(self, op: _Op, g: str):
        k, v, args, prm = op.kind, op.out, op.args, op.params
        a = args[0]
        b = args[1] if len(args) > 1 else None
        x = a.p

        def to(opnd, expr, sign="+", broadcasts=True, init=None):
            if opnd.var:
                reduce = broadcasts and not self.same_shape(opnd.text, v)
                self.contribute(opnd.text, expr, sign, reduce, init)

        if k in ("add", "sub"):
            to(a, g)
            to(b, g, "-" if k == "sub" else "+")
        elif k == "mul":
            to(a, f"{g} * {b.p}")
            to(b, f"{a.p} * {g}")
        elif k == "div":
            to(a, f"{g} / {b.p}")
            to(b, f"{g} * {v} / {b.p}", "-")
        elif k == "pow":
            c = b.literal
            if c is not None and not b.var:
                if c == 1:
                    to(a, g)
                elif c == 2:
                    to(a, f"{g} * (2 * {x})")
                elif c != 0:
                    to(a, f"{g} * ({c!r} * {x} ** {c - 1!r})")
            else:
                to(a, f"{g} * ({b.p} * {x} ** ({b.p} - 1))")
                to(b, f"{g} * ({v} * np.log({x}))")
        elif k in ("neg", "copy"):
            to(a, g, "-" if k == "neg" else "+", False)
        elif k in _UNARY:
            expr, sign = _UNARY[k]
            to(a, expr.format(g=g, x=x, v=v), sign, False)
        elif k in ("matmul", "dot"):
            for i, opnd in enumerate(args):
                if opnd.var:
                    helper = f"_{k}_grad_{'ab'[i]}"
                    self.helpers.add(helper)
                    to(opnd, f"{helper}({g}, {x}, {b.p})", broadcasts=False)
        elif k == "T":
            to(a, f"{g}.T", broadcasts=False)
        elif k == "mT":
            to(a, f"{g}.mT", broadcasts=False)
        elif k == "transpose":
            expr = f"np.transpose({g}, np.argsort({prm['axes']}))" if "axes" in prm else f"np.transpose({g})"
            to(a, expr, broadcasts=False)
        elif k == "swapaxes":
            to(a, f"np.swapaxes({g}, {prm['axis1']}, {prm['axis2']})", broadcasts=False)
        elif k == "reshape":
            to(a, f"np.reshape({g}, np.shape({x}))", broadcasts=False)
        elif k in ("sum", "mean"):
            e = g
            if "axis" in prm and prm.get("keepdims") != "True":
                e = f"np.expand_dims({g}, {prm['axis']})"
            if k == "mean":
                e = f"{e} / np.size({x})" if "axis" not in prm else f"{e} * (np.size({v}) / np.size({x}))"
            to(a, e, broadcasts=False, init=f"np.broadcast_to({e}, np.shape({x}))")
        elif k == "trace":
            to(a, f"np.multiply.outer(np.eye(*np.shape({x})[:2]), {g})", broadcasts=False)
        elif k == "inv":
            self.helpers.add("_mT")
            to(a, f"_mT({v}) @ {g} @ _mT({v})", "-", False)
        elif k == "det":
            self.helpers.add("_mT")
            to(a, f"np.expand_dims({g} * {v}, (-2, -1)) * _mT(np.linalg.inv({x}))", broadcasts=False)
        elif k == "solve":
            self.helpers.add("_solve_grad_b")
            w = f"_solve_grad_b({x}, {g})"
            if a.var:
                if b.var:
                    tmp = self.fresh(f"{v}_b_a")
                    self.lines.append(_unparse(f"{tmp} = {w}"))
                    w = tmp
                self.helpers.add("_solve_grad_A")
                to(b, w)
                to(a, f"_solve_grad_A({w}, {v}, {x})", "-", False)
            else:
                to(b, w)
        else:  # pragma: no cover - every kind emitted above has a rule
            raise AssertionError(k)


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


def _body_statements(tr: _Transformer, body, stop_at_return=True):
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


def _module_source(helpers: set, body: str, with_helpers: bool) -> str:
    parts = ["import numpy as np"]
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
    tr = _Transformer(src, _names_in(fdef), offset)
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
    (``_unbroadcast``...) are defined first, unless ``helpers=False`` (then
    execute ``helper_source()`` in that namespace once). Several statements
    separated by newlines or ``;`` are accepted; the last target is the output.
    """
    src = textwrap.dedent(expr).strip()
    tree = ast.parse(src)
    tr = _Transformer(src, _names_in(tree))
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
        return helper_source(tr.helpers) + "\n\n" + body
    return body


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
