"""Boolean masks and index sets computed from traced values (issue 21): x[x > c], y[mask] = v,
np.where(cond) / np.nonzero as indices, guarded per mask; and the memory-layout idioms
(np.require, x.flat, strides/flags, as_strided, sliding_window_view)."""
from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided, sliding_window_view
from tests.util import assert_close, check_derivatives, fd_jac

import npdiff


def _grad_hess(f, x):
    """Check value-path gradient and Hessian of scalar f against central differences."""
    g = npdiff.grad(f)(x)
    assert_close(g, fd_jac(f, [x], 0).reshape(x.shape), 1e-5, 1e-6, "grad")
    H = npdiff.hessian(f)(x)
    fd2 = fd_jac(lambda z: npdiff.grad(f)(z), [x], 0)
    assert_close(np.reshape(H, fd2.shape), fd2, 1e-4, 1e-5, "hessian")
    return g, H


X = np.array([0.7, -1.2, 2.1, -0.3, 0.4, 1.6])


def mask_read(x):
    return np.sum(x[x > 0.5] ** 3) + np.sum(np.exp(x[x <= 0.5]))


def mask_write_traced(x):
    y = x ** 2
    m = x < 0
    y[m] = np.sin(x[m])
    return np.sum(y * x)


def scad(beta, tau=0.5, a=3.7):
    """The SCAD penalty as regression libraries write it: masks into an empty array."""
    x = np.abs(beta)
    mask1 = x <= tau
    mask3 = x >= a * tau
    mask2 = ~mask1 & ~mask3
    res = np.empty(x.shape)
    res[mask1] = tau * x[mask1]
    res[mask2] = -(x[mask2] ** 2 - 2 * a * tau * x[mask2] + tau ** 2) / (2 * (a - 1))
    res[mask3] = (a + 1) * tau ** 2 / 2.0
    return np.sum(res)


def scad_ref_grad(beta, tau=0.5, a=3.7):
    x = np.abs(beta)
    d = np.where(x <= tau, tau, np.where(x >= a * tau, 0.0, -(x - a * tau) / (a - 1)))
    return d * np.sign(beta)


def hurdle_poisson(params, y):
    """A hurdle Poisson log-likelihood: zeros and positive counts handled by masks on the data."""
    lam = np.exp(params[0])
    p0 = 1.0 / (1.0 + np.exp(-params[1]))
    ll = np.zeros_like(y, dtype=float)
    zero = y == 0
    ll[zero] = np.log(p0)
    yp = y[~zero]
    ll[~zero] = np.log1p(-p0) + yp * np.log(lam) - lam - np.log1p(-np.exp(-lam)) - np.log(np.arange(1, 1 + len(yp)))
    return np.sum(ll)


@pytest.mark.parametrize("f", [mask_read, mask_write_traced, scad], ids=lambda f: f.__name__)
def test_mask_value_gradient_hessian(f):
    assert_close(npdiff.numpify(f, X)(X), f(X), 1e-12, 1e-12, "value")
    _grad_hess(f, X)


def test_mask_derivatives_jacfwd_jacrev():
    check_derivatives(lambda x: x[x > 0.5] * x[0], [X])


def test_scad_matches_analytic_score():
    g = npdiff.grad(scad)(X)
    assert_close(g, scad_ref_grad(X), 1e-12, 1e-12, "scad score")


def test_hurdle_poisson_with_data_masks():
    y = np.array([0, 3, 0, 1, 5, 2, 0])
    p = np.array([0.4, -0.2])
    _grad_hess(lambda q: hurdle_poisson(q, y), p)


def test_changed_mask_respecialises():
    g = npdiff.grad(mask_read)
    x2 = -X
    assert_close(g(X), fd_jac(mask_read, [X], 0).ravel(), 1e-5, 1e-6, "first mask")
    assert_close(g(x2), fd_jac(mask_read, [x2], 0).ravel(), 1e-5, 1e-6, "second mask")
    assert g.cache_info().paths == (2,)
    g(X * 1.01)  # the same mask again: no new path
    assert g.cache_info().paths == (2,)


def test_changed_mask_specialised_raises_path_changed():
    gf = npdiff.grad(mask_read).specialize(X)
    gf(X * 1.01)
    with pytest.raises(npdiff.PathChangedError):
        gf(-X)


def test_mask_with_shapes_only_names_the_rewrite():
    with pytest.raises(npdiff.TracingError, match=r"(?s)x\[mask\].*traced mask.*np\.where\(mask, x, 0\)"):
        npdiff.numpify(mask_read, (6,))


def test_scalar_mask_write_is_a_select_without_guard():
    def f(x):
        y = x ** 2
        y[x < 0] = 0.0
        return np.sum(y)
    g = npdiff.grad(f)
    assert_close(g(X), np.where(X < 0, 0.0, 2 * X), 1e-12, 1e-12)
    assert_close(g(-X), np.where(-X < 0, 0.0, -2 * X), 1e-12, 1e-12)
    assert g.cache_info().paths in ((), (1,))  # one shape-static path for every mask
    npdiff.numpify(f, (6,))  # shapes alone suffice


@pytest.mark.parametrize("pick", [
    lambda x: x[np.where(x > 0)],
    lambda x: x[np.nonzero(x > 0)],
    lambda x: x[np.nonzero(x > 0)[0]],
    lambda x: x[(x > 0).nonzero()],
    lambda x: np.take(x, np.flatnonzero(x > 0)),
    lambda x: x[np.argwhere(x > 0)[:, 0]],
], ids=["where1", "nonzero", "nonzero0", "method", "flatnonzero", "argwhere"])
def test_index_sets_from_traced_conditions(pick):
    f = lambda x: np.sum(pick(x) ** 2 * x[0])
    assert_close(npdiff.numpify(f, X)(X), f(X), 1e-12, 1e-12, "value")
    _grad_hess(f, X)


def test_nonzero_of_a_real_array_guards_only_its_zero_pattern():
    f = lambda x: np.sum(x[np.nonzero(x * (x > 0))] ** 2)
    g = npdiff.grad(f)
    g(X)
    g(X * 1.5)  # same zero pattern, other values: the same path
    assert g.cache_info().paths == (1,)


def test_2d_mask_and_row_mask():
    A = np.array([[0.5, -1.0, 2.0], [1.5, -0.2, 0.3]])
    _grad_hess(lambda a: np.sum(a[a > 0.4] ** 2) + np.sum(a[a[:, 0] > 1.0, :] ** 3), A)


# -- memory-layout idioms ------------------------------------------------------------------

def test_require_converts_and_keeps_tracing():
    f = lambda x: np.sum(np.require(x, dtype=np.float64, requirements=["C", "A"]) ** 3)
    _grad_hess(f, X)
    with pytest.raises(KeyError):
        npdiff.grad(lambda x: np.sum(np.require(x, requirements="Q")))(X)


def test_flat_reads_and_writes():
    A = X.reshape(2, 3)

    def f(a):
        b = a * 1.0
        b.flat[[1, 4]] = a.flat[0] ** 2
        return np.sum(b ** 2) + a.flat[5] * sum(a.flat)
    assert_close(npdiff.numpify(f, A)(A), f(A), 1e-12, 1e-12)
    _grad_hess(f, A)


def test_strides_and_flags_of_a_traced_array():
    seen = {}

    def f(x):
        seen["strides"], seen["flags"] = x.strides, x.flags
        return np.sum(x)
    npdiff.grad(f)(np.zeros((2, 3)))
    assert seen["strides"] == np.zeros((2, 3)).strides
    assert seen["flags"]["C_CONTIGUOUS"] and seen["flags"].c_contiguous and seen["flags"].writeable
    assert not seen["flags"]["F"]


def conv_strided(x, w):
    """A valid 1-d convolution written with as_strided from x.strides (the stride-tricks idiom)."""
    k = w.shape[0]
    n = x.shape[0] - k + 1
    win = as_strided(x, shape=(n, k), strides=(x.strides[0], x.strides[0]))
    return win @ w


def test_as_strided_convolution():
    w = np.array([0.3, -1.0, 2.0])
    assert_close(npdiff.numpify(conv_strided, X, w)(X, w), np.convolve(X, w[::-1], "valid"), 1e-12, 1e-12)
    check_derivatives(conv_strided, [X, w])


def test_sliding_window_view_2d():
    A = np.arange(12.0).reshape(3, 4) / 7
    K = np.array([[1.0, -0.5], [0.25, 2.0]])
    f = lambda a: np.einsum("ijkl,kl->ij", sliding_window_view(a, (2, 2)), K) ** 2
    assert_close(npdiff.numpify(f, A)(A), f(A), 1e-12, 1e-12)
    check_derivatives(f, [A])


def test_as_strided_outside_the_array_is_refused():
    with pytest.raises(npdiff.UnsupportedOperationError, match="reach outside the traced array"):
        npdiff.grad(lambda x: np.sum(as_strided(x, shape=(6, 2), strides=(8, 8))))(X)


def test_scalar_of_1d_indexed_again_is_numpys_index_error():
    with pytest.raises(IndexError, match="too many indices for array: array is 0-dimensional"):
        npdiff.grad(lambda p: np.sum(p[0][:, None] * p))(X)
    g = npdiff.grad(lambda p: np.sum(p[:1][:, None] * p))(X)  # the rewrite
    assert_close(g, np.full(6, X[0]) + np.sum(X) * (np.arange(6) == 0), 1e-12, 1e-12)
