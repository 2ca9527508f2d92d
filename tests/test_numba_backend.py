"""backend="numba": fused kernels give NumPy's values and correct derivatives (finite differences)."""
import builtins
import itertools
import pickle

import numpy as np
import pytest
from tests.util import assert_close, fd_jac

import npdiff
from npdiff.api.core import generate
from npdiff.emit import fused as emit_numba
from npdiff.primitives import PRIMS
from npdiff.primitives.registry import apply


def test_missing_numba_raises_importerror_naming_the_extra(monkeypatch):
    real = builtins.__import__

    def fake(name, *args, **kw):
        if name == "numba" or name.startswith("numba."):
            raise ImportError("No module named 'numba'")
        return real(name, *args, **kw)
    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r"pip install 'npdiff\[numba\]'"):
        npdiff.grad(lambda x: np.sum(np.sin(x) ** 2), backend="numba")(np.ones(3))
    with pytest.raises(ImportError, match=r"npdiff\[numba\]"):
        npdiff.numpify(lambda x: np.sin(x) * 2, (3,), backend="numba")


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown backend"):
        npdiff.numpify(lambda x: x * 2, (3,), backend="fortran")


numba = pytest.importorskip("numba")

# -- every fusable elementwise primitive: numba's element expression gives NumPy's values ---------

SPECIAL = [-np.inf, -2.5, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.5, np.inf, np.nan]


def _nin(name, prim):
    impl = prim.impl
    nin = getattr(impl, "nin", None)
    if nin is None:
        import inspect
        nin = len([p for p in inspect.signature(impl).parameters.values() if p.default is p.empty])
    return nin


def _fusable_cases():
    """Return {name: nin} of the elementwise primitives the numba backend fuses (float arguments)."""
    xs = [npdiff.ir.graph.make_input(f"x{i}", (3,), np.dtype(np.float64)) for i in range(3)]
    out = {}
    for name, prim in sorted(PRIMS.items()):
        if not prim.elementwise or name in ("where", "convert"):
            continue
        nin = _nin(name, prim)
        try:
            node = apply(name, *xs[:nin])
        except Exception:  # noqa: BLE001 - needs params, not a float ufunc
            continue
        if node.op == name and emit_numba.template(node) is not None:
            out[name] = nin
    return out


CASES = _fusable_cases()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_fused_primitive_matches_numpy_on_special_values(dtype, monkeypatch):
    """One kernel computes every fusable primitive on all pairs of special values (inf, nan, +-0...)."""
    assert {"add", "multiply", "divide", "power", "sqrt", "log", "exp", "tanh", "maximum", "where"} - set(CASES) \
        == {"where"}
    pairs = np.array(list(itertools.product(SPECIAL, repeat=2)), dtype=dtype).T
    m = pairs.shape[1]
    names = sorted(CASES)

    def build(a, b, z):
        a, b = apply("multiply", a, z), apply("multiply", b, z)  # kernel members (z = 1 keeps -0.0)
        outs = [apply(n, *([a, b][:CASES[n]])) for n in names]
        sel = apply("where", apply("greater", a, b), a, b)
        cv = apply("convert", apply("less", a, b), dtype=np.dtype(dtype))
        return tuple(outs) + (sel, cv)
    gf = generate("allprims", ["a", "b", "z"], [((m,), np.dtype(dtype))] * 3, build, backend="numba")
    assert gf.source.count("@numba.njit") == 1
    got = gf(pairs[0], pairs[1], np.ones(m, dtype))
    with np.errstate(all="ignore"):
        want = [PRIMS[n].impl(*pairs[:CASES[n]]) for n in names]
        want += [np.where(pairs[0] > pairs[1], pairs[0], pairs[1]), (pairs[0] < pairs[1]).astype(dtype)]
    rtol = 1e-13 if dtype == np.float64 else 2e-6
    for n, g, w in zip(names + ["where", "convert"], got, want):
        assert g.dtype == w.dtype, n
        same = (g == w) | (np.isnan(g) & np.isnan(w)) if g.dtype != bool else g == w
        if g.dtype != bool:
            same |= np.isclose(g, w, rtol=rtol, atol=0)
        assert same.all(), (n, pairs[:, ~same][:, :3], g[~same][:3], w[~same][:3])


# -- the operators: NumPy backend's values and finite differences -------------------------------

def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def logistic(w, X, y):
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - y * z) / y.shape[0]


def net(w1, x):  # 2-layer tanh network, squared loss
    h = np.tanh(x @ w1)
    out = np.tanh(h * 0.5 + np.sin(h)) @ np.ones(w1.shape[1])
    return np.sum((out - 1.0) ** 2)


RNG = np.random.default_rng(0)
X = RNG.normal(size=(7, 3))
Y = (RNG.random(7) > 0.5).astype(float)
XN = RNG.normal(size=(6, 4))


def _fused(f):
    return "@numba.njit" in f.source


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rosenbrock_all_operators(dtype):
    x = RNG.normal(size=6).astype(dtype)
    v = RNG.normal(size=6).astype(dtype)
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-4)
    for op, args in [(npdiff.grad, (x,)), (npdiff.value_and_grad, (x,)), (npdiff.hessian, (x,)),
                     (npdiff.jacobian, (x,)), (npdiff.hvp, (x, v))]:
        f, f0 = op(rosen, backend="numba"), op(rosen)
        got, want = f(*args), f0(*args)
        assert _fused(f), op.__name__
        for g, w in zip(np.atleast_1d(got) if op is not npdiff.value_and_grad else got,
                        np.atleast_1d(want) if op is not npdiff.value_and_grad else want):
            assert np.asarray(g).dtype == np.asarray(w).dtype
            assert_close(g, w, **tol, what=op.__name__)
    g = npdiff.grad(rosen, backend="numba")(x)
    assert_close(g, fd_jac(rosen, [x], 0).ravel(), rtol=1e-5 if dtype == np.float64 else 2e-3, atol=1e-5)
    h = npdiff.hessian(rosen, backend="numba")(x)
    g64 = npdiff.grad(rosen)
    assert_close(h, fd_jac(lambda t: g64(t), [x.astype(float)], 0), rtol=1e-5, atol=1e-4 if dtype == np.float64
                 else 5e-2)
    hv = npdiff.hvp(rosen, backend="numba")(x, v)
    assert_close(hv, h @ v, rtol=1e-6 if dtype == np.float64 else 1e-3, atol=1e-6 if dtype == np.float64 else 1e-2)
    nf = npdiff.numpify(rosen, x, backend="numba")
    assert_close(nf(x), rosen(x.astype(float)), rtol=1e-12 if dtype == np.float64 else 1e-5)


def test_logistic_regression_gradient_and_hessian():
    w = RNG.normal(size=3)
    g = npdiff.grad(logistic, backend="numba")
    assert _fused(g.specialize(w, X, Y))
    assert_close(g(w, X, Y), npdiff.grad(logistic)(w, X, Y), rtol=1e-12, atol=1e-14)
    assert_close(g(w, X, Y), fd_jac(logistic, [w, X, Y], 0).ravel(), rtol=1e-6, atol=1e-8)
    vg = npdiff.value_and_grad(logistic, backend="numba")(w, X, Y)
    assert_close(vg[0], logistic(w, X, Y), rtol=1e-12)
    h = npdiff.hessian(logistic, backend="numba")(w, X, Y)
    assert_close(h, fd_jac(npdiff.grad(logistic), [w, X, Y], 0), rtol=1e-5, atol=1e-7)


def test_tanh_network_jacobian_and_gradient():
    w1 = RNG.normal(size=(4, 5)) * 0.5
    g = npdiff.grad(net, backend="numba")
    assert _fused(g.specialize(w1, XN))
    assert_close(g(w1, XN), npdiff.grad(net)(w1, XN), rtol=1e-12, atol=1e-13)
    assert_close(g(w1, XN), fd_jac(net, [w1, XN], 0).reshape(w1.shape), rtol=1e-6, atol=1e-8)

    def layer(w):
        return np.tanh(XN @ w) * np.cos(XN @ w)
    j = npdiff.jacobian(layer, backend="numba")(w1)
    assert_close(j, fd_jac(layer, [w1], 0).reshape(j.shape), rtol=1e-6, atol=1e-8)


def test_nan_and_inf_inputs_match_numpy():
    def f(x):
        return np.sum(np.sqrt(x) * np.log(x) + np.exp(-x) / x)
    x = np.array([1.0, np.inf, 0.0, -1.0, np.nan, 2.0, -np.inf, 0.5])
    for op in (npdiff.grad, npdiff.value_and_grad):
        with np.errstate(all="ignore"):
            got, want = op(f, backend="numba")(x), op(f)(x)
        for g, w in zip(np.atleast_1d(got) if op is npdiff.grad else got,
                        np.atleast_1d(want) if op is npdiff.grad else want):
            assert np.array_equal(np.asarray(g), np.asarray(w), equal_nan=True)
    with np.errstate(all="ignore"):
        got = npdiff.numpify(lambda x: np.maximum(x, 0.0) * np.tanh(x) + 1.0, (8,), backend="numba")(x)
        want = np.maximum(x, 0.0) * np.tanh(x) + 1.0
    assert np.array_equal(got, want, equal_nan=True)


def test_reductions_max_min_prod_and_broadcasting():
    def f(A, c, r):
        B = np.sin(A) * c + r          # (5, 4) with a column (5, 1) and a row (4,)
        return np.max(B * 2.0) + np.min(B - 1.0) + np.prod(np.cos(B) * 0.5 + 1.0) + np.sum(B[1:] * 3)
    A, c, r = RNG.normal(size=(5, 4)), RNG.normal(size=(5, 1)), RNG.normal(size=4)
    nf = npdiff.numpify(f, A, c, r, backend="numba")
    assert _fused(nf) and "for i1 in range(4)" in nf.source
    assert_close(nf(A, c, r), f(A, c, r), rtol=1e-12)
    A[2, 1] = np.nan
    assert np.isnan(nf(A, c, r)) and np.isnan(f(A, c, r))
    g = npdiff.grad(f, argnums=(0, 1, 2), backend="numba")
    A[2, 1] = 0.3
    for i, gi in enumerate(g(A, c, r)):
        assert_close(gi, fd_jac(f, [A, c, r], i).reshape(gi.shape), rtol=1e-6, atol=1e-8)


def test_a_chain_that_would_need_its_own_output_is_split():
    def f(x):  # cos(a * s) cannot join a's kernel: s = a @ a is computed from that kernel's output
        a = np.sin(x) * 2.0
        s = a @ a
        return np.cos(a * s) + a
    x = RNG.normal(size=5)
    nf = npdiff.numpify(f, x, backend="numba")
    assert nf.source.count("@numba.njit") == 2
    assert_close(nf(x), f(x), rtol=1e-13)
    assert_close(npdiff.jacobian(f, backend="numba")(x), fd_jac(f, [x], 0), rtol=1e-6, atol=1e-8)


def test_parallel_kernels(monkeypatch):
    monkeypatch.setattr(emit_numba, "PARALLEL_MIN", 8)
    monkeypatch.setattr(emit_numba, "PARALLEL_THREADS", 1)
    x = RNG.normal(size=40)

    def f(x):
        return np.sum(np.sin(x) ** 2 * np.exp(-x * x))
    vg = npdiff.value_and_grad(f, backend="numba")
    assert "numba.prange" in vg.specialize(x).source
    v, g = vg(x)
    v0, g0 = npdiff.value_and_grad(f)(x)
    assert_close(v, v0, rtol=1e-12)
    assert_close(g, g0, rtol=1e-12, atol=1e-12)


def test_pickles_and_caches_kernels_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("NPDIFF_CACHE_DIR", str(tmp_path))
    f = npdiff.numpify(lambda x: np.sum(np.exp(-x * x) * 3.0), (50,), backend="numba")
    x = np.linspace(-2, 2, 50)
    assert_close(f(x), np.sum(np.exp(-x * x) * 3.0), rtol=1e-13)
    assert list(tmp_path.glob("npdiff_*.py")) and list(tmp_path.glob("__pycache__/*.nbi"))
    f2 = pickle.loads(pickle.dumps(f))
    assert f2.source == f.source and f2(x) == f(x)


def test_tiny_or_unfusable_graphs_stay_numpy():
    f = npdiff.numpify(lambda x: np.linalg.inv(x) @ x, (3, 3), backend="numba")
    assert "numba" not in f.source
    a = RNG.normal(size=(3, 3)) + 3 * np.eye(3)
    assert_close(f(a), np.eye(3), atol=1e-12)


def test_scatters_of_slices_are_fused_into_the_kernel():
    def f(x):  # the gradient adds four shifted slices into one zero array
        return np.sum(np.sin(x[1:] * x[:-1])) + np.sum(x[2:] ** 2 * np.cos(x[:-2])) + np.sum(np.tanh(x[1:-1]))
    x = RNG.normal(size=9)
    g = npdiff.grad(f, backend="numba")
    src = g.specialize(x).source
    # one kernel per loop length (7 and 8); the second adds into the first's array, no NumPy scatter left
    assert src.count("@numba.njit") == 2 and src.count("] += v") == 5 and src.count("np.zeros") == 1
    assert ".copy()" not in src and "[:" not in src.split("def grad_f")[1].replace("x[:", "")
    assert_close(g(x), npdiff.grad(f)(x), rtol=1e-13, atol=1e-15)
    assert_close(g(x), fd_jac(f, [x], 0).ravel(), rtol=1e-6, atol=1e-9)
    xn = x.copy()
    xn[4] = np.nan
    assert np.array_equal(np.isnan(g(xn)), np.isnan(npdiff.grad(f)(xn)))


def test_a_member_reading_its_own_kernels_reduction_goes_to_a_new_kernel():
    def f(x):
        a = np.sin(x) * 2.0
        s = np.sum(a * 3.0 + 1.0)
        return np.cos(a * s) + a
    x = RNG.normal(size=5)
    nf = npdiff.numpify(f, x, backend="numba")
    assert nf.source.count("@numba.njit") == 2
    assert_close(nf(x), f(x), rtol=1e-13)


def test_another_process_loads_the_kernels_from_the_disk_cache(tmp_path):
    """An unpickled function in a fresh process (run twice: compile, then load the cached kernels)."""
    import os
    import subprocess
    import sys
    f = npdiff.grad(lambda x: np.sum(np.tanh(x) ** 2 * 3.0 + x), backend="numba").specialize((20,))
    (tmp_path / "f.pkl").write_bytes(pickle.dumps(f))
    x = np.linspace(-1, 1, 20)
    code = ("import pickle, sys, numpy as np\n"
            f"f = pickle.loads(open({str(tmp_path / 'f.pkl')!r}, 'rb').read())\n"
            "print(repr(f(np.linspace(-1, 1, 20)).tolist()))\n")
    env = dict(os.environ, NPDIFF_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    outs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
            for _ in range(2)]
    for r in outs:
        assert r.returncode == 0, r.stderr[-2000:]
        assert_close(np.array(eval(r.stdout)), f(x), rtol=1e-15)  # noqa: S307 - our own subprocess's repr
    assert list((tmp_path / "cache").glob("__pycache__/*.nbi"))
