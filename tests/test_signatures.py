"""Signature-driven differential test: every optional parameter of every supported NumPy function,
ndarray method and ufunc (and ufunc method), set away from its default, is either honoured exactly
(value, shape and dtype as NumPy; Jacobian as central finite differences) or refused with an
``UnsupportedOperationError`` naming the parameter.

The parameters are read with ``inspect.signature`` (NumPy's own signature; the lowering's for
ndarray methods and ``**kwargs``; the fixed ufunc keywords for ufuncs); the values come from
``signature_table.py``. A parameter without a value there fails, so a new lowering cannot skip it.
"""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import npdiff
import signature_table as T
from npdiff import TracingError, UnsupportedOperationError
from npdiff.tracing import tracer as trace
from util import assert_close, fd_jac, flat


def _names_of(obj) -> list[str]:
    out = []
    for ns in ("numpy", "numpy.linalg"):
        mod = {"numpy": np, "numpy.linalg": np.linalg}[ns]
        out += [f"{ns}.{n}" for n in dir(mod) if not n.startswith("_") and getattr(mod, n, None) is obj]
    return out or [f"{getattr(obj, '__module__', 'numpy')}.{obj.__name__}"]


def _optional(sig) -> list[str]:
    return [p.name for p in sig.parameters.values()
            if p.default is not p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _has_var_kw(sig) -> bool:
    return any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())


def _targets():
    """Yield (name, entry or None, parameters) for every supported callable with optional parameters."""
    seen = set()
    for func, low in trace.FUNCTIONS.items():
        if getattr(low, "npdiff_refuses", False) or isinstance(func, np.ufunc) or id(func) in seen:
            continue
        if getattr(func, "__wrapped__", None) in trace.FUNCTIONS:  # a tracing-time wrapper of a NumPy function
            continue                                               # (lists of tracers): tested as that function
        seen.add(id(func))
        names = _names_of(func)
        sig = inspect.signature(func)
        params = _optional(sig)
        if _has_var_kw(sig):
            params += [p for p in _optional(inspect.signature(low)) if p not in params]
        name = next((n for n in names if n in T.ENTRIES), names[0])
        entry = T.ENTRIES.get(name)
        if entry is not None:
            params += [p for p in entry.values if p not in params]
        if params:
            yield name, entry, params
    for mname, low in trace.METHODS.items():
        if mname.startswith("_") or mname in ("real", "imag"):
            continue
        try:
            params = _optional(inspect.signature(getattr(np.ndarray, mname)))
        except (TypeError, ValueError):
            params = []
        params += [p for p in _optional(inspect.signature(low)) if p not in params]
        entry = T.METHODS.get(mname)
        if params:
            yield f"ndarray.{mname}", entry, params
    for key in trace.UFUNCS:
        if isinstance(key, tuple):
            uf, method = key
            name = f"{trace._ufunc_qualname(uf)}.{method}"
            values = T.UFUNC_METHOD_VALUES.get(method)
            if values is None:
                yield name, None, ["<no table entry for this ufunc method>"]
                continue
            x = T.UFUNC_METHOD_INPUT[method]
            other = T.U2 if method == "outer" else None
            call = (lambda a, _uf=uf, _m=method, _o=other, **kw:
                    getattr(_uf, _m)(a, _o, **kw) if _o is not None else getattr(_uf, _m)(a, **kw))
            yield name, T.E(call, x, dict(values), list(T.UFUNC_METHOD_COMBOS.get(method, []))), list(values)
            continue
        uf = key
        args = T.UFUNC_ARGS.get(uf.__name__, (T.U,) if uf.nin == 1 else (T.U, T.U2))
        rest = args[1:]
        call = (lambda a, _uf=uf, _rest=rest, **kw: _uf(a, *_rest, **kw))
        values = dict(T.UFUNC_VALUES)
        if args[0].ndim != 1:  # matmul family: a mask and an out of the operands' shape
            values["where"] = [np.ones(args[0].shape[:-1], bool)] if uf.signature else values["where"]
        yield (trace._ufunc_qualname(uf), T.E(call, args[0], values, [], uf.__name__ not in T.UFUNC_NO_DERIV),
               list(T.UFUNC_VALUES))


_MISSING = object()


def _cases():
    cases = []
    for name, entry, params in _targets():
        if entry is None:
            cases.append(pytest.param(name, None, None, params, id=f"{name}-NO-ENTRY"))
            continue
        for p in params:
            values = entry.values.get(p, T.GENERIC.get(p))
            if values is None:
                cases.append(pytest.param(name, entry, {p: _MISSING}, [p], id=f"{name}-{p}-NO-VALUE"))
                continue
            for i, v in enumerate(values):
                if isinstance(v, T.SKIP):
                    continue
                cases.append(pytest.param(name, entry, {p: v}, [p], id=f"{name}-{p}-{i}"))
        for i, combo in enumerate(entry.combos):
            cases.append(pytest.param(name, entry, combo, list(combo), id=f"{name}-{'+'.join(combo)}-{i}"))
    return cases


def _leaves(out):
    leaves, _ = npdiff.ir.pytree.tree_flatten(out)
    return [np.asarray(leaf) for leaf in leaves]


@pytest.mark.parametrize("name, entry, kw, params", _cases())
def test_parameter_is_honoured_or_refused_by_name(name, entry, kw, params):
    assert entry is not None, f"{name}: no entry in tests/signature_table.py for its parameters {params}"
    assert not any(v is _MISSING for v in kw.values()), f"{name}: no value for {params} in tests/signature_table.py"
    call = entry.call
    if call is None:
        call = lambda a, **k: _lookup(name)(a, **k)
    x = np.copy(entry.x)  # NumPy may write into its input (nan_to_num(copy=False))

    def f(a):
        return call(a, **kw)

    numpy_error = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expect = _leaves(f(np.copy(x)))
        except Exception as exc:  # noqa: BLE001 - an invalid value: npdiff must raise too
            numpy_error = exc
    try:
        g = npdiff.numpify(f, x)
        got = _leaves(g(x))
    except UnsupportedOperationError as exc:
        assert any(f"{p}=" in str(exc) for p in params), f"refusal does not name {params}: {exc}"
        return
    except TracingError as exc:  # ufunc out=: "writes into an existing array"
        assert "out" in params and "out=" in str(exc), exc
        return
    except Exception:
        if numpy_error is not None:
            return  # NumPy refuses this value too
        raise
    assert numpy_error is None, f"NumPy raises {numpy_error!r} for {kw}; npdiff returned {got}"
    assert len(got) == len(expect)
    for a, b in zip(got, expect):
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
        single = any(v.dtype == np.float32 for v in (a, b))
        assert_close(a, b, rtol=1e-4 if single else 1e-7, atol=1e-5 if single else 1e-9, what="value")
    if not entry.deriv or not all(np.issubdtype(v.dtype, np.inexact) for v in expect) \
            or not np.issubdtype(np.asarray(x).dtype, np.floating):
        return
    single = any(v.dtype == np.float32 for v in expect)
    fd = fd_jac(f, [x], 0, eps=1e-3 if single else 1e-6)
    jac = npdiff.jacrev(f)(x)
    assert_close(flat(jac).reshape(fd.shape), fd, rtol=2e-2 if single else 1e-5, atol=2e-2 if single else 1e-6,
                 what="jacrev")


def _lookup(name):
    mod, _, attr = name.rpartition(".")
    return getattr({"numpy": np, "numpy.linalg": np.linalg}[mod], attr)


def test_every_supported_callable_is_covered():
    """The table covers every supported callable that has optional parameters (no stale entries either)."""
    names = {name for name, _, _ in _targets()}
    stale = set(T.ENTRIES) - names
    assert not stale, sorted(stale)
    assert len(names) > 300
