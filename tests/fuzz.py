"""Random NumPy programs checked against plain NumPy and finite differences.

A program is data (`Program`: input shapes, dtype, and a list of `Step`s, each a few lines of
Python that define one new variable), so Hypothesis shrinks a failing case to a small program and
`Program.source()` prints it as a regression test. `check_program` runs one program through npdiff
(value, jvp, vjp, jacfwd, jacrev, Hessians, optional third-order compositions) and compares with
the program run eagerly on ndarrays and with central finite differences (in float64).

Quick profile: tests/test_fuzz.py. Long profile: `PYTHONPATH=src python -m tests.fuzz --cases 2000`.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import sys
import time
import traceback

import numpy as np
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument, UnsatisfiedAssumption

try:
    import npdiff
except ImportError:  # `python -m tests.fuzz` from the repository root without PYTHONPATH=src
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))
    import npdiff
from npdiff.primitives import PRIMS

try:
    from domains import domain, has_domain  # pytest puts tests/ on the path
except ImportError:  # python -m tests.fuzz
    from tests.domains import domain, has_domain

try:
    import scipy.linalg
    import scipy.special
except ImportError:  # pragma: no cover
    scipy = None

MAX_DIM = 3
MAX_SIZE = 24


# -- programs as data -------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Step:
    """One statement group: `lines` define `name` (shape `shape`); `guard` (optional) is an
    expression evaluated after the lines that must stay > 1e-3 (distance to a kink or tie)."""
    name: str
    lines: tuple
    shape: tuple
    guard: str | None = None


@dataclasses.dataclass(frozen=True)
class Program:
    """Return a random program: input shapes, dtype name, steps; the last step is the output."""
    in_shapes: tuple
    dtype: str
    steps: tuple
    seed: int
    order3: tuple = ()   # e.g. ("jacrev", "jacfwd", "jacrev"): outermost first

    @property
    def arg_names(self):
        return [f"x{i}" for i in range(len(self.in_shapes))]

    def source(self, name="f", guards=False) -> str:
        """Return the program as Python source defining `name`."""
        body = []
        for s in self.steps:
            body.extend(s.lines)
            if guards and s.guard:
                body.append(f"_guard({s.guard})")
        out = self.steps[-1].name if self.steps else self.arg_names[0]
        lines = [f"def {name}({', '.join(self.arg_names)}):"] + ["    " + ln for ln in body]
        lines.append(f"    return {out}")
        return "\n".join(lines)

    def inputs(self, dtype=None):
        """Return the input arrays (deterministic in seed)."""
        rng = np.random.default_rng(self.seed)
        dt = np.dtype(dtype or self.dtype)
        return [np.asarray(rng.uniform(-1, 1, s)).astype(dt) for s in self.in_shapes]

    def reproducer(self) -> str:
        """Return a standalone script that reproduces this case."""
        args = ", ".join(f"np.array({a.tolist()!r}, dtype=np.{self.dtype})" for a in self.inputs())
        extra = f"\n# third-order check: {' o '.join(self.order3)}" if self.order3 else ""
        return (f"import numpy as np\nimport scipy.special, scipy.linalg\nimport npdiff\n\n"
                f"KC = {{(m, n): np.round(np.cos(np.arange(1.0, m * n + 1)).reshape(m, n), 2) "
                f"for m in range(1, 4) for n in range(1, {MAX_SIZE + 1})}}\n\n"
                f"{self.source()}\n\nargs = [{args}]{extra}\n")


# Constant plain ndarrays (made outside any trace) whose ndarray methods programs call on traced values
KC = {(m, n): np.round(np.cos(np.arange(1.0, m * n + 1)).reshape(m, n), 2)
      for m in range(1, 4) for n in range(1, MAX_SIZE + 1)}


class Guard(Exception):
    """A reference run came too close to a kink/tie or overflowed."""


def _guard(gap):
    if not np.all(np.asarray(gap) > 1e-3):
        raise Guard()


def compile_program(prog: Program, guards=False, name="f"):
    """Return the program as a Python function (NumPy/SciPy namespace)."""
    ns = {"np": np, "scipy": scipy, "_guard": _guard, "_gap": _gap, "KC": KC}
    code = compile(prog.source(name, guards), f"<fuzz program {name}>", "exec")
    exec(code, ns)  # noqa: S102  (our own generated source)
    return ns[name]


def _gap(x, axis=None):
    """Return the smallest distance between the two largest and two smallest entries along axis."""
    x = np.asarray(x, dtype=np.float64)
    if axis is None:
        x = x.reshape(-1)
        axis = (0,)
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    axis = tuple(a % x.ndim for a in axis)
    rest = [a for a in range(x.ndim) if a not in axis]
    y = np.transpose(x, rest + list(axis)).reshape([x.shape[a] for a in rest] + [-1])
    if y.shape[-1] < 2:
        return np.inf
    y = np.sort(y, axis=-1)
    return min(np.min(y[..., -1] - y[..., -2]), np.min(y[..., 1] - y[..., 0]))


# -- operation tables ---------------------------------------------------------------------------

def _fn_name(name):
    if hasattr(np, name) and isinstance(getattr(np, name), np.ufunc):
        return f"np.{name}"
    if scipy is not None and hasattr(scipy.special, name):
        return f"scipy.special.{name}"
    return None


_SKIP = {"conj", "real", "imag", "absolute", "fmod", "remainder", "round", "stop_gradient"}
_SKIP_BIN = {"polygamma", "jv", "yv", "iv", "ive", "kv", "kve", "yn", "jve", "yve", "expn", "poch", "gammainc", "gammaincc",
             "gammaincinv", "gammainccinv", "betainc", "betaincc", "huber", "pseudo_huber", "owens_t",
             "stdtr", "fmod", "remainder", "floor_divide", "heaviside", "kl_div", "rel_entr", "powm1",
             "add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "fmax", "fmin"}


def _tables():
    un, bi = [], []
    for name, p in sorted(PRIMS.items()):
        if not has_domain(p) or p.nondiff or name in _SKIP:
            continue
        fn = _fn_name(name)
        if fn is None:
            continue
        nin = getattr(eval(fn, {"np": np, "scipy": scipy}), "nin", None)
        if nin == 1:
            un.append((name, fn, domain(name)))
        elif nin == 2 and name not in _SKIP_BIN:
            bi.append((name, fn, domain(name)))
    return un, bi


UNARY, BINARY = _tables()


def _fmt(v):
    return repr(round(float(v), 3))


def into(expr, dom, wide_ok=True):
    """Return expr mapped smoothly into the open interval dom (unchanged if dom is wide)."""
    lo, hi = dom
    if wide_ok and lo <= -2 and hi >= 2:
        return expr
    mid, half = (lo + hi) / 2, (hi - lo) / 2 * 0.9
    return f"({_fmt(mid)} + {_fmt(half)} * np.tanh({expr}))"


def _const(arr):
    return f"np.array({np.round(arr, 2).tolist()!r}, dtype=x0.dtype)"


# -- the generator ---------------------------------------------------------------------------

@st.composite
def shapes(draw, max_dims=MAX_DIM, min_len=1):
    nd = draw(st.integers(0, max_dims))
    return tuple(draw(st.lists(st.integers(min_len, 3), min_size=nd, max_size=nd)))


def _broadcastable(a, b):
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


class _Gen:
    def __init__(self, draw, in_shapes):
        self.draw = draw
        self.vars = [(f"x{i}", s) for i, s in enumerate(in_shapes)]
        self.steps = []

    def pick(self, pred=lambda s: True):
        ok = [v for v in self.vars if pred(v[1])]
        if not ok:
            return None, None
        # prefer recent variables (longer chains), but any can be reused
        if self.draw(st.integers(0, 9)) < 5:
            return ok[-1]
        i = self.draw(st.integers(0, len(ok) - 1).map(lambda k: len(ok) - 1 - k))
        return ok[i]

    def new(self):
        return f"v{len(self.steps)}"

    def add(self, lines, shape, guard=None):
        shape = tuple(int(d) for d in shape)
        if len(shape) > MAX_DIM or math.prod(shape) > MAX_SIZE or math.prod(shape) == 0:
            return False
        name = self.new()
        lines = tuple(ln.replace("{out}", name) for ln in (lines if isinstance(lines, (list, tuple)) else [lines]))
        self.steps.append(Step(name, lines, shape, guard))
        self.vars.append((name, shape))
        return True

    def collect(self):
        """Add a last step that makes every otherwise unused variable reach the output."""
        last = self.steps[-1]
        used = {last.name} | {w for s in self.steps for w in re.findall(r"\b[vx]\d+\b", " ".join(s.lines))
                              if w != s.name}
        dead = [s.name for s in self.steps if s.name not in used]
        if dead:
            terms = " + ".join(f"np.sum(np.sin({d}))" for d in dead)
            self.add(f"{{out}} = {last.name} + 0.5 * ({terms})", last.shape)

    # each step kind returns False when it does not apply
    def unary(self):
        a, s = self.pick()
        _, fn, dom = self.draw(st.sampled_from(UNARY))
        return self.add(f"{{out}} = {fn}({into(a, dom)})", s)

    def arith(self):
        a, s = self.pick()
        b, t = self.pick(lambda t: _broadcastable(s, t))
        op = self.draw(st.sampled_from(["+", "-", "*", "/", "**", "scalar", "pow", "maximum", "minimum",
                                        "where", "clip"] + ["binary"] * 2))
        out = np.broadcast_shapes(s, t)
        if op in "+-*":
            return self.add(f"{{out}} = {a} {op} {b}", out)
        if op == "/":
            return self.add(f"{{out}} = {a} / (1.5 + {b} ** 2)", out)
        if op == "**":
            return self.add(f"{{out}} = {into(a, (0.5, 2.0))} ** {into(b, (-1.5, 1.5), False)}", out)
        if op == "scalar":
            c = self.draw(st.sampled_from(["2.5 * {a}", "{a} - 0.5", "1.0 / (2.0 + {a} ** 2)", "-{a}",
                                           "{a} ** 2", "{a} ** 3", "np.square({a})", "0.5 ** {a}"]))
            return self.add("{out} = " + c.format(a=a), s)
        if op == "pow":
            return self.add(f"{{out}} = np.sqrt(1.0 + {a} ** 2) * {b}", out)
        if op in ("maximum", "minimum"):
            return self.add(f"{{out}} = np.{op}({a}, {b})", out, guard=f"np.abs({a} - {b})")
        if op == "where":
            return self.add(f"{{out}} = np.where({a} > 0.1, {b}, np.sin({a}))", out, guard=f"np.abs({a} - 0.1)")
        if op == "clip":
            return self.add(f"{{out}} = np.clip({a}, -0.5, 0.5)", s,
                            guard=f"np.minimum(np.abs({a} - 0.5), np.abs({a} + 0.5))")
        _, fn, dom = self.draw(st.sampled_from(BINARY))
        return self.add(f"{{out}} = {fn}({into(a, dom)}, {into(b, dom)})", out)

    def reduce(self):
        a, s = self.pick()
        red = self.draw(st.sampled_from(["sum", "mean", "prod", "max", "min", "var", "std", "logsumexp"]))
        keep = self.draw(st.booleans())
        nd = len(s)
        axis = None
        if nd and self.draw(st.booleans()):
            axes = self.draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd,
                                      unique_by=lambda k: k % nd))
            axis = axes[0] if len(axes) == 1 and self.draw(st.booleans()) else tuple(axes)
        ax = range(nd) if axis is None else ((axis,) if isinstance(axis, int) else axis)
        ax = {k % nd for k in ax} if nd else set()
        out = tuple(1 if k in ax else d for k, d in enumerate(s) if keep or k not in ax)
        kw = f"axis={axis!r}" + (", keepdims=True" if keep else "")
        guard = None
        arg = a
        if red in ("max", "min"):
            guard = f"_gap({a}, {axis!r})"
        if red == "std":
            if math.prod(s[k] for k in ax) < 2:
                return False
            guard = f"np.{red}({a}, {kw}) ** 2"
        if red == "prod":
            arg = f"(1.0 + 0.5 * np.tanh({a}))"
        if red == "logsumexp" and not nd:  # SciPy returns shape (1,) for a 0-d input with keepdims
            red = "sum"
        if red == "logsumexp":
            return self.add(f"{{out}} = scipy.special.logsumexp({a}, {kw})", out)
        if self.draw(st.booleans()) and nd:
            return self.add(f"{{out}} = {arg}.{red}({kw})", out, guard)
        return self.add(f"{{out}} = np.{red}({arg}, {kw})", out, guard)

    def _index(self, s, fancy_ok=True):
        """Return (index source, result shape) for a basic/fancy index on shape s."""
        parts, out = [], []
        fancy_used = False
        for d in s:
            k = self.draw(st.sampled_from([":", "::-1", "1:", ":-1", "::2", "-1", "0", "fancy", "None"]))
            if k in ("1:", ":-1") and d < 2:
                k = ":"
            if k == "None":
                parts.append("None")
                out.append(1)
                k = ":"
            if k == "fancy" and fancy_ok and not fancy_used:
                n = self.draw(st.integers(1, 4))
                idx = self.draw(st.lists(st.integers(-d, d - 1), min_size=n, max_size=n))
                parts.append(f"np.array({idx!r})")
                out.append(n)
                fancy_used = True
                continue
            if k == "fancy":
                k = ":"
            parts.append(k)
            if k in ("-1", "0"):
                continue
            out.append(len(range(d)[slice(*[int(p) if p else None for p in k.split(":")])]))
        if not parts:
            parts = ["..."]
        return ", ".join(parts), tuple(out)

    def index(self):
        a, s = self.pick(lambda s: len(s) >= 1)
        if a is None:
            return False
        ix, out = self._index(s)
        return self.add(f"{{out}} = {a}[{ix}]", out)

    def setitem(self):
        a, s = self.pick(lambda s: len(s) >= 1)
        if a is None:
            return False
        ix, out = self._index(s, fancy_ok=self.draw(st.booleans()))
        if "None" in ix or ix == "...":
            ix, out = ("1:", (s[0] - 1,) + s[1:]) if s[0] > 1 else ("0", s[1:])
        b, _ = self.pick(lambda t: _broadcastable(t, out) and np.broadcast_shapes(t, out) == out)
        kind = self.draw(st.sampled_from(["=", "+=", "*="]))
        rhs = f"np.tanh({a}[{ix}]) * 1.5" if b is None or self.draw(st.booleans()) else f"np.cos({b})"
        if "np.array" in ix and kind != "=":
            kind = "="  # y[idx] += v with repeated idx does not accumulate in NumPy; keep '='
        return self.add(["{out} = " + f"{a}.copy()", "{out}" + f"[{ix}] {kind} {rhs}"], s)

    def shape_op(self):
        a, s = self.pick()
        k = self.draw(st.sampled_from(["ravel", "reshape", "transpose", "T", "swapaxes", "expand", "squeeze"]))
        n = math.prod(s)
        if k == "ravel":
            return self.add(f"{{out}} = np.ravel({a})", (n,))
        if k == "reshape":
            divs = [d for d in range(1, n + 1) if n % d == 0]
            d1 = self.draw(st.sampled_from(divs))
            shp = (d1, n // d1) if self.draw(st.booleans()) else (n // d1, 1, d1)
            return self.add(f"{{out}} = {a}.reshape({shp!r})", shp)
        if k == "expand":
            ax = self.draw(st.integers(0, len(s)))
            return self.add(f"{{out}} = np.expand_dims({a}, {ax})", s[:ax] + (1,) + s[ax:])
        if k == "squeeze":
            if 1 not in s:
                return False
            return self.add(f"{{out}} = np.squeeze({a})", tuple(d for d in s if d != 1))
        if len(s) < 2:
            return False
        if k == "T":
            return self.add(f"{{out}} = {a}.T", s[::-1])
        if k == "swapaxes":
            i, j = self.draw(st.integers(0, len(s) - 1)), self.draw(st.integers(0, len(s) - 1))
            t = list(s)
            t[i], t[j] = t[j], t[i]
            return self.add(f"{{out}} = np.swapaxes({a}, {i}, {j})", t)
        perm = tuple(self.draw(st.permutations(range(len(s)))))
        return self.add(f"{{out}} = np.transpose({a}, {perm!r})", tuple(s[p] for p in perm))

    def join(self):
        a, s = self.pick()
        if self.draw(st.booleans()):   # stack
            b, _ = self.pick(lambda t: t == s)
            ax = self.draw(st.integers(-len(s) - 1, len(s)))
            out = list(s)
            out.insert(ax % (len(s) + 1), 2)
            return self.add(f"{{out}} = np.stack([{a}, {b}], axis={ax})", out)
        if not s:
            return False
        ax = self.draw(st.integers(0, len(s) - 1))
        b, t = self.pick(lambda t: len(t) == len(s) and all(t[k] == s[k] for k in range(len(s)) if k != ax))
        out = list(s)
        out[ax] = s[ax] + t[ax]
        return self.add(f"{{out}} = np.concatenate([{a}, np.sin({b})], axis={ax})", out)

    def contract(self):
        a, s = self.pick()
        k = self.draw(st.sampled_from(["matmul", "const", "einsum", "outer"]))
        if k == "matmul" and len(s) >= 1:
            b, t = self.pick(lambda t: len(t) >= 1 and t[-2 if len(t) >= 2 else -1] == s[-1])
            if b is None:
                return False
            if len(s) >= 2 and len(t) >= 2:
                try:
                    out = np.broadcast_shapes(s[:-2], t[:-2]) + (s[-2], t[-1])
                except ValueError:
                    return False
            else:
                out = s[:-1] + (t[:-2] + t[-1:] if len(t) >= 2 else ())
            return self.add(f"{{out}} = {a} @ {b}", out)
        if k == "const" and len(s) >= 1:
            m = self.draw(st.integers(1, 3))
            c = np.random.default_rng(len(self.steps)).uniform(-1, 1, (s[-1], m))
            return self.add(f"{{out}} = {a} @ {_const(c)}", s[:-1] + (m,))
        if k == "outer":
            b, t = self.pick()
            return self.add(f"{{out}} = np.outer({a}, {b})", (math.prod(s), math.prod(t)))
        b, t = self.pick(lambda t: t == s)
        letters = "ijk"[:len(s)]
        keep = [c for c in letters if self.draw(st.booleans())]
        keep = self.draw(st.permutations(keep)) if keep else []
        spec = f"{letters},{letters}->{''.join(keep)}"
        return self.add(f"{{out}} = np.einsum('{spec}', {a}, {b})", tuple(s[letters.index(c)] for c in keep))

    def linalg(self):
        a, s = self.pick()
        n = self.draw(st.integers(2, 3))
        rng = np.random.default_rng(10 + len(self.steps))
        c0 = rng.uniform(-1, 1, (n, n))
        c3 = rng.uniform(-1, 1, (math.prod(s), n, n)) * 0.5
        k = self.draw(st.sampled_from(["solve", "solve2", "inv", "slogdet", "det", "cholesky", "eigvalsh",
                                       "cho_solve", "solve_triangular"]))
        pre = [f"M = {_const(c0)} + np.einsum('k,kij->ij', np.ravel({a}), {_const(c3)})",
               f"A = M @ M.T + {n}.0 * np.eye({n}, dtype=x0.dtype)"]
        b = _const(rng.uniform(-1, 1, (n,)))
        B = _const(rng.uniform(-1, 1, (n, 2)))
        table = {"solve": (f"np.linalg.solve(A, {b})", (n,)), "solve2": (f"np.linalg.solve(A, {B})", (n, 2)),
                 "inv": ("np.linalg.inv(A)", (n, n)), "slogdet": ("np.linalg.slogdet(A)[1]", ()),
                 "det": ("np.linalg.det(A)", ()), "cholesky": ("np.linalg.cholesky(A)", (n, n)),
                 "eigvalsh": ("np.linalg.eigvalsh(A)", (n,)),
                 "cho_solve": (f"scipy.linalg.cho_solve(scipy.linalg.cho_factor(A), {b})", (n,)),
                 "solve_triangular": (f"scipy.linalg.solve_triangular(np.linalg.cholesky(A), {B}, lower=True)",
                                      (n, 2))}
        expr, out = table[k]
        guard = "_gap(np.linalg.eigvalsh(A))" if k == "eigvalsh" else None
        return self.add(pre + ["{out} = " + expr], out, guard)

    def misc(self):
        """NumPy functions built on the primitives: flip, roll, diff, tile, repeat, sort, norm, pad..."""
        a, s = self.pick()
        nd = len(s)
        k = self.draw(st.sampled_from(["flip", "roll", "diff", "tile", "repeat", "sort", "norm", "pad",
                                       "trace", "diagonal", "triu", "dot", "tensordot", "kron", "atleast_2d",
                                       "broadcast_to", "linspace", "abs", "mean_dtype"]))
        if k == "flip":
            return self.add(f"{{out}} = np.flip({a})", s)
        if k == "abs":
            return self.add(f"{{out}} = np.abs({a})", s, guard=f"np.abs({a})")
        if k == "atleast_2d":
            out = s if nd >= 2 else ((1, 1) if nd == 0 else (1,) + s)
            return self.add(f"{{out}} = np.atleast_2d({a})", out)
        if k == "broadcast_to":
            return self.add(f"{{out}} = np.broadcast_to({a}, {(2,) + s!r})", (2,) + s)
        if k == "linspace":
            return self.add(f"{{out}} = np.linspace(0.0, 1.0, 3, dtype=x0.dtype) * np.sum({a})", (3,))
        if k == "mean_dtype":
            return self.add(f"{{out}} = np.mean({a}) + np.sum({a} * {a})", ())
        if k == "kron":
            b, t = self.pick(lambda t: len(t) <= 1 and math.prod(t) * math.prod(s) <= MAX_SIZE)
            if b is None or nd > 1:
                return False
            return self.add(f"{{out}} = np.kron({a}, {b})", (math.prod(s) * math.prod(t),) if (s or t) else ())
        if not nd:
            return False
        ax = self.draw(st.integers(-nd, nd - 1))
        if k == "roll":
            return self.add(f"{{out}} = np.roll({a}, {self.draw(st.integers(-2, 2))}, axis={ax})", s)
        if k == "diff":
            if s[ax] < 2:
                return False
            out = list(s)
            out[ax] -= 1
            return self.add(f"{{out}} = np.diff({a}, axis={ax})", out)
        if k == "tile":
            return self.add(f"{{out}} = np.tile({a}, 2)", s[:-1] + (2 * s[-1],))
        if k == "repeat":
            out = list(s)
            out[ax] *= 2
            return self.add(f"{{out}} = np.repeat({a}, 2, axis={ax})", out)
        if k == "sort":
            return self.add(f"{{out}} = np.sort({a}, axis={ax})", s, guard=f"_gap({a}, {ax})")
        if k == "norm":
            return self.add(f"{{out}} = np.linalg.norm({a}, axis={ax})", s[:ax % nd] + s[ax % nd + 1:],
                            guard=f"np.linalg.norm({a}, axis={ax})")
        if k == "pad":
            return self.add(f"{{out}} = np.pad({a}, 1)", tuple(d + 2 for d in s))
        if k == "dot":
            b, t = self.pick(lambda t: len(t) == 1 and t[0] == s[-1])
            if b is None or nd > 2:
                return False
            return self.add(f"{{out}} = np.dot({a}, {b})", s[:-1])
        if k == "tensordot":
            b, t = self.pick(lambda t: len(t) >= 1 and t[0] == s[-1])
            if b is None:
                return False
            return self.add(f"{{out}} = np.tensordot({a}, {b}, axes=1)", s[:-1] + t[1:])
        if nd < 2:
            return False
        if k == "trace":
            return self.add(f"{{out}} = np.trace({a})", s[2:])
        if k == "diagonal":
            return self.add(f"{{out}} = np.diagonal({a}, axis1=0, axis2=1)", s[2:] + (min(s[0], s[1]),))
        return self.add(f"{{out}} = np.triu({a})", s)

    def cumulative(self):
        a, s = self.pick(lambda s: len(s) >= 1)
        if a is None:
            return False
        ax = self.draw(st.integers(-len(s), len(s) - 1))
        fn = self.draw(st.sampled_from(["cumsum", "cumprod"]))
        arg = a if fn == "cumsum" else f"(1.0 + 0.5 * np.sin({a}))"
        return self.add(f"{{out}} = np.{fn}({arg}, axis={ax})", s)


    def buffer(self):
        """A buffer filled by indexed assignment, or a traced array, read by an ndarray method of a constant
        (``KC[...].dot(b)``) directly, in a branch or in a reduction, or by the buffer's own methods."""
        a, s = self.pick(lambda s: len(s) >= 1)
        if a is None:
            return False
        n, m = (s[-2] if len(s) >= 2 else s[0]), self.draw(st.integers(1, 3))
        k = f"KC[({m}, {n})]"  # k.dot(a) contracts a's second-to-last axis (its only axis when 1-d)
        dot_shape = (m,) + s[:-2] + s[-1:] if len(s) >= 2 else (m,)
        lines, src = [], a
        if self.draw(st.booleans()):
            lines = ["{out}_b = np.zeros(" + repr(s) + ", dtype=x0.dtype)", "{out}_b[...] = " + a]
            src = "{out}_b"
        use = self.draw(st.sampled_from(["dot", "branch", "reduce", "method"]))
        if use == "dot":
            return self.add(lines + ["{out} = " + f"{k}.dot({src})"], dot_shape)
        if use == "reduce":
            return self.add(lines + ["{out} = " + f"np.max({k}.dot({src})) + np.sum({a})"], (),
                            guard=f"_gap({k}.dot({a}))")
        if use == "branch":
            return self.add(lines + [f"if np.sum({k}.dot({src})) > 0.1:", "    {out} = " + f"np.sin({a})",
                                     "else:", "    {out} = " + f"np.cos({a}) * 2.0"], s,
                            guard=f"np.abs(np.sum({k}.dot({a})) - 0.1)")
        n = s[0]
        method = self.draw(st.sampled_from(["sum(axis=0)", "cumsum(axis=0)", "T.copy()", "mean()",
                                            f"compress({[i % 2 == 0 for i in range(n)]!r}, axis=0)",
                                            f"take({[n - 1, 0]!r}, axis=0)", "max(axis=0)"]))
        out = {"sum(axis=0)": s[1:], "cumsum(axis=0)": s, "T.copy()": s[::-1], "mean()": (),
               "max(axis=0)": s[1:]}.get(method, ((n + 1) // 2,) + s[1:] if method.startswith("compress")
                                          else (2,) + s[1:])
        guard = f"_gap({a}, 0)" if method.startswith("max") else None
        return self.add(lines + ["{out} = " + f"{src}.{method}"], out, guard=guard)


KINDS = ["unary", "arith", "reduce", "index", "setitem", "shape_op", "join", "contract", "linalg", "cumulative",
         "misc"]
ORDER3 = ["jacfwd", "jacrev", "hessian"]


@st.composite
def programs(draw, max_steps=5, kinds=tuple(KINDS), dtypes=("float64", "float32"), order3=0.3, max_dims=MAX_DIM,
             max_inputs=2, min_len=1):
    """Return a random Program (Hypothesis strategy); order3 is the probability of a nested check.

    ``min_len=0`` allows zero-length axes (a program NumPy itself rejects on them is not used).
    """
    n_in = draw(st.integers(1, max_inputs))
    in_shapes = tuple(draw(shapes(max_dims, min_len)) for _ in range(n_in))
    g = _Gen(draw, in_shapes)
    n = draw(st.integers(1, max_steps))
    tries = 0
    while len(g.steps) < n and tries < 4 * n:
        tries += 1
        kind = draw(st.sampled_from(kinds))
        try:
            getattr(g, kind)()
        except InvalidArgument:  # an empty range of choices on a zero-length axis: no such step
            if min_len:
                raise
    assume(g.steps)
    g.collect()
    dtype = draw(st.sampled_from(dtypes))
    seed = draw(st.integers(0, 2 ** 16))
    o3 = ()
    if sum(math.prod(s) for s in in_shapes) <= 2 and len(g.steps) <= 4 and draw(st.floats(0, 1)) < order3:
        o3 = tuple(draw(st.lists(st.sampled_from(ORDER3), min_size=2, max_size=4 if sum(map(math.prod, in_shapes)) == 1 else 3)))
    return Program(in_shapes, dtype, tuple(g.steps), seed, o3)


# -- checking ----------------------------------------------------------------------------------

class Mismatch(AssertionError):
    """npdiff disagrees with NumPy or finite differences (`check` names which test)."""

    def __init__(self, check, msg):
        super().__init__(f"[{check}] {msg}")
        self.check = check


def _close(a, b, rtol, atol, check):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise Mismatch(check, f"shape {a.shape} != {b.shape}")
    if not np.all(np.isfinite(a)):
        raise Mismatch(check, "non-finite result")
    err = np.abs(a - b) - (atol + rtol * np.abs(b))
    if err.size and err.max() > 0:
        k = np.unravel_index(np.argmax(err), err.shape)
        raise Mismatch(check, f"worst mismatch at {tuple(int(i) for i in k)}: {a[k]!r} vs {b[k]!r}")


def fd_jacobian(f, args, eps=1e-6):
    """Return the central-difference Jacobians (one per arg, out.shape + arg.shape) in float64."""
    args = [np.asarray(a, dtype=np.float64) for a in args]
    out = np.asarray(f(*args), dtype=np.float64)
    jacs = []
    for i, x in enumerate(args):
        cols = []
        for k in range(x.size):
            d = np.zeros(x.size)
            d[k] = eps
            ap, am = list(args), list(args)
            ap[i] = x + d.reshape(x.shape)
            am[i] = x - d.reshape(x.shape)
            cols.append((np.asarray(f(*ap), np.float64) - np.asarray(f(*am), np.float64)) / (2 * eps))
        jacs.append(np.stack(cols, axis=-1).reshape(out.shape + x.shape) if cols else
                    np.zeros(out.shape + x.shape))
    return jacs


def _reference(prog):
    """Return (f64 program, guarded f64 values) or raise Guard when the case is unusable."""
    fg = compile_program(prog, guards=True)
    args64 = prog.inputs("float64")
    empty = any(0 in s for s in prog.in_shapes)
    with np.errstate(all="raise"):
        try:
            out = np.asarray(fg(*args64), dtype=np.float64)
        except (FloatingPointError, np.linalg.LinAlgError, ZeroDivisionError):
            raise Guard() from None
        except (IndexError, ValueError):
            if empty:  # x[1] or a reduction without identity on a zero-length axis: NumPy refuses too
                raise Guard() from None
            raise
    if not np.all(np.isfinite(out)) or np.max(np.abs(out), initial=0) > 1e4:
        raise Guard()
    return compile_program(prog), args64


def check_program(prog: Program):
    """Raise Mismatch (or npdiff's exception) if npdiff disagrees on prog; Guard if unusable."""
    f, args64 = _reference(prog)
    args = prog.inputs()
    f32 = prog.dtype == "float32"
    rtol, atol = (2e-3, 2e-3) if f32 else (1e-5, 1e-6)
    jfd = fd_jacobian(f, args64)
    scale = max([1.0] + [float(np.max(np.abs(j), initial=0)) for j in jfd])
    if scale > 1e3:
        raise Guard()
    atol *= scale
    nums = tuple(range(len(args)))
    argnums = nums if len(args) > 1 else 0
    ref = f(*args)
    # value vs plain NumPy
    val = npdiff.numpify(f, *args)(*args)
    _close(val, ref, 1e-4 if f32 else 1e-10, (1e-4 if f32 else 1e-10) * max(1.0, np.max(np.abs(ref), initial=0)),
           "value")
    if np.asarray(val).dtype != np.asarray(ref).dtype:
        raise Mismatch("dtype", f"value dtype {np.asarray(val).dtype} != NumPy's {np.asarray(ref).dtype}")
    # jacfwd / jacrev vs central differences
    for op in (npdiff.jacfwd, npdiff.jacrev):
        J = op(f, argnums=argnums)(*args)
        J = J if isinstance(J, tuple) else (J,)
        for i in nums:
            _close(J[i], jfd[i], rtol, atol, f"{op.__name__} arg {i}")
    # jvp / vjp vs FD and the inner-product identity
    rng = np.random.default_rng(prog.seed + 1)
    ts = [rng.uniform(-1, 1, np.shape(a)).astype(a.dtype) for a in args]
    out, tout = npdiff.jvp(f, args, ts)
    _close(out, ref, 1e-4 if f32 else 1e-10, atol, "jvp value")
    jt = sum(np.tensordot(jfd[i], np.asarray(ts[i], np.float64), axes=np.ndim(ts[i])) for i in nums)
    _close(tout, jt, rtol, atol * 4, "jvp tangent")
    out2, pb = npdiff.vjp(f, *args)
    ct = rng.uniform(-1, 1, np.shape(ref)).astype(np.asarray(ref).dtype)
    _close(out2, ref, 1e-4 if f32 else 1e-10, atol, "vjp value")
    cts = pb(ct)
    for i in nums:
        ref_ct = np.tensordot(np.asarray(ct, np.float64), jfd[i], axes=np.ndim(ct))
        _close(cts[i], ref_ct, rtol, atol * max(1, np.size(ct)), f"vjp cotangent arg {i}")
    lhs = float(np.sum(np.asarray(ct, np.float64) * np.asarray(tout, np.float64)))
    rhs = sum(float(np.sum(np.asarray(cts[i], np.float64) * np.asarray(ts[i], np.float64))) for i in nums)
    _close(lhs, rhs, rtol * 10, atol * 4 * (1 + np.size(ct)), "vjp/jvp inner product")
    # Hessians of a scalar reduction, vs FD of the gradient (the gradient itself checked vs FD first)
    w = rng.uniform(0.5, 1.5, np.shape(ref))

    def g(*a):
        return np.sum(f(*a) * w.astype(np.asarray(ref).dtype))
    gr = npdiff.grad(g)
    _close(gr(*args), np.tensordot(w, jfd[0], axes=np.ndim(w)), rtol, atol * max(1, np.size(w)) * 2, "grad")
    hfd = fd_jacobian(npdiff.grad(g), [args64[0]] + args64[1:])[0]
    hscale = max(1.0, float(np.max(np.abs(hfd), initial=0)))
    if hscale > 1e3 * max(1, np.size(w)):
        return
    hatol = (5e-3 if f32 else 1e-5) * hscale
    for name, h in (("hessian", npdiff.hessian(g)), ("jacfwd(jacrev)", npdiff.jacfwd(npdiff.jacrev(g, 0), 0)),
                    ("jacrev(jacfwd)", npdiff.jacrev(npdiff.jacfwd(g, 0), 0))):
        _close(h(*args), hfd, 5e-3 if f32 else 1e-5, hatol, name)
    if prog.order3:
        _check_nested(prog, f, args, args64)


def _check_nested(prog, f, args, args64):
    """Compare ops[0](ops[1](...(f))) with FD of ops[1](...(f)) (outermost first)."""
    def first_arg(op):
        return lambda fn: op(fn, 0)
    ops = [first_arg(getattr(npdiff, o)) for o in prog.order3]
    inner = f
    if "hessian" in prog.order3:
        def inner(*a):  # hessian needs a scalar function at the innermost level
            return np.sum(f(*a))
    for op in reversed(ops[1:]):
        inner = op(inner)
    outer = ops[0](inner)
    got = np.asarray(outer(*args), dtype=np.float64)
    ref = fd_jacobian(inner, [args64[0]] + args64[1:])[0]
    if prog.order3[0] == "hessian":
        ref = fd_jacobian(npdiff.jacrev(inner, 0), [args64[0]] + args64[1:])[0]
    scale = max(1.0, float(np.max(np.abs(ref), initial=0)))
    if scale > 1e4:
        return
    f32 = prog.dtype == "float32"
    _close(got, ref, 1e-2 if f32 else 1e-4, (1e-2 if f32 else 1e-5) * scale, " o ".join(prog.order3))


# -- long profile ------------------------------------------------------------------------------

def failure_key(exc):
    """Return a short, number-free description used to group failures."""
    if isinstance(exc, Mismatch):
        return f"Mismatch [{exc.check.split(' arg')[0]}]"
    msg = str(exc).splitlines()[0] if str(exc) else ""
    msg = re.sub(r"\(\d[\d, ]*\)|\d+(\.\d+)?", "#", msg)[:120]
    tb = traceback.extract_tb(exc.__traceback__)
    where = next((f"{os.path.basename(fr.filename)}:{fr.name}" for fr in reversed(tb)
                  if "npdiff" in fr.filename), "?")
    return f"{type(exc).__name__} in {where}: {msg}"


def run_case(prog):
    """Return ("passed"|"rejected"|"refused"|"failed", exception or None).

    "refused": a TracingError saying compiled code read a buffer holding traced values (the `buffer`
    step kind's `KC[...].dot(b)`), which is the promised outcome, never a silently wrong number.
    """
    try:
        check_program(prog)
    except (Guard, UnsatisfiedAssumption):
        return "rejected", None
    except npdiff.TracingError as e:
        if "does not dispatch" in str(e) and "_b" in prog.source():
            return "refused", None
        return "failed", e
    except Exception as e:  # noqa: BLE001  (every other exception is a finding)
        return "failed", e
    return "passed", None


class _Stop(BaseException):
    """Raised inside the Hypothesis test to end the long profile (case count or time limit reached)."""


def main(argv=None):
    """Run the long profile and print counts and each distinct shrunk failure."""
    from hypothesis import Phase, given
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz")
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--max-steps", type=int, default=6)
    ap.add_argument("--kinds", default=",".join(KINDS),
                    help=f"comma-separated step kinds (default: {','.join(KINDS)}; also: buffer)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--shrink-time", type=float, default=180, help="seconds spent shrinking one failure")
    ap.add_argument("--time-limit", type=float, default=None, help="seconds; stop generating after this")
    a = ap.parse_args(argv)
    counts = {"passed": 0, "failed": 0, "rejected": 0, "refused": 0}
    found = {}          # key -> (shrunk program, exception)
    state = {"shrinking": False, "last": None}
    t0 = time.time()

    def body(prog):
        if not state["shrinking"] and (sum(counts.values()) >= a.cases or
                                       (a.time_limit and time.time() - t0 > a.time_limit)):
            raise _Stop()  # a BaseException: Hypothesis stops at once instead of shrinking it
        if state["shrinking"] and time.time() - state["since"] > a.shrink_time:
            return  # stop shrinking: Hypothesis reports the smallest failure so far
        res, exc = run_case(prog)
        key = failure_key(exc) if exc is not None else None
        if not state["shrinking"]:
            counts[res] += 1
            n = sum(counts.values())
            if n % 50 == 0:
                print(f"... {n} cases: {counts} ({time.time() - t0:.0f} s)", flush=True)
        if res == "rejected":
            assume(False)
        if res == "failed" and key not in found:
            state["shrinking"] = True
            state["since"] = time.time()
            state["last"] = (key, prog, exc)
            raise exc
        if res == "failed" and state["shrinking"] and key == state["last"][0]:
            state["last"] = (key, prog, exc)
            raise exc

    run = 0
    while sum(counts.values()) < a.cases and not (a.time_limit and time.time() - t0 > a.time_limit):
        run += 1
        seed = (a.seed or 0) * 1000 + run
        state["shrinking"] = False
        test = settings(max_examples=a.cases * 2, deadline=None, database=None, derandomize=False,
                        report_multiple_bugs=False, phases=[Phase.generate, Phase.shrink],
                        suppress_health_check=list(HealthCheck))(
            given(programs(max_steps=a.max_steps, kinds=tuple(a.kinds.split(","))))(body))
        from hypothesis import seed as hseed
        before = sum(counts.values())
        try:
            hseed(seed)(test)()
        except _Stop:
            break
        except Exception:  # noqa: BLE001
            key, prog, exc = state["last"]
            found[key] = (prog, exc)
            print(f"\n=== new failure: {key}\n{prog.reproducer()}", flush=True)
        if sum(counts.values()) == before:
            break
    print(f"\n{sum(counts.values())} cases in {time.time() - t0:.0f} s: passed {counts['passed']}, "
          f"failed {counts['failed']}, rejected {counts['rejected']}, refused {counts['refused']}; {len(found)} distinct failures")
    for key, (prog, exc) in found.items():
        print(f"\n--- {key}\n{type(exc).__name__}: {str(exc)[:300]}\n{prog.reproducer()}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
