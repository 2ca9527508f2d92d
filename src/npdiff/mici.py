"""npdiff as an automatic-differentiation backend for Mici (https://github.com/matt-graham/mici).

Mici's systems build the derivatives they need from ``neg_log_dens`` (and
``constr`` for constrained systems, the metric function for Riemannian ones)
through ``mici.autodiff.autodiff_fallback``: it looks the backend name up in
``mici.autodiff._REGISTERED_BACKENDS`` (a dict of name -> ``AutodiffBackend(module,
available, function_wrapper)``) and calls ``getattr(backend.module, op)(func)`` for
an ``op`` in ``mici.autodiff.DIFF_OPS``. This module *is* such a backend module:
it defines one function per name of ``DIFF_OPS``

    grad_and_value, vjp_and_value, jacobian_and_value, hessian_grad_and_value,
    mhp_jacobian_and_value, mtp_hessian_grad_and_value

each taking a plain-NumPy function and returning a :class:`MiciDerivative` with
exactly the return order Mici expects (the same as ``npdiff.grad_and_value`` etc.).
Functions are written with ordinary ``import numpy as np``; no special namespace.

Two ways to use it:

1. Register npdiff as a named backend, then pass ``backend="npdiff"``::

       import numpy as np, mici, npdiff

       npdiff.mici.register()          # adds "npdiff" to Mici's backend table

       def neg_log_dens(q):
           return q[0] ** 2 / 2 + (q[1] - q[0] ** 2) ** 2 / 2

       system = mici.systems.EuclideanMetricSystem(neg_log_dens, backend="npdiff")
       constrained = mici.systems.DenseConstrainedEuclideanMetricSystem(
           neg_log_dens, constr, dens_wrt_hausdorff=False, backend="npdiff")

   ``register`` only touches ``_REGISTERED_BACKENDS`` (Mici 0.4 has no public hook
   for new backends; the dict is what ``backend=`` is resolved against). It is
   idempotent and may be called again after another library re-imports Mici.

2. Without registering anything, pass the derivative functions directly, which
   every Mici system accepts (and which works with any Mici version)::

       system = mici.systems.EuclideanMetricSystem(
           neg_log_dens, grad_neg_log_dens=npdiff.mici.grad_and_value(neg_log_dens))
       constrained = mici.systems.DenseConstrainedEuclideanMetricSystem(
           neg_log_dens, constr, dens_wrt_hausdorff=False,
           grad_neg_log_dens=npdiff.mici.grad_and_value(neg_log_dens),
           jacob_constr=npdiff.mici.jacobian_and_value(constr),
           mhp_constr=npdiff.mici.mhp_jacobian_and_value(constr))
       riemannian = mici.systems.SoftAbsRiemannianMetricSystem(
           neg_log_dens,
           grad_neg_log_dens=npdiff.mici.grad_and_value(neg_log_dens),
           hess_neg_log_dens=npdiff.mici.hessian_grad_and_value(neg_log_dens),
           mtp_neg_log_dens=npdiff.mici.mtp_hessian_grad_and_value(neg_log_dens))

   ``npdiff.grad_and_value`` etc. (the generic lazy bundles) work there too;
   the ``npdiff.mici`` versions add a faster call path and pickling (below).

Notes on how Mici calls these functions (checked against Mici 0.4.1):

- Mici calls derivative functions with ``state.pos``, a 1-d NumPy array
  (float64 in the samplers and integrators checked). Code is generated (and
  cached) per shape and dtype on first call; integer or boolean positions are
  converted to float64 before differentiating, float32 stays float32.
- ``function_wrapper`` is ``None``: the functions already take and return NumPy
  arrays, so ``neg_log_dens`` / ``constr`` are used by Mici unchanged.
- Mici 0.4.1's ``RiemannianMetricSystem.__init__`` does not forward ``backend``
  when it sets up ``grad_neg_log_dens``, so for Riemannian systems such as
  ``SoftAbsRiemannianMetricSystem`` pass ``grad_neg_log_dens`` explicitly even
  with ``backend="npdiff"`` (this is the same with Mici's own backends).
- A :class:`MiciDerivative` pickles with the standard library (needed when Mici
  runs chains in several processes) if the original function does; if that
  function cannot be pickled (a lambda or closure), the code already generated
  is pickled instead, and runs in the other process without the original.
"""
from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable

import numpy as np

from .api import mici_style as _bundles
from .tracing.tracer import is_traced

#: Mici's differential-operator names (``mici.autodiff.DIFF_OPS`` in Mici 0.4.1).
DIFF_OPS = (
    "vjp_and_value",
    "grad_and_value",
    "hessian_grad_and_value",
    "mtp_hessian_grad_and_value",
    "jacobian_and_value",
    "mhp_jacobian_and_value",
)

_MICI_BUILTIN = ("jax", "jax_nojit", "autograd", "symnum")


class MiciDerivative:
    """A derivative bundle of ``func`` as Mici calls it: ``d(pos)`` returns Mici's tuple.

    Generated code is specialised per position shape and dtype on first call;
    later calls with the same shape and dtype go straight to the generated code.
    Called with npdiff tracers it composes like any other npdiff operator.
    """

    __slots__ = ("op_name", "func", "_lazy", "_cache", "_shape", "_dtype", "_fn", "__weakref__")

    def __init__(self, op_name: str, func: Callable | None, _generated: dict | None = None):
        if op_name not in DIFF_OPS:
            raise ValueError(f"unknown Mici differential operator {op_name!r}; expected one of {DIFF_OPS}")
        self.op_name = op_name
        self.func = func
        self._lazy = getattr(_bundles, op_name)(func) if func is not None else None
        self._cache: dict = dict(_generated or {})  # (shape, dtype) -> GeneratedFunction
        self._shape = self._dtype = self._fn = None

    def __call__(self, pos):
        # Fast path: same shape and dtype as the previous call (the usual case in a chain).
        if pos.__class__ is np.ndarray and pos.shape == self._shape and pos.dtype is self._dtype:
            return self._fn(pos)
        return self._call_slow(pos)

    def _call_slow(self, pos):
        if is_traced(pos):  # inside another npdiff operator: build graph nodes
            if self._lazy is None:
                raise RuntimeError(f"{self!r} was unpickled without its function and cannot be traced")
            return self._lazy(pos)
        pos = np.asarray(pos)
        if pos.dtype.kind in "biu":
            pos = pos.astype(np.float64)
        elif pos.dtype.kind not in "fc":
            raise TypeError(f"{self.op_name}: positions must be numeric arrays, got dtype {pos.dtype}")
        key = (pos.shape, pos.dtype)
        gf = self._cache.get(key)
        if gf is None:
            if self._lazy is None:
                raise RuntimeError(
                    f"{self!r} was unpickled without its (unpicklable) function and has no code "
                    f"for positions of shape {pos.shape} and dtype {pos.dtype}; define the function "
                    "at module level so it pickles, or call the derivative once before pickling")
            gf = self._lazy.specialize(pos)  # example values: branches on them become guards
            self._cache[key] = gf
        # the lazy one re-traces new paths, and re-checks the state (globals, attributes...) the trace read
        fn = self._lazy if (gf.guarded or gf._state is not None) and self._lazy is not None else gf
        self._shape, self._dtype, self._fn = pos.shape, pos.dtype, fn
        return fn(pos)

    def specialize(self, *arg_shapes):
        """Return the GeneratedFunction for these position shapes (see ``LazyFunction.specialize``)."""
        if self._lazy is None:
            raise RuntimeError(f"{self!r} was unpickled without its function")
        return self._lazy.specialize(*arg_shapes)

    @property
    def source(self) -> str:
        """Source of the most recently generated specialisation."""
        if self._fn is not None:
            return self._fn.source
        if self._cache:
            return list(self._cache.values())[-1].source
        raise AttributeError("call the function first to generate its source")

    @property
    def __name__(self) -> str:  # noqa: A003 - mimic a function for Mici's error messages
        return f"{self.op_name}_{getattr(self.func, '__name__', 'function')}"

    def __repr__(self) -> str:
        return f"<npdiff.mici.{self.op_name} of {getattr(self.func, '__qualname__', self.func)!r}>"

    def __reduce__(self):
        func = self.func
        if self._cache and func is not None:
            try:
                pickle.dumps(func)
            except Exception:  # lambda / closure: ship only the generated code
                func = None
        return (MiciDerivative, (self.op_name, func, self._cache))


def _make_op(op_name: str) -> Callable:
    def op(func: Callable) -> MiciDerivative:
        return MiciDerivative(op_name, func)
    op.__name__ = op.__qualname__ = op_name
    op.__doc__ = (f"Mici's ``{op_name}`` operator: " + getattr(_bundles, op_name).__doc__
                  + "\n\nReturns a :class:`MiciDerivative` (fast repeated calls, picklable).")
    return op


grad_and_value = _make_op("grad_and_value")
vjp_and_value = _make_op("vjp_and_value")
jacobian_and_value = _make_op("jacobian_and_value")
hessian_grad_and_value = _make_op("hessian_grad_and_value")
mhp_jacobian_and_value = _make_op("mhp_jacobian_and_value")
mtp_hessian_grad_and_value = _make_op("mtp_hessian_grad_and_value")


def missing_ops(diff_ops=None) -> list[str]:
    """Names in Mici's ``DIFF_OPS`` (the installed Mici's by default) this module lacks."""
    if diff_ops is None:
        from mici.autodiff import DIFF_OPS as diff_ops  # noqa: N811
    return [name for name in diff_ops if not callable(globals().get(name))]


def register(name: str = "npdiff") -> None:
    """Register npdiff as a Mici autodiff backend, so systems accept ``backend=name``.

    Adds ``AutodiffBackend(npdiff.mici, True, None)`` to
    ``mici.autodiff._REGISTERED_BACKENDS`` under ``name`` (lower-cased, as Mici
    lower-cases the names it looks up). Calling it again is harmless. Raises
    ImportError if Mici is not installed, ValueError if ``name`` is one of
    Mici's own backends, and warns (RuntimeWarning) if the installed Mici lists
    a differential operator npdiff does not provide.
    """
    import sys
    try:
        import mici.autodiff as autodiff
    except ImportError as e:
        raise ImportError("npdiff.mici.register() needs Mici: pip install mici") from e
    key = name.lower()
    if key in _MICI_BUILTIN:
        raise ValueError(f"{name!r} is one of Mici's own backends; choose another name")
    missing = missing_ops(autodiff.DIFF_OPS)
    if missing:  # still register: systems that need only the other operators work
        warnings.warn(f"the installed Mici lists differential operators npdiff does not provide: {missing}; "
                      "systems needing them must be given those derivatives directly", RuntimeWarning,
                      stacklevel=2)
    registry = getattr(autodiff, "_REGISTERED_BACKENDS", None)
    backend_cls = getattr(autodiff, "AutodiffBackend", None)
    if not isinstance(registry, dict) or backend_cls is None:
        raise RuntimeError(
            "this Mici version has no backend table (mici.autodiff._REGISTERED_BACKENDS); pass "
            "derivatives directly instead, e.g. grad_neg_log_dens=npdiff.mici.grad_and_value(f)")
    registry[key] = backend_cls(sys.modules[__name__], True, None)


def is_registered(name: str = "npdiff") -> bool:
    """True if Mici is importable and ``name`` is registered as this backend."""
    try:
        import mici.autodiff as autodiff
    except ImportError:
        return False
    entry = getattr(autodiff, "_REGISTERED_BACKENDS", {}).get(name.lower())
    return entry is not None and getattr(entry.module, "__name__", None) == __name__


__all__ = ["register", "is_registered", "missing_ops", "MiciDerivative", "DIFF_OPS", *DIFF_OPS]
