"""NumPy-level capabilities found missing by autograd's suite, checked against finite differences
and closed forms: empty diagonals and einsum sublists, np.real_if_close, integer conversions of traced
arrays, np.append of nested lists, long double dtypes, operators nested inside traced functions that
close over the outer argument, and the refusal of gradients of complex or non-float outputs.
"""
from __future__ import annotations

import numpy as np
import pytest

import npdiff
from util import assert_close, fd_jac

RNG = np.random.default_rng(11)


# -- traces and einsum forms --------------------------------------------------------------------

@pytest.mark.parametrize("offset", [-6, -5, -3, 0, 2, 5, 6])
def test_trace_of_extra_dims_any_offset(offset):
    """np.trace of a 4-d array: offsets past the edge give an empty diagonal (a zero sum)."""
    x = RNG.normal(size=(5, 6, 4, 3))
    f = lambda x: np.sin(np.trace(x, offset=offset))
    assert_close(npdiff.numpify(f, x)(x), f(x))
    J = npdiff.jacrev(f)(x)
    assert_close(J, fd_jac(f, [x], 0).reshape(J.shape), what="jacrev")
    assert_close(npdiff.jacfwd(f)(x), J, what="jacfwd")


def test_einsum_sublist_forms():
    a, b = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 4))
    f = lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2])
    assert_close(npdiff.numpify(f, a, b)(a, b), a @ b)
    for i in (0, 1):
        J = npdiff.jacrev(f, argnums=i)(a, b)
        assert_close(J, fd_jac(f, [a, b], i).reshape(J.shape), what=f"arg {i}")
    g = lambda x: np.einsum(x, [Ellipsis, 0, 1], [Ellipsis, 1, 0])  # a batched transpose
    x = RNG.normal(size=(2, 3, 4))
    assert_close(npdiff.numpify(g, x)(x), np.swapaxes(x, -1, -2))
    J = npdiff.jacfwd(lambda x: np.sin(g(x)))(x)
    assert_close(J, fd_jac(lambda x: np.sin(g(x)), [x], 0).reshape(J.shape))


# -- np.real_if_close -------------------------------------------------------------------------------

def test_real_if_close_follows_the_values():
    def f(x, s):
        r = np.real_if_close(x * (1.0 + s * 1j))
        return np.sum(np.real(r) + np.imag(r) ** 2)  # imag(r) is 0 on the real path
    g = npdiff.grad(f)
    x = np.array([0.4, -1.3])
    assert np.isrealobj(np.real_if_close(x * (1.0 + 1e-17j)))
    assert_close(g(x, 1e-17), np.ones(2), what="real path")  # d/dx sum(x)
    assert_close(g(x, 0.5), 1.0 + 2 * 0.25 * x, what="complex path")  # d/dx sum(x + s^2 x^2)
    assert_close(g(x, 1e-17), np.ones(2), what="back on the real path")
    y = np.array([1.0 + 0.2j, 2.0 - 0.1j])
    r = npdiff.numpify(np.real_if_close, y)(y)
    assert np.iscomplexobj(r) and np.array_equal(r, y)
    assert npdiff.numpify(lambda x: np.real_if_close(x), x)(x).dtype == np.float64


# -- integer conversions --------------------------------------------------------------------------

def _glued(W):
    new_W = W[:, :-1]
    idx = np.int64(W[:, -1])  # NumPy's scalar type called on a traced array
    assert idx.dtype == np.int64
    return np.sum(new_W[idx] ** 2)


def test_int64_of_traced_array_as_index_follows_the_values():
    g = npdiff.grad(_glued)
    for seed in (0, 1, 2):
        W = np.random.default_rng(seed).normal(size=(5, 4)) * 2.0
        assert_close(g(W), fd_jac(_glued, [W], 0).reshape(W.shape), what=f"seed {seed}")


def test_int64_of_traced_array_needs_values():
    with pytest.raises(npdiff.TracingError, match=r"np\.int64"):
        npdiff.numpify(_glued, (5, 4))


def test_astype_int_has_zero_derivative():
    f = lambda x: np.sum(x * x.astype(int))
    x = np.array([1.5, -2.7, 3.2])
    assert_close(npdiff.grad(f)(x), x.astype(int).astype(float))
    J = npdiff.jacfwd(lambda x: x.astype(np.int32) * 1.0)(x)
    assert_close(J, np.zeros((3, 3)))


# -- np.append of nested lists --------------------------------------------------------------------

def test_append_of_nested_lists_of_traced_values():
    def f(a, b):
        return np.append([[a, 2.0 * b]], [[b * a, np.sin(a)]], axis=0)
    a, b = 0.3, -1.1
    assert_close(npdiff.numpify(f, a, b)(a, b), f(a, b))
    for i in (0, 1):
        J = npdiff.jacrev(f, argnums=i)(a, b)
        assert_close(J, fd_jac(f, [a, b], i).reshape(J.shape), what=f"arg {i}")


def test_append_called_through_a_wrapper_and_directly():
    def wrap(fun):
        return lambda a, b: fun([a, b], [b * b], axis=0)  # np.append held in a closure
    f = wrap(np.append)
    a, b = 0.7, 1.3
    J = npdiff.jacfwd(f, argnums=(0, 1))(a, b)
    assert_close(np.stack(J, axis=-1), [[1.0, 0.0], [0.0, 1.0], [0.0, 2 * b]])
    x, y = RNG.normal(size=(2, 3)), RNG.normal(size=(1, 3))
    J = npdiff.jacrev(np.append, argnums=1)(x, y)  # the NumPy function itself
    assert J.shape == (9, 1, 3)
    assert_close(J, fd_jac(np.append, [x, y], 1).reshape(J.shape))


# -- long double ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.longdouble, np.clongdouble, np.float16, np.float32])
def test_gradient_keeps_extended_and_small_dtypes(dtype):
    y = RNG.normal(size=(3, 2)).astype(dtype)
    g = npdiff.grad(lambda x: np.real(np.sum(x ** 2 * 2.5)))(y)
    assert g.dtype == np.dtype(dtype)
    ref = 5.0 * np.asarray(y, dtype=np.complex128)
    for part in (np.real, np.imag):
        assert_close(part(np.asarray(g, dtype=np.complex128)), part(ref), rtol=2e-3 if dtype == np.float16 else 1e-5)


# -- operators inside a traced function, closing over its argument ---------------------------------

def test_grad_of_closure_over_outer_argument():
    def fun(x):
        return x * npdiff.grad(lambda y: x * y)(2.0)  # = x * x
    assert_close(npdiff.grad(fun)(1.5), 3.0)
    assert_close(npdiff.grad(npdiff.grad(fun))(1.5), 2.0)
    fun2 = lambda x: x * npdiff.grad(lambda y: y * x ** 3)(2.0)  # = x^4
    assert_close(npdiff.grad(fun2)(0.8), 4 * 0.8 ** 3)


def test_jacobian_and_hessian_through_inner_grad():
    def fun(x):
        return np.sin(x) * npdiff.grad(lambda y: np.sum(np.exp(x * y)))(2.0)
    ref = lambda x: np.sin(x) * np.sum(x * np.exp(2.0 * x))
    x = np.array([0.3, -0.2])
    J = npdiff.jacobian(fun)(x)
    assert_close(J, fd_jac(ref, [x], 0))
    H = npdiff.hessian(lambda x: np.sum(fun(x)))(x)
    assert_close(H, fd_jac(lambda x: npdiff.grad(lambda x: np.sum(ref(x)))(x), [x], 0), rtol=1e-4, atol=1e-5)


def test_eager_jvp_vjp_inside_traced_function():
    def fun(x):
        t = npdiff.jvp(lambda y: x * y ** 2, (2.0,), (1.0,))[1]  # 4x
        _, pb = npdiff.vjp(lambda y: np.sin(x * y), 2.0)  # x cos(2x)
        return x * t + pb(1.0)[0]
    x = 0.7
    assert_close(npdiff.grad(fun)(x), 8 * x + np.cos(2 * x) - 2 * x * np.sin(2 * x))


def test_inner_grad_without_closure_still_returns_arrays():
    seen = []

    def fun(x):
        c = npdiff.grad(lambda y: np.sum(y ** 3))(np.array([1.0, 2.0]))  # no traced value inside
        seen.append(type(c))
        return np.sum(x * c)
    assert_close(npdiff.grad(fun)(np.zeros(2)), [3.0, 12.0])
    assert seen and issubclass(seen[0], np.ndarray)  # a concrete array, not a Tracer


def test_generated_code_of_a_closure_over_a_tracer_is_refused_clearly():
    def fun(x):
        return x * npdiff.numpify(lambda y: x * y, 2.0)(2.0)
    with pytest.raises(npdiff.TracingError, match="closes over the outer function's argument"):
        npdiff.grad(fun)(1.0)


# -- gradients of outputs that have none ------------------------------------------------------------

def test_grad_of_complex_output_is_a_type_error():
    with pytest.raises(TypeError, match="real-valued"):
        npdiff.grad(lambda x: x * (1.0 + 0.2j))(1.0)
    with pytest.raises(TypeError, match="real-valued"):
        npdiff.value_and_grad(lambda x: np.sum(x + 1j))(np.ones(2))
    assert_close(npdiff.grad(lambda x: np.real(x * (1.0 + 0.2j)))(1.0), 1.0)


@pytest.mark.parametrize("f", [lambda x: np.allclose(x, x * 3.0 / 3.0), lambda x: np.sum(x > 0),
                               lambda x: np.argmax(x)])
def test_grad_of_bool_or_integer_output_is_a_type_error(f):
    with pytest.raises(TypeError, match="floating-point output"):
        npdiff.grad(f)(np.array([1.0, 2.0, 3.0]))


def test_grad_with_a_list_of_argnums_keeps_their_order():
    def f(a, b, c, d):
        return a + np.sin(b) + np.cosh(c) + np.cos(d)
    args = (0.5, -0.3, 0.2, -1.1)
    gd, gb = npdiff.grad(f, argnums=[3, 1])(*args)
    assert_close(gd, -np.sin(-1.1))
    assert_close(gb, np.cos(-0.3))


def test_inner_operator_branching_on_its_own_values_inside_a_shapes_only_trace():
    def g(y):
        return np.sum(y ** 2) if y[0] > 0 else np.sum(y ** 3)

    def f(x):
        return x * npdiff.grad(g)(np.array([1.0, 2.0]))  # g's decision needs values the outer trace lacks
    gen = npdiff.numpify(f, (2,))  # shapes only
    assert_close(gen(np.array([1.0, -1.0])), [2.0, -4.0])
    t = lambda x: npdiff.jvp(g, (np.array([-1.0, 2.0]),), (np.array([1.0, 0.0]),))[1] * x
    assert_close(npdiff.numpify(t, ())(2.0), 6.0)  # d/dy0 of y0^3 at -1, times x
    v = lambda x: npdiff.vjp(g, np.array([1.0, 2.0]))[1](1.0)[0] * x
    assert_close(npdiff.numpify(v, ())(2.0), [4.0, 8.0])


def test_int64_of_an_empty_traced_array():
    f = lambda x: np.sum(x ** 2) + np.sum(np.int64(x[:0]))
    assert_close(npdiff.grad(f)(np.array([1.0, -2.0])), [2.0, -4.0])
