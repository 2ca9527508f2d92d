"""Everyday NumPy beyond the core (the family modules of lower/): values against NumPy,
derivatives (forward and reverse, first and second order) against central
finite differences. Inputs avoid ties (sort, median) and kinks.
"""
from __future__ import annotations

import numpy as np
import pytest

import npdiff
from npdiff.primitives import special as special_prims
from util import assert_close, check_derivatives

V4 = np.array([0.9, -1.4, 0.3, 2.1])
V3 = np.array([0.5, -0.7, 1.3])
A23 = np.array([[0.3, -1.2, 0.8], [1.1, 0.4, -0.6]])
A34 = np.array([[0.3, -1.2, 0.8, 0.1], [1.1, 0.4, -0.6, 2.0], [-0.5, 0.7, 1.6, -0.9]])
B234 = np.arange(24.0).reshape(2, 3, 4) ** 1.3 / 7.0 - 1.1
XP = np.array([0.0, 1.0, 2.5, 3.0])
FP = np.array([1.0, 3.0, 2.0, 5.0])


def check(f, args, order=2, rtol=1e-5, atol=1e-6):
    """numpify(f) reproduces f, and its derivatives match finite differences."""
    args = [np.asarray(a) for a in args]
    expect = f(*args)
    got = npdiff.numpify(f, *[npdiff.ShapeDtype(a.shape, a.dtype) for a in args])(*args)
    exp_l = list(expect) if isinstance(expect, (tuple, list)) else [expect]
    got_l = list(got) if isinstance(got, (tuple, list)) else [got]
    assert len(exp_l) == len(got_l)
    for e, g in zip(exp_l, got_l):
        assert np.all(np.isfinite(e)), "choose inputs where f is finite"
        assert np.shape(g) == np.shape(e), f"shape {np.shape(g)} != {np.shape(e)}"
        assert_close(g, e, 1e-10, 1e-12, "value")
    check_derivatives(f, args, order=order, rtol=rtol, atol=atol)


CASES = {
    # cumulative products and differences
    "cumprod": (lambda x: np.cumprod(x, axis=1) + np.cumprod(x).reshape(2, 3), [A23]),
    "cumprod-zeros": (lambda x: np.cumprod(x), [np.array([0.5, 0.0, 2.0, -1.5, 0.0, 3.0])]),
    "cumprod-method": (lambda x: (x ** 2).cumprod(axis=0), [B234]),
    "cumulative_prod": (lambda x: np.cumulative_prod(x, include_initial=True)
                        + np.cumulative_sum(x, include_initial=True), [V4]),
    "diff": (lambda x: np.diff(x ** 2, n=2) * 3.0, [V4]),
    "diff-axis-prepend": (lambda x: np.diff(x, axis=0, prepend=1.5, append=x[:1] ** 2), [A34]),
    "ediff1d": (lambda x: np.ediff1d(x ** 3, to_begin=x[0], to_end=[1.0, 2.0]), [A23]),
    # tiling, padding, rotating
    "kron": (lambda x, y: np.kron(x, y), [A23, V3[:2]]),
    "kron-2d": (lambda x: np.kron(x, x.T), [A23]),
    "roll": (lambda x: np.roll(x, 1, axis=1) * x + np.roll(x, -4), [A23]),
    "roll-multi": (lambda x: np.roll(x, (1, 2), axis=(0, 2)) * B234, [B234]),
    "tile": (lambda x: np.tile(x, (2, 1, 2)) ** 2, [A23]),
    "tile-1d": (lambda x: np.tile(x, 3) * np.arange(9.0), [V3]),
    "repeat": (lambda x: np.repeat(x, [1, 2, 3], axis=1) ** 2, [A23]),
    "repeat-flat": (lambda x: np.repeat(x, 2) * np.arange(12.0) + x.repeat(2, axis=0).sum(), [A23]),
    "pad-constant": (lambda x: np.pad(x, ((1, 0), (2, 1)), constant_values=3.0) ** 2, [A23]),
    "pad-traced-value": (lambda x: np.pad(x, 1, constant_values=x[0, 0]) * 2.0, [A23]),
    "pad-edge": (lambda x: np.pad(x, (1, 2), mode="edge") ** 2, [A23]),
    "pad-reflect": (lambda x: np.pad(x ** 2, 2, mode="reflect") * 1.5, [A23]),
    "pad-symmetric-wrap": (lambda x: np.pad(x, 1, mode="symmetric") + np.pad(x, 1, mode="wrap") ** 2, [V3]),
    "rot90": (lambda x: [np.rot90(x, k) ** 2 for k in range(4)], [A23]),
    "rot90-axes": (lambda x: np.rot90(x, 1, axes=(2, 0)) * 2.0, [B234]),
    "flips": (lambda x: np.fliplr(x) * np.flipud(x) + np.flip(x), [A23]),
    "atleast_3d": (lambda x: [np.atleast_3d(x[0, 0]), np.atleast_3d(x[0]) ** 2, np.atleast_3d(x) * 2.0], [A23]),
    "column_stack": (lambda x: np.column_stack([x, x ** 2, np.ones(3)]), [V3]),
    "dstack": (lambda x: np.dstack([x, x ** 2]), [A23]),
    "block": (lambda x: np.block([[x, x ** 2], [np.ones((1, 3)), x[:1] * 2]]), [A23]),
    "block-1d": (lambda x: np.block([x, 2.0 * x, x[0]]), [V3]),
    "append-delete": (lambda x: np.append(x, x[0] ** 2) * np.delete(np.append(x, x ** 2, axis=0), [1, 2], axis=0)
                      .sum(), [A23]),
    # sorting and order statistics
    "sort": (lambda x: np.sort(x) * np.arange(1.0, 5.0), [V4]),
    "sort-axis0": (lambda x: np.sort(x ** 3, axis=0) * A34, [A34]),
    "sort-flat": (lambda x: np.sort(x, axis=None) * np.arange(12.0), [A34]),
    "argsort-take_along_axis": (lambda x: np.take_along_axis(x, np.argsort(x, axis=1), axis=1) ** 2, [A34]),
    "take_along_axis-const": (lambda x: np.take_along_axis(x, np.array([[0, -1], [2, 2]]), 1) * 2.0, [A23]),
    "partition": (lambda x: np.partition(x, 2)[2] + np.sum(x[np.argpartition(x, 1)[:2]] ** 2), [V4]),
    "median": (lambda x: np.median(x), [V4]),
    "median-odd-axis": (lambda x: np.median(x, axis=0, keepdims=True) * x, [A34]),
    "median-axes": (lambda x: np.median(x, axis=(0, 2)), [B234]),
    "quantile": (lambda x: np.quantile(x, [0.1, 0.5, 0.77], axis=0), [A34]),
    "quantile-scalar-keepdims": (lambda x: np.quantile(x, 0.3, axis=1, keepdims=True), [A34]),
    "percentile": (lambda x: np.percentile(x, np.array([[12.0, 50.0], [90.0, 100.0]])), [A34]),
    "quantile-methods": (lambda x: [np.quantile(x, 0.37, method=m) for m in ("lower", "higher", "midpoint")]
                         + [np.quantile(x, 2 / 3, method="midpoint")], [V4]),
    "quantile-traced-q": (lambda x, q: np.quantile(x, q), [V4, np.array([0.2, 0.61])]),
    # weighted and NaN-aware reductions
    "average": (lambda x, w: np.average(x, axis=1, weights=w), [A23, np.array([0.5, 1.0, 2.0])]),
    "average-returned": (lambda x: np.average(x, axis=0, weights=x ** 2, returned=True), [A23]),
    "average-plain": (lambda x: np.average(x, axis=(0, 1), keepdims=True), [B234]),
    "nan-reductions": (lambda x: [f(np.where(x > 1.5, np.nan, x), axis=0) for f in
                                  (np.nansum, np.nanmean, np.nanprod, np.nanmax, np.nanmin, np.nanvar, np.nanstd)]
                       + [np.nansum(np.where(x > 1.5, np.nan, x)), np.nancumsum(x), np.nancumprod(x)], [A34]),
    "nan_to_num": (lambda x: np.nan_to_num(np.log(x) + np.array([0.0, np.inf, -np.inf]), posinf=7.0,
                                           neginf=-3.0) * x
                   + np.nan_to_num(np.where(x > 1.5, np.nan, x ** 2), nan=0.5), [np.array([0.5, 1.3, 2.0])]),
    "ptp-count_nonzero": (lambda x: np.ptp(x, axis=1) * np.count_nonzero(x > 0), [A34]),
    "select": (lambda x: np.select([x < -0.55, x > 0.55], [x ** 2, np.sin(x)], default=x * 3.0), [A34]),
    "cov-corrcoef": (lambda x, y: [np.cov(x), np.cov(x, rowvar=False, bias=True), np.cov(x[0], y),
                                   np.corrcoef(x), np.corrcoef(x[0], y)], [A34, V4 ** 2]),
    # grids, interpolation, polynomials
    "meshgrid": (lambda x, y: list(np.meshgrid(x, y)) + list(np.meshgrid(x, y ** 2, x, indexing="ij")), [V3, V4]),
    "meshgrid-sparse": (lambda x, y: np.meshgrid(x, y, sparse=True), [V3, V4]),
    "linspace": (lambda a, b: np.linspace(a, b, 5), [np.array(0.3), np.array(2.5)]),
    "linspace-arrays": (lambda a, b: np.linspace(a, b, 4, endpoint=False, axis=1, retstep=True), [V3, V3 ** 2]),
    "logspace": (lambda a: np.logspace(a, 1.0, 4, base=2.0), [np.array(0.3)]),
    "interp-x": (lambda x: np.interp(x, XP, FP), [np.array([-0.5, 0.4, 1.7, 2.7, 3.5])]),
    "interp-fp": (lambda f: np.interp(np.array([-0.5, 0.5, 1.2, 2.9, 4.0]), XP, f, left=-1.0, right=f[0]), [FP]),
    "interp-all": (lambda x, xp, fp: np.interp(x, xp, fp), [np.array([0.4, 1.7, 2.7]), XP, FP]),
    "polyval": (lambda p, x: np.polyval(p, x), [np.array([1.0, -2.0, 0.5, 0.3]), A23]),
    "polyval-const": (lambda x: np.polyval([3.0, 0.0, -1.0], x), [V3]),
    "sinc": (lambda x: np.sinc(x), [np.array([0.0, 0.01, 0.5, -1.3])]),
    "cross": (lambda a, b: np.cross(a, b), [A23, V3]),
    "cross-2d": (lambda a, b: np.cross(a[:, :2], b[:2]) + np.cross(a, b, axisc=0).sum(), [A23, V3]),
    "trapezoid": (lambda y: np.trapezoid(y ** 2, x=np.array([0.0, 1.0, 3.0])) + np.trapezoid(y, dx=0.5, axis=0).sum(),
                  [A23]),
    # convolution
    "convolve": (lambda a, v: [np.convolve(a, v, mode=m) for m in ("full", "same", "valid")],
                 [np.array([0.3, -1.2, 0.8, 1.1, 0.4]), V3]),
    "convolve-short-a": (lambda a, v: [np.convolve(a, v, mode=m) for m in ("full", "same", "valid")],
                         [V3[:2], V4]),
    "correlate": (lambda a, v: [np.correlate(a, v, mode=m) for m in ("full", "same", "valid")], [V4, V3]),
    "correlate-short-a": (lambda a, v: [np.correlate(a, v, mode=m) for m in ("full", "same", "valid")],
                          [V3[:2], V4]),
    # gradient, geometric grids, polynomials
    "gradient": (lambda f: np.gradient(f ** 2), [V4]),
    "gradient-2d-spacing": (lambda f: list(np.gradient(f, 0.5, np.array([0.0, 0.4, 1.5, 2.0]), edge_order=2)), [A34]),
    "gradient-axis": (lambda f: np.gradient(f * 3.0, np.array([0.0, 1.0, 2.5]), axis=0), [A34]),
    "geomspace": (lambda a, b: np.geomspace(a, b, 5), [np.array(0.3), np.array(2.5)]),
    "geomspace-negative": (lambda a: np.geomspace(-a, -4.0, 4, endpoint=False), [np.array(0.7)]),
    "polyder-polyint": (lambda p: [np.polyder(p), np.polyder(p, 2), np.polyint(p), np.polyint(p, 2, k=[1.0, 2.0])],
                        [np.array([1.0, -2.0, 0.5, 0.3])]),
    "polyadd-sub-mul": (lambda a, b: [np.polyadd(a, b), np.polysub(b, a), np.polymul(a, b)], [V3[:2], V4]),
    "vander": (lambda x: [np.vander(x), np.vander(x, 4, increasing=True)], [np.array([0.0, 0.5, -1.2])]),
    # NumPy 2 functions, aliases, zero-derivative predicates
    "vecdot-matvec": (lambda a, v: [np.vecdot(a, v), np.matvec(a, v), np.vecmat(v, a), np.matrix_transpose(a)],
                      [A34[:, :3], V3]),
    "unstack-rollaxis": (lambda x: [u * 2.0 for u in np.unstack(x, axis=1)] + [np.rollaxis(x, 2), np.rollaxis(x, 0, 2)],
                         [B234]),
    "splits": (lambda x: np.hsplit(x, 2) + np.vsplit(x, [1]) + np.dsplit(x[None], 2), [A34]),
    "diagflat": (lambda x: np.diagflat(x, 1) * 2.0, [A23]),
    "compress-extract": (lambda x: [np.compress([True, False, True], x, axis=1), x.compress([False, True]),
                                    np.extract(A34 > 0, x)], [A34]),
    "ldexp-fabs-divmod": (lambda x: np.ldexp(x, np.array([1, -2, 3, 0])) + np.fabs(x) + np.divmod(x, 0.65)[1]
                          + np.fix(x) + np.angle(x), [V4]),
    "i0": (lambda x: np.i0(x), [V4]),
    "linalg.cross": (lambda a, b: np.linalg.cross(a, b), [A23, V3]),
}


@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors")
@pytest.mark.parametrize("name", list(CASES))
def test_more_numpy(name):
    f, args = CASES[name]
    check(f, args)


def test_float32():
    x = A34.astype(np.float32)
    for f in (lambda x: np.sort(x, axis=1) * x, lambda x: np.cumprod(x, axis=0), lambda x: np.median(x, axis=1),
              lambda x: np.quantile(x, [0.25, 0.5]), lambda x: np.pad(x, 1) ** 2):
        out = npdiff.numpify(f, npdiff.ShapeDtype(x.shape, np.float32))(x)
        assert out.dtype == np.float32
        J = npdiff.jacrev(f)(x)
        assert J.dtype == np.float32
        assert_close(J, npdiff.jacfwd(f)(A34), 1e-4, 1e-5, "float32 jacobian")


def test_cumprod_large_arrays_zero_safe(monkeypatch):
    """Past the size limit cumprod's derivative is O(n) and still exact at a zero (first order)."""
    monkeypatch.setattr(special_prims, "CUMPROD_EXACT_LIMIT", 0)
    x = np.array([0.5, 0.0, 2.0, -1.5, 0.0, 3.0, 1.2])
    f = lambda x: np.cumprod(x)
    check_derivatives(f, [x], order=1)
    x = np.array([[0.5, 1.3, 2.0], [-1.5, 0.7, 3.0]])
    check_derivatives(lambda x: np.cumprod(x, axis=1), [x], order=2)


def test_sort_method_in_place_and_argsort_dtype():
    def f(x):
        y = x * 2.0
        y.sort()
        return y * np.arange(1.0, 5.0)
    check(f, [V4])
    idx = npdiff.numpify(lambda x: np.argsort(x), (4,))(V4)
    assert idx.dtype == np.intp and list(idx) == list(np.argsort(V4))
    g = npdiff.grad(lambda x: np.sum(np.sort(x) * np.arange(4.0)))(V4)
    assert_close(g, np.arange(4.0)[np.argsort(np.argsort(V4))], 0, 0)


@pytest.mark.parametrize("n", range(1, 6))
@pytest.mark.parametrize("m", range(1, 6))
def test_convolve_correlate_values(n, m):
    rng = np.random.default_rng(n * 10 + m)
    a, v = rng.normal(size=n), rng.normal(size=m)
    for fn in (np.convolve, np.correlate):
        for mode in ("full", "same", "valid"):
            g = npdiff.numpify(lambda a, v: fn(a, v, mode=mode), (n,), (m,))
            assert_close(g(a, v), fn(a, v, mode=mode), 1e-12, 1e-12, f"{fn.__name__} {mode}")


def test_median_quantile_propagate_nan():
    x = np.array([[0.3, np.nan, 1.2, -0.4], [0.5, 0.1, 0.9, 2.0]])
    f = lambda x: [np.median(x, axis=1), np.quantile(x, [0.2, 0.9], axis=1), np.percentile(x, 30.0)]
    for got, exp in zip(npdiff.numpify(f, (2, 4))(x), f(x)):
        np.testing.assert_allclose(got, exp, rtol=1e-12)


def test_digitize_searchsorted():
    bins = np.array([0.0, 1.0, 2.5])
    x = np.array([-0.3, 0.5, 1.0, 2.7])
    f = lambda x: [np.searchsorted(bins, x), np.searchsorted(bins, x, side="right"), np.digitize(x, bins),
                   np.digitize(x, bins, right=True), np.digitize(x, bins[::-1])]
    for got, exp in zip(npdiff.numpify(f, (4,))(x), f(x)):
        assert np.array_equal(got, exp)


def test_unsupported_arguments_are_named():
    with pytest.raises(npdiff.UnsupportedOperationError, match=r"numpy\.pad"):
        npdiff.grad(lambda x: np.sum(np.pad(x, 1, mode="linear_ramp")))(V3)
    with pytest.raises(npdiff.UnsupportedOperationError, match="method="):  # nearest is honoured since issue 10
        npdiff.grad(lambda x: np.quantile(x, 0.5, method="no_such_method"))(V3)
    with pytest.raises(npdiff.UnsupportedOperationError, match="period"):
        npdiff.grad(lambda x: np.sum(np.interp(x, XP, FP, period=2.0)))(V3)


def test_predicates_and_methods():
    x = np.array([0.5, -np.inf, np.inf, np.nan, 2.0])
    f = lambda x: [np.isposinf(x), np.isneginf(x), np.iscomplex(x), np.isreal(x), np.nanargmax(x), np.nanargmin(x)]
    for got, exp in zip(npdiff.numpify(f, (5,))(x), f(x)):
        assert np.array_equal(got, exp)

    def g(x):
        y = x * 1.0
        y.fill(2.5)
        z = x ** 2
        z.partition(1)
        return y + z + x[x.argpartition(2)] + x.searchsorted(np.array([0.0, 1.0]))[0]
    check(g, [np.array([0.3, 1.7, -0.4, 0.9])])


def test_supported_functions_and_coverage_report():
    from npdiff.supported import coverage, coverage_report, supported_functions
    names = supported_functions()
    assert names == sorted(set(names))
    for name in ("numpy.sum", "numpy.abs", "numpy.absolute", "numpy.add.reduce", "numpy.sort", "numpy.cumprod",
                 "numpy.quantile", "numpy.convolve", "numpy.zeros", "ndarray.sum", "ndarray.sort"):
        assert name in names, name
    yes, no = coverage("numpy")
    assert "median" in yes and "save" in no
    report = coverage_report()
    assert "numpy" in report and "%" in report
    try:
        import scipy.special  # noqa: F401
    except ImportError:
        return
    for name in ("scipy.special.gammaln", "scipy.special.psi", "scipy.special.logsumexp", "scipy.stats.norm.logpdf",
                 "scipy.stats.multivariate_normal.logpdf"):
        assert name in names, name
    assert "logsumexp" in coverage("scipy.special")[0]
