"""Keyword arguments of lowerings: every optional parameter a call sets is either
honoured exactly (values, shape and dtype as NumPy; derivatives as central finite
differences) or refused by name. Parameters passed at their NumPy default work.
"""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import npdiff
from npdiff import UnsupportedOperationError
from npdiff.tracing import tracer as trace
from util import assert_close, fd_jac, flat

A23 = np.array([[0.3, -1.2, 0.8], [1.1, 0.4, -0.6]])
V5 = np.array([0.9, -1.4, 0.3, 2.1, -0.2])


def check(f, *args, deriv=True):
    """numpify(f) matches f in value, shape and dtype; jacrev/jacfwd match finite differences."""
    expect = np.asarray(f(*args))
    got = np.asarray(npdiff.numpify(f, *args)(*args))
    assert got.shape == expect.shape and got.dtype == expect.dtype, (got.shape, got.dtype, expect.shape, expect.dtype)
    assert_close(got, expect, what="value")
    if deriv:
        fd = fd_jac(f, args, 0)
        for op in (npdiff.jacrev, npdiff.jacfwd):
            assert_close(flat(op(f)(*args)).reshape(fd.shape), fd, what=op.__name__)


def refused(f, *args, name):
    with pytest.raises(UnsupportedOperationError) as e:
        npdiff.numpify(f, *args)
    assert f"{name}=" in str(e.value)
    return str(e.value)


# -- honoured -------------------------------------------------------------------------------------

@pytest.mark.parametrize("f", [
    lambda x: np.ravel(x, order="F") * np.arange(6.0),
    lambda x: x.flatten("F") ** 2,
    lambda x: x.ravel(order="F") ** 2,
    lambda x: np.reshape(x, (3, 2), order="F") ** 3,
    lambda x: x.reshape((3, 2), order="F") * x.T,
    lambda x: np.reshape(x, (6,), order="C") ** 2,
], ids=["ravel_F", "flatten_F_positional", "method_ravel_F", "reshape_F", "method_reshape_F", "reshape_C"])
def test_order_F_is_honoured(f):
    check(f, A23)


@pytest.mark.parametrize("f", [
    lambda x: np.argmax(x, axis=1, keepdims=True),
    lambda x: np.argmin(x, axis=0, keepdims=True),
    lambda x: np.argmax(x, keepdims=True),
    lambda x: x.argmax(axis=-1, keepdims=True),
    lambda x: np.nanargmin(x, axis=1, keepdims=True),
])
def test_argmax_keepdims(f):
    check(f, A23, deriv=False)


def test_argmax_keepdims_feeds_take_along_axis():
    def f(x):
        return np.take_along_axis(x, np.argmax(x, axis=1, keepdims=True), axis=1) ** 2
    check(f, A23)


@pytest.mark.parametrize("mode", ["wrap", "clip"])
@pytest.mark.parametrize("f", [
    lambda x, mode: np.take(x, [0, 7, -1, -8, 3], mode=mode) ** 2,
    lambda x, mode: np.take(x, np.array([[4, -4], [9, 1]]), axis=1, mode=mode) * 3.0,
    lambda x, mode: x.take([11, -13], mode=mode),
    lambda x, mode: np.take(x, 17, mode=mode),
])
def test_take_mode(f, mode):
    check(lambda x: f(x, mode), A23)


def test_take_mode_with_traced_indices():
    def f(x):
        i = np.argsort(x)  # traced integer indices, shifted out of range
        return np.take(x, i + 3, mode="wrap") + np.take(x, i - 2, mode="clip")
    check(f, V5)


@pytest.mark.parametrize("f", [
    lambda x: np.sum(x, axis=1, keepdims=False, out=None, where=True),
    lambda x: np.prod(x, axis=0, dtype=None, out=None, keepdims=False, where=True),
    lambda x: np.add(x, 1.0, where=True, casting="same_kind", order="K") * x,
    lambda x: np.positive(x, where=True) * x,
    lambda x: np.var(x, axis=0, out=None, where=True) + np.std(x, mean=None),
    lambda x: np.mean(x, 1, None, None, False) * 2.0,
    lambda x: np.take(x, [1, 0], axis=1, out=None, mode="raise") ** 2,
    lambda x: np.concatenate([x, x], axis=0, out=None, dtype=None),
    lambda x: np.cumsum(x, axis=1, dtype=None, out=None) ** 2,
    lambda x: x.sum(axis=0, keepdims=True) * x,
    lambda x: np.add.reduce(x, 1, None, None, True) * x,
    lambda x: np.argsort(x, axis=1, kind="stable") * 1.0 + x,
], ids=["sum", "prod", "add", "positive", "var_std", "mean_positional", "take", "concatenate", "cumsum",
        "method_sum", "add_reduce", "argsort_stable"])
def test_defaults_are_accepted(f):
    check(f, A23)


# -- refused by name ------------------------------------------------------------------------------

MASK = A23 > 0


@pytest.mark.parametrize("f, name", [
    (lambda x: np.var(x, mean=np.mean(x, keepdims=True)), "mean"),
    (lambda x: np.sum(x, where=x > 0), "where"),  # a traced mask
    (lambda x: np.add(x, 1.0, where=MASK), "where"),
    (lambda x: np.exp(x, signature=(np.float64, np.float64)), "signature"),
    (lambda x: np.dot(x, x.T, out=np.empty((2, 2))), "out"),
    (lambda x: np.linalg.svd(x @ x.T, hermitian=True), "hermitian"),
    (lambda x: np.quantile(x, 0.3, method="inverted_cdf", weights=np.ones((2, 3))), "weights"),
    (lambda x: np.pad(x, 1, mode="reflect", reflect_type="odd"), "reflect_type"),
    (lambda x: np.array(x, like=np.empty(0)), "like"),
], ids=["var_mean", "sum_traced_where", "ufunc_where", "ufunc_signature",
        "dot_out", "svd_hermitian", "quantile_weights", "pad_reflect_type", "array_like"])
def test_unhonoured_keywords_are_refused_by_name(f, name):
    msg = refused(f, A23, name=name)
    assert "npdiff does not support" in msg


def test_refusal_names_the_function():
    msg = refused(lambda x: np.var(x, mean=np.mean(x, keepdims=True)), A23, name="mean")
    assert "numpy.var" in msg
    msg = refused(lambda x: x.var(mean=np.mean(x, keepdims=True)), A23, name="mean")
    assert "ndarray.var" in msg


# -- honoured since issue 10 part 2 ---------------------------------------------------------------

A32 = A23.astype(np.float32)


@pytest.mark.parametrize("f", [
    lambda x: np.prod(x, axis=1, initial=2.0),
    lambda x: np.prod(x, where=MASK),
    lambda x: np.var(x, where=MASK, axis=0),
    lambda x: np.std(x, where=MASK, ddof=1, axis=1, keepdims=True),
    lambda x: np.mean(x, where=MASK),
    lambda x: np.sum(x, where=MASK, initial=1.5, axis=0),
    lambda x: np.max(x, initial=0.5),
    lambda x: np.max(x, where=MASK, initial=-9.0, axis=1),
    lambda x: np.min(x, where=MASK, initial=9.0, axis=0, keepdims=True),
    lambda x: x.prod(initial=3.0),
    lambda x: np.prod(x, 1, None, None, False, 2.0),
    lambda x: np.add.reduce(x, initial=1.0),
    lambda x: np.nansum(np.where(MASK, x, np.nan), initial=0.5, where=~np.eye(2, 3, dtype=bool)),
    lambda x: np.nanmean(np.where(MASK, x, np.nan), where=~np.eye(2, 3, dtype=bool), axis=1),
    lambda x: np.nanvar(np.where(MASK, x, np.nan), axis=0, ddof=0),
    lambda x: np.nanmax(x, where=MASK, initial=-3.0, axis=1),
    lambda x: np.all(x > 0, where=MASK, axis=0) * 1.0 + x,
    lambda x: np.std(x, dtype=np.float32),
    lambda x: np.nanmean(x, dtype=np.float32),
], ids=["prod_initial", "prod_where", "var_where", "std_where_ddof", "mean_where", "sum_where_initial",
        "max_initial", "max_where", "min_where_keepdims", "method_prod_initial", "prod_initial_positional",
        "add_reduce_initial", "nansum_where", "nanmean_where", "nanvar", "nanmax_where", "all_where",
        "std_dtype", "nanmean_dtype"])
def test_reduction_initial_where_dtype(f):
    check(f, A23, deriv=np.issubdtype(np.asarray(f(A23)).dtype, np.float64))


def test_reduction_dtype_accumulation_both_ways():
    check(lambda x: np.sum(x, dtype=np.float64) * 2.0, A32, deriv=False)
    got = npdiff.numpify(lambda x: np.sum(x, dtype=np.float64), A32)(A32)
    assert got.dtype == np.float64
    got = npdiff.numpify(lambda x: np.sum(x, dtype=np.float32), A23)(A23)
    assert got.dtype == np.float32 and abs(got - np.sum(A23, dtype=np.float32)) < 1e-6
    check(lambda x: np.mean(x.astype(np.float32), dtype=np.float64), A23, deriv=False)
    J = npdiff.jacrev(lambda x: np.sum(x, dtype=np.float64))(A32)
    assert_close(J, np.ones((2, 3)), what="jacrev of a float32 sum accumulated in float64")


def test_where_mask_must_be_constant():
    with pytest.raises(UnsupportedOperationError, match="where="):
        npdiff.numpify(lambda x: np.mean(x, where=x > 0), A23)


def test_where_without_initial_raises_like_numpy():
    with pytest.raises(ValueError, match="initial"):
        np.max(A23, where=MASK)
    with pytest.raises(ValueError, match="initial"):
        npdiff.numpify(lambda x: np.max(x, where=MASK), A23)


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "nearest", "midpoint", "hazen", "weibull",
                                    "median_unbiased", "normal_unbiased", "interpolated_inverted_cdf",
                                    "inverted_cdf", "averaged_inverted_cdf", "closest_observation"])
def test_quantile_methods(method):
    q = np.array([0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0])
    check(lambda x: np.quantile(x, q, method=method), V5)
    check(lambda x: np.percentile(x, 40.0, axis=1, method=method, keepdims=True), A23)


@pytest.mark.parametrize("f", [
    lambda x: np.einsum(x, [0, 1], x.T, [1, 2], [0, 2]),
    lambda x: np.einsum(x, [0, 1], x, [0, 1]),
    lambda x: np.einsum(x, [Ellipsis, 1], np.arange(3.0), [1], [Ellipsis]),
    lambda x: np.einsum(x, [1, 0]),
    lambda x: np.einsum("ij,kj->ik", x, x, dtype=np.float32, casting="same_kind"),
], ids=["matmul", "full_contraction", "ellipsis", "transpose", "dtype"])
def test_einsum_sublist_form_and_dtype(f):
    check(f, A23, deriv="dtype" not in str(f.__code__.co_consts))


@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.maximum, np.minimum, np.logaddexp, np.subtract,
                                   np.hypot, np.logaddexp2, np.divide])
@pytest.mark.parametrize("axis", [0, 1, None])
def test_ufunc_reduce(ufunc, axis):
    if axis is None and ufunc in (np.subtract, np.divide):  # not reorderable: NumPy's own error
        with pytest.raises(ValueError, match="reorderable"):
            npdiff.numpify(lambda x: ufunc.reduce(x, axis=axis), A23)
        return
    check(lambda x: ufunc.reduce(x, axis=axis), A23 + 2.0)
    check(lambda x: ufunc.reduce(x, axis=axis, keepdims=True), A23 + 2.0)


@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.maximum, np.minimum, np.logaddexp, np.subtract])
@pytest.mark.parametrize("axis", [0, 1])
def test_ufunc_accumulate(ufunc, axis):
    check(lambda x: ufunc.accumulate(x, axis=axis), A23 + 2.0)


def test_ufunc_reduce_where_initial():
    check(lambda x: np.logaddexp.reduce(x, axis=1, where=MASK, initial=-1.0), A23)
    check(lambda x: np.subtract.reduce(x, axis=0, initial=0.25), A23)


@pytest.mark.parametrize("f", [
    lambda x: np.zeros_like(x, dtype=np.float32, order="F") + x,
    lambda x: np.ones_like(x, shape=(3,)) * x[0],
    lambda x: np.full_like(x, 2.5, dtype=np.float32) * x,
    lambda x: np.full_like(x, 2.5, shape=(2, 1), subok=False) * x,
    lambda x: np.array(x, ndmin=3) * 2.0,
    lambda x: np.array(x, dtype=np.float32, copy=True, order="F") * 2.0,
    lambda x: np.asarray(x, order="C", copy=None) ** 2,
    lambda x: np.ascontiguousarray(x[0, 0]) * x,
], ids=["zeros_like", "ones_like_shape", "full_like_dtype", "full_like_shape", "array_ndmin", "array_dtype",
        "asarray", "ascontiguousarray_0d"])
def test_creation_keywords(f):
    check(f, A23, deriv=np.asarray(f(A23)).dtype == np.float64)


@pytest.mark.parametrize("f", [
    lambda x: np.hstack([x, x], dtype=np.float32),
    lambda x: np.vstack([x, 2 * x], dtype=np.float32, casting="same_kind"),
    lambda x: np.concatenate([x, x], axis=None, dtype=np.float32),
    lambda x: np.stack([x, np.ones((2, 3), np.float32)], casting="safe"),
], ids=["hstack", "vstack", "concatenate", "stack_promotes"])
def test_joining_dtype(f):
    check(f, A23, deriv=np.asarray(f(A23)).dtype == np.float64)


@pytest.mark.parametrize("f", [
    lambda x: np.exp(x, casting="unsafe", dtype=np.float32),
    lambda x: np.add(x, 1.5, dtype=np.float32, casting="same_kind"),
    lambda x: np.multiply(x, x, casting="no") * 2.0,
    lambda x: np.sin(x, dtype=np.complex128),
    lambda x: np.less(x, 0.5, dtype=bool) * x,
], ids=["exp_unsafe_float32", "add_float32", "multiply_no", "sin_complex", "less_bool"])
def test_ufunc_dtype_and_casting(f):
    check(f, A23, deriv=np.asarray(f(A23)).dtype == np.float64)


def test_ufunc_dtype_and_casting_raise_like_numpy():
    with pytest.raises(TypeError):
        np.add(A23, 1.5, dtype=np.float32, casting="safe")
    with pytest.raises(TypeError):
        npdiff.numpify(lambda x: np.add(x, 1.5, dtype=np.float32, casting="safe"), A23)
    with pytest.raises(TypeError):
        npdiff.numpify(lambda x: np.less(x, 0.5, dtype=np.float32), A23)


def test_trace_dtype():
    check(lambda x: np.trace(x, dtype=np.float32), A23, deriv=False)
    check(lambda x: x.trace(offset=1, dtype=np.float64) * 2.0, A23)
    assert npdiff.numpify(lambda x: np.trace(x, dtype=np.float32), A23)(A23).dtype == np.float32


def test_joining_casting_is_checked():
    with pytest.raises(TypeError, match="Cannot cast"):
        np.concatenate([A23, A23], dtype=np.float32, casting="safe")
    with pytest.raises(TypeError, match="Cannot cast"):
        npdiff.numpify(lambda x: np.concatenate([x, x], dtype=np.float32, casting="safe"), A23)



@pytest.mark.parametrize("order", ["A", "K"])
def test_layout_dependent_order_is_refused(order):
    with pytest.raises(UnsupportedOperationError, match="order"):
        npdiff.numpify(lambda x: np.ravel(x, order=order), A23)


# -- the declarations themselves ------------------------------------------------------------------

def _lowerings():
    seen = {}
    for table in (trace.FUNCTIONS, trace.METHODS, trace.UFUNCS):
        for key, fn in table.items():
            seen.setdefault(id(fn), (key, fn))
    return list(seen.values())


def _optional(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    return [p for p in params if p.default is not p.empty or p.kind is p.VAR_KEYWORD]


def test_every_lowering_with_optional_parameters_declares_what_it_honours():
    missing = [key for key, fn in _lowerings()
               if _optional(fn) and not hasattr(fn, "npdiff_honours") and not getattr(fn, "npdiff_refuses", False)
               ]
    assert not missing, missing


def test_declared_parameters_exist_in_the_lowering_signature():
    for key, fn in _lowerings():
        honours = getattr(fn, "npdiff_honours", ())
        params = inspect.signature(fn).parameters
        if any(p.kind is p.VAR_KEYWORD for p in params.values()):
            continue
        assert set(honours) <= set(params), (key, set(honours) - set(params))


def test_unhonoured_parameters_default_like_numpy():
    """A parameter a lowering does not honour is checked against the lowering's default: it must be NumPy's."""
    novalue = getattr(np, "_NoValue", None)
    bad = []
    for func, fn in trace.FUNCTIONS.items():
        if not hasattr(fn, "npdiff_honours") or getattr(fn, "npdiff_refuses", False):
            continue
        try:
            theirs = inspect.signature(func).parameters
        except (TypeError, ValueError):
            continue
        ours = inspect.signature(fn).parameters
        for name, p in ours.items():
            if name in fn.npdiff_honours or p.default is p.empty or name not in theirs:
                continue
            d = theirs[name].default
            if d is novalue or d is inspect.Parameter.empty:  # "not given": the lowering states the meaning
                continue
            if not (p.default is d or p.default == d):
                bad.append((func.__name__, name, p.default, d))
    assert not bad, bad


def test_refused_parameters_come_from_the_declarations():
    from npdiff.supported import refused_parameters
    r = refused_parameters()
    assert r["numpy.var"] == ["out", "mean"]
    assert r["numpy.sum"] == ["out"]
    assert "where" in r["numpy.add"] and "dtype" not in r["numpy.add"]
    assert r["numpy.linalg.svd"] == ["hermitian"]


def test_refused_parameters_doc_is_current():
    import importlib.util
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("supported_doc", root / "scripts" / "supported_doc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    text = (root / "docs" / "supported.md").read_text()
    assert "\n".join(mod.refused_section()) in text, "regenerate it: python scripts/supported_doc.py"
