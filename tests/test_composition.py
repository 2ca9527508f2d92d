"""Operators composed on array-valued functions, operators on tracers, and the eager cache."""
from __future__ import annotations

import numpy as np

import npdiff
from util import assert_close, fd_jac


def test_hessian_of_array_valued_function_composes():
    # API.md: hessian(hessian(f)) must work; hessian required a scalar-valued function
    f = lambda x: np.sum(np.sin(x) * x[0] ** 2)
    x = np.array([0.3, -0.5, 0.8])
    h4 = npdiff.hessian(npdiff.hessian(f))(x)
    assert h4.shape == (3, 3, 3, 3)
    want = fd_jac(lambda z: npdiff.jacfwd(npdiff.hessian(f))(z), [x], 0).reshape(h4.shape)
    assert_close(h4, want, rtol=1e-5, atol=1e-6)
    g = lambda x: np.sin(x) * x[0]
    assert_close(npdiff.hessian(g)(x), npdiff.jacfwd(npdiff.jacrev(g))(x))


def test_divmod_on_tracers():
    q, r = npdiff.numpify(lambda x: divmod(x, 0.75), (3,))(np.array([1.0, 2.0, -1.0]))
    assert np.allclose(q, np.floor_divide([1.0, 2.0, -1.0], 0.75))
    assert np.allclose(r, np.remainder([1.0, 2.0, -1.0], 0.75))


def test_eager_cache_distinguishes_has_aux():
    f = lambda x: (np.sin(x), np.sum(x))
    x = np.array([0.1, 0.2])
    out, pull = npdiff.vjp(f, x)
    assert len(out) == 2 and np.allclose(pull((np.ones(2), 1.0))[0], np.cos(x) + 1.0)
    out, pull, aux = npdiff.vjp(f, x, has_aux=True)  # same function object, now with an aux output
    assert np.allclose(out, np.sin(x)) and np.isclose(aux, 0.3)
    assert np.allclose(pull(np.ones(2))[0], np.cos(x))


def test_generated_function_called_inside_a_trace_is_traced_through_its_array_code():
    """gf(x) with x traced (numpify's result used inside another operator's function) differentiates."""
    from util import fd_jac
    x = np.array([0.3, 1.2, -0.4])
    gf = npdiff.numpify(lambda x: np.sin(x) * x[0], x)
    f = lambda x: np.sum(gf(x) ** 2)
    assert np.allclose(npdiff.grad(f)(x), fd_jac(f, [x], 0).ravel(), rtol=1e-6, atol=1e-8)
    tf = npdiff.numpify(lambda p: np.exp(p["a"]) * 2.0, {"a": x})
    g = lambda x: np.sum(tf({"a": x * x}))
    assert np.allclose(npdiff.grad(g)(x), fd_jac(g, [x], 0).ravel(), rtol=1e-6, atol=1e-8)
    J = npdiff.jacfwd(lambda x: gf(x))(x)
    assert np.allclose(J, fd_jac(gf, [x], 0), rtol=1e-6, atol=1e-8)
