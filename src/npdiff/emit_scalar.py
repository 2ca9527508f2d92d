"""Scalar emission for tiny arrays: every element becomes a Python float.

Below a few dozen elements each NumPy call (about a microsecond) costs more
than the arithmetic, so the graph is unrolled element by element into
straight-line Python-float code (``math.sin``, ``*``...), with zeros folded
away. Math functions raise where NumPy would return inf/nan; the generated
wrapper then falls back to the array version, so results never differ.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .graph import Node, toposort
from .primitives import PRIMS
from .primitives.contract import parse
from .primitives.indexing import build_index

SCALAR_MAX = 256  # largest array (in elements) that may be unrolled
TOTAL_MAX = 6000  # largest total number of elements (and contraction terms) considered for unrolling
SCALAR_OP_NS, ARRAY_OP_NS = 45, 900  # rough cost of one Python-float statement / one small NumPy call
OPERATORS = {"add": "{0} + {1}", "subtract": "{0} - {1}", "multiply": "{0} * {1}", "divide": "{0} / {1}",
             "negative": "-{0}", "square": "{0} * {0}", "reciprocal": "1.0 / {0}", "absolute": "abs({0})",
             "maximum": "({0} if {0} > {1} or {0} != {0} else {1})",
             "minimum": "({0} if {0} < {1} or {0} != {0} else {1})", "greater": "{0} > {1}",
             "greater_equal": "{0} >= {1}", "less": "{0} < {1}", "less_equal": "{0} <= {1}",
             "equal": "{0} == {1}", "not_equal": "{0} != {1}", "logical_not": "not {0}",
             "logical_and": "bool({0} and {1})", "logical_or": "bool({0} or {1})",
             "arctan2": "math.atan2({0}, {1})",
             "hypot": "math.hypot({0}, {1})", "log2": "math.log2({0})", "log10": "math.log10({0})",
             "exp2": "2.0 ** {0}", "sign": "(float(({0} > 0) - ({0} < 0)) if {0} == {0} else {0})",
             "floor": "float(math.floor({0}))",
             "ceil": "float(math.ceil({0}))", "trunc": "float(math.trunc({0}))"}
ZERO, ONE = "0.0", "1.0"


class NotScalar(Exception):
    """The graph has an operation or size the scalar emitter does not unroll."""


def eligible(nodes: list[Node]) -> bool:
    """Return True if every node is small and float64/bool/int (no float32 or complex)."""
    total = 0
    for n in nodes:
        if n.size > SCALAR_MAX and n.op != "const":
            return False
        if n.dtype.kind not in "fbi" or (n.dtype.kind == "f" and n.dtype != np.float64):
            return False
        total += n.size
        if n.op == "einsum":  # unrolled contractions cost one term per index combination
            sizes = {}
            for sub, a in zip(parse(n.p["spec"])[0], n.args):
                sizes.update(zip(sub, a.shape))
            total += int(np.prod(list(sizes.values())))
    return total <= TOTAL_MAX


def prefer_scalar(scalar_lines: list[str], array_lines: list[str]) -> bool:
    """Return True if the unrolled version should be cheaper to run than the array version."""
    def ops(lines):
        return sum(1 for l in lines if (" = " in l or " += " in l or " -= " in l or " *= " in l)
                   and not l.lstrip().startswith(("if ", "def ", '"""')))
    return ops(scalar_lines) * SCALAR_OP_NS < ops(array_lines) * ARRAY_OP_NS


def _lit(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return repr(bool(v))
    if isinstance(v, (int, np.integer)):
        return repr(int(v))
    v = float(v)
    if not math.isfinite(v):
        return "math.inf" if v > 0 else "-math.inf" if v < 0 else "math.nan"
    return repr(v) if v >= 0 else f"({v!r})"


def _atom(s: str) -> bool:
    """Return True for a name, a number, or one fully parenthesised expression."""
    if s.replace("_", "").replace(".", "").isalnum():
        return True
    if not (s.startswith("(") and s.endswith(")")):
        return False
    depth = 0
    for k, ch in enumerate(s):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and k < len(s) - 1:
            return False  # the first parenthesis closes before the end: "(a) + (b)"
    return True


def _paren(s: str) -> str:
    return s if _atom(s) else f"({s})"


def _lit_value(s: str):
    """Return the float value of a numeric literal (None for names and expressions)."""
    try:
        return float(s.strip("()"))
    except ValueError:
        return {"math.inf": math.inf, "-math.inf": -math.inf}.get(s)


def _is_int_literal(s: str) -> bool:
    try:
        return float(s.strip("()")).is_integer()
    except ValueError:
        return False


class ScalarEmitter:
    """Emits element-by-element Python-float code; node values are object arrays of expressions."""

    def __init__(self, base):
        self.base = base  # the array Emitter: shares the name space and constants
        self.vals: dict[int, np.ndarray] = {}
        self.exprs: dict[str, str] = {}  # expression -> name (scalar-level CSE)
        self.lines: list[str] = []

    # -- values ------------------------------------------------------------------
    def bind_input(self, node: Node, name: str) -> tuple[str, list[str]]:
        p = self.base.bind_input(node, name)
        lines = [f"if {p}.__class__ is not np.ndarray: {p} = np.asarray({p})",
                 f"if {p}.shape != {node.shape}: _bad_shape({p!r}, {node.shape}, {p}.shape)"]
        if node.ndim == 0:
            elems = [self.base.fresh(f"{p}_")]
            lines.append(f"{elems[0]} = float({p})")
        else:
            elems = [self.base.fresh(f"{p}_{k}") for k in range(node.size)]
            src = f"{p}.tolist()" if node.ndim == 1 else f"{p}.ravel().tolist()"
            lines.append(f"{', '.join(elems)}{',' if len(elems) == 1 else ''} = {src}")
        arr = np.empty(node.size, dtype=object)
        arr[:] = elems
        self.vals[id(node)] = arr.reshape(node.shape)
        return p, lines

    def val(self, node: Node) -> np.ndarray:
        v = self.vals.get(id(node))
        if v is not None:
            return v
        if node.op != "const":
            raise NotScalar(node.op)
        arr = np.asarray(node.value)
        out = np.empty(arr.shape, dtype=object)
        for idx in np.ndindex(arr.shape):
            out[idx] = _lit(arr[idx])
        self.vals[id(node)] = out
        return out

    def _name(self, expr: str, base: str) -> str:
        if _atom(expr) or expr in (ZERO, ONE):
            return expr
        name = self.exprs.get(expr)
        if name is None:
            name = self.base.fresh(base)
            self.lines.append(f"{name} = {expr}")
            self.exprs[expr] = name
        return name

    # -- scalar algebra with zero/one folding ----------------------------------------
    def binop(self, op: str, a: str, b: str) -> str:
        if op == "+":
            if a == ZERO:
                return b
            if b == ZERO:
                return a
        elif op == "-":
            if b == ZERO:
                return a
            if a == ZERO:
                return f"-{_paren(b)}"
        elif op == "*":
            if ZERO in (a, b):
                return ZERO
            if a == ONE:
                return b
            if b == ONE:
                return a
        return f"{_paren(a)} {op} {_paren(b)}"

    # -- emission ------------------------------------------------------------------
    def emit(self, outputs: list[Node]) -> list[str]:
        self.lines = []
        for node in toposort(outputs):
            if id(node) in self.vals or node.op == "const":
                continue
            if node.op == "input":
                raise NotScalar("unbound input")
            self.vals[id(node)] = _obj(self.rule(node))
        return self.lines

    def rule(self, node: Node) -> np.ndarray:
        op, args, p = node.op, node.args, node.p
        short = _short(op)
        prim = PRIMS[op]
        out = np.empty(node.shape, dtype=object)
        if op in ("custom_jvp_out", "custom_vjp_out"):
            return self.val(args[0])
        if op == "guard":  # a statement: check a traced decision (primitives/guard.py)
            from .primitives.guard import check_line
            self.lines.append(check_line(_paren(self.val(args[0])[()]), node).format())
            return out
        if op == "where":
            c, a, b = (np.broadcast_to(self.val(x), node.shape) for x in args)
            for i in np.ndindex(node.shape):
                out[i] = self._name(f"{_paren(a[i])} if {c[i]} else {_paren(b[i])}", short)
            return out
        if prim.domain is not None or op in OPERATORS:  # elementwise
            tmpl = OPERATORS.get(op) or prim.math_emit or (prim.emit if isinstance(prim.emit, str) else None)
            if tmpl is None:
                raise NotScalar(op)
            vals = [np.broadcast_to(self.val(x), node.shape) for x in args]
            for i in np.ndindex(node.shape):
                out[i] = self._elementwise(op, tmpl, [v[i] for v in vals], p, short)
            return out
        if op == "convert":
            if node.dtype != np.float64 and node.dtype != np.bool_:
                raise NotScalar(op)
            cast = "float" if node.dtype == np.float64 else "bool"
            src = self.val(args[0])
            for i in np.ndindex(node.shape):
                out[i] = src[i] if args[0].dtype == node.dtype else self._name(f"{cast}({src[i]})", short)
            return out
        if op in ("reduce_sum", "reduce_prod", "reduce_max", "reduce_min"):
            x = self.val(args[0])
            axes = p["axes"]
            keep = [a for a in range(x.ndim) if a not in axes]
            moved = np.transpose(x, keep + list(axes)).reshape(node.shape + (-1,))
            for i in np.ndindex(node.shape):
                terms = list(moved[i])
                if op == "reduce_sum":
                    e = ZERO
                    for t in terms:
                        e = self.binop("+", e, t)
                elif op == "reduce_prod":
                    e = ONE
                    for t in terms:
                        e = self.binop("*", e, t)
                else:
                    e = f"{op[-3:]}({', '.join(terms)})" if len(terms) > 1 else terms[0]
                    if len(terms) > 1:  # Python's max/min drop nan; NumPy's propagate it
                        e = f"{e} if {' and '.join(f'{t} == {t}' for t in terms)} else math.nan"
                out[i] = self._name(e, short)
            return out
        if op == "broadcast_to":
            return np.broadcast_to(self.val(args[0]), node.shape)
        if op == "reshape":
            return self.val(args[0]).reshape(node.shape)
        if op == "transpose":
            return np.transpose(self.val(args[0]), p["perm"])
        if op in ("gather", "scatter_add", "set_index", "index_add"):
            return self._indexing(node, short)
        if op == "concatenate":
            return np.concatenate([self.val(a) for a in args], axis=p["axis"])
        if op == "stack":
            return np.stack([np.broadcast_to(self.val(a), args[0].shape) for a in args], axis=p["axis"])
        if op == "cumsum":
            x = np.moveaxis(self.val(args[0]), p["axis"], -1)
            res = np.empty(x.shape, dtype=object)
            for i in np.ndindex(x.shape[:-1]):
                acc = ZERO
                for k in range(x.shape[-1]):
                    acc = self._name(self.binop("+", acc, x[i + (k,)]), short)
                    res[i + (k,)] = acc
            return np.moveaxis(res, -1, p["axis"])
        if op == "einsum":
            return self._einsum(node, short)
        raise NotScalar(op)

    def _elementwise(self, op, tmpl, a, p, short):
        if op in ("add", "subtract", "multiply", "divide"):
            sym = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/"}[op]
            if op == "divide" and a[0] == ZERO and _lit_value(a[1]):
                return ZERO  # 0 / b folds only for a nonzero literal b (0/0 and 0/nan are nan)
            return self._name(self.binop(sym, a[0], a[1]), short)
        if op == "negative":
            return ZERO if a[0] == ZERO else self._name(f"-{_paren(a[0])}", short)
        if op == "power":
            if _is_int_literal(a[1]):
                return self._name(f"{_paren(a[0])} ** {int(float(a[1].strip('()')))}", short)
            return self._name(f"math.pow({a[0]}, {a[1]})", short)
        return self._name(tmpl.format(*a, **p), short)

    def _indexing(self, node, short):
        op, args, p = node.op, node.args, node.p
        if any(a.op != "const" for a in args[(1 if op in ("gather", "scatter_add") else 2):]):
            raise NotScalar("traced index")
        if op == "gather":
            arrays = [a.value for a in args[1:]]
            return self.val(args[0])[build_index(p["index"], arrays)]
        first = 1 if op == "scatter_add" else 2
        arrays = [a.value for a in args[first:]]
        idx = build_index(p["index"], arrays)
        if op == "set_index":
            out = np.array(self.val(args[0]), dtype=object, copy=True)
            v = self.val(args[1])
            out[idx] = v if v.ndim else v[()]
            return out
        base = np.empty(node.shape, dtype=object)
        base[...] = ZERO
        if op == "index_add":
            base[...] = self.val(args[0])
        v = self.val(args[first - 1])
        pos = np.arange(node.size).reshape(node.shape)[idx]
        v = np.broadcast_to(v, pos.shape)
        flat = base.reshape(-1).copy()
        for k, e in zip(pos.ravel(), v.ravel()):
            flat[k] = self._name(self.binop("+", flat[k], e), short)
        return flat.reshape(node.shape)

    def _einsum(self, node, short):
        ins, o = parse(node.p["spec"])
        vals = [self.val(a) for a in node.args]
        sizes = {}
        for sub, a in zip(ins, node.args):
            sizes.update(zip(sub, a.shape))
        summed = sorted({c for s in ins for c in s} - set(o))
        out = np.empty(node.shape, dtype=object)
        for oi in np.ndindex(node.shape):
            env = dict(zip(o, oi))
            acc = ZERO
            for si in itertools.product(*[range(sizes[c]) for c in summed]):
                env.update(zip(summed, si))
                term = ONE
                for sub, v in zip(ins, vals):
                    term = self.binop("*", term, v[tuple(env[c] for c in sub)])
                acc = self.binop("+", acc, term)
            out[oi] = self._name(acc, short)
        return out

    def output_expr(self, node: Node) -> str:
        v = self.val(node)
        if node.ndim == 0:
            return v[()]
        return f"np.array({_nested(v.tolist())})"


def _obj(x) -> np.ndarray:
    """Return x as an object array (indexing may hand back a bare element)."""
    if isinstance(x, np.ndarray) and x.dtype == object:
        return x
    if isinstance(x, str):
        a = np.empty((), dtype=object)
        a[()] = x
        return a
    return np.asarray(x, dtype=object)


def _nested(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_nested(e) for e in v) + "]"
    return v


def _short(op):
    from .emit import SHORT
    return SHORT.get(op, op)
