"""Shape-generic adjoint source transformation, checked against finite differences."""
import ast

import numpy as np
import pytest

from npdiff.api.adjoint import generic as ag
from npdiff.api.adjoint.generic import transform_expr_generic, transform_generic
from npdiff.errors import UnsupportedOperationError
from util import fd_vjp

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _reseed():
    """Each test draws the same numbers whatever the selection or order of tests."""
    global RNG
    RNG = np.random.default_rng(0)


def rand(*shape, lo=None):
    x = RNG.standard_normal(shape)
    return x if lo is None else lo + np.abs(x)


def spd(n, batch=()):
    a = RNG.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def well_conditioned(n, batch=()):
    return RNG.standard_normal(batch + (n, n)) + 3 * n ** 0.5 * np.eye(n)


def like(x, value):
    """value in the kind of x: Python float for a Python float, else an array."""
    return float(value) if isinstance(x, float) else np.asarray(value, dtype=float).reshape(np.shape(x))


def compile_adjoint(func, **kw):
    src = transform_generic(func, **kw)
    ns = dict(func.__globals__)
    exec(compile(src, "<generated>", "exec"), ns)
    return ns[func.__name__ + "_ad"], src


def check(func, *args, seed=1, rtol=1e-5, atol=1e-6):
    """Compare the generated adjoint with finite differences; return the source."""
    ad, src = compile_adjoint(func)
    rng = np.random.default_rng(seed)
    out = func(*args)
    ct = like(out if not isinstance(out, float) else 0.0, rng.standard_normal(np.shape(out)))
    adj0 = [like(a, rng.standard_normal(np.shape(a))) for a in args]
    saved_args = [np.copy(a) for a in args]
    saved_adj = [np.copy(a) for a in adj0]
    res = ad(*args, *adj0, ct)
    assert len(res) == 1 + len(args)
    np.testing.assert_allclose(res[0], out, rtol=1e-12, atol=1e-12)
    for i, a in enumerate(args):
        got = res[1 + i]
        assert np.shape(got) == np.shape(a), (i, np.shape(got), np.shape(a))
        if isinstance(a, float):
            assert np.ndim(got) == 0 and isinstance(got, float)
        expected = fd_vjp(func, args, i, ct, retype=like)
        np.testing.assert_allclose(np.asarray(got) - adj0[i], expected, rtol=rtol, atol=atol,
                                   err_msg=f"argument {i}\n{src}")
    # nothing the caller passed was modified in place
    for a, s in zip(args + tuple(adj0), saved_args + saved_adj):
        np.testing.assert_array_equal(a, s)
    return src


# ---------------------------------------------------------------- models

def mma(A, B, C):
    return A @ B + C


def gls(X, M, y):
    Minv = np.linalg.inv(M)
    A = X.T @ Minv @ X
    b = np.linalg.inv(A) @ X.T @ Minv @ y
    return b


def elementwise(A, B, C):
    return np.exp(A) * np.sin(B) / C


def transpose_chain(A, B):
    return (A.T @ B).T


def inverse(A, B):
    return np.linalg.inv(A) @ B


def solve(A, b):
    return np.linalg.solve(A, b)


def matmul(a, b):
    return a @ b


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b


def div(a, b):
    return a / b


def power(a, b):
    return a ** b


@pytest.mark.parametrize("shapes", [
    [(3, 3), (3, 3), (3, 3)],
    [(2, 3), (3, 4), (2, 4)],
    [(2, 3), (3, 4), (4,)],          # row vector C
    [(2, 3), (3, 4), (2, 1)],        # column vector C
    [(5, 2, 3), (3, 4), (2, 4)],     # stacked A, C broadcast over the stack
    [(3,), (3, 4), (1,)],
])
def test_mma(shapes):
    src = check(mma, *[rand(*s) for s in shapes])
    assert "A_a = A_a + " in src and "C_a = C_a + _unbroadcast(out_a, C)" in src


def test_mma_scalar_c():
    check(mma, rand(2, 3), rand(3, 4), 0.7)


def test_gls():
    X, M, y = rand(6, 3), spd(6), rand(6)
    src = check(gls, X, M, y, rtol=1e-4)
    assert "def gls_ad(X, M, y, X_a, M_a, y_a, b_a):" in src
    assert "return (b, X_a, M_a, y_a)" in src
    assert "np.zeros_like" not in src


def test_gls_matrix_rhs():
    check(gls, rand(6, 3), spd(6), rand(6, 2), rtol=1e-4)


def test_elementwise_chain():
    check(elementwise, rand(3, 4), rand(3, 4), rand(3, 4, lo=0.5))
    check(elementwise, rand(3, 4), rand(4), rand(3, 1, lo=0.5))


def test_transpose_chain():
    check(transpose_chain, rand(3, 2), rand(3, 4))


def test_inverse():
    check(inverse, well_conditioned(4), rand(4, 2))
    check(inverse, well_conditioned(3, (2,)), rand(3))


@pytest.mark.parametrize("shapes", [
    [(4, 4), (4,)], [(4, 4), (4, 2)], [(2, 3, 3), (3, 2)], [(2, 3, 3), (2, 3, 1)],
    [(2, 3, 3), (3,)],
])
def test_solve(shapes):
    (n, batch), b = (shapes[0][-1], shapes[0][:-2]), rand(*shapes[1])
    check(solve, well_conditioned(n, batch), b)


@pytest.mark.parametrize("shapes", [
    [(3,), (3,)],               # inner product: a scalar
    [(2, 3), (3,)],             # matrix @ vector
    [(3,), (3, 4)],             # vector @ matrix
    [(2, 3), (3, 4)],
    [(5, 2, 3), (3,)],          # stack of matrices @ vector
    [(3,), (5, 3, 2)],          # vector @ stack
    [(5, 2, 3), (1, 3, 4)],     # broadcast stacks
    [(2, 3), (5, 3, 4)],
])
def test_matmul(shapes):
    check(matmul, *[rand(*s) for s in shapes])


@pytest.mark.parametrize("op", [add, sub, mul, div])
@pytest.mark.parametrize("a, b", [
    (lambda: np.array(1.3), lambda: rand(3, 4)),       # 0-d array and matrix
    (lambda: 1.3, lambda: rand(3, 4)),                  # Python float and matrix
    (lambda: rand(4), lambda: rand(3, 4)),              # row vector and matrix
    (lambda: rand(3, 1), lambda: rand(1, 4)),           # outer broadcast
    (lambda: rand(3, 4), lambda: rand(2, 1, 1, lo=1)),  # new leading axes
    (lambda: np.array(0.4), lambda: np.array(1.7)),     # 0-d arrays
    (lambda: 0.4, lambda: 1.7),                         # Python floats
])
def test_broadcasting(op, a, b):
    x, y = a(), b()
    away_from_zero = (lambda v: like(v, np.abs(v) + 0.5)) if op is div else (lambda v: v)
    check(op, x, away_from_zero(y))
    check(op, y, away_from_zero(x))


def test_broadcasting_power():
    check(power, rand(3, 1, lo=0.5), rand(4))
    check(power, 1.5, rand(2, 3))


# ---------------------------------------------------------------- operations

def unary_all(x):
    y = np.exp(x) + np.log(x) + np.sin(x) + np.cos(x) + np.tanh(x) + np.sqrt(x)
    z = np.tan(x) + np.abs(x) + np.square(x) + np.log1p(x) + np.expm1(x) + np.sinh(x) + np.cosh(x)
    return y * z - np.power(x, 3) + x ** 0.5 + 1 / x - x ** -2 + x ** 1 + x ** 0 + 2 ** x


def pow_traced(x, y):
    return np.power(x, y) + x ** y


def reductions(x):
    return np.sum(x) + np.sum(x ** 2, axis=0) + x.sum(axis=-1, keepdims=True) + np.mean(x) + x.mean(axis=1)


def sums_only(x):
    return np.sum(x, axis=(0, 2)) * np.mean(x, axis=0).sum(axis=1)


def dots(a, b, c):
    return np.dot(a, b) @ c + a.dot(b) @ c


def dot3(a, b):
    return np.dot(a, b)


def shape_ops(x):
    return np.transpose(x, (1, 2, 0)).reshape(12, 2) @ np.swapaxes(x, 0, 2).reshape((2, 12)) + np.transpose(x).sum()


def trace_det(A):
    return np.trace(A) * np.linalg.det(A) + np.trace(A @ A.T)


def traced_det(A):
    return np.linalg.det(A)


G = np.arange(12.0).reshape(3, 4) / 10


def with_constants(X, s):
    n = X.shape[0]
    I = np.eye(n)
    Y = (X + 2.0 * I) @ G * s
    Y = Y - np.pi
    return np.sum(Y ** 2) + G.sum()


def reassign(x):
    x = x * 2
    x = np.sin(x)
    x += 1.5
    y = x * x
    return y


def returns_argument(x, y):
    return x


def unused_argument(x, y):
    z = y * 2  # noqa: F841  (an unused intermediate, on purpose)
    return x * 3


def positive_unary(x):
    y = +x
    z = -y
    return z


def test_unary_functions():
    check(unary_all, RNG.uniform(0.2, 1.2, (3, 2)), rtol=1e-4)
    check(unary_all, 0.6, rtol=1e-4)


def test_traced_exponent():
    check(pow_traced, rand(3, 2, lo=0.5), rand(2))


def test_reductions():
    check(reductions, rand(3, 3))
    check(sums_only, rand(2, 3, 4))


def test_dot():
    check(dots, rand(2, 3), rand(3, 4), rand(4))
    check(dots, rand(3), rand(3, 4), rand(4, 2))
    check(dot3, rand(2, 3, 4), rand(5, 4, 2))
    check(dot3, rand(2, 3, 4), rand(4))
    check(dot3, rand(4), rand(5, 4, 2))
    check(dot3, 1.5, rand(3, 2))


def batched_mT(a, b):
    return a.mT @ b


def test_shape_ops():
    check(shape_ops, rand(2, 3, 4))
    check(batched_mT, rand(2, 3, 4), rand(3, 5))


def test_trace_det():
    check(trace_det, well_conditioned(3), rtol=1e-4)
    check(traced_det, well_conditioned(3, (2,)), rtol=1e-4)


def test_constants():
    src = check(with_constants, rand(3, 3), 0.8)
    assert "n = X.shape[0]" in src and "I = np.eye(n)" in src
    assert "I_a" not in src and "G_a" not in src


def test_reassignment():
    src = check(reassign, rand(3))
    assert "x_1 = x * 2" in src


def test_return_argument_and_unused():
    src = check(returns_argument, rand(2), rand(3))
    assert "def returns_argument_ad(x, y, x_a, y_a, out_a):" in src
    src = check(unused_argument, rand(2), rand(3))
    assert "y_a = " not in src and "z_a" not in src
    check(positive_unary, rand(3))


def zero_derivative(x, y):
    return np.floor(x) * y + np.sign(y) * x + np.greater(x, y) * x


def registry_functions(x, y):
    z = np.maximum(x, 0.2) * np.arctan2(y, x) + np.logaddexp(x, y) ** 2
    return np.hypot(z, 1.5) - np.minimum(np.cbrt(y), x) / np.exp2(x)


def test_zero_derivative_functions_are_constants():
    src = check(zero_derivative, rand(3, 2) * 3, rand(2) * 3)
    assert "np.floor(x)" in src and "np.sign(y)" in src and "np.greater(x, y)" in src


def test_functions_from_the_registry():
    """Elementwise functions without a hand-written rule, broadcasting, Python floats."""
    src = check(registry_functions, RNG.uniform(0.5, 2, (3, 2)), RNG.uniform(0.5, 2, (2,)))
    assert "np.where(" in src  # the max/min derivative (1/2 at ties), printed from the primitive
    check(registry_functions, 1.3, RNG.uniform(0.5, 2, (4,)))
    check(registry_functions, 0.7, 1.9)


# ---------------------------------------------------------------- semantics and readability

def test_accumulation_and_no_mutation():
    ad, _ = compile_adjoint(mma)
    A, B, C = rand(2, 3), rand(3, 4), rand(2, 4)
    D_a = rand(2, 4)
    zeros = ad(A, B, C, np.zeros((2, 3)), np.zeros((3, 4)), np.zeros((2, 4)), D_a)
    A_a, B_a, C_a = np.ones((2, 3)), np.full((3, 4), 2.0), np.full((2, 4), -1.0)
    ids = [id(A_a), id(B_a), id(C_a)]
    res = ad(A, B, C, A_a, B_a, C_a, D_a)
    np.testing.assert_allclose(res[1], 1 + zeros[1])
    np.testing.assert_allclose(res[2], 2 + zeros[2])
    np.testing.assert_allclose(res[3], -1 + zeros[3])
    np.testing.assert_allclose(zeros[1], D_a @ B.T)
    np.testing.assert_allclose(zeros[2], A.T @ D_a)
    assert np.all(A_a == 1) and np.all(B_a == 2) and np.all(C_a == -1)
    assert [id(r) for r in res[1:]] != ids


def test_readable_source():
    src = transform_generic(gls)
    fdef = next(n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef) and n.name == "gls_ad")
    assert [a.arg for a in fdef.args.args] == ["X", "M", "y", "X_a", "M_a", "y_a", "b_a"]
    forward = fdef.body[:8]
    for stmt in forward:  # one operation a line
        ops = [n for n in ast.walk(stmt.value) if isinstance(n, (ast.BinOp, ast.Call, ast.UnaryOp))
               or (isinstance(n, ast.Attribute) and n.attr == "T")]
        assert len(ops) == 1, ast.unparse(stmt)
    body = "\n".join(ast.unparse(s) for s in fdef.body)
    assert "Minv = np.linalg.inv(M)" in body and "v0 = X.T" in body
    assert "X_a = X_a + " in body and "M_a = M_a - " in body
    assert "zeros_like" not in src
    # elementwise chains on equal shapes need no _unbroadcast
    src = transform_generic("def f(x):\n    return np.exp(x) * np.sin(x) + 2 * x ** 2\n")
    assert "_unbroadcast" not in src


def test_source_string_and_name():
    src = transform_generic("def f(a, b):\n    c = a * b\n    return c\n", name="g")
    assert "def g(a, b, a_a, b_a, c_a):" in src and "return (c, a_a, b_a)" in src


def test_unbroadcast_helper():
    g = np.ones((2, 3))
    assert ag._unbroadcast(g, np.zeros((2, 3))) is g
    assert isinstance(ag._unbroadcast(g, 1.0), float) and ag._unbroadcast(g, 1.0) == 6
    np.testing.assert_array_equal(ag._unbroadcast(g, np.zeros((1, 3))), np.full((1, 3), 2.0))
    np.testing.assert_array_equal(ag._unbroadcast(np.ones((4, 2, 3)), np.zeros((2, 1))), np.full((2, 1), 12.0))
    assert ag._unbroadcast(g, np.zeros(())).shape == ()


# ---------------------------------------------------------------- expression mode

@pytest.mark.parametrize("shapes", [[(3, 3), (3, 3), (3, 3)], [(2, 3), (3, 4), (4,)]])
def test_expr_mma(shapes):
    src = transform_expr_generic("D = A @ B + C")
    assert src.rstrip().endswith("B_a = B_a + _matmul_grad_b(v0_a, A, B)")
    assert "v0 = A @ B\nD = v0 + C\n" in src and "import" not in src
    A, B, C = [rand(*s) for s in shapes]
    D_a = rand(*np.shape(A @ B + C))
    ns = {"np": np, "A": A, "B": B, "C": C, "A_a": np.ones(A.shape), "B_a": np.zeros(B.shape),
          "C_a": np.zeros(C.shape), "D_a": D_a}
    exec(src, ns)
    np.testing.assert_allclose(ns["D"], A @ B + C)
    f = mma
    np.testing.assert_allclose(ns["A_a"] - 1, fd_vjp(f, (A, B, C), 0, D_a, retype=like), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ns["B_a"], fd_vjp(f, (A, B, C), 1, D_a, retype=like), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ns["C_a"], fd_vjp(f, (A, B, C), 2, D_a, retype=like), rtol=1e-5, atol=1e-6)


def test_expr_helpers_only_when_needed():
    src = transform_expr_generic("y = np.exp(x) * 3")
    assert src == "v0 = np.exp(x)\ny = v0 * 3\nv0_a = y_a * 3.0\nx_a = x_a + v0_a * v0\n"
    src = transform_expr_generic("D = A @ B + C", helpers=False)
    assert "def " not in src
    ns = {"np": np}
    exec(ag.helper_source(), ns)
    A, B, C, D_a = rand(2, 2), rand(2, 2), rand(2, 2), rand(2, 2)
    ns.update(A=A, B=B, C=C, D_a=D_a, A_a=0.0 * A, B_a=0.0 * B, C_a=0.0 * C)
    exec(src, ns)
    np.testing.assert_allclose(ns["A_a"], D_a @ B.T)


def test_expr_multiple_statements():
    src = transform_expr_generic("t = x * y; z = np.sum(t ** 2)")
    x, y = rand(3), rand(3)
    ns = {"np": np, "x": x, "y": y, "x_a": np.zeros(3), "y_a": np.zeros(3), "z_a": 1.0}
    exec(src, ns)
    np.testing.assert_allclose(ns["x_a"], 2 * x * y * y)


# ---------------------------------------------------------------- errors

def uses_cumsum(X):
    Y = np.cumsum(X)
    return Y


def uses_indexing(x):
    return x[0] * 2


def uses_if(x):
    if x > 0:
        x = x * 2
    return x


def uses_loop(x):
    for _i in range(3):
        x = x * 2
    return x


@pytest.mark.parametrize("func, construct", [
    (uses_cumsum, "`np.cumsum`"),
    (uses_indexing, "indexing `x[0]`"),
    (uses_if, "an `if` statement"),
    (uses_loop, "a `for` loop"),
])
def test_unsupported(func, construct):
    with pytest.raises(UnsupportedOperationError) as info:
        transform_generic(func)
    msg = str(info.value)
    assert construct in msg
    assert "pass argument shapes to transform() to use the traced (shape-specialised) mode" in msg
    assert "line " in msg


def test_unsupported_details():
    with pytest.raises(UnsupportedOperationError, match=r"line \d+: `Y = np.cumsum\(X\)`"):
        transform_generic(uses_cumsum)
    with pytest.raises(UnsupportedOperationError, match="operator `//`"):
        transform_expr_generic("y = x // 2")
    with pytest.raises(UnsupportedOperationError, match="keyword argument `dtype=`"):
        transform_expr_generic("y = np.sum(x, dtype=float)")
    with pytest.raises(UnsupportedOperationError, match="several values"):
        transform_generic("def f(x):\n    return x, x\n")
    with pytest.raises(NotImplementedError):
        transform_generic("def f(x):\n    return np.linalg.eig(x)\n")
    # constant sub-expressions may use anything
    transform_generic("def f(x):\n    return x * np.maximum(np.arange(3), 1)\n")
