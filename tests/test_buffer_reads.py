"""Trace buffers holding traced values are never read silently by code that does not dispatch.

A trace buffer (what np.zeros, np.array... return while tracing) that a traced value was written into
has stale memory: NaN, read-only, and a poisoned dtype, so compiled code that reads it fails, and npdiff
turns that failure into a TracingError naming the line. Python-level readers (np.frombuffer, ctypes,
.data, .tobytes, .view) are refused by name. Views taken before the write are poisoned with their base.
"""
from __future__ import annotations

import ctypes

import numpy as np
import pytest

import npdiff
from util import fd_jac

C = np.array([1.0, 2.0, 3.0])
M = np.arange(9.0).reshape(3, 3) / 5
PLAIN = np.zeros(3)
X = np.array([0.1, 0.2, 0.3])


def f_issue(x):
    b = np.zeros(3)
    b[:] = x * 2.0
    return C.dot(b) + np.sum(x)


def g_issue(x):
    b = np.zeros(3)
    b[:] = x
    if C.dot(b) > 1.0:
        return np.sum(x ** 2)
    return np.sum(x ** 3)


@pytest.mark.parametrize("fn", [f_issue, g_issue], ids=["value", "branch"])
def test_the_two_programs_of_the_issue_are_refused_naming_the_line(fn):
    with pytest.raises(npdiff.TracingError, match="does not dispatch") as e:
        npdiff.value_and_grad(fn)(X)
    msg = str(e.value)
    assert "test_buffer_reads.py" in msg and "C.dot(b)" in msg and "np.dot(C, b)" in msg


def test_the_rewrites_give_plain_values_and_gradients():
    def f(x):
        b = np.zeros(3)
        b[:] = x * 2.0
        return C @ b + np.sum(x)

    def g(x):
        b = np.zeros(3)
        b[:] = x
        if np.dot(C, b) > 1.0:
            return np.sum(x ** 2)
        return np.sum(x ** 3)
    for fn in (f, g):
        for x in (X, X * 5):
            v, gr = npdiff.value_and_grad(fn)(x)
            assert v == pytest.approx(fn(x), rel=1e-13)
            np.testing.assert_allclose(gr, fd_jac(fn, [x], 0).ravel(), rtol=1e-7, atol=1e-7)


def _buf(x):
    b = np.zeros(3)
    b[:] = x * 2.0
    return b


READERS = {
    "ndarray method of another array": lambda x: C.dot(_buf(x)) + np.sum(x),
    "a matrix's method, in a reduction": lambda x: np.max(M.dot(_buf(x))) * np.sum(x),
    "in a branch": lambda x: np.sum(x ** 2) if M.dot(_buf(x))[0] > 0.1 else np.sum(x),
    "searchsorted of a constant": lambda x: np.sum(C.searchsorted(_buf(x)) * x),
    "np.frombuffer": lambda x: np.sum(np.frombuffer(_buf(x))) * np.sum(x),
    "memoryview": lambda x: np.sum(np.array(memoryview(_buf(x)).tolist())) * np.sum(x),
    "ctypes": lambda x: _buf(x).ctypes.data_as(ctypes.POINTER(ctypes.c_double))[0] * np.sum(x),
    "the data buffer": lambda x: bytes(_buf(x).data)[0] * np.sum(x),
    "tobytes": lambda x: len(_buf(x).tobytes()) * np.sum(x),
    "a view as another dtype": lambda x: np.sum(_buf(x).view(np.int64)) * np.sum(x),
    "np.copyto into a plain array": lambda x: (np.copyto(np.empty(3).view(np.ndarray), _buf(x)), np.sum(x))[1],
    "assignment into a plain array": lambda x: (PLAIN.__setitem__(slice(None), _buf(x)), np.sum(PLAIN * x))[1],
    "bytes()": lambda x: len(bytes(_buf(x))) * np.sum(x),
    "a memoryview cast to bytes": lambda x: sum(memoryview(_buf(x)).cast("B")) * np.sum(x),
}


@pytest.mark.parametrize("name", sorted(READERS))
def test_every_kind_of_non_dispatching_reader_is_refused(name):
    fn = READERS[name]
    with pytest.raises((npdiff.TracingError, npdiff.UnsupportedOperationError)) as e:
        npdiff.value_and_grad(fn)(X)
    assert "test_buffer_reads.py" in str(e.value)


def test_compiled_routine_reading_a_buffer():
    blas = pytest.importorskip("scipy.linalg.blas")

    def f(x):
        b = np.zeros(3)
        b[:] = x
        return blas.ddot(C, b) * np.sum(x)  # f2py converts b in C
    with pytest.raises(npdiff.TracingError, match="does not dispatch") as e:
        npdiff.value_and_grad(f)(X)
    assert "blas.ddot(C, b)" in str(e.value)


def test_a_view_taken_before_the_write_is_poisoned_too():
    def f(x):
        b = np.zeros(3)
        v = b[1:]  # a view made while b was an ordinary array
        r = b.reshape(3, 1)
        b[:] = x
        return C[:2].dot(v) + M.dot(r)[0, 0]
    with pytest.raises(npdiff.TracingError, match="does not dispatch"):
        npdiff.grad(f)(X)

    def ok(x):
        b = np.zeros(3)
        v = b[1:]
        b[:] = x
        return np.sum(v * C[:2])  # the view read through NumPy: follows b
    np.testing.assert_allclose(npdiff.grad(ok)(X), [0.0, 1.0, 2.0])


def test_library_code_converting_a_buffer_gets_a_traced_array():
    """SciPy routines that np.asarray their arguments see the buffer's value through the graph."""
    sl = pytest.importorskip("scipy.linalg")

    def f(x):
        b = np.zeros(3)
        b[:] = x
        return np.sum(sl.expm(np.diag(b)))
    v, g = npdiff.value_and_grad(f)(X)
    assert v == pytest.approx(f(X), rel=1e-12)
    np.testing.assert_allclose(g, np.exp(X), rtol=1e-10)


def test_buffers_own_methods_and_numpy_functions_still_work():
    def f(x):
        b = np.zeros((2, 3))
        b[0] = x
        b[1] = x ** 2
        return (np.sum(b.dot(C)) + b.T.dot(C[:2]).sum() + b.compress([True, False, True], axis=1).sum()
                + np.sum(M.T @ b.T))
    v, g = npdiff.value_and_grad(f)(X)
    assert v == pytest.approx(f(X), rel=1e-13)
    np.testing.assert_allclose(g, fd_jac(f, [X], 0).ravel(), rtol=1e-7, atol=1e-7)


def test_a_buffer_keeps_reporting_its_own_dtype_and_flags():
    seen = {}

    def f(x):
        b = np.zeros(3, dtype=np.float32)
        b[:] = x
        if not seen:  # the traced run (npdiff's self-check runs f once more on plain arrays)
            seen.update(dtype=b.dtype, writeable=b.flags.writeable, shape=b.shape, str=repr(b))
        return np.sum(b)
    npdiff.grad(f)(X.astype(np.float32))
    assert seen["dtype"] == np.float32 and seen["writeable"] is False and seen["shape"] == (3,)
    assert "traced" in seen["str"]


def test_untraced_buffers_are_ordinary_arrays_for_compiled_code():
    def f(x):
        b = np.zeros(3)
        b[:] = C * 2.0  # no traced value written
        return C.dot(b) * np.sum(x) + np.frombuffer(b)[0]
    v, g = npdiff.value_and_grad(f)(X)
    assert v == pytest.approx(f(X))
    np.testing.assert_allclose(g, np.full(3, 28.0))


_LIBRARY_SOURCE = '''
import numpy as np
def exp_sum(x):
    x = np.asarray(x)
    return np.sum(np.exp(x) * 2.0)
def as_float(x):
    x = np.asarray(x, dtype=float)
    return x.sum() + np.dot(x, x)
def copy_and_write(x):
    x = np.asarray(x).copy()
    x[0] = 0.5
    return np.sum(x ** 2)
def fill_empty_like(x):
    x = np.array(x)
    out = np.empty_like(x)
    out[...] = x * 3
    return out.sum() + x.max()
'''


def _library():
    """Functions in a module named like SciPy's (npdiff treats it as library code, not user code)."""
    import types
    mod = types.ModuleType("scipy_like_library")
    exec(compile(_LIBRARY_SOURCE, "<scipy_like_library>", "exec"), mod.__dict__)  # noqa: S102
    return mod


@pytest.mark.parametrize("name", ["exp_sum", "as_float", "copy_and_write", "fill_empty_like"])
@pytest.mark.parametrize("holder", ["tracer", "buffer"])
def test_library_code_that_converts_its_arguments(name, holder):
    """NumPy/SciPy-style code calling np.asarray/np.array on a traced argument or a buffer holding traced
    values gets a probe array standing for the value: plain values and derivatives."""
    fn = getattr(_library(), name)

    def f(x):
        if holder == "buffer":
            b = np.zeros(3)
            b[:] = x
            return fn(b)
        return fn(x)
    x = np.array([0.3, -0.2, 0.7])
    v, g = npdiff.value_and_grad(f)(x)
    assert v == pytest.approx(f(x), rel=1e-12)
    np.testing.assert_allclose(g, fd_jac(f, [x], 0).ravel(), rtol=1e-6, atol=1e-7)
