"""JAX-style operators against closed forms and finite differences."""
from __future__ import annotations

import numpy as np
import pytest

import npdiff
from util import assert_close, fd_jac


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_grad(x):
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


def rosen_hess(x):
    n = x.size
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i, i + 1] += -400 * x[i]
        H[i + 1, i] += -400 * x[i]
        H[i + 1, i + 1] += 200
    return H


X = np.array([-1.2, 1.0, 0.8, 1.5, -0.3])


def test_grad_closed_form():
    assert_close(npdiff.grad(rosen)(X), rosen_grad(X), 1e-12, 1e-12)


def test_value_and_grad():
    v, g = npdiff.value_and_grad(rosen)(X)
    assert np.isclose(v, rosen(X))
    assert_close(g, rosen_grad(X), 1e-12, 1e-12)


def test_hessian_closed_form():
    assert_close(npdiff.hessian(rosen)(X), rosen_hess(X), 1e-12, 1e-9)


def test_hessian_of_rosen_large_is_banded():
    x = np.linspace(-1, 1, 50)
    assert_close(npdiff.hessian(rosen)(x), rosen_hess(x), 1e-12, 1e-9)


def test_argnums_tuple_and_has_aux():
    def f(x, y):
        return np.sum(x * y ** 2), {"s": x + y}
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    (gx, gy), aux = npdiff.grad(f, argnums=(0, 1), has_aux=True)(x, y)
    assert_close(gx, y ** 2)
    assert_close(gy, 2 * x * y)
    assert_close(aux["s"], x + y)
    (v, aux2), g = npdiff.value_and_grad(f, argnums=1, has_aux=True)(x, y)
    assert np.isclose(v, np.sum(x * y ** 2)) and isinstance(aux2, dict)
    assert_close(g, 2 * x * y)


def test_grad_requires_scalar():
    with pytest.raises(TypeError, match="scalar"):
        npdiff.grad(lambda x: x * 2)(np.ones(3))


def test_jacobians_shapes_and_values():
    def f(x):
        return np.stack([np.sin(x) * x[0], np.cos(x)], axis=0)
    x = np.array([[0.1, 0.2], [0.3, 0.4]])
    for op in (npdiff.jacfwd, npdiff.jacrev, npdiff.jacobian):
        J = op(f)(x)
        assert J.shape == (2, 2, 2, 2, 2)
        assert_close(J.reshape(8, 4), fd_jac(f, [x], 0), 1e-6, 1e-8)


def test_jacobian_all_args_and_pytree_output():
    def f(a, b):
        return {"p": a * b, "q": (a @ b,)}
    a, b = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    J = npdiff.jacobian(f)(a, b)
    assert isinstance(J, dict) and isinstance(J["q"], tuple)
    Jpa, Jpb = J["p"]
    assert_close(Jpa, np.diag(b))
    assert_close(Jpb, np.diag(a))
    Jqa, Jqb = J["q"][0]
    assert_close(Jqa, b)
    assert_close(Jqb, a)


def test_composition_orders():
    f = lambda x: np.sum(np.sin(x) * x ** 3)
    x = np.array([0.3, -0.8, 1.1])
    d3 = npdiff.jacfwd(npdiff.jacrev(npdiff.grad(f)))(x)
    # closed form: d3/dx^3 of sin(x) x^3 on the diagonal
    s, c = np.sin(x), np.cos(x)
    third = -c * x ** 3 - 9 * s * x ** 2 + 18 * c * x + 6 * s
    expect = np.zeros((3, 3, 3))
    expect[np.arange(3), np.arange(3), np.arange(3)] = third
    assert_close(d3, expect, 1e-10, 1e-10)
    assert_close(npdiff.grad(npdiff.grad(lambda t: np.sin(t) * t ** 2))(0.7),
                 -np.sin(0.7) * 0.49 + 4 * 0.7 * np.cos(0.7) + 2 * np.sin(0.7), 1e-12, 1e-12)
    H1 = npdiff.hessian(f)(x)
    H2 = npdiff.jacrev(npdiff.jacrev(f))(x)
    H3 = npdiff.jacfwd(npdiff.jacfwd(f))(x)
    assert_close(H1, H2, 1e-12, 1e-12)
    assert_close(H1, H3, 1e-12, 1e-12)
    assert_close(np.diag(H1), -s * x ** 3 + 6 * c * x ** 2 + 6 * s * x, 1e-12, 1e-12)


def test_no_perturbation_confusion():
    # d/dx [x * d/dy (x * y)] = d/dx [x * x] = 2x
    def outer(x):
        return x * npdiff.grad(lambda y: x * y)(x)
    assert np.isclose(npdiff.grad(outer)(3.0), 6.0)


def test_hvp():
    x = X
    v = np.array([0.1, -0.2, 0.3, 0.4, 0.5])
    assert_close(npdiff.hvp(rosen)(x, v), rosen_hess(x) @ v, 1e-12, 1e-9)


def test_jvp_vjp_linearize():
    f = lambda x, y: np.sin(x) * y
    x, y = np.array([0.1, 0.2]), np.array([1.0, 2.0])
    tx, ty = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    out, t = npdiff.jvp(f, (x, y), (tx, ty))
    assert_close(out, np.sin(x) * y)
    assert_close(t, np.cos(x) * y * tx + np.sin(x) * ty)
    out, pull = npdiff.vjp(f, x, y)
    ct = np.array([2.0, 3.0])
    cx, cy = pull(ct)
    assert_close(cx, ct * np.cos(x) * y)
    assert_close(cy, ct * np.sin(x))
    out, f_jvp = npdiff.linearize(f, x, y)
    assert_close(f_jvp(tx, ty), t)
    out, t2, aux = npdiff.jvp(lambda x: (np.exp(x), x.sum()), (x,), (tx,), has_aux=True)
    assert_close(t2, np.exp(x) * tx)
    out, pull, aux = npdiff.vjp(lambda x: (np.exp(x), x.sum()), x, has_aux=True)
    assert np.isclose(aux, x.sum())


def test_specialize_and_source():
    g = npdiff.grad(rosen)
    gf = g.specialize((4,))
    assert isinstance(gf, npdiff.GeneratedFunction)
    assert gf.arg_shapes == ((4,),) and gf.arg_dtypes == (np.dtype("float64"),)
    assert "def grad_rosen(x):" in gf.source and "np." in gf.source
    gf32 = g.specialize(npdiff.ShapeDtype((4,), np.float32))
    out = gf32(X[:4].astype(np.float32))
    assert out.dtype == np.float32


def test_float32_preserved():
    f = lambda x: np.sum(np.exp(x) * 2.5 + x ** 2)
    x = np.array([0.1, 0.2], dtype=np.float32)
    g = npdiff.grad(f)(x)
    assert g.dtype == np.float32
    assert_close(g, np.exp(x) * 2.5 + 2 * x, 1e-6, 1e-6)
    H = npdiff.hessian(f)(x)
    assert H.dtype == np.float32


def test_shape_check_error_names_argument():
    gf = npdiff.grad(rosen).specialize((4,))
    with pytest.raises(ValueError, match=r"'x'.*\(3,\).*\(4,\)"):
        gf(np.ones(3))


def test_python_scalars_and_constants_either_side():
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    f = lambda x: np.sum((A @ x) * (x @ A)) + 2 * x[0] - x[1] / 3.0
    x = np.array([0.5, -1.0])
    assert_close(npdiff.grad(f)(x), fd_jac(f, [x], 0).ravel(), 1e-6, 1e-8)


def test_idioms_trace():
    def f(x):
        y = np.zeros_like(x)
        y[0] = x[0] ** 2
        y[1:] += x[:-1] * 3.0
        z = x.copy()
        z[1:] = np.sin(z[1:])
        out = np.empty(2)
        out[0] = np.sum(y)
        out[1] = np.sum(z * y)
        return np.array([out[0], out[1], np.cos(x[0])])
    x = np.array([0.4, 0.9, -0.2])
    J = npdiff.jacobian(f)(x)
    assert_close(J, fd_jac(f, [x], 0), 1e-6, 1e-8)
    assert_close(npdiff.numpify(f, (3,))(x), f(x), 1e-12, 1e-12)


def test_symnum_readme_example():
    def f(x):
        return np.array([[1.0, -0.5], [-2.0, 3.0]]) @ np.array([np.cos(-x[1] ** 2 + 3 * x[0]), np.sin(x[0] - 1)])
    x = np.array([0.5, 2.0])
    assert_close(npdiff.numpify(f, (2,))(x), f(x), 1e-12, 1e-12)
    assert_close(npdiff.jacobian(f)(x), fd_jac(f, [x], 0), 1e-6, 1e-8)


def test_numpify_alias_and_tuple_outputs():
    assert npdiff.numpify_func is npdiff.numpify
    gf = npdiff.numpify(lambda a, b: (a + b, [a * b]), (2,), ())
    s, (p,) = gf(np.array([1.0, 2.0]), 3.0)
    assert_close(s, [4.0, 5.0])
    assert_close(p, [3.0, 6.0])


def test_unused_argument_gives_zero_gradient():
    g = npdiff.grad(lambda x, y: np.sum(x ** 2), argnums=1)(np.ones(2), np.ones(3))
    assert_close(g, np.zeros(3))
    assert "zeros" in npdiff.grad(lambda x, y: np.sum(x ** 2), argnums=1).specialize((2,), (3,)).source


def test_check_grads_passes_and_fails():
    npdiff.check_grads(rosen, (X,), order=2)

    @npdiff.custom_jvp
    def bad(x):
        return np.sin(x)
    bad.defjvp(lambda primals, tangents: (np.sin(primals[0]), 2.0 * tangents[0]))
    with pytest.raises(AssertionError, match="mismatch"):
        npdiff.check_grads(lambda x: np.sum(bad(x)), (X,), order=1)


def test_cotangent_of_a_float32_input_promoted_to_float64_is_float32():
    """As JAX: grad/vjp of a float32 argument are float32 even when the function computes in float64."""
    x32 = np.array([0.5, 1.5, -2.0], np.float32)
    w = np.array([1.0, 2.0, 3.0])
    g = npdiff.grad(lambda x: np.sum(np.sin(x) * w))(x32)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.cos(x32.astype(np.float64)) * w, rtol=1e-6)
    ct = npdiff.vjp(lambda x: x * w, x32)[1](np.ones(3))[0]
    assert ct.dtype == np.float32 and np.allclose(ct, w)
