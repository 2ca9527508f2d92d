"""Property-based tests: random broadcastable shapes, expressions and axes,
derivatives against finite differences."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import npdiff
from util import assert_close, fd_jac

UNARY = [np.sin, np.tanh, np.exp, lambda x: x ** 2, lambda x: np.log1p(x * x), np.arctan]
BINARY = [np.add, np.subtract, np.multiply, lambda a, b: a / (1.5 + np.cos(b)), np.hypot, np.maximum]


@st.composite
def broadcast_pair(draw):
    nd = draw(st.integers(0, 3))
    base = draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd))
    a = [d if draw(st.booleans()) else 1 for d in base]
    b = [d if draw(st.booleans()) else 1 for d in base]
    a = a[draw(st.integers(0, len(a))):]  # drop leading axes: NumPy broadcasting aligns trailing ones
    return tuple(a), tuple(b)


@settings(max_examples=40, deadline=None)
@given(shapes=broadcast_pair(), u=st.sampled_from(UNARY), b=st.sampled_from(BINARY), seed=st.integers(0, 99))
def test_random_broadcast_expressions(shapes, u, b, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, shapes[0])
    y = rng.uniform(-1, 1, shapes[1]) + 0.05  # keep maximum away from ties
    f = lambda x, y: np.sum(u(b(x, y)) * 1.3)
    gx, gy = npdiff.grad(f, argnums=(0, 1))(x, y)
    assert np.shape(gx) == x.shape and np.shape(gy) == y.shape  # 0-d results are Python floats
    assert_close(gx, fd_jac(f, [x, y], 0).reshape(x.shape), 1e-5, 1e-6)
    assert_close(gy, fd_jac(f, [x, y], 1).reshape(y.shape), 1e-5, 1e-6)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3), data=st.data())
def test_random_reductions_and_slices(shape, data):
    shape = tuple(shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    keep = data.draw(st.booleans())
    red = data.draw(st.sampled_from([np.sum, np.mean, np.max, np.prod]))
    x = np.random.default_rng(len(shape)).permutation(np.prod(shape)).reshape(shape) * 0.1 + 0.3
    f = lambda x: red(np.sin(x[::-1]) * x, axis=axis, keepdims=keep)
    J = npdiff.jacobian(f)(x)
    out = f(x)
    assert_close(J.reshape(np.size(out), x.size), fd_jac(f, [x], 0), 1e-5, 1e-6)
    assert_close(npdiff.numpify(f, shape)(x), out, 1e-12, 1e-12)
