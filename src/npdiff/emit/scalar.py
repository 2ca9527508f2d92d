"""Scalar emission for tiny arrays: every element becomes a Python float.

Below a few dozen elements each NumPy call (about a microsecond) costs more
than the arithmetic, so the graph is unrolled element by element into
straight-line Python-float code (``math.sin``, ``*``...), with zeros folded
away. Math functions raise where NumPy would return inf/nan; the generated
wrapper then falls back to the array version, so results never differ.

What each primitive unrolls to is its record's ``scalar`` fact: a format string
(elementwise: applied to each element after broadcasting, see
``ScalarEmitter.map``), a callable ``(em, node)`` built from this module's
generic machinery (``map``, ``reduce``, ``scan_sum``, ``gather``,
``set_index``, ``add_at``, ``einsum``), or ``NOT_SCALAR``.
"""
from __future__ import annotations

import itertools
import math
import re

import numpy as np

from ..ir.graph import Node, toposort
from ..primitives import PRIMS
from ..primitives.contract import parse
from ..primitives.indexing import build_index
from ..primitives.registry import NOT_SCALAR, short_name
from .array import Emitter
from .writer import ModuleWriter

SCALAR_MAX = 256  # largest array (in elements) that may be unrolled
TOTAL_MAX = 6000  # largest total number of elements (and contraction terms) considered for unrolling
SCALAR_OP_NS, ARRAY_OP_NS = 45, 900  # rough cost of one Python-float statement / one small NumPy call
ZERO, ONE = "0.0", "1.0"


class NotScalar(Exception):
    """The graph has an operation or size the scalar emitter does not unroll."""


def eligible(nodes: list[Node]) -> bool:
    """Return True if every node is small and float64/bool/int (no float32 or complex)."""
    total = 0
    for n in nodes:
        if n.size > SCALAR_MAX and n.op != "const":
            return False
        if n.size == 0:  # nothing to unroll; the object-array machinery assumes elements
            return False
        if n.dtype.kind not in "fbi" or (n.dtype.kind == "f" and n.dtype != np.float64):
            return False
        total += n.size
        prim = PRIMS.get(n.op)
        if prim is not None and prim.scalar_cost is not None:  # e.g. one term per einsum index combination
            total += prim.scalar_cost(n)
        if total > TOTAL_MAX:  # a large graph: stop at once
            return False
    return True


def prefer_scalar(scalar_lines: list[str], array_lines: list[str]) -> bool:
    """Return True if the unrolled version should be cheaper to run than the array version."""
    def ops(lines):
        return sum(1 for l in lines if (" = " in l or " += " in l or " -= " in l or " *= " in l)
                   and not l.lstrip().startswith(("if ", "def ", '"""')))
    return ops(scalar_lines) * SCALAR_OP_NS < ops(array_lines) * ARRAY_OP_NS


_TOKEN = re.compile(r"math\.(?:inf|nan)|[A-Za-z_][A-Za-z0-9_]*|\d+\.\d*(?:e[+-]?\d+)?|\d+e[+-]?\d+|\.\d+|\d+")
_INT_POWER = re.compile(r"\*\* \d+\b")  # x ** 2: a float to an int power is a float
# bools, ints, and selections (max(x, 0) or `a if c else 2` may give back an int operand)
_NOT_FLOAT = re.compile(r"[<>]|==|!=|\b(?:not|and|or|is|in|if|else|int|round|len|max|min|floor|ceil|trunc|"
                        r"comb|factorial|gcd|isqrt)\b")


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


# Integer and bool results are unrolled only for operations whose Python meaning is NumPy's: moving
# elements, selecting, comparing, logic and max/min. Arithmetic on Python ints neither wraps (int8
# 100 + 100 is -56) nor keeps bools bool (True + True is True), so it takes the array version.
INT_SAFE = frozenset({"broadcast_to", "concatenate", "gather", "reshape", "stack", "transpose", "where",
                      "set_index", "guard", "stop_gradient", "no_derivative", "maximum", "minimum",
                      "reduce_max", "reduce_min", "convert"})
BOOL_SAFE = frozenset({"equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and",
                       "logical_or", "logical_not", "logical_xor", "isfinite", "isinf", "isnan", "signbit"})


class ScalarEmitter:
    """Emits element-by-element Python-float code; node values are object arrays of expressions."""

    def __init__(self, base):
        self.base = base  # the array Emitter: shares the name space and constants
        self.vals: dict[int, np.ndarray] = {}
        self.exprs: dict[str, str] = {}  # expression -> name (scalar-level CSE)
        self.lines: list[str] = []
        self.ints = False  # an integer/bool input or constant: folded expressions may be Python ints
        self.values: set[str] = set()  # names of scalar values (input elements and statements)
        self.floats: set[str] = set()  # those certainly holding a Python float (see certainly_float)

    # -- values ------------------------------------------------------------------
    def bind_input(self, node: Node, name: str) -> tuple[str, list[str]]:
        if node.size == 0:  # no elements to unpack (an empty unpacking is a syntax error)
            raise NotScalar("zero-size input")
        p = self.base.bind_input(node, name)
        self.ints = self.ints or node.dtype.kind in "iub"
        lines = self.base.writer.arg_checks(p, node.shape)
        if node.ndim == 0:  # a Python float, or the exact Python int / bool of an integer / bool input
            elems = [self.base.fresh(f"{p}_")]
            lines.append(f"{elems[0]} = float({p})" if node.dtype.kind == "f" else f"{elems[0]} = {p}.item()")
        else:
            elems = [self.base.fresh(f"{p}_{k}") for k in range(node.size)]
            src = f"{p}.tolist()" if node.ndim == 1 else f"{p}.ravel().tolist()"
            lines.append(f"{', '.join(elems)}{',' if len(elems) == 1 else ''} = {src}")
        self.values.update(elems)
        if node.dtype.kind == "f":  # tolist() and float() give Python floats
            self.floats.update(elems)
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
        self.ints = self.ints or arr.dtype.kind in "iub"
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
            self.values.add(name)
            if self.certainly_float(expr):
                self.floats.add(name)
        return name

    def certainly_float(self, expr: str) -> bool:
        """Return True if expr evaluates to a Python float: every value it reads is one (no comparisons).

        Arithmetic with at least one float operand and ``math`` functions give floats (int literals
        may take part); a value not known to be a float (an int input's element, a folded int
        constant, a condition) or a selection (``max``, ``if``) makes it unknown.
        """
        if _NOT_FLOAT.search(expr):
            return False
        seen = False
        for tok in _TOKEN.findall(_INT_POWER.sub("", expr)):
            if tok in self.floats or tok.startswith("math.") or (not tok.isdigit() and tok[0] in "0123456789."):
                seen = True
            elif tok in self.values:
                return False
        return seen

    # -- scalar algebra with zero/one folding ----------------------------------------
    def binop(self, op: str, a: str, b: str) -> str:
        """Return the expression ``a op b`` for op in + - * / **, folding zeros and ones."""
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
        elif op == "/":
            if a == ZERO and _lit_value(b):
                return ZERO  # 0 / b folds only for a nonzero literal b (0/0 and 0/nan are nan)
        elif op == "**":
            if _is_int_literal(b):
                return f"{_paren(a)} ** {int(float(b.strip('()')))}"
            return f"math.pow({a}, {b})"
        return f"{_paren(a)} {op} {_paren(b)}"

    # -- emission ------------------------------------------------------------------
    def emit(self, outputs: list[Node]) -> list[str]:
        self.lines = []
        for node in toposort(outputs):
            if node.size == 0:  # an empty object array cannot print its shape: the array version does
                raise NotScalar("zero-size value")
            if id(node) in self.vals or node.op == "const":
                continue
            if node.op == "input":
                raise NotScalar("unbound input")
            if node.dtype.kind in "iub" and node.op not in INT_SAFE and node.op not in BOOL_SAFE:
                raise NotScalar(f"{node.dtype.name} arithmetic")  # Python ints do not wrap; bools become ints
            self.vals[id(node)] = _obj(self.rule(node))
        return self.lines

    def rule(self, node: Node) -> np.ndarray:
        """Return the object array of element expressions of node (from its record's ``scalar``)."""
        scalar = PRIMS[node.op].scalar
        if scalar is None or scalar is NOT_SCALAR:
            raise NotScalar(node.op)
        if isinstance(scalar, str):
            return self.map(node, lambda *a: scalar.format(*a, **node.p))
        return scalar(self, node)

    # -- generic machinery the records' ``scalar`` callables are built from ------------------
    def refuse(self, reason: str):
        """Raise NotScalar: this node cannot be unrolled (the array version is used)."""
        raise NotScalar(reason)

    @staticmethod
    def paren(s: str) -> str:
        """Return s parenthesised unless it is already an atom."""
        return _paren(s)

    def map(self, node: Node, fn) -> np.ndarray:
        """Return fn(*element expressions) for each element, the arguments broadcast (elementwise)."""
        vals = [np.broadcast_to(self.val(x), node.shape) for x in node.args]
        short = short_name(node.op)
        out = np.empty(node.shape, dtype=object)
        for i in np.ndindex(node.shape):
            out[i] = self._name(fn(*[v[i] for v in vals]), short)
        return out

    def negate(self, a: str) -> str:
        """Return the expression -a (zero stays zero)."""
        return ZERO if a == ZERO else f"-{_paren(a)}"

    def reduce(self, node: Node, how: str) -> np.ndarray:
        """Return node = reduction ``how`` ("sum", "prod", "max", "min") of args[0] over ``axes``."""
        x = self.val(node.args[0])
        axes = node.p["axes"]
        short = short_name(node.op)
        keep = [a for a in range(x.ndim) if a not in axes]
        moved = np.transpose(x, keep + list(axes)).reshape(node.shape + (-1,))
        out = np.empty(node.shape, dtype=object)
        for i in np.ndindex(node.shape):
            terms = list(moved[i])
            if how in ("sum", "prod"):
                e, sym = (ZERO, "+") if how == "sum" else (ONE, "*")
                for t in terms:
                    e = self.binop(sym, e, t)
            else:
                e = f"{how}({', '.join(terms)})" if len(terms) > 1 else terms[0]
                if len(terms) > 1:  # Python's max/min drop nan; NumPy's propagate it
                    e = f"{e} if {' and '.join(f'{t} == {t}' for t in terms)} else math.nan"
            out[i] = self._name(e, short)
        return out

    def scan_sum(self, node: Node) -> np.ndarray:
        """Return the running sum of args[0] along ``axis`` (cumsum)."""
        axis = node.p["axis"]
        short = short_name(node.op)
        x = np.moveaxis(self.val(node.args[0]), axis, -1)
        res = np.empty(x.shape, dtype=object)
        for i in np.ndindex(x.shape[:-1]):
            acc = ZERO
            for k in range(x.shape[-1]):
                acc = self._name(self.binop("+", acc, x[i + (k,)]), short)
                res[i + (k,)] = acc
        return np.moveaxis(res, -1, axis)

    def _index(self, node: Node, first: int):
        """Return the index built from the constant index arrays node.args[first:]."""
        if any(a.op != "const" for a in node.args[first:]):
            raise NotScalar("traced index")
        return build_index(node.p["index"], [a.value for a in node.args[first:]])

    def gather(self, node: Node) -> np.ndarray:
        """Return args[0][index] (the index arrays are args[1:])."""
        idx = self._index(node, 1)
        return self.val(node.args[0])[idx]

    def set_index(self, node: Node) -> np.ndarray:
        """Return a copy of args[0] with args[0][index] = args[1] (the index arrays are args[2:])."""
        idx = self._index(node, 2)
        out = np.array(self.val(node.args[0]), dtype=object, copy=True)
        v = self.val(node.args[1])
        out[idx] = v if v.ndim else v[()]
        return out

    def add_at(self, node: Node, base: Node | None, values: Node, first: int) -> np.ndarray:
        """Return base (zeros if None) with ``values`` added at index (index arrays args[first:])."""
        idx = self._index(node, first)
        short = short_name(node.op)
        acc = np.empty(node.shape, dtype=object)
        acc[...] = ZERO
        if base is not None:
            acc[...] = self.val(base)
        v = self.val(values)
        pos = np.arange(node.size).reshape(node.shape)[idx]
        v = np.broadcast_to(v, pos.shape)
        flat = acc.reshape(-1).copy()
        for k, e in zip(pos.ravel(), v.ravel()):
            flat[k] = self._name(self.binop("+", flat[k], e), short)
        return flat.reshape(node.shape)

    def einsum(self, node: Node) -> np.ndarray:
        """Return the contraction ``spec`` of the arguments, one sum of products per element."""
        ins, o = parse(node.p["spec"])
        short = short_name(node.op)
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

    def output_expr(self, node: Node, copy: bool = False) -> str:
        """Return the source of a returned value: a new array, or a NumPy scalar of node's dtype if 0-d."""
        v = self.val(node)
        if node.ndim == 0:  # the type the array version returns (np.float64 for float64)
            weak = node.op == "const" and node.weak  # a Python number the function returned: as is
            return f"np.{node.dtype.name}({v[()]})" if node.dtype.kind in "biufc" and not weak else v[()]
        # with integer or bool inputs the elements may be Python ints (True + True == 2): name the dtype
        certain = not self.ints or all(self.certainly_float(e) for e in v.ravel().tolist())
        dtype = ("" if certain else ", float") if node.dtype == np.float64 else f", dtype=np.{node.dtype.name}"
        if node.ndim >= 2:  # a flat list and a reshape: NumPy need not discover a nested list's shape (-0.4 us)
            return f"np.array([{', '.join(v.ravel().tolist())}]{dtype}).reshape({node.shape})"
        return f"np.array({_nested(v.tolist())}{dtype})"


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


class ScalarBackend:
    """Element-by-element Python-float emission for tiny arrays."""

    def __init__(self, writer: ModuleWriter):
        self.em = ScalarEmitter(Emitter(writer))

    def param(self, node, name):
        return self.em.bind_input(node, name)

    def emit(self, nodes):
        return self.em.base.writer.statements(self.em.emit(nodes))

    def output_expr(self, node, copy=False):
        return self.em.output_expr(node)

    def fresh(self, name):
        return self.em.base.fresh(name)
