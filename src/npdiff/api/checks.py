"""Input checks of the operators: each raises a clear error naming the problem
and the fix (argument, expected, received). They run when code is generated
(in the operators' build functions), not on every call, except the few that
guard an eager call (``jvp`` tangents, ``vjp`` cotangents).
"""
from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from ..ir.pytree import tree_flatten

NUMERIC_KINDS = "biufc"  # bool, signed/unsigned int, float, complex


def _describe(x) -> str:
    """Return a short description of a value: 'an array of shape (3,)', 'a tuple of 2 items'."""
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)} items"
    if isinstance(x, dict):
        return f"a dict with keys {sorted(map(str, x))}"
    shape = getattr(x, "shape", None)
    if shape is not None:
        return f"an array of shape {tuple(shape)}"
    return f"a {type(x).__name__}"


def _dtype(x) -> np.dtype:
    """Return the dtype x has as a NumPy array (a list or Python number included)."""
    d = getattr(x, "dtype", None)
    return d if isinstance(d, np.dtype) else np.asarray(x).dtype


def argnums(nums, n: int, op: str) -> tuple[tuple, bool]:
    """Return (tuple of argument indices in 0..n-1, whether a tuple was given), refusing bad values.

    Negative indices count from the end, as in JAX; out-of-range indices, bools
    and non-integers raise.
    """
    multi = not isinstance(nums, (int, np.integer))
    items = (nums,) if not multi else nums
    if isinstance(nums, bool) or not isinstance(items, (tuple, list)) or any(
            isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in items):
        raise TypeError(f"{op}: argnums must be an int or a tuple of ints, got {nums!r}")
    if n == 0:
        raise TypeError(f"{op}: called with no arguments; argnums={nums!r} needs the argument(s) "
                        f"to differentiate with respect to")
    bad = [a for a in items if not -n <= a < n]
    if bad:
        raise ValueError(f"{op}: argnums={nums!r} is out of range: the function was called with {n} "
                         f"argument{'s' if n != 1 else ''} (valid argnums: 0 to {n - 1}, or -{n} to -1)")
    return tuple(int(a) % n for a in items), multi


def arity(func: Callable, n: int, op: str, hint: str = "") -> None:
    """Refuse a call that passes n positional arguments to a function that cannot take them."""
    target = getattr(func, "_trace_target", func)  # a GeneratedFunction: its generated code
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):  # builtins without a signature: let the call itself complain
        return
    try:
        sig.bind(*range(n))
    except TypeError as e:
        name = getattr(func, "__name__", type(func).__name__)
        raise TypeError(f"{op}: {name}{sig} cannot be called with {n} positional argument"
                        f"{'s' if n != 1 else ''} ({e}){hint}") from None


def avals(names, avals_, op: str) -> None:
    """Refuse arguments whose dtype is not numeric (object, strings, structured)."""
    for name, (_shape, dtype) in zip(names, avals_):
        if np.dtype(dtype).kind not in NUMERIC_KINDS:
            raise TypeError(f"{op}: argument {name!r} has dtype {np.dtype(dtype)}; npdiff functions take "
                            f"numeric arrays (bool, int, float or complex): convert it with "
                            f"np.asarray({name}, dtype=float)")


def differentiable(node, name: str, op: str) -> None:
    """Refuse differentiation with respect to a non-floating (int, bool) argument."""
    if not np.issubdtype(node.dtype, np.inexact):
        raise TypeError(f"{op} requires floating-point inputs, got dtype {node.dtype} for argument "
                        f"{name!r}; pass a float array (e.g. {name}.astype(float)), or leave the argument "
                        f"out of argnums")


def pair(out, op: str):
    """Return (output, aux) of a has_aux function's result, refusing anything but a pair."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"{op}: with has_aux=True the function must return a pair (output, aux); "
                        f"it returned {_describe(out)}")
    return out[0], out[1]


def no_aux(value, op: str) -> None:
    """Refuse (naming has_aux) an output with a leaf that has no derivative: a string or another object.

    Tuple, list and dict outputs of arrays are pytrees and are differentiated (the contract); a tuple
    holding a string or an object is an (output, aux) pair given without ``has_aux=True``."""
    leaves, _ = tree_flatten(value)
    for leaf in leaves:
        dt = getattr(leaf, "dtype", None)
        if dt is not None and np.dtype(dt).kind in NUMERIC_KINDS:
            continue
        held = getattr(leaf, "value", leaf)
        held = held[()] if isinstance(held, np.ndarray) and held.dtype == object and held.ndim == 0 else held
        what = _describe(held) if not isinstance(held, (str, bytes)) else f"a {type(held).__name__} ({held!r:.40})"
        raise TypeError(f"{op}: the function returned {_describe(value)} holding {what}, which has no "
                        f"derivative. If it returns (output, aux), pass has_aux=True to {op} (the aux value then comes "
                        f"back as the function returned it); otherwise return arrays only.")


def scalar_output(out, op: str, jac: str = "jacobian/jacrev", prod: str = "vjp") -> None:
    """Refuse a non-scalar output where a gradient is asked for."""
    shape = getattr(out, "shape", None)
    if shape == () and not isinstance(out, (tuple, list, dict)):
        return
    what = f"has shape {tuple(shape)}" if shape is not None else f"is {_describe(out)}"
    aux = (" If the function returns (value, aux), pass has_aux=True." if isinstance(out, (tuple, list))
           and len(out) == 2 else "")
    raise TypeError(f"{op} requires a scalar-valued function; the output {what}. Use {jac} for array "
                    f"outputs or {prod} for vector-Jacobian products (or sum the output first).{aux}")


def real_output(out, op: str) -> None:
    """Refuse a gradient of a complex-, integer- or bool-valued output (as JAX and autograd do)."""
    dt = np.dtype(out.dtype)
    if dt.kind == "c":
        raise TypeError(f"{op} requires a real-valued function; the output has dtype {dt}. Take np.real(...) "
                        f"or np.abs(...) of it first, or use jvp/vjp/jacobian for complex outputs.")
    if dt.kind not in "f":
        raise TypeError(f"{op} requires a floating-point output; the output has dtype {dt} (a comparison, "
                        f"count or np.allclose has no derivative). Return a float value.")


def same_shape(vec, expected, vname: str, what: str, op: str) -> None:
    """Refuse a vector (tangent, v) whose shape is not ``expected``."""
    if tuple(vec.shape) != tuple(expected):
        raise ValueError(f"{op}: {vname} has shape {tuple(vec.shape)}, expected {tuple(expected)} "
                         f"(the shape of {what})")


def tangents(primals: tuple, tangents_: tuple, op: str = "jvp", labels=None) -> tuple:
    """Return the tangents as arrays of their primals' dtypes, refusing a wrong count, shape or dtype.

    ``labels`` names each primal in messages (pytree leaves: ``primal 0['W']``).
    """
    if len(primals) != len(tangents_):
        raise ValueError(f"{op}: primals and tangents must have the same length: got {len(primals)} "
                         f"primal{'s' if len(primals) != 1 else ''} and {len(tangents_)} tangent"
                         f"{'s' if len(tangents_) != 1 else ''} (pass tuples, e.g. jvp(f, (x,), (v,)))")
    out = []
    for i, (p, t) in enumerate(zip(primals, tangents_)):
        pshape, pdtype = np.shape(p), _dtype(p)
        pl = labels[i] if labels else f"primal {i}"
        tl = pl.replace("primal", "tangent", 1)
        if pdtype.kind not in "fc":
            raise TypeError(f"{op} requires floating-point primals, got dtype {pdtype} for {pl}; "
                            f"pass a float array (e.g. x.astype(float))")
        if np.shape(t) != pshape:
            raise ValueError(f"{op}: {tl} has shape {np.shape(t)}, expected {pshape} "
                             f"(the shape of {pl}); each tangent has its primal's shape")
        foreign = not isinstance(t, (np.ndarray, np.generic, list, tuple, bool, int, float, complex))
        if not foreign and not (t.__class__ is np.ndarray and t.dtype == pdtype):  # another library's arrays
            t = np.asarray(t)                                                        # stay as they are
            if t.dtype != pdtype:
                if not np.can_cast(t.dtype, pdtype, "same_kind"):
                    raise TypeError(f"{op}: {tl} has dtype {t.dtype}, which cannot be converted to "
                                    f"the dtype of {pl}, {pdtype}")
                t = t.astype(pdtype)
        out.append(t)
    return tuple(out)


def float_primals(primals, op: str, labels=None) -> None:
    """Refuse non-floating primals of vjp / linearize (``labels`` names them: pytree leaves)."""
    for i, p in enumerate(primals):
        if not isinstance(p, float):
            d = _dtype(p)
            if d.kind not in "fc":
                raise TypeError(f"{op} requires floating-point primals, got dtype {d} for "
                                f"{labels[i] if labels else f'primal {i}'}; "
                                f"pass a float array (e.g. x.astype(float))")


def cotangent(ct, structure, shapes, op: str = "vjp"):
    """Return the leaves of ct, refusing a structure other than the output's."""
    leaves, s = tree_flatten(ct)
    if s != structure:
        want = (f"an array of shape {shapes[0]}" if structure == ("leaf",) else
                f"the output's structure ({len(shapes)} arrays of shapes "
                f"{', '.join(map(str, shapes))})")
        raise TypeError(f"{op}: the pullback takes one cotangent with the structure and shapes of the "
                        f"function's output: expected {want}, got {_describe(ct)}")
    return leaves


def require(module: str, feature: str, extra: str) -> None:
    """Raise ImportError naming the extra to install if ``module`` cannot be imported."""
    import importlib
    try:
        importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{feature} needs {extra}: pip install {extra}") from None
