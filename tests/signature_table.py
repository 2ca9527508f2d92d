"""Value table for tests/test_signatures.py: how to call every supported NumPy function,
ndarray method and ufunc with its optional parameters set away from their defaults.

``ENTRIES[qualified name] = E(call, x, **values)``: ``call(x, **{param: value})`` evaluates the
function (``call=None``: the function itself applied to x); x is the array the Jacobian is taken
with respect to; ``values[param]`` lists one or two non-default values. Parameters not listed take
their values from ``GENERIC`` (the same meaning for every function). ``combos`` are extra calls
setting several parameters at once (``where=`` with ``initial=``). ``SKIP(reason)`` marks a
parameter that has no valid non-default value. A supported function whose signature has an optional
parameter found in neither place fails the test, so a new lowering cannot go untested.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

A = np.array([[0.3, -1.2, 0.8], [1.1, 0.4, -0.6]])  # 2x3, no ties
AN = np.array([[0.3, np.nan, 0.8], [1.1, 0.4, -0.6]])  # with a NaN
V = np.array([0.9, -1.4, 0.3, 2.1, -0.2])
V3 = np.array([0.5, -0.7, 1.3])
V4 = np.array([1.5, -0.4, 0.8, 0.3])
B32 = np.array([[0.2, 1.0], [-0.5, 0.7], [1.2, -0.3]])
B23 = B32.T.copy()
SQ = np.array([[2.0, 0.3, -0.4], [0.1, 1.5, 0.2], [-0.3, 0.4, 1.7]])  # no ties in row/column sums
SPD = SQ @ SQ.T + np.eye(3)
MASK = A > 0  # every row and column has a True
def _filled(arr):
    """Return arr after filling it with zeros in place."""
    arr.fill(0.0)
    return arr


OUT = np.empty(1)  # never written: out= is refused before NumPy runs
U = np.array([0.3, 0.6])  # ufunc inputs inside every domain used
U2 = np.array([0.7, 0.25])
UMASK = np.array([True, False])


@dataclass
class E:
    """How to call one function: call(x, **kw), the values of its optional parameters."""
    call: Callable | None
    x: Any
    values: dict = field(default_factory=dict)
    combos: list = field(default_factory=list)
    deriv: bool = True


def e(call, x, /, combos=(), deriv=True, **values):
    return E(call, x, values, list(combos), deriv)


@dataclass
class SKIP:
    """A parameter with no valid non-default value (the reason says why)."""
    reason: str


GENERIC = {
    "out": [OUT],
    "keepdims": [True],
    "dtype": [np.float32],
    "order": ["F"],
    "subok": [False],
    "casting": ["unsafe"],
    "where": [MASK],
    "initial": [0.5],
    "axis": [1],
    "device": ["cpu"],
    "like": [np.empty(0)],
    "overwrite_input": [True],
    "copy": [False],
}

UFUNC_VALUES = {  # every ufunc call accepts these
    "out": [np.empty(2)], "where": [UMASK], "dtype": [np.float32], "casting": ["unsafe"], "order": ["F"],
    "subok": [False],
}
UFUNC_METHOD_VALUES = {
    "reduce": {"axis": [1], "dtype": [np.float32], "out": [OUT], "keepdims": [True], "initial": [0.7],
               "where": [MASK]},
    "accumulate": {"axis": [1], "dtype": [np.float32], "out": [OUT]},
    "outer": UFUNC_VALUES,
}
UFUNC_METHOD_COMBOS = {"reduce": [{"where": MASK, "initial": 0.7}]}
UFUNC_METHOD_INPUT = {"reduce": np.abs(A) + 0.2, "accumulate": np.abs(A) + 0.2, "outer": U}  # positive: power, log...

# ufunc inputs: (x, other arguments...); default U (one input) or U, U2 (two)
UFUNC_ARGS = {
    "arccosh": (U + 1.0,), "ldexp": (U, np.array([1, 2])), "expn": (np.array([1, 2]), U),
    "matmul": (SQ, SQ.T), "vecdot": (SQ, SQ.T), "matvec": (SQ, V3), "vecmat": (V3, SQ),
    "logical_not": (U,), "jv": (U, U2), "yv": (U + 1, U2), "iv": (U, U2), "kv": (U, U2),
    "ive": (U, U2), "kve": (U, U2), "yn": (np.array([1, 2]), U2),
    "jve": (U, U2), "yve": (U + 1, U2),
    "_zeta": (U + 1.5, U2), "hyp1f1": (U, U2 + 1.0, U), "hyp2f1": (U, U2, U2 + 1.0, U * 0.5),
    "wright_bessel": (U, U2, U), "log_wright_bessel": (U, U2, U),
    "_binom_cdf": (np.array([1.0, 2.0]), np.array([4.0, 5.0]), U), "_binom_sf": (np.array([1.0, 2.0]), np.array([4.0, 5.0]), U),
    "_binom_pmf": (np.array([1.0, 2.0]), np.array([4.0, 5.0]), U),
    "_beta_ppf": (U, U2 + 1.0, U + 1.0), "_log1mexp": (-U - 0.2,),
    "_nbinom_cdf": (np.array([1.0, 2.0]), U2 + 1.0, U), "_nbinom_sf": (np.array([1.0, 2.0]), U2 + 1.0, U),
    "bitwise_and": (UMASK, ~UMASK), "bitwise_or": (UMASK, ~UMASK), "bitwise_xor": (UMASK, ~UMASK), "invert": (UMASK,),
}
UFUNC_NO_DERIV = {"expn", "divmod", "jv", "yv", "iv", "kv", "ive", "kve", "gammainc", "gammaincc", "gammaincinv",
                  "gammainccinv", "stdtr", "yn", "jve", "yve", "_zeta", "_riemann_zeta", "hyp1f1", "hyp2f1",
                  "wright_bessel", "log_wright_bessel", "_binom_cdf", "_binom_sf", "_binom_pmf", "_nbinom_cdf",
                  "_nbinom_sf", "_beta_ppf", "bitwise_and", "bitwise_or", "bitwise_xor", "invert"}  # npdiff differentiates these in their last argument only


CPLX = np.array([1.0 + 0.5j, -0.3 + 1.0j, 0.7 - 0.2j])  # makes complex FFT inputs from real x


def _ri(z):
    """Return the real and imaginary parts of z stacked (a real result the Jacobian test can use)."""
    return np.stack([np.real(z), np.imag(z)])


def _where(a, x=None, y=None):
    return np.where(MASK, a if x is None else x * a, -a if y is None else y * a)


def _take_along(a, axis=-1):
    idx = {-1: np.array([[2], [0]]), 0: np.array([[1, 0, 1]])}[axis]
    return np.take_along_axis(a, idx, axis=axis)


SORTED = np.array([-1.0, 0.0, 0.5, 1.0])
RED = {"axis": [1], "combos": [{"where": MASK, "initial": -5.0}]}
NAN_RED = {"combos": [{"where": MASK, "initial": -5.0}]}

ENTRIES: dict[str, E] = {
    # -- reductions
    "numpy.sum": e(None, A),
    "numpy.prod": e(None, A),
    "numpy.max": e(None, A, **RED),
    "numpy.min": e(None, A, initial=[-5.0], combos=[{"where": MASK, "initial": 5.0}]),
    "numpy.mean": e(None, A),
    "numpy.var": e(None, A, ddof=[1], correction=[1], mean=[A.mean(keepdims=True)]),
    "numpy.std": e(None, A, ddof=[1], correction=[1], mean=[A.mean(keepdims=True)]),
    "numpy.argmax": e(None, A),
    "numpy.argmin": e(None, A),
    "numpy.all": e(None, A),
    "numpy.any": e(None, A),
    "numpy.average": e(None, A, weights=[A * 0 + np.array([1.0, 2.0, 3.0])], returned=[True]),
    "numpy.nansum": e(None, AN),
    "numpy.nanprod": e(None, AN),
    "numpy.nanmax": e(None, AN, **NAN_RED),
    "numpy.nanmin": e(None, AN, initial=[-5.0], combos=[{"where": MASK, "initial": 5.0}]),
    "numpy.nanmean": e(None, AN),
    "numpy.nanvar": e(None, AN, ddof=[1], correction=[1], mean=[np.nanmean(AN, keepdims=True)]),
    "numpy.nanstd": e(None, AN, ddof=[1], correction=[1], mean=[np.nanmean(AN, keepdims=True)]),
    "numpy.nanargmax": e(None, AN),
    "numpy.nanargmin": e(None, AN),
    "numpy.ptp": e(None, A),
    "numpy.count_nonzero": e(None, A),
    # -- contractions
    "numpy.dot": e(lambda a, **kw: np.dot(a, B32, **kw), A),
    "numpy.outer": e(lambda a, **kw: np.outer(a, V3, **kw), V),
    "numpy.tensordot": e(lambda a, **kw: np.tensordot(a, B23, **kw), A, axes=[1, ([0], [0])]),
    "numpy.einsum": e(lambda a, **kw: np.einsum("ij,jk->ik", a, B32, **kw), A, optimize=[True, "greedy"],
                      dtype=[np.float32], casting=["unsafe", "no"], order=["F", "C"],
                      combos=[{"dtype": np.float32, "casting": "same_kind"}]),
    "numpy.trace": e(None, A, offset=[1], axis1=[1], axis2=[0]),
    "numpy.diagonal": e(None, A, offset=[1], axis1=[1], axis2=[0]),
    "numpy.diag": e(None, A, k=[1, -1]),
    "numpy.triu": e(None, A, k=[1, -1]),
    "numpy.tril": e(None, A, k=[1, -1]),
    "numpy.diagflat": e(None, V3, k=[1, -1]),
    "numpy.cross": e(lambda a, **kw: np.cross(a, SQ.T, **kw), SQ, axisa=[0], axisb=[0], axisc=[0], axis=[0]),
    "numpy.linalg.cross": e(lambda a, **kw: np.linalg.cross(a, SQ.T, **kw), SQ, axis=[0]),
    # -- shape
    "numpy.reshape": e(lambda a, **kw: np.reshape(a, (3, 2), **kw), A, copy=[True, False]),
    "numpy.transpose": e(None, A, axes=[(1, 0)]),
    "numpy.squeeze": e(None, A[:1], axis=[0]),
    "numpy.ravel": e(None, A, order=["F", "A"]),
    "numpy.broadcast_to": e(lambda a, **kw: np.broadcast_to(a, (2, 2, 3), **kw), A),
    "numpy.broadcast_arrays": e(lambda a, **kw: np.broadcast_arrays(a, V3, **kw), A),
    "numpy.flip": e(None, A),
    "numpy.copy": e(None, A),
    "numpy.size": e(None, A),
    "numpy.roll": e(lambda a, **kw: np.roll(a, 1, **kw), A),
    "numpy.rot90": e(None, A, k=[2, 3], axes=[(1, 0)]),
    "numpy.rollaxis": e(lambda a, **kw: np.rollaxis(a, 1, **kw), A, start=[0, 2]),
    # -- joining
    "numpy.concatenate": e(lambda a, **kw: np.concatenate([a, 2 * a], **kw), A, casting=["unsafe", "no"]),
    "numpy.stack": e(lambda a, **kw: np.stack([a, 2 * a], **kw), A),
    "numpy.hstack": e(lambda a, **kw: np.hstack([a, 2 * a], **kw), A),
    "numpy.vstack": e(lambda a, **kw: np.vstack([a, 2 * a], **kw), A),
    "numpy.append": e(lambda a, **kw: np.append(a, 2 * a, **kw), A, axis=[0, 1]),
    "numpy.split": e(lambda a, **kw: np.split(a, 2, **kw), np.hstack([A, A[:, :1]])),
    "numpy.array_split": e(lambda a, **kw: np.array_split(a, 2, **kw), A),
    "numpy.unstack": e(None, A),
    "numpy.repeat": e(lambda a, **kw: np.repeat(a, 2, **kw), A),
    "numpy.pad": e(lambda a, **kw: np.pad(a, 1, **kw), A, mode=["reflect", "edge"],
                   constant_values=[2.0], reflect_type=["odd"], stat_length=[1], end_values=[1.0],
                   combos=[{"mode": "reflect", "reflect_type": "odd"}, {"mode": "mean", "stat_length": 1},
                           {"mode": "linear_ramp", "end_values": 1.0}]),
    "numpy.delete": e(lambda a, **kw: np.delete(a, 1, **kw), A),
    # -- cumulative
    "numpy.cumsum": e(None, A),
    "numpy.cumprod": e(None, A),
    "numpy.cumulative_sum": e(None, V, axis=[0, -1], include_initial=[True]),
    "numpy.cumulative_prod": e(None, V, axis=[0, -1], include_initial=[True]),
    "numpy.nancumsum": e(None, AN),
    "numpy.nancumprod": e(None, AN),
    "numpy.diff": e(None, A, n=[2], axis=[0], prepend=[0.5], append=[np.array([[1.0], [2.0]])]),
    "numpy.ediff1d": e(None, V, to_end=[2.0], to_begin=[np.array([1.0, 2.0])]),
    "numpy.trapezoid": e(None, V, x=[np.array([0.0, 0.5, 1.5, 2.0, 3.5])], dx=[0.5], axis=[0]),
    "numpy.gradient": e(None, SQ, axis=[1], edge_order=[2]),
    # -- elementwise
    "numpy.where": e(_where, A, x=[2.0], y=[3.0]),
    "numpy.clip": e(None, A, a_min=[-0.5], a_max=[0.5], min=[-0.5], max=[0.5]),
    "numpy.round": e(None, A, decimals=[1]),
    "numpy.real_if_close": e(lambda a, **kw: np.real_if_close(a * (1 + 1e-17j), **kw), V, tol=[1e-3, 1000.0]),
    "numpy.nan_to_num": e(None, np.array([0.3, np.nan, np.inf, -np.inf, -0.4]), nan=[2.0], posinf=[3.0],
                          neginf=[-3.0]),
    "numpy.select": e(lambda a, **kw: np.select([MASK], [a], **kw), A, default=[2.0]),
    "numpy.fix": e(None, A),
    "numpy.isposinf": e(None, A),
    "numpy.isneginf": e(None, A),
    "numpy.angle": e(None, A, deg=[True]),
    # -- creation
    "numpy.zeros_like": e(None, A, shape=[(3,)]),
    # empty_like's memory is uninitialised (NaN * 0.0 is NaN): fill it before use
    "numpy.empty_like": e(lambda a, **kw: _filled(np.empty_like(a, **kw)) + a, A, shape=[(3,)]),
    "numpy.ones_like": e(None, A, shape=[(3,)]),
    "numpy.full_like": e(lambda a, **kw: np.full_like(a, 2.5, **kw), A, shape=[(3,)]),
    "numpy.array": e(None, V, copy=[False, True], ndmin=[2], ndmax=[1]),
    "numpy.asarray": e(None, V, copy=[False, True]),
    "numpy.asanyarray": e(None, V, copy=[False, True]),
    "numpy.ascontiguousarray": e(None, V),
    # -- indexing
    "numpy.take": e(lambda a, **kw: np.take(a, [0, 2, 1], **kw), A, mode=["wrap", "clip"]),
    "numpy.take_along_axis": e(_take_along, A, axis=[0]),
    "numpy.lib.stride_tricks.sliding_window_view": e(
        lambda a, **kw: np.lib.stride_tricks.sliding_window_view(a, 2, **kw) * 1.0, A,
        axis=[0], subok=[True], writeable=[True]),
    "numpy.compress": e(lambda a, **kw: np.compress([True, False, True], a, **kw), A),
    # -- sorting and statistics
    "numpy.sort": e(None, A, axis=[0], kind=["stable"], order=["f0"], stable=[True]),
    "numpy.isclose": e(lambda x, **kw: np.isclose(x, x + 1e-3, **kw), A, deriv=False, rtol=[1e-2], atol=[1e-2],
                       equal_nan=[True]),
    "numpy.allclose": e(lambda x, **kw: np.allclose(x, x + 1e-3, **kw), A, deriv=False, rtol=[1e-2], atol=[1e-2],
                        equal_nan=[True]),
    "numpy.array_equal": e(lambda x, **kw: np.array_equal(x, x, **kw), A, deriv=False, equal_nan=[True]),
    "numpy.argsort": e(None, A, axis=[0], kind=["stable"], order=["f0"], stable=[True]),
    "numpy.partition": e(lambda a, **kw: np.partition(a, 1, **kw), A, axis=[0], order=["f0"],
                         kind=[SKIP("introselect is NumPy's only selection algorithm")]),
    "numpy.argpartition": e(lambda a, **kw: np.argpartition(a, 1, **kw), A, axis=[0], order=["f0"],
                            kind=[SKIP("introselect is NumPy's only selection algorithm")]),
    "numpy.searchsorted": e(lambda a, **kw: np.searchsorted(SORTED[::-1].copy() if "sorter" in kw else SORTED,
                                                            a, **kw), A, side=["right"],
                            sorter=[np.array([3, 2, 1, 0])]),
    "numpy.digitize": e(lambda a, **kw: np.digitize(a, SORTED, **kw), A, right=[True]),
    "numpy.quantile": e(lambda a, **kw: np.quantile(a, np.array([0.3, 0.55]), **kw), A,
                        method=["lower", "higher", "nearest", "midpoint", "hazen", "weibull", "median_unbiased",
                                "normal_unbiased", "interpolated_inverted_cdf", "inverted_cdf",
                                "averaged_inverted_cdf", "closest_observation"],
                        weights=[np.ones((2, 3))]),
    "numpy.percentile": e(lambda a, **kw: np.percentile(a, 40.0, **kw), A,
                          method=["nearest", "weibull"], weights=[np.ones((2, 3))]),
    "numpy.median": e(None, A),
    "numpy.cov": e(None, A, y=[B23], rowvar=[False], bias=[True], ddof=[2], fweights=[np.array([1, 2, 1])],
                   aweights=[np.array([0.5, 1.0, 2.0])]),
    "numpy.corrcoef": e(None, A, y=[B23], rowvar=[False]),
    # -- polynomials
    "numpy.polyder": e(None, V4, m=[2]),
    "numpy.polyint": e(None, V4, m=[2], k=[np.array([1.0, 2.0])]),
    "numpy.vander": e(None, V4, N=[3], increasing=[True]),
    "numpy.correlate": e(lambda a, **kw: np.correlate(a, V3, **kw), V, mode=["full", "same"]),
    "numpy.convolve": e(lambda a, **kw: np.convolve(a, V3, **kw), V, mode=["valid", "same"]),
    "numpy.interp": e(lambda a, **kw: np.interp(np.array([-1.0, 0.25, 0.7, 2.0]), SORTED, a, **kw), V4,
                      left=[-1.0], right=[2.0], period=[2.0]),
    # -- grids
    "numpy.linspace": e(lambda a, **kw: np.linspace(a, a + 1.0, **kw), U, num=[4], endpoint=[False],
                        retstep=[True], axis=[1]),
    "numpy.logspace": e(lambda a, **kw: np.logspace(a, a + 1.0, **kw), U, num=[4], endpoint=[False], base=[2.0],
                        axis=[1]),
    "numpy.geomspace": e(lambda a, **kw: np.geomspace(a, a + 1.0, **kw), U, num=[4], endpoint=[False], axis=[1]),
    "numpy.meshgrid": e(lambda a, **kw: np.meshgrid(a, V3, **kw), U, copy=[False], sparse=[True],
                        indexing=["ij"]),
    # -- linalg
    "numpy.linalg.cholesky": e(None, SPD, upper=[True]),
    "numpy.linalg.eigh": e(lambda a, **kw: np.linalg.eigh(a, **kw).eigenvalues, SPD, UPLO=["U"]),
    "numpy.linalg.eigvalsh": e(None, SPD, UPLO=["U"]),
    "numpy.linalg.svd": e(lambda a, **kw: np.linalg.svd(a, **kw)[0 if kw.get("compute_uv", True) is False else 1],
                          SQ, full_matrices=[False], compute_uv=[False], hermitian=[True]),
    "numpy.linalg.qr": e(None, SQ, mode=["r", "complete"]),
    "numpy.linalg.pinv": e(None, A, rcond=[1e-3], hermitian=[True], rtol=[1e-3]),
    "numpy.linalg.multi_dot": e(lambda a, **kw: np.linalg.multi_dot([a, B32, B23], **kw), A),
    "numpy.linalg.cond": e(None, SQ, p=["fro", 1]),
    "numpy.linalg.tensorinv": e(None, np.kron(SQ[:2, :2], np.eye(2)).reshape(4, 2, 2), ind=[1]),
    "numpy.linalg.tensorsolve": e(lambda a, **kw: np.linalg.tensorsolve(a, V3, **kw), SQ, axes=[(0,)]),
    "numpy.linalg.norm": e(None, A, ord=[1, "fro"], combos=[{"ord": 1, "axis": 1}, {"ord": np.inf, "axis": 0}]),
    "numpy.linalg.vector_norm": e(None, A, ord=[1, np.inf]),
    "numpy.linalg.matrix_norm": e(None, SQ, ord=["nuc", 1]),
    "numpy.linalg.tensordot": e(lambda a, **kw: np.linalg.tensordot(a, B23, **kw), A, axes=[1]),
    "numpy.linalg.vecdot": e(lambda a, **kw: np.linalg.vecdot(a, B23, **kw), A, axis=[0]),
    "numpy.linalg.trace": e(None, SQ, offset=[1]),
    "numpy.linalg.diagonal": e(None, SQ, offset=[1]),
    # -- fft (complex results as stacked real and imaginary parts; complex inputs made from x)
    **{f"numpy.fft.{k}": e(lambda a, _k=k, **kw: _ri(getattr(np.fft, _k)(a, **kw)), A, n=[2, 5], axis=[0],
                           norm=["ortho", "forward"], combos=[{"n": 4, "axis": 0, "norm": "forward"}])
       for k in ("fft", "ifft", "rfft", "ihfft")},
    **{f"numpy.fft.{k}": e(lambda a, _k=k, **kw: getattr(np.fft, _k)(a * CPLX, **kw), A, n=[3, 6], axis=[0],
                           norm=["ortho", "forward"], combos=[{"n": 5, "axis": 0, "norm": "ortho"}])
       for k in ("irfft", "hfft")},
    **{f"numpy.fft.{k}": e(lambda a, _k=k, **kw: _ri(getattr(np.fft, _k)(a, **kw)), A, s=[(3, 2), (1, 5)],
                           axes=[(0,), (1, 0)], norm=["ortho", "forward"],
                           combos=[{"s": (3, 2), "axes": (1, 0)}, {"axes": (1, 1)}, {"s": (4,), "axes": (0,)}])
       for k in ("fftn", "ifftn", "fft2", "ifft2", "rfftn", "rfft2")},
    **{f"numpy.fft.{k}": e(lambda a, _k=k, **kw: getattr(np.fft, _k)(a * CPLX, **kw), A, s=[(3, 2), (1, 5)],
                           axes=[(0,), (1, 0)], norm=["ortho", "forward"],
                           combos=[{"s": (3, 5), "axes": (1, 0)}, {"axes": (0, 0, 1)}])
       for k in ("irfftn", "irfft2")},
    "numpy.fft.fftshift": e(None, A, axes=[0, (1, 0)]),
    "numpy.fft.ifftshift": e(None, A, axes=[1, (0, 1)]),
}
for _alias, _name in (("amax", "max"), ("amin", "min"), ("around", "round"), ("row_stack", "vstack")):
    ENTRIES[f"numpy.{_alias}"] = ENTRIES[f"numpy.{_name}"]


def _method(name, call, x=None, **kw):
    """Return the entry of ndarray.name: the function's values, called as a method."""
    base = ENTRIES.get(f"numpy.{name}")
    values = dict(base.values) if base else {}
    values.update(kw)
    return E(call, base.x if x is None else x, values, list(base.combos) if base else [], True)


def _in_place(a, name, *args, **kw):
    b = a * 1.0
    getattr(b, name)(*args, **kw)
    return b


METHODS = {
    "sum": _method("sum", lambda a, **kw: a.sum(**kw)),
    "prod": _method("prod", lambda a, **kw: a.prod(**kw)),
    "max": _method("max", lambda a, **kw: a.max(**kw)),
    "min": _method("min", lambda a, **kw: a.min(**kw)),
    "mean": _method("mean", lambda a, **kw: a.mean(**kw)),
    "var": _method("var", lambda a, **kw: a.var(**kw)),
    "std": _method("std", lambda a, **kw: a.std(**kw)),
    "argmax": _method("argmax", lambda a, **kw: a.argmax(**kw)),
    "argmin": _method("argmin", lambda a, **kw: a.argmin(**kw)),
    "all": _method("all", lambda a, **kw: a.all(**kw)),
    "any": _method("any", lambda a, **kw: a.any(**kw)),
    "dot": _method("dot", lambda a, **kw: a.dot(B32, **kw)),
    "trace": _method("trace", lambda a, **kw: a.trace(**kw)),
    "diagonal": _method("diagonal", lambda a, **kw: a.diagonal(**kw)),
    "reshape": _method("reshape", lambda a, **kw: a.reshape((3, 2), **kw)),
    "squeeze": _method("squeeze", lambda a, **kw: a.squeeze(**kw)),
    "ravel": _method("ravel", lambda a, **kw: a.ravel(**kw)),
    "flatten": _method("ravel", lambda a, **kw: a.flatten(**kw)),
    "copy": _method("copy", lambda a, **kw: a.copy(**kw)),
    "astype": _method("astype", lambda a, **kw: a.astype(np.float32, **kw), A, order=["F", "A"],
                      casting=["same_kind"], subok=[False], copy=[False]),
    "repeat": _method("repeat", lambda a, **kw: a.repeat(2, **kw)),
    "cumsum": _method("cumsum", lambda a, **kw: a.cumsum(**kw)),
    "cumprod": _method("cumprod", lambda a, **kw: a.cumprod(**kw)),
    "clip": _method("clip", lambda a, **kw: a.clip(**kw)),
    "round": _method("round", lambda a, **kw: a.round(**kw)),
    "take": _method("take", lambda a, **kw: a.take([0, 2, 1], **kw)),
    "compress": _method("compress", lambda a, **kw: a.compress([True, False, True], **kw)),
    "sort": _method("sort", lambda a, **kw: _in_place(a, "sort", **kw)),
    "argsort": _method("argsort", lambda a, **kw: a.argsort(**kw)),
    "partition": _method("partition", lambda a, **kw: _in_place(a, "partition", 1, **kw)),
    "argpartition": _method("argpartition", lambda a, **kw: a.argpartition(1, **kw)),
    "searchsorted": _method("searchsorted", lambda a, **kw: a.searchsorted(A, **kw), SORTED,
                            sorter=[np.arange(4)]),
}
