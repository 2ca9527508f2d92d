"""The AST lowering and reverse sweep of the shape-generic adjoint (``adjoint_generic``).

``Transformer.statement(target, value)`` lowers one assignment into one
operation a line (the forward sweep); ``Transformer.reverse(seeds)`` visits the
operations backwards and prints each one's contributions to its operands'
adjoints. Elementwise functions (every NumPy and scipy.special ufunc with an
elementwise primitive that has partials) take their formulas from the
primitive registry through ``adjoint_partials``; the structural operations
(``@``, ``np.dot``, reductions, transposes, reshapes, ``np.linalg`` inv, solve
and det) have their rules here, with the run-time helpers of ``adjoint_runtime``.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field

import numpy as np

from ...errors import UnsupportedOperationError
from ...primitives import PRIMS
from .partials import (
    ShapeDependent,
    contribution,
    differentiable,
    forward_expr,
    nondiff,
    prim_of_ufunc,
)
from .runtime import HELPERS

HINT = ("pass argument shapes to transform() to use the traced (shape-specialised) "
        "mode, which supports every operation npdiff traces")

_BINOPS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide",
           ast.MatMult: "matmul", ast.Pow: "power"}
_OPSYM = {ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>",
          ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^", ast.Not: "not",
          ast.Invert: "~"}

# np.<name>(...) of the structural operations -> (kind, number of array
# arguments, names of the static parameters that may follow them, positionally
# or by keyword). Elementwise functions are found through their ufunc object.
_CALLS = {
    "matmul": ("matmul", 2, ()), "positive": ("copy", 1, ()), "dot": ("dot", 2, ()),
    "sum": ("sum", 1, ("axis", "keepdims")), "mean": ("mean", 1, ("axis", "keepdims")),
    "trace": ("trace", 1, ()), "transpose": ("transpose", 1, ("axes",)),
    "swapaxes": ("swapaxes", 1, ("axis1", "axis2")), "reshape": ("reshape", 1, ("shape",)),
    "linalg.inv": ("inv", 1, ()), "linalg.solve": ("solve", 2, ()), "linalg.det": ("det", 1, ()),
}
# x.<name>(...) -> (kind, number of further array arguments, static parameters).
_METHODS = {
    "sum": ("sum", 0, ("axis", "keepdims")), "mean": ("mean", 0, ("axis", "keepdims")),
    "dot": ("dot", 1, ()), "transpose": ("transpose", 0, ("axes",)),
    "reshape": ("reshape", 0, ("shape",)), "swapaxes": ("swapaxes", 0, ("axis1", "axis2")),
}
_KW_ALIASES = {"newshape": "shape"}
_STRUCTURAL = {k for k, _, _ in _CALLS.values()} | {"T", "mT"}

# Expressions of an array that depend on its shape only: constants.
_SHAPE_ATTRS = {"shape", "ndim", "size", "dtype"}
_SHAPE_CALLS = {"shape", "ndim", "size", "zeros_like", "ones_like", "empty_like"}


def _default_namespace(name: str):
    """Return what np, numpy or scipy name in a function whose globals are unknown, else None."""
    if name in ("np", "numpy"):
        return np
    if name == "scipy":
        try:
            import scipy.special  # noqa: F401
        except ImportError:  # pragma: no cover - SciPy is optional
            return None
        return sys.modules["scipy"]
    return None


@dataclass(frozen=True)
class Opnd:
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
class Op:
    """One operation of the forward sweep: kind (a primitive name if elementwise), result, operands."""
    kind: str
    out: str
    args: list
    params: dict = field(default_factory=dict)
    stmt: object = None


def unparse(code: str) -> str:
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


class Transformer:
    """Builds the forward and reverse sweeps of a block of assignments.

    ``namespace`` is where the called functions are looked up (the function's
    globals), falling back to NumPy as ``np``/``numpy`` and SciPy as ``scipy``.
    """

    def __init__(self, source: str, reserved, line_offset: int = 0, namespace=None):
        self.source = source
        self.line_offset = line_offset
        self.namespace = namespace or {}
        self.reserved = set(reserved) | set(HELPERS) | {"np", "numpy", "scipy"}
        self.bound: set[str] = set()
        self.forbidden: set[str] = set(HELPERS) | {"np", "scipy"}
        self.env: dict[str, str] = {}       # user name -> emitted name of its current value
        self.active: set[str] = set()       # emitted names of differentiable values
        self.forward: list[str] = []
        self.ops: list[Op] = []
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
            f"{what} is not supported by the shape-generic adjoint transformation{where}; {HINT}")

    # ----- names of called functions
    def np_name(self, func):
        """Return 'sum' for np.sum, 'linalg.inv' for numpy.linalg.inv, else None."""
        parts = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if (isinstance(func, ast.Name) and func.id in ("np", "numpy") and func.id not in self.env
                and parts):
            return ".".join(reversed(parts))
        return None

    def resolve(self, func):
        """Return the object a called dotted name refers to (None for a user variable or an unknown name)."""
        parts = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name) or func.id in self.env:
            return None
        obj = self.namespace[func.id] if func.id in self.namespace else _default_namespace(func.id)
        for attr in reversed(parts):
            obj = getattr(obj, attr, None)
        return obj

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
            prim = prim_of_ufunc(self.resolve(node.func))
            if prim is not None and nondiff(prim):
                return False  # floor, sign, comparisons...: a zero derivative, printed as written
        return any(self.is_active(c) for c in ast.iter_child_nodes(node))

    def const(self, node) -> Opnd:
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
        return Opnd(ast.unparse(new), False, _literal_value(node), _is_scalar_const(node), pure)

    # ----- lowering
    def statement(self, target: str, value) -> str:
        """Lower `target = value`; return the emitted name of target."""
        new = self.bind_user(target)   # the right-hand side still reads the old binding
        if self.is_active(value):
            self.lower(value, new)
        else:
            self.forward.append(unparse(f"{new} = {self.const(value).text}"))
        self.env[target] = new
        return new

    def lower(self, node, target=None) -> Opnd:
        if not self.is_active(node):
            return self.const(node)
        if isinstance(node, ast.Name):
            opnd = Opnd(self.env[node.id], True)
            return self.emit("copy", target, [opnd]) if target else opnd
        if isinstance(node, ast.BinOp):
            kind = _BINOPS.get(type(node.op))
            if kind is None:
                raise self.unsupported(f"the operator `{_OPSYM.get(type(node.op), '?')}`", node)
            a, b = self.lower(node.left), self.lower(node.right)
            return self.emit(kind, target, [a, b])
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return self.emit("negative", target, [self.lower(node.operand)])
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

    def lower_call(self, node, target) -> Opnd:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise self.unsupported(f"the call `{ast.unparse(node)}` with * or ** arguments", node)
        name = self.np_name(node.func)
        if name in _CALLS:
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
            return self.lower_ufunc(node, target)
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

    def lower_ufunc(self, node, target) -> Opnd:
        """Lower a call of an elementwise function (a NumPy or scipy.special ufunc with partials)."""
        label = ast.unparse(node.func)
        prim = prim_of_ufunc(self.resolve(node.func))
        if prim is None or not differentiable(prim):
            name = self.np_name(node.func)
            raise self.unsupported(f"`np.{name}`" if name else f"the call `{label}`", node)
        nin = PRIMS[prim].impl.nin
        if node.keywords or len(node.args) != nin:
            raise self.unsupported(f"`{label}` with other than its {nin} positional array arguments", node)
        return self.emit(prim, target, [self.lower(a) for a in node.args])

    def emit(self, kind, target, args, params=None) -> Opnd:
        params = params or {}
        key = (kind, tuple((a.var, a.text) for a in args), tuple(sorted(params.items())))
        shareable = all(a.pure for a in args)
        if target is None and shareable and key in self.cse:
            return Opnd(self.cse[key], True)
        out = target or self.fresh_v()
        self.forward.append(unparse(f"{out} = {self.forward_expr(kind, args, params)}"))
        self.ops.append(Op(kind, out, args, params, self.stmt))
        self.active.add(out)
        if shareable:
            self.cse[key] = out
        # shapes known to agree
        a = args[0]
        if kind in ("copy", "inv") and a.var:
            self.union(out, a.text)
        elif kind not in _STRUCTURAL:  # elementwise: the broadcast shape of the operands
            vs = [x for x in args if x.var]
            if all(x.var or x.scalar for x in args) and all(self.same_shape(x.text, vs[0].text) for x in vs):
                self.union(out, vs[0].text)
        return Opnd(out, True)

    @staticmethod
    def forward_expr(kind, args, params) -> str:
        a = args[0].p
        if kind not in _STRUCTURAL:
            return forward_expr(kind, [x.p for x in args])
        if kind == "matmul":
            return f"{a} @ {args[1].p}"
        if kind == "copy":
            return a
        if kind in ("T", "mT"):
            return f"{a}.{kind}"
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
            self.lines.append(unparse(f"{name} = {'-' if sign == '-' else ''}({init})"))
        else:
            name = self.canon.setdefault(target, self.fresh(f"{target}_a"))
            self.lines.append(unparse(f"{name} = {cur} {sign} ({expr})"))
        self.adj[target] = name

    def rule(self, op: Op, g: str):
        k, v, args, prm = op.kind, op.out, op.args, op.params
        a = args[0]
        b = args[1] if len(args) > 1 else None
        x = a.p

        def to(opnd, expr, sign="+", broadcasts=True, init=None):
            if opnd.var:
                reduce = broadcasts and not self.same_shape(opnd.text, v)
                self.contribute(opnd.text, expr, sign, reduce, init)

        if k not in _STRUCTURAL:  # elementwise: g times the registered partial
            operands = [(o.text, None if o.var else o.literal) for o in args]
            for i, opnd in enumerate(args):
                if opnd.var:
                    try:
                        term = contribution(k, operands, i, g, v)
                    except ShapeDependent as exc:
                        self.stmt = op.stmt
                        raise self.unsupported(f"the derivative of `{forward_expr(k, [o.p for o in args])}` "
                                               f"(its partial contains {exc})") from None
                    if term is not None:
                        to(opnd, term[1], term[0])
        elif k == "copy":
            to(a, g, broadcasts=False)
        elif k in ("matmul", "dot"):
            for i, opnd in enumerate(args):
                if opnd.var:
                    helper = f"_{k}_grad_{'ab'[i]}"
                    self.helpers.add(helper)
                    to(opnd, f"{helper}({g}, {x}, {b.p})", broadcasts=False)
        elif k in ("T", "mT"):
            to(a, f"{g}.{k}", broadcasts=False)
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
                    self.lines.append(unparse(f"{tmp} = {w}"))
                    w = tmp
                self.helpers.add("_solve_grad_A")
                to(b, w)
                to(a, f"_solve_grad_A({w}, {v}, {x})", "-", False)
            else:
                to(b, w)
        else:  # pragma: no cover - every kind emitted above has a rule
            raise AssertionError(k)
