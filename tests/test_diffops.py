"""npdiff.diffops (SymNum-style) and Mici-style bundles: tensordot identities,
return orders and finite differences."""
import numpy as np
import pytest

import npdiff
import npdiff.diffops as do
from util import assert_close, fd_jac


def scalar_f(x):
    return np.sum(np.sin(x) ** 2 * x) + np.prod(x[..., :1] + 2.0)


def vector_f(x):
    return np.stack([np.sum(x ** 2), np.sum(np.cos(x)) * x.ravel()[0]])


def matrix_f(x):
    return np.outer(np.tanh(x.ravel()[:2]), np.exp(x.ravel()[1:3]))


SHAPES = [(), (3,), (2, 2)]


def _x(shape):
    return np.linspace(0.2, 0.9, int(np.prod(shape))).reshape(shape)


@pytest.mark.parametrize("shape", SHAPES)
def test_gradient_hessian_against_fd(shape):
    x = _x(shape)
    f = (lambda x: np.sin(x) * x + 2.0) if shape == () else scalar_f
    g, v = do.gradient(f, shape, return_aux=True)(x)
    assert np.isclose(v, f(x))
    assert_close(g, fd_jac(f, [x], 0).reshape(shape), 1e-6, 1e-8)
    H, g2, _v2 = do.hessian(f, shape, return_aux=True)(x)
    assert_close(g2, g)
    gfun = do.grad(f, shape)
    assert_close(H, fd_jac(gfun, [x], 0).reshape(shape + shape), 1e-5, 1e-7)
    hvp, _g3, _v3 = do.hessian_vector_product(f, shape, return_aux=True)(x)
    v_ = np.ones(shape) * 0.3
    assert_close(hvp(v_), np.tensordot(H, v_, len(shape)), 1e-12, 1e-12)
    mtp, H2, _g4, _v4 = do.matrix_tressian_product(f, shape, return_aux=True)(x)
    assert_close(H2, H, 1e-12, 1e-12)
    m = np.arange(np.prod(shape + shape), dtype=float).reshape(shape + shape)
    T = fd_jac(do.hessian(f, shape), [x], 0).reshape(shape + shape + shape)
    assert_close(mtp(m), np.tensordot(m, T, 2 * len(shape)), 1e-4, 1e-6)


@pytest.mark.parametrize("shape", [(3,), (2, 2)])
@pytest.mark.parametrize("f", [vector_f, matrix_f])
def test_jacobian_products(shape, f):
    x = _x(shape)
    out = f(x)
    J, v = do.jacobian(f, shape, return_aux=True)(x)
    assert_close(v, out)
    assert_close(J.reshape(out.size, x.size), fd_jac(f, [x], 0), 1e-6, 1e-8)
    jvp, _ = do.jacobian_vector_product(f, shape, return_aux=True)(x)
    vv = np.linspace(-1, 1, x.size).reshape(shape)
    assert_close(jvp(vv), np.tensordot(J, vv, x.ndim), 1e-12, 1e-12)
    vjp, _ = do.vector_jacobian_product(f, shape, return_aux=True)(x)
    w = np.linspace(-1, 1, out.size).reshape(out.shape)
    assert_close(vjp(w), np.tensordot(w, J, out.ndim), 1e-12, 1e-12)
    mhp, J2, _ = do.matrix_hessian_product(f, shape, return_aux=True)(x)
    assert_close(J2, J)
    m = np.linspace(-1, 1, J.size).reshape(J.shape)
    JJ = fd_jac(do.jacobian(f, shape), [x], 0).reshape(J.shape + shape)
    assert_close(mhp(m), np.tensordot(m, JJ, out.ndim + x.ndim), 1e-5, 1e-7)


def test_wrt_and_reuse_of_numpify_shapes():
    def f(a, b):
        return np.sum(a * b ** 2)
    a, b = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    assert_close(do.gradient(f, (2,), (2,), wrt=1)(a, b), 2 * a * b)
    nf = npdiff.numpify(f, (2,), (2,))
    assert_close(do.gradient(nf, wrt=0)(a, b), b ** 2)


def test_unknown_option_rejected():
    with pytest.raises(TypeError, match="unknown code-generation option"):
        do.gradient(scalar_f, (3,), simplify=True)
    assert do.gradient(scalar_f, (3,), name="my_grad").__name__ == "my_grad"


def test_symnum_readme_example():
    def f(x):
        return np.array([[1.0, -0.5], [-2.0, 3.0]]) @ np.array([np.cos(-x[1] ** 2 + 3 * x[0]), np.sin(x[0] - 1)])
    x = np.array([0.5, 2.0])
    assert_close(do.jacobian(f, (2,))(x), fd_jac(f, [x], 0), 1e-6, 1e-8)


def test_mici_bundles_orders_and_definitions():
    c = lambda x: np.array([x[0] ** 2 + x[1] ** 2 + x[2] ** 2 - 1, np.sin(x[0]) * x[2]])
    f = lambda x: np.sum(np.cos(x) ** 2 * x) + x[0] * x[1] * x[2]
    x = np.array([0.3, 0.4, 0.5])
    g, v = npdiff.grad_and_value(f)(x)
    assert np.isclose(v, f(x))
    assert_close(g, fd_jac(f, [x], 0).ravel(), 1e-6, 1e-8)
    J, _cv = npdiff.jacobian_and_value(c)(x)
    assert_close(J, fd_jac(c, [x], 0), 1e-6, 1e-8)
    H, _g2, _v2 = npdiff.hessian_grad_and_value(f)(x)
    assert_close(H, fd_jac(npdiff.grad(f), [x], 0), 1e-5, 1e-7)
    vjp, _v3 = npdiff.vjp_and_value(c)(x)
    w = np.array([0.7, -1.3])
    assert_close(vjp(w), w @ J, 1e-12, 1e-12)
    mhp, _J2, _v4 = npdiff.mhp_jacobian_and_value(c)(x)
    h = fd_jac(lambda y: npdiff.jacobian(c)(y), [x], 0).reshape(2, 3, 3)
    m = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert_close(mhp(m), np.sum(m[:, :, None] * h, axis=(0, 1)), 1e-5, 1e-7)
    mtp, _H2, _g3, _v5 = npdiff.mtp_hessian_grad_and_value(f)(x)
    t = fd_jac(lambda y: npdiff.hessian(f)(y), [x], 0).reshape(3, 3, 3)
    M = np.arange(9.0).reshape(3, 3)
    assert_close(mtp(M), np.sum(M * t, axis=(-1, -2)), 1e-4, 1e-6)


def test_operator_reuses_precomputed_values():
    gf = npdiff.mhp_jacobian_and_value(lambda x: np.sin(x) * x[0]).specialize((3,))
    inner_defs = [part.split("\n    return")[0] for part in gf.source.split("_op(m):")[1:]]
    assert inner_defs  # scalar and array versions each define the operator
    for inner in inner_defs:  # trig terms are computed once, outside the operator
        assert "sin(" not in inner and "cos(" not in inner
