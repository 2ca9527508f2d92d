"""Blocked execution of long elementwise chains on large arrays (issue 23, part 1; emit/blocked.py).

Each case generates the same operator twice, with blocking off
(``config.block_min_size = 0``) and on (a small threshold and block so that
the arrays stay small and the tests fast), and checks that the results are
equal at float rounding, that the blocked source really loops over blocks
(and that below the threshold it is the unblocked source, byte for byte), and
that gradients match central differences along random directions.
"""
from __future__ import annotations

import numpy as np
import pytest

import npdiff
from npdiff import config

MIN, BLOCK = 600, 128  # the threshold and block of the tests (the defaults: 2**16 and 2**14)
SIZES = (MIN - 1, MIN, MIN + 1, 1001, 4 * BLOCK)  # just below/at/above, odd (a shorter last block), a multiple


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(config, "block_min_size", MIN)
    monkeypatch.setattr(config, "block_size", BLOCK)


def both(op, *args):
    """Return (unblocked result, blocked result, unblocked source, blocked source) of operator op.

    op is a lazy operator, or a function for numpify (which generates at once).
    """
    def generate():
        if hasattr(op, "cache_clear"):
            op.cache_clear()
            return op
        return npdiff.numpify(op, *args)  # example arrays: their dtypes (and paths)
    saved = config.block_min_size
    config.block_min_size = 0
    try:
        fn = generate()
        ref = fn(*args)
        plain = fn.source
    finally:
        config.block_min_size = saved
    fn = generate()
    out = fn(*args)
    return ref, out, plain, fn.source


def assert_same(ref, out, rtol=1e-12, atol=1e-12):
    """Assert two results (pytrees of arrays/scalars) are equal at rounding, dtypes included."""
    if isinstance(ref, (tuple, list)):
        assert len(ref) == len(out)
        for r, o in zip(ref, out):
            assert_same(r, o, rtol, atol)
        return
    assert np.asarray(ref).dtype == np.asarray(out).dtype
    assert np.shape(ref) == np.shape(out)
    np.testing.assert_allclose(out, ref, rtol=rtol, atol=atol, equal_nan=True)


def blocked(src: str) -> bool:
    return "for _i in range(" in src


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def dirderiv(f, args, i, d, eps=1e-6):
    """Return the central difference of scalar f along direction d of argument i."""
    hi, lo = list(args), list(args)
    hi[i] = args[i] + eps * d
    lo[i] = args[i] - eps * d
    return (f(*hi) - f(*lo)) / (2 * eps)


@pytest.mark.parametrize("n", SIZES)
def test_rosenbrock_grad_hvp(n):
    rng = np.random.default_rng(n)
    x, v = rng.uniform(-1, 1, n), rng.normal(size=n)
    g_ref, g, plain, src = both(npdiff.grad(rosen), x)
    assert_same(g_ref, g)
    h_ref, h, _, hsrc = both(npdiff.hvp(rosen), x, v)
    assert_same(h_ref, h)
    # blocked once the chain (n - 1 elements) reaches the threshold; below it, the same source
    assert blocked(src) == (n - 1 >= MIN) and blocked(hsrc) == (n - 1 >= MIN)
    if n - 1 < MIN:
        assert src == plain
    d = rng.normal(size=n)
    np.testing.assert_allclose(g @ d, dirderiv(rosen, (x,), 0, d), rtol=1e-6)
    np.testing.assert_allclose(h @ d, dirderiv(lambda y: npdiff.grad(rosen)(y) @ v, (x,), 0, d), rtol=1e-5)


def chain(x, y):
    return np.sum(np.exp(-x * y) * np.sin(x + y) / (1.0 + y * y)) + np.max(np.tanh(x * y + 0.5))


@pytest.mark.parametrize("yshape", [(), (1,), "same"])
def test_broadcast_operands_1d(yshape):
    rng = np.random.default_rng(1)
    n = 1001
    x = rng.normal(size=n)
    y = rng.normal(size=n) if yshape == "same" else np.asarray(rng.normal(size=yshape))
    for op in (npdiff.grad(chain, argnums=(0, 1)), npdiff.value_and_grad(chain)):
        ref, out, _, src = both(op, x, y)
        assert blocked(src)
        assert_same(ref, out)
    gx, gy = npdiff.grad(chain, argnums=(0, 1))(x, y)
    d = rng.normal(size=n)
    np.testing.assert_allclose(gx @ d, dirderiv(chain, (x, y), 0, d), rtol=1e-6)
    dy = rng.normal(size=y.shape)
    np.testing.assert_allclose(np.sum(gy * dy), dirderiv(chain, (x, y), 1, dy), rtol=1e-6)


def softplus_rows(a, b, c):
    z = a * b + c
    return np.logaddexp(0.0, z) * b - z ** 2


@pytest.mark.parametrize("shapes", [((50, 31), (31,), (50, 1)),  # rows of 31: four rows a block
                                    ((7, 301), (1, 301), ()),  # rows longer than a block: one a block
                                    ((33, 40), (33, 40), (40,)),
                                    ((3, 1001), (1001,), (3, 1)),  # rows longer than a block: cut along columns
                                    ((2, 3, 401), (3, 1), (401,))])
def test_broadcast_operands_2d(shapes):
    rng = np.random.default_rng(2)
    a, b, c = (np.asarray(rng.normal(size=s)) for s in shapes)
    f = softplus_rows
    ref, out, _, src = both(f, a, b, c)
    assert blocked(src)
    assert_same(ref, out)
    np.testing.assert_allclose(out, f(a, b, c), rtol=1e-12)
    op = npdiff.grad(lambda a, b, c: np.sum(f(a, b, c)), argnums=(0, 1, 2))
    ref, out, _, src = both(op, a, b, c)
    assert blocked(src)
    assert_same(ref, out)
    d = rng.normal(size=a.shape)
    np.testing.assert_allclose(np.sum(out[0] * d), dirderiv(lambda a: np.sum(f(a, b, c)), (a,), 0, d), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes(dtype):
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, 1001).astype(dtype)
    ref, out, _, src = both(npdiff.grad(rosen), x)
    assert blocked(src) and out.dtype == dtype
    assert_same(ref, out, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5 if dtype == np.float32 else 1e-12)
    # float32 data with a float64 weight: float64 results, as NumPy
    w = rng.normal(size=1001)
    op = npdiff.grad(lambda x, w: np.sum(np.cos(x) * w + x * x), argnums=(0, 1))
    ref, out, _, src = both(op, x, w)
    assert blocked(src) and out[0].dtype == dtype and out[1].dtype == np.float64
    assert_same(ref, out, rtol=1e-6, atol=1e-6)
    v = lambda x: np.sqrt(x * x + 1.0) * 2.0 - x
    ref, out, _, src = both(v, x)
    assert blocked(src) and out.dtype == dtype
    assert_same(ref, out, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("red", [np.sum, np.mean, np.max, np.min, np.prod,
                                 lambda t: np.dot(t, t), lambda t: np.dot(t, np.cos(t)), lambda t: np.sum(t) / t.size])
def test_reductions_folded(red):
    rng = np.random.default_rng(4)
    x = rng.uniform(0.5, 1.5, 1001)

    def f(x):
        return red(np.sqrt(x) * x - 0.25 * x * x + 0.9)
    ref, out, _, src = both(npdiff.value_and_grad(f), x)
    assert blocked(src)
    assert_same(ref, out, rtol=1e-10)
    d = rng.normal(size=x.size)
    np.testing.assert_allclose(out[1] @ d, dirderiv(f, (x,), 0, d), rtol=1e-5)
    vref, value, _, vsrc = both(f, x)  # the value alone: its chain lives in temporaries only
    assert_same(vref, value, rtol=1e-10)
    np.testing.assert_allclose(value, f(x), rtol=1e-10)
    if red in (np.sum, np.mean, np.max, np.min, np.prod):  # the value's chain folds into the loop: no full array
        assert "_acc" in vsrc and "np.empty((1001,)" not in vsrc


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_inf_propagate():
    n = 1001
    x = np.linspace(-2, 2, n)
    x[[3, 500, n - 2]] = [np.nan, np.inf, -np.inf]  # the last one in the shorter last block

    def f(x):
        return np.exp(x) * x - np.sqrt(np.abs(x)) + 1.0 / (x * x + 1.0)
    ref, out, _, src = both(f, x)
    assert blocked(src)
    assert_same(ref, out)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(np.isnan(out), np.isnan(f(x)))
    for red in (np.sum, np.max, np.min):
        ref, out, _, _ = both(lambda x, red=red: red(x * 2.0 + 1.0), x)
        assert np.isnan(out) and np.isnan(ref)
    y = np.linspace(-2, 2, n)
    y[n - 1] = np.inf
    ref, out, _, _ = both(lambda x: np.max(x * 2.0 + 1.0), y)
    assert out == ref == np.inf


def test_outputs_are_fresh():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=1001), rng.normal(size=1001)

    def f(x, y):
        t = x * y + 1.0
        return t, t * 2.0, np.sin(t) * y
    ref, out, _, src = both(f, x, y)
    op = npdiff.numpify(f, x.shape, y.shape)
    assert blocked(src)
    assert_same(list(ref), list(out))
    before = [x.copy(), y.copy()]
    for o in out:
        assert not any(np.shares_memory(o, a) for a in (x, y))
        assert sum(np.shares_memory(o, p) for p in out) == 1
    out[0][...] = 7.0
    np.testing.assert_array_equal(x, before[0])
    np.testing.assert_array_equal(op(x, y)[1], ref[1])


def test_guards_on_values():
    def f(x):
        if np.sum(x) > 0:
            return np.sum(x * x * np.exp(-x))
        return np.sum(np.cos(x) * x + 1.0)
    rng = np.random.default_rng(6)
    for x in (rng.uniform(0.1, 1, 1001), -rng.uniform(0.1, 1, 1001)):
        op = npdiff.grad(f)
        ref, out, _, src = both(op, x)
        assert blocked(src)
        assert_same(ref, out)
        np.testing.assert_allclose(op(-x), npdiff.grad(lambda y: f(y))(-x), rtol=1e-12)  # the other path
        d = rng.normal(size=x.size)
        np.testing.assert_allclose(out @ d, dirderiv(f, (x,), 0, d), rtol=1e-6)


def test_default_threshold(monkeypatch):
    monkeypatch.undo()  # the package's own threshold and block
    n0 = config.block_min_size
    for n, expect in ((n0, False), (n0 + 2, True)):  # the chain has n - 1 elements
        x = np.random.default_rng(7).uniform(-1, 1, n)
        ref, out, plain, src = both(npdiff.grad(rosen), x)
        assert blocked(src) == expect
        assert_same(ref, out)
        if not expect:
            assert src == plain


def test_off_and_small_unchanged():
    x = np.linspace(-1, 1, 300)  # below the threshold: the source is the plain printer's
    ref, out, plain, src = both(npdiff.hvp(rosen), x, x)
    assert src == plain and not blocked(src)
    assert_same(ref, out)


def piecewise(x, y, inner=np.float32):
    z = np.where(x > 0.2, np.exp(-x * x), 0.5 * x) + np.maximum(y, 0.1) * x
    w = z.astype(inner) * inner(1.5)  # a float32 stretch inside a float64 chain
    return np.sum(np.tanh(w) * z + np.abs(y - x))


def piecewise64(x, y):
    return piecewise(x, y, np.float64)


def test_where_comparisons_convert():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=1001), rng.normal(size=1001)
    for op in (npdiff.grad(piecewise, argnums=(0, 1)), npdiff.value_and_grad(piecewise)):
        ref, out, _, src = both(op, x, y)
        assert blocked(src)
        assert_same(ref, out, rtol=1e-6, atol=1e-6)
    ref, out, _, src = both(piecewise, x, y)
    assert blocked(src) and "np.where(" in src
    assert_same(ref, out, rtol=1e-6)
    ref, g, _, src = both(npdiff.grad(piecewise64), x, y)  # float64 throughout: central differences are exact enough
    assert blocked(src)
    assert_same(ref, g)
    d = rng.normal(size=x.size)
    np.testing.assert_allclose(g @ d, dirderiv(piecewise64, (x, y), 0, d), rtol=1e-6)


def test_views_strided_and_transposed():
    rng = np.random.default_rng(9)
    x, a = rng.normal(size=2003), rng.normal(size=(40, 33))

    def f(x, a):
        s = x[::2]  # a strided view
        return np.sum(np.sin(s) * s[::-1] + 1.0) + np.sum(np.cos(a.T) * a.T * 2.0)
    ref, out, _, src = both(npdiff.grad(f, argnums=(0, 1)), x, a)
    assert blocked(src)
    assert_same(ref, out)
    d = rng.normal(size=a.shape)
    np.testing.assert_allclose(np.sum(out[1] * d), dirderiv(f, (x, a), 1, d), rtol=1e-6)


def test_nested_function_and_complex_fallback():
    rng = np.random.default_rng(10)
    x, ct = rng.normal(size=1001), rng.normal(size=1001)

    def f(x):
        return np.exp(-x * x) * np.sin(x) + x
    saved = config.block_min_size
    config.block_min_size = 0
    ref_out, ref_vjp = npdiff.vjp(f, x)
    config.block_min_size = saved
    out, vjp_fn = npdiff.vjp(f, x)  # the pullback is a nested generated function
    assert_same(ref_out, out)
    assert_same(ref_vjp(ct), vjp_fn(ct))
    z = x + 1j * ct  # complex chains stay unblocked
    ref, out, _, src = both(lambda z: np.exp(z) * z + 1.0, z)
    assert not blocked(src) and np.array_equal(ref, out)


@pytest.mark.parametrize("shape", [(30, 5, 7), (3, 5, 70)])  # cut along the first axis, then the last
def test_axis_sums_folded(shape):
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=shape), rng.normal(size=shape[-1:])

    def f(a, b):
        t = np.tanh(a * b + 0.3) * a
        return t.sum(axis=0), t.sum(axis=(1, 2)), t.sum(axis=(0, 2)), np.mean(t, axis=1)
    ref, out, _, src = both(f, a, b)
    assert blocked(src) and "np.sum(_blk" in src
    assert_same(ref, out)
    np.testing.assert_allclose(out[3], f(a, b)[3], rtol=1e-12)
    g = lambda a, b: np.sum(np.sin(a * b) ** 2)  # the gradient in b sums over the first two axes
    ref, out, _, src = both(npdiff.grad(g, argnums=(0, 1)), a, b)
    assert blocked(src)
    assert_same(ref, out)
    d = rng.normal(size=b.shape)
    np.testing.assert_allclose(out[1] @ d, dirderiv(g, (a, b), 1, d), rtol=1e-6)


def test_bool_operands():
    rng = np.random.default_rng(12)
    x, y = rng.normal(size=1001), rng.normal(size=1001)

    def f(x, y):
        m = x > 0.0
        return np.reciprocal(m) * y + m * y + np.square(x < 0.5) * x + (m + (y > 0)) * 0.5  # int8, bool ops
    with np.errstate(divide="ignore"):
        ref, out, _, src = both(f, x, y)
    assert blocked(src) and "np.greater(" in src
    assert_same(ref, out)


def test_peak_memory_is_the_result_and_blocks():
    import tracemalloc
    x = np.random.default_rng(13).uniform(-1, 1, 8001)
    v = np.ones_like(x)
    for op, args in ((npdiff.grad(rosen), (x,)), (npdiff.hvp(rosen), (x, v))):
        op.cache_clear()
        op(*args)
        assert blocked(op.source)
        tracemalloc.start()
        try:
            op(*args)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 1.4 * x.nbytes  # the result plus a few blocks (the whole-array code holds 3 to 4 arrays)


def _append_delete(x):
    return np.append(x, x[0] ** 2) * np.delete(np.append(x, x ** 2, axis=0), [1, 2], axis=0).sum()


def test_values_deleted_earlier_are_not_computed_again(monkeypatch, tmp_path):
    """A later group of statements must not recompute (from a deleted or updated name) what an earlier one freed.

    Regression: the nested Jacobian below deletes a scatter's array after its last use in one run
    of NumPy statements; the next run walked back through the loop's values to it and computed it
    again from a deleted name (UnboundLocalError). The numba backend shared the bug.
    """
    monkeypatch.setattr(config, "block_min_size", 8)
    monkeypatch.setattr(config, "block_size", 4)
    x = np.array([[0.3, -1.2, 0.8], [1.1, 0.4, -0.6]])
    ref, out, _, src = both(npdiff.jacrev(npdiff.jacrev(_append_delete)), x)
    assert blocked(src)
    assert_same(ref, out)
    pytest.importorskip("numba")
    monkeypatch.setenv("NPDIFF_CACHE_DIR", str(tmp_path))
    nb = npdiff.jacrev(npdiff.jacrev(_append_delete), backend="numba")(x)
    np.testing.assert_allclose(nb, ref, rtol=1e-12, atol=1e-12)


def test_a_dying_array_receives_a_stored_value():
    rng = np.random.default_rng(14)
    A, w = rng.normal(size=(1001, 4)), rng.normal(size=4)

    def f(A, w):
        t = np.tanh(A @ w)  # A @ w dies in the loop: the stored factor of the gradient is written into it
        return np.sum(t * t * 0.5 + t)
    A0, w0 = A.copy(), w.copy()
    ref, out, _, src = both(npdiff.value_and_grad(f, argnums=(0, 1)), A, w)
    assert blocked(src)
    assert "mul = np.empty" not in src and "out=_s)" in src  # the gradient factor overwrites A @ w
    assert_same(ref, out)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(w, w0)
    d = rng.normal(size=4)
    np.testing.assert_allclose(out[1][1] @ d, dirderiv(f, (A, w), 1, d), rtol=1e-6)


def test_an_array_read_after_the_loop_is_not_overwritten():
    rng = np.random.default_rng(15)
    A, w = rng.normal(size=(1001, 4)), rng.normal(size=4)

    def f(A, w):
        d = A @ w
        u = np.tanh(d) * 2.0 + 1.0  # stored: must not be written into d's array ...
        return np.sort(u) * d  # ... which this reads after the loop
    ref, out, _, src = both(f, A, w)
    assert blocked(src)
    assert_same(ref, out)
    np.testing.assert_allclose(out, f(A, w), rtol=1e-12)
