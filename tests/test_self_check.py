"""Issue 20 part 2 and issue 26 part 2: type checks on traced arrays, and the self-checks on each new path.

The value self-check runs the plain function once per new path and compares with
the traced value; the derivative self-check compares one directional derivative
of the trace with a central difference of the plain function.
"""
from __future__ import annotations

import numpy as np
import pytest

import npdiff

X = np.array([0.1, 0.2, 0.3])


@pytest.fixture(autouse=True)
def self_check_on():
    """Every test here starts with the self-checks on (another test or a docs example may turn them off)."""
    before = npdiff.config.self_check
    npdiff.config.self_check = True
    yield
    npdiff.config.self_check = before


@pytest.fixture
def no_self_check():
    npdiff.config.self_check = False
    yield
    npdiff.config.self_check = True


# -- type checks behave as for an ndarray ------------------------------------------------------

def test_isinstance_ndarray_is_true_for_traced_arrays():
    def f(p):
        if isinstance(p, np.ndarray):
            return np.sum(p ** 2)
        return np.sum(p ** 3)
    assert np.allclose(npdiff.grad(f)(X), 2 * X)
    assert np.allclose(npdiff.hessian(f)(X), 2 * np.eye(3))


def test_array_attributes_and_ndim():
    seen = {}

    def f(p):
        seen.update(ndim=np.ndim(p), flags=hasattr(p, "flags"), c=p.flags["C_CONTIGUOUS"], itemsize=p.itemsize,
                    nbytes=p.nbytes, strides=p.strides, base=p.base)
        if np.ndim(p) == 1 and p.flags.c_contiguous and p.itemsize == 8:
            return np.sum(p ** 2)
        return np.sum(p ** 3)
    assert np.allclose(npdiff.grad(f)(X), 2 * X)
    assert seen == dict(ndim=1, flags=True, c=True, itemsize=8, nbytes=24, strides=(8,), base=None)
    y = np.ones((2, 3), dtype=np.float32)
    assert np.allclose(npdiff.grad(lambda p: np.sum(p) * (p.strides[0] / p.itemsize))(y), 3.0)  # strides (12, 4)


def test_type_is_ndarray_is_caught_by_the_value_self_check():
    def f(p):
        if type(p) is np.ndarray:
            return np.sum(p ** 2)
        return np.sum(p ** 3)
    with pytest.raises(npdiff.TracingError, match=r"self-check failed.*type check"):
        npdiff.grad(f)(X)
    with pytest.raises(npdiff.TracingError, match="self-check failed"):
        npdiff.value_and_grad(f)(X)


def test_library_code_still_sees_a_tracer():
    from npdiff.tracing.tracer import Tracer

    def f(p):
        assert type(p) is Tracer and isinstance(p, Tracer)
        return np.sum(p ** 2)
    assert np.allclose(npdiff.grad(f)(X), 2 * X)


def test_value_and_grad_value_equals_plain_call():
    fs = [lambda x: np.sum(np.sin(x) * x), lambda x: np.prod(x + 1.0) - np.max(x), lambda x: np.linalg.norm(x)]
    for f in fs:
        assert npdiff.value_and_grad(f)(X)[0] == pytest.approx(f(X), rel=1e-14)


def test_hidden_state_is_caught():
    calls = [0]

    def f(x):
        calls[0] += 1  # state that changes from call to call
        return calls[0] * np.sum(x ** 2)
    with pytest.raises(npdiff.TracingError, match=r"self-check failed.*another value"):
        npdiff.grad(f)(X)


def test_unseeded_random_state_made_inside_draws_fresh_numbers():
    def f(x):
        return np.sum(x * np.random.RandomState().normal(size=3))  # intercepted: drawn in the generated code
    g = npdiff.grad(f)
    assert not np.array_equal(g(X), g(X))


def test_random_draws_skip_the_value_comparison_and_keep_the_global_state():
    def f(x):
        return np.sum(x * np.random.normal(size=3))
    np.random.seed(3)
    g = npdiff.grad(f)(X)
    assert g.shape == (3,)
    np.random.seed(5)
    npdiff.grad(lambda x: np.sum(x * np.random.normal(size=3)))(X)  # a new path: self-check skipped
    after = np.random.normal()
    np.random.seed(5)
    np.random.normal(size=3)  # the generated code drew once
    assert np.random.normal() == after


# -- the derivative self-check -------------------------------------------------------------------

def hidden(x):
    """The values reach the output through integers and raw bytes: a dependency hidden from the trace."""
    k = np.array([int(t) for t in x * 1e12], dtype=np.int64)
    v = np.frombuffer(k.tobytes(), dtype=np.int64) * 1e-12  # as compiled code reading a buffer's bytes
    return np.sum(x ** 2) + np.sum(v)


def test_hidden_dependency_is_caught():
    with pytest.raises(npdiff.TracingError, match=r"self-check failed.*finite difference"):
        npdiff.grad(hidden)(X)
    with pytest.raises(npdiff.TracingError, match="self-check failed"):
        npdiff.jacfwd(lambda x: hidden(x) * x)(X)


def test_ctypes_read_is_caught():
    ctypes = pytest.importorskip("ctypes")

    def f(x):
        k = np.array([int(t) for t in x * 1e12], dtype=np.int64)
        buf = (ctypes.c_int64 * 3).from_buffer_copy(k.tobytes())  # a C-level copy of the values
        return np.sum(np.sin(x)) + sum(buf) * 1e-12
    with pytest.raises(npdiff.TracingError, match="self-check failed"):
        npdiff.grad(f)(X)


def test_switch_turns_both_self_checks_off(no_self_check):
    g = npdiff.grad(hidden)(X)
    assert np.allclose(g, 2 * X)  # the trace's derivative, accepted

    def f(p):
        return np.sum(p ** 2) if type(p) is np.ndarray else np.sum(p ** 3)
    assert np.allclose(npdiff.grad(f)(X), 3 * X ** 2)


@pytest.mark.parametrize("f, x", [
    (lambda x: np.sum(np.exp(3 * x) * np.sin(x)), X),
    (lambda x: np.sum(np.abs(x)), np.zeros(3)),
    (lambda x: np.sum(np.abs(x)), np.array([0.0, 1.0, -2.0])),
    (lambda x: np.sum(np.maximum(x, 2 * x - 1)), np.ones(3)),  # kink of a piecewise-linear function
    (lambda x: np.sum(np.where(x > 1.0, 2 * x * x, x * x + 1.0)), np.array([1.0, 0.5])),  # kink at 1
    (lambda x: np.sum(np.sqrt(np.abs(x))), np.array([0.0, 1.0])),  # infinite slope at 0
    (lambda x: np.sum(np.floor(x) * x), np.array([1.0, 2.0])),  # a jump
    (lambda x: np.sum(np.log(x)), np.array([1e-3, 1e3])),
    (lambda x: 1e12 * np.sum(x ** 3), X),
    (lambda x: 1e-12 * np.sum(x ** 3), X),
])
def test_silent_on_smooth_and_non_smooth_points(f, x):
    npdiff.grad(f)(x)


def piecewise(x):
    if x[0] > 1.0:
        return np.sum(2.0 * x ** 2)
    return np.sum(x ** 2 + 1.0)


def test_silent_on_a_branch_at_its_kink():
    assert np.allclose(npdiff.grad(piecewise)(np.array([1.0, 0.5])), [2.0, 1.0])


def test_one_plain_call_per_value_check_and_none_per_call():
    calls = [0]

    def f(x):
        calls[0] += 1
        return np.sum(np.sin(x))
    g = npdiff.grad(f)
    g(X)
    first = calls[0]
    assert 2 <= first <= 6  # the trace, the value check and the central difference (at most two steps)
    for _ in range(5):
        g(X)
    assert calls[0] == first


C = np.array([1.0, 2.0, 3.0])


def buffer_read_by_a_method(x):
    b = np.zeros(3)
    b[:] = x * 2.0
    return C.dot(b) + np.sum(x)  # C.dot reads b's memory without dispatching


def buffer_read_in_a_branch(x):
    b = np.zeros(3)
    b[:] = x
    if C.dot(b) > 1.0:
        return np.sum(x ** 2)
    return np.sum(x ** 3)


@pytest.mark.parametrize("f", [buffer_read_by_a_method, buffer_read_in_a_branch])
def test_buffer_read_directly_is_never_silently_wrong(f):
    """Issue 26's programs: the value equals the plain call (and the gradient finite differences), or an error."""
    x = np.array([0.1, 0.2, 0.3])
    try:
        v, g = npdiff.value_and_grad(f)(x)
    except npdiff.TracingError:
        return
    assert v == pytest.approx(f(x))
    fd = np.array([(f(x + 1e-6 * e) - f(x - 1e-6 * e)) / 2e-6 for e in np.eye(3)])
    assert np.allclose(g, fd, atol=1e-6)
