"""Self-checks on specialisation: the trace must agree with the plain NumPy function.

When a lazy operator traces a new path with real argument values, the user's
function is also run once on the plain NumPy arguments and its value compared
with the value the trace computed (``ValueTrace``): a trace that took another
branch than NumPy would (a type check on the argument, hidden state, I/O)
gives another number. Then the derivative: central differences along a
random direction, of the traced path (its graph evaluated at the shifted
arguments, ``ValueTrace``) and of the plain function (two plain calls), with
the same step, so their truncation errors cancel and only a dependency the
trace cannot see separates them. When they disagree, both are taken again with
a quarter of the step (two more plain calls); where the plain function's two
steps disagree, or its one-sided slopes jump (a kink, a branch at its switching
point), nothing is said. A mismatch raises ``TracingError`` naming the likely
causes.

Switch both off with ``npdiff.config.self_check = False`` or the environment
variable ``NPDIFF_SELF_CHECK=0``. Paths whose trace drew random numbers, or
uses custom derivative rules, skip the value / derivative comparison.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import config
from ..errors import TracingError
from ..ir.graph import Node, toposort
from ..ir.pytree import tree_flatten
from ..tracing.guards import NoValue, ValueTrace

_RANDOM_OPS = ("draw", "rng_new")
_CUSTOM_OPS = ("custom_jvp_out", "custom_vjp_out", "custom_vjp_lin")


class Pending:
    """What the trace computed for one call of the function: to compare with plain calls.

    ``at(values)`` evaluates the traced outputs at other input values (the traced path's
    function), or is None when the derivative is not compared.
    """

    def __init__(self, func, args, traced, at):
        self.func, self.args, self.traced, self.at = func, args, traced, at


def _unwrapped(f):
    return getattr(f, "__wrapped__", None)


def prepare(records: list, vt: ValueTrace | None, func: Callable) -> Pending | None:
    """Return the trace's value and directional derivative of ``func`` (from ``trace.recording``), or None."""
    if not config.self_check or vt is None or func is None:
        return None
    if type(func).__module__.startswith("npdiff"):  # an operator or generated code: checked on its own
        return None
    for f, inputs, out in records:  # noqa: B007 - the matching record is read after the loop
        if f is func or _unwrapped(f) is func:
            break
    else:
        return None
    leaves = tree_flatten(out)[0]
    nodes = [n for n in leaves if isinstance(n, Node)]
    if len(nodes) != len(leaves):
        return None
    order = toposort(nodes)
    ops = {n.op for n in order}
    if ops & set(_RANDOM_OPS):
        return None  # random draws: the plain call would draw other numbers
    try:
        args = [np.array(vt.value(i)) for i in inputs]
        traced = [np.array(vt.value(n)) for n in nodes]
    except NoValue:
        return None
    at = None
    if not ops & set(_CUSTOM_OPS) and any(a.dtype == np.float64 for a in args) \
            and not any(a.dtype.kind == "c" for a in args) and not any(n.dtype.kind == "c" for n in nodes):
        def at(values, inputs=list(inputs), nodes=nodes):  # noqa: B006 - binds this record's inputs
            vt2 = ValueTrace(inputs, values)
            return [np.array(vt2.value(n), dtype=np.float64) for n in nodes]
    return Pending(f, args, traced, at)


def _plain(func, args) -> list | None:
    """Return the plain call's output leaves as arrays (None if it fails or is not numeric)."""
    try:
        with np.errstate(all="ignore"):  # the checks' calls add no warnings of their own
            out = func(*[a.copy() for a in args])
    except Exception:  # noqa: BLE001  (the plain function fails: nothing to compare with)
        return None
    arrs = []
    for leaf in tree_flatten(out)[0]:
        if not isinstance(leaf, (np.ndarray, np.generic, bool, int, float, complex)):
            return None  # not a plain value (a traced value built by hand, an object): nothing to compare
        a = np.asarray(leaf)
        if a.dtype.kind not in "biufc":
            return None
        arrs.append(a)
    return arrs


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        return bool(np.array_equal(a, b))
    eps = max(np.finfo(d).eps if d.kind in "fc" else 0.0 for d in (a.dtype, b.dtype))
    rtol = max(1e-6, min(0.05, 1e4 * eps))  # float64: 1e-6, float32: 1.2e-3, float16: 0.05
    fin = np.abs(b[np.isfinite(b)]) if b.size else b
    scale = max(1.0, float(fin.max())) if fin.size else 1.0
    with np.errstate(all="ignore"):
        return bool(np.allclose(a, b, rtol=rtol, atol=rtol * 1e-2 * scale, equal_nan=True))


def run(p: Pending, label: str) -> None:
    """Run the plain function and compare; raise TracingError on a mismatch."""
    state = np.random.get_state()  # noqa: NPY002 - the global state the user's code draws from
    try:
        plain = _plain(p.func, p.args)
        if plain is None or len(plain) != len(p.traced):
            return
        for i, (t, v) in enumerate(zip(p.traced, plain)):
            if not _close(t, v):
                raise TracingError(_value_message(label, i, t, v))
        if p.at is not None and all(v.dtype.kind in "biu" or v.dtype == np.float64 for v in plain):
            _check_derivative(p, plain, label)  # float64 outputs only: lower precision is too noisy
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _value_message(label, i, traced, plain) -> str:
    with np.errstate(all="ignore"):
        diff = (f"max difference {float(np.max(np.abs(traced - plain))):.3g}"
                if traced.shape == plain.shape else f"shapes {traced.shape} and {plain.shape}")
    return (f"{label}: self-check failed: the traced function computes another value than the plain NumPy "
            f"call on the same arguments (output {i}: {diff}). npdiff's trace took another path than "
            f"NumPy does. Likely causes: a type check on an argument (type(x) is np.ndarray, a "
            f"library dispatching on the array type) that answers differently for npdiff's traced arrays; "
            f"state that changes from call to call (a global counter, a cache, the clock); I/O or random "
            f"numbers npdiff does not intercept (a library drawing on its own, such as scipy.stats rvs). Make the "
            f"function depend on its arguments only, or turn the self-check off "
            f"(npdiff.config.self_check = False, or NPDIFF_SELF_CHECK=0) if the difference is intended.")


def _diffs(func, args, direction, h, f0):
    """Return (central differences, (f(x+h) + f(x-h) - 2 f(x)) / h) per output, or None."""
    plus = func([a + h * d if d is not None else a for a, d in zip(args, direction)])
    minus = func([a - h * d if d is not None else a for a, d in zip(args, direction)])
    if plus is None or minus is None or len(plus) != len(minus) or len(plus) != len(f0):
        return None
    with np.errstate(all="ignore"):
        up = [np.asarray(u, np.float64) for u in plus]
        dn = [np.asarray(v, np.float64) for v in minus]
        return ([(u - v) / (2 * h) for u, v in zip(up, dn)],
                [(u + v - 2 * np.asarray(c, np.float64)) / h for u, v, c in zip(up, dn, f0)])


def _noise(fscale: float, h: float) -> float:
    return 1e3 * np.finfo(np.float64).eps * fscale / h


def _agree(a: list, b: list, fscale: float, h: float) -> bool:
    """Return True if two lists of directional derivatives agree within finite-difference accuracy."""
    for u, v in zip(a, b):
        if u.shape != v.shape:
            return False
        if not (np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
            return True  # nothing to say
        err = float(np.max(np.abs(u - v))) if u.size else 0.0
        mag = max(float(np.max(np.abs(u))) if u.size else 0.0, float(np.max(np.abs(v))) if v.size else 0.0)
        if err > 1e-4 * mag + _noise(fscale, h) + 1e-10:
            return False
    return True


def _kink(j1: list, j2: list, fscale: float, h: float) -> bool:
    """Return True if the one-sided slopes differ by a jump that does not shrink with the step (a kink)."""
    for u, v in zip(j1, j2):
        if not (np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
            return True
        big = float(np.max(np.abs(u))) if u.size else 0.0
        if big > 4 * _noise(fscale, h) and (float(np.max(np.abs(v))) if v.size else 0.0) > 0.5 * big:
            return True
    return False


def _check_derivative(p: Pending, plain: list, label: str) -> None:
    """Compare central differences of the traced path and of the plain function along a random direction.

    Both are taken with the same steps, so their truncation errors cancel: they differ by more than
    rounding only when the value depends on the arguments through something the trace cannot see.
    """
    rng = np.random.default_rng(20)
    # each element moves by about 2**-17 (about eps ** (1/3)) times its own size (at least 1)
    direction = [rng.standard_normal(a.shape) * np.maximum(1.0, np.abs(a)) if a.dtype == np.float64 else None
                 for a in p.args]
    h = 2.0 ** -17
    fscale = max([1.0] + [float(np.max(np.abs(v))) for v in plain if v.size and np.all(np.isfinite(v))])
    run_plain = lambda vals: _plain(p.func, vals)

    def run_trace(vals):
        try:
            return p.at(vals)
        except Exception:  # noqa: BLE001  (an input without a value: nothing to compare)
            return None
    first, mine = _diffs(run_plain, p.args, direction, h, plain), _diffs(run_trace, p.args, direction, h, plain)
    if first is None or mine is None or _agree(mine[0], first[0], fscale, h):
        return
    second = _diffs(run_plain, p.args, direction, h / 4, plain)
    mine2 = _diffs(run_trace, p.args, direction, h / 4, plain)
    if second is None or mine2 is None or not _agree(first[0], second[0], fscale, h / 4) \
            or _kink(first[1], second[1], fscale, h) or _agree(mine2[0], second[0], fscale, h / 4):
        return  # not smooth here (the steps disagree, or the one-sided slopes jump), or the smaller step agrees
    derivative = mine2[0]
    fd = second[0]
    i, err = max(((i, float(np.max(np.abs(u - v))) if u.size else 0.0)
                  for i, (u, v) in enumerate(zip(derivative, fd))), key=lambda t: t[1])
    raise TracingError(
        f"{label}: self-check failed: the derivative of the traced computation differs from that of the plain "
        f"NumPy function along a random direction (central differences with the same step; output {i}: traced "
        f"{_fmt(derivative[i])}, finite difference {_fmt(fd[i])}, max difference {err:.3g}). The "
        f"value depends on the arguments through something the trace cannot see. Likely causes: compiled "
        f"code reading an array's memory or values directly (a C extension, ctypes, np.frombuffer, "
        f"memoryview, a value converted to integers or compared), global state updated from the arguments, "
        f"a buffer read directly instead of through NumPy functions. Compute that part with NumPy functions "
        f"on the arguments, give it a custom derivative (npdiff.custom_jvp), or turn the self-check off "
        f"(npdiff.config.self_check = False, or NPDIFF_SELF_CHECK=0) if you accept that derivative.")


def _fmt(a: np.ndarray) -> str:
    flat = np.ravel(a)
    return np.array2string(flat[:4], precision=6) + ("..." if flat.size > 4 else "")
