"""Every error path: clear messages naming the problem and the fix."""
import math

import numpy as np
import pytest

import npdiff


def test_if_on_value_raises_tracing_error_with_line_and_fix():
    def f(x):
        if x[0] > 0:  # value-dependent
            return np.sum(x)
        return -np.sum(x)
    # with real arrays the branch is followed and guarded (tests/test_guards.py); shapes alone refuse
    with pytest.raises(npdiff.TracingError) as e:
        npdiff.grad(f).specialize((3,))
    msg = str(e.value)
    assert "if x[0] > 0" in msg and "np.where" in msg and "test_errors.py" in msg
    assert "example arrays" in msg


def test_float_and_math_raise_tracing_error():
    with pytest.raises(npdiff.TracingError, match="float"):
        npdiff.grad(lambda x: float(x) * 2.0)(1.0)
    with pytest.raises(npdiff.TracingError, match=r"math\.exp\(x\)"):
        npdiff.grad(lambda x: math.exp(x))(1.0)


def test_unsupported_function_is_named():
    with pytest.raises(npdiff.UnsupportedOperationError, match="unwrap"):
        npdiff.grad(lambda x: np.sum(np.unwrap(x)))(np.ones(3))


def test_unsupported_ufunc_is_named():
    with pytest.raises(npdiff.UnsupportedOperationError, match=r"bitwise_and|gcd"):
        npdiff.numpify(lambda x: np.gcd(x, x), npdiff.ShapeDtype((2,), np.int64))


def test_traced_boolean_mask_indexing():
    # with real arrays the mask is read and guarded (tests/test_masks.py); with shapes only it is refused
    with pytest.raises(npdiff.TracingError, match=r"np\.where"):
        npdiff.numpify(lambda x: np.sum(x[x > 0]), (3,))


def test_writing_into_plain_array_with_out():
    def f(x):
        out = np.ones(3)
        np.multiply(x, 2.0, out=out)
        return out.sum()
    with pytest.raises(npdiff.TracingError, match="out="):
        npdiff.grad(f)(np.ones(3))


def test_wrong_shape_on_call():
    gf = npdiff.numpify(lambda x, y: x + y, (2, 2), (2,))
    with pytest.raises(ValueError, match=r"argument 'y' has shape \(3,\), expected shape \(2,\)"):
        gf(np.ones((2, 2)), np.ones(3))


def test_wrong_number_of_arguments():
    gf = npdiff.numpify(lambda x: x * 2, (2,))
    with pytest.raises(TypeError, match="takes 1 arguments"):
        gf(np.ones(2), np.ones(2))


def test_integer_input_to_grad():
    with pytest.raises(TypeError, match="floating-point"):
        npdiff.grad(lambda x: np.sum(x * 2))(np.array([1, 2]))


def test_bad_shape_spec():
    with pytest.raises(TypeError, match="argument shape"):
        npdiff.numpify(lambda x: x, object())


def test_constant_control_flow_is_fine():
    def f(x):
        if x.shape[0] > 2:
            return np.sum(x[:2] ** 2)
        return np.sum(x)
    assert np.allclose(npdiff.grad(f)(np.array([1.0, 2.0, 3.0])), [2.0, 4.0, 0.0])
