"""The fast paths of issue 23: colour-compressed dense Hessians, the one-array call memo, scalar
outputs, the shape-generic adjoint's matrix fast paths and ``backend="auto"``. Every fast path is
checked against an independent reference (finite differences, closed forms, the slow path)."""
import numpy as np
import pytest

import npdiff
from npdiff import config
from npdiff.api import auto
from util import fd_jac


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_hessian(x):
    """Return the closed-form Rosenbrock Hessian (tridiagonal)."""
    d = np.zeros_like(x)
    d[:-1] = 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    d[1:] += 200
    o = -400 * x[:-1]
    return np.diag(d) + np.diag(o, 1) + np.diag(o, -1)


def blocks(x):
    """A function whose Hessian is block diagonal (blocks of 4)."""
    y = x.reshape(-1, 4)
    return np.sum(np.sin(y.sum(axis=1)) * np.cos(y[:, 0] * y[:, 3]))


@pytest.mark.parametrize("n", [3, 10, 100])
def test_banded_hessian_from_colours_matches_closed_form(n):
    x = np.random.default_rng(n).standard_normal(n)
    h = npdiff.hessian(rosen)
    np.testing.assert_allclose(h(x), rosen_hessian(x), rtol=1e-12, atol=1e-9)
    if n == 100:  # its bands written into one flat buffer (transforms/separable.py), no n passes
        src = h.source
        assert "np.zeros((10000,))" in src and "np.zeros((3, 100))" not in src and "np.eye" not in src


def test_block_hessian_from_colours_matches_finite_differences():
    x = np.random.default_rng(1).standard_normal(40)
    got = npdiff.hessian(blocks)(x)
    ref = fd_jac(npdiff.grad(blocks), [x], 0).reshape(40, 40)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
    assert np.all(got[:4, 4:] == 0) and np.allclose(got, got.T)


def test_one_array_memo_follows_shapes_dtypes_and_cache_clear():
    scale = [2.0]
    g = npdiff.grad(lambda x: scale[0] * np.sum(x ** 2))
    a, b = np.arange(3.0), np.arange(5.0)
    for _ in range(3):  # alternating shapes: each call runs the code of its own shape
        np.testing.assert_allclose(g(a), 4 * a)
        np.testing.assert_allclose(g(b), 4 * b)
    a32 = a.astype(np.float32)  # another dtype: not the remembered code
    np.testing.assert_allclose(g(a32), 4 * a, rtol=1e-6)
    assert g(a32).dtype == np.float32
    np.testing.assert_allclose(g(a), 4 * a)
    scale[0] = 3.0  # state the trace read changed: the remembered code is checked like the keyed one
    np.testing.assert_allclose(g(a), 6 * a)
    np.testing.assert_allclose(g(a), 6 * a)
    g.cache_clear()
    assert g._one is None and g.cache_info().currsize == 0
    np.testing.assert_allclose(g(a), 6 * a)  # generated again
    assert g.cache_info().currsize == 1


def test_one_array_memo_switches_paths():
    def f(x):
        return np.sum(x ** 2) if x[0] > 0 else np.sum(x ** 3)
    g = npdiff.grad(f)
    p, m = np.array([1.0, 2.0]), np.array([-1.0, 2.0])
    for _ in range(3):
        np.testing.assert_allclose(g(p), 2 * p)
        np.testing.assert_allclose(g(m), 3 * m ** 2)


def test_scalar_outputs_are_float64_with_integer_constants():
    g = npdiff.grad(lambda x: np.sum((x - 1) ** 2) + 3)
    out = g(np.array([0.5, 2.0]))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [-1.0, 2.0])
    h = npdiff.hessian(lambda x: x[0] * x[1] + 2 * x[0])
    out = h(np.array([0.5, 2.0]))
    assert out.dtype == np.float64 and out.shape == (2, 2)
    np.testing.assert_allclose(out, [[0.0, 1.0], [1.0, 0.0]])


def _load(src, name):
    ns = {"np": np}
    exec(src, ns)
    return ns[name]


@pytest.mark.parametrize("sa,sb", [((4, 3), (3, 5)), ((3,), (3, 5)), ((4, 3), (3,)), ((3,), (3,)),
                                   ((2, 4, 3), (3, 5)), ((4, 3), (2, 3, 5)), ((1, 4, 3), (2, 3, 5))])
def test_generic_matmul_adjoint_all_operand_kinds(sa, sb):
    def mm(A, B):
        return A @ B
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal(sa), rng.standard_normal(sb)
    out = A @ B
    ct = rng.standard_normal(out.shape)
    fn = _load(npdiff.transform(mm), "mm_ad")
    got = fn(A, B, np.zeros(sa), np.zeros(sb), ct)
    np.testing.assert_allclose(got[0], out)
    for i, x in enumerate((A, B)):
        ref = fd_jac(lambda *a: np.sum(ct * (a[0] @ a[1])), [A, B], i).reshape(x.shape)
        np.testing.assert_allclose(got[1 + i], ref, rtol=1e-6, atol=1e-7)


def test_generic_unbroadcast_fast_path_and_scalars():
    def f(A, c):
        return A * c + A
    A = np.arange(6.0).reshape(2, 3)
    fn = _load(npdiff.transform(f), "f_ad")
    _out, A_a, c_a = fn(A, 2.0, np.zeros((2, 3)), 0.0, np.ones((2, 3)))
    np.testing.assert_allclose(A_a, np.full((2, 3), 3.0))
    assert np.ndim(c_a) == 0 and np.isclose(c_a, A.sum())


@pytest.fixture
def eager_auto(monkeypatch):
    """Switch after the first call at any size (the thresholds of a long-running program)."""
    monkeypatch.setattr(config, "auto_numba_seconds", 0.0)
    monkeypatch.setattr(config, "auto_numba_min_size", 8)


def test_auto_backend_moves_to_numba_and_agrees(eager_auto):
    pytest.importorskip("numba")
    x = np.random.default_rng(0).standard_normal(64)
    g, ref = npdiff.grad(rosen, backend="auto"), npdiff.grad(rosen)
    for _ in range(2 + auto.AUTO_TRIAL_CALLS):
        np.testing.assert_allclose(g(x), ref(x), rtol=1e-12)
    info = g.cache_info()
    assert info.backends[0] in ("numba", "numpy (numba measured slower)")
    np.testing.assert_allclose(npdiff.hvp(rosen, backend="auto")(x, x), npdiff.hvp(rosen)(x, x), rtol=1e-12)


def test_auto_backend_stays_numpy_where_numba_cannot_help(eager_auto, monkeypatch):
    x = np.random.default_rng(0).standard_normal(64)
    small = npdiff.grad(rosen, backend="auto")
    small.cache_clear()  # operators made from the same function share their code: start afresh
    monkeypatch.setattr(config, "auto_numba_min_size", 1000)
    small(x), small(x)
    assert small.cache_info().backends == ("numpy",)
    monkeypatch.setattr(config, "auto_numba_min_size", 8)
    matmul = npdiff.grad(lambda A: np.sum(A @ A), backend="auto")  # nothing elementwise to fuse
    A = np.ones((8, 8))
    for _ in range(3):
        np.testing.assert_allclose(matmul(A), npdiff.grad(lambda A: np.sum(A @ A))(A))
    assert matmul.cache_info().backends[0].startswith("numpy")
    monkeypatch.setattr(auto, "numba_available", lambda: False)
    no_numba = npdiff.grad(rosen, backend="auto")
    no_numba.cache_clear()
    no_numba(x), no_numba(x)
    assert no_numba.cache_info().backends == ("numpy",)


def test_auto_backend_keeps_guarded_code_numpy(eager_auto):
    def f(x):
        return np.sum(x ** 2) if x[0] > 0 else np.sum(np.sin(x))
    g = npdiff.grad(f, backend="auto")
    x = np.linspace(0.1, 1.0, 64)
    for _ in range(3):
        np.testing.assert_allclose(g(x), 2 * x)
        np.testing.assert_allclose(g(-x), np.cos(-x))
    assert set(g.cache_info().backends) == {"numpy"}


def test_default_backend_reports_numpy():
    g = npdiff.grad(rosen)
    g.cache_clear()  # operators made from the same function share their code: start afresh
    g(np.ones(4))
    assert g.cache_info().backends == ("numpy",)
    with pytest.raises(ValueError, match="unknown backend"):
        npdiff.grad(rosen, backend="nope")


def test_two_array_memo_checks_both_arguments():
    h = npdiff.hvp(rosen)
    x3, v3 = np.array([0.3, -0.4, 1.1]), np.array([1.0, 0.5, -2.0])
    x2, v2 = x3[:2].copy(), v3[:2].copy()
    for _ in range(3):
        np.testing.assert_allclose(h(x3, v3), rosen_hessian(x3) @ v3)
        np.testing.assert_allclose(h(x2, v2), rosen_hessian(x2) @ v2)
    with pytest.raises(ValueError):  # the first argument matches the remembered code, the second does not
        h(x2, v3)
    got = h(x2, v2.astype(np.float32))  # another dtype for the second argument: its own code
    np.testing.assert_allclose(got, rosen_hessian(x2) @ v2, rtol=1e-6)


@pytest.mark.parametrize("f,x", [
    (lambda x: x * 1.0, np.array([1, 2])),  # folds to the int elements: the dtype must be named
    (lambda x: np.maximum(x, 0) * 1.0, np.array([-1.0, 2.0])),  # max(x, 0) may give back the int 0
    (lambda x: np.where(x > 0, x, 0) + 0.0, np.array([-1.0, 2.0])),
    (lambda x: x ** 2 + 1, np.array([0.5, 2.0])),
    (lambda x: np.stack([x[0] * 0 + 1, x[1] ** 2]), np.array([1.5, 2.0])),
])
def test_scalar_outputs_keep_numpys_dtype(f, x):
    got = npdiff.numpify(f, x)(x)
    want = f(x)
    assert got.dtype == want.dtype and got.dtype == np.float64
    np.testing.assert_array_equal(got, want)


def test_scalar_float_analysis_marks_only_certain_floats():
    src = npdiff.grad(rosen).specialize((2,)).source
    assert "return np.array([sub2, mul3])" in src  # every element a float: no dtype conversion
    src = npdiff.numpify(lambda x: np.maximum(x, 0) * 1.0, (2,)).source
    assert "else 0), (x_1 if" in src and src.count(", float)") == 1  # max(x, 0): the int 0 may come back
