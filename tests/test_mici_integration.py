"""npdiff as a Mici autodiff backend, checked with the real ``mici`` package.

Runs the three examples (HMC on a banana, constrained HMC on a torus, SoftAbs
RMHMC) at small sizes with fixed seeds, and checks what Mici gets from the
backend against hand-derived derivatives (and against Mici's own autograd
backend when autograd happens to be installed; it is not a test dependency).
"""
from __future__ import annotations

import pathlib
import pickle
import sys

import numpy as np
import pytest

mici = pytest.importorskip("mici")

import npdiff
import npdiff.mici as npmici

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))

import mici_constrained_manifold as ex_torus
import mici_hmc_banana as ex_banana
import mici_softabs as ex_softabs
from mici.autodiff import DIFF_OPS, autodiff_fallback


@pytest.fixture(autouse=True)
def _registered():
    npdiff.mici.register()
    yield


def _state(q):
    return mici.states.ChainState(pos=np.asarray(q, dtype=float), mom=np.zeros(len(q)), dir=1)


# --- hand-derived derivatives of the example functions -------------------------------

def banana_derivs(q):
    A, B, S = ex_banana.A, ex_banana.B, ex_banana.S
    r = q[1] - B * q[0] ** 2
    grad = np.array([q[0] / A ** 2 - 2 * B * q[0] * r / S ** 2, r / S ** 2])
    hess = np.array([[1 / A ** 2 - 2 * B * r / S ** 2 + 4 * B ** 2 * q[0] ** 2 / S ** 2, -2 * B * q[0] / S ** 2],
                     [-2 * B * q[0] / S ** 2, 1 / S ** 2]])
    tress = np.zeros((2, 2, 2))
    tress[0, 0, 0] = 12 * B ** 2 * q[0] / S ** 2
    tress[0, 0, 1] = tress[0, 1, 0] = tress[1, 0, 0] = -2 * B / S ** 2
    return grad, hess, tress


def torus_derivs(q):
    R = ex_torus.R
    s = q @ q + R ** 2 - ex_torus.r ** 2
    e = np.array([1.0, 1.0, 0.0])
    jac = (4 * s * q - 8 * R ** 2 * q * e)[None]
    hess = (8 * np.outer(q, q) + 4 * s * np.eye(3) - 8 * R ** 2 * np.diag(e))[None]  # h[i, j, k]
    return jac, hess


# --- registration ---------------------------------------------------------------------

def test_register_adds_backend_with_every_diff_op():
    npdiff.mici.register()
    npdiff.mici.register()  # idempotent
    backend = mici.autodiff._REGISTERED_BACKENDS["npdiff"]
    assert backend.available and backend.function_wrapper is None
    assert npdiff.mici.missing_ops() == []
    for name in DIFF_OPS:
        assert callable(getattr(backend.module, name)), name
    assert npdiff.mici.is_registered()
    # Mici lower-cases backend names before looking them up
    npdiff.mici.register("NpDiff_Alias")
    assert mici.autodiff._get_backend("NpDiff_Alias").module is npmici
    del mici.autodiff._REGISTERED_BACKENDS["npdiff_alias"]


def test_register_refuses_mici_builtin_names():
    before = dict(mici.autodiff._REGISTERED_BACKENDS)
    with pytest.raises(ValueError, match="Mici's own"):
        npdiff.mici.register("jax")
    assert mici.autodiff._REGISTERED_BACKENDS == before


def test_register_warns_about_operators_npdiff_lacks(monkeypatch):
    monkeypatch.setattr(mici.autodiff, "DIFF_OPS", (*DIFF_OPS, "some_future_op"))
    with pytest.warns(RuntimeWarning, match="some_future_op"):
        npdiff.mici.register()
    assert npdiff.mici.is_registered()


def test_register_without_mici_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mici", None)
    monkeypatch.setitem(sys.modules, "mici.autodiff", None)
    with pytest.raises(ImportError, match="pip install mici"):
        npdiff.mici.register()


def test_euclidean_system_from_neg_log_dens_only():
    system = mici.systems.EuclideanMetricSystem(ex_banana.neg_log_dens, backend="npdiff")
    q = np.array([0.7, -0.3])
    state = _state(q)
    grad, _, _ = banana_derivs(q)
    np.testing.assert_allclose(system.grad_neg_log_dens(state), grad, rtol=1e-12, atol=1e-12)
    assert system.neg_log_dens(state) == pytest.approx(ex_banana.neg_log_dens(q))


def test_mici_calls_derivatives_with_1d_float64_positions():
    """What Mici actually passes: record every argument during a short run."""
    seen = []
    system = mici.systems.EuclideanMetricSystem(ex_banana.neg_log_dens, backend="npdiff")
    inner = system._grad_neg_log_dens
    assert isinstance(inner, npmici.MiciDerivative)

    def spy(pos):
        seen.append((type(pos), pos.ndim, pos.dtype))
        return inner(pos)

    system._grad_neg_log_dens = spy
    rng = np.random.default_rng(1)
    sampler = mici.samplers.DynamicMultinomialHMC(system, mici.integrators.LeapfrogIntegrator(system), rng)
    sampler.sample_chains(n_warm_up_iter=5, n_main_iter=5, init_states=[rng.standard_normal(2)],
                          display_progress=False)
    assert seen and set(seen) == {(np.ndarray, 1, np.dtype(np.float64))}


# --- the backend's results against hand-derived derivatives --------------------------

@pytest.mark.parametrize("q", [[0.7, -0.3], [-1.2, 2.5], [0.0, 0.0]])
def test_softabs_system_hessian_and_mtp(q):
    q = np.array(q)
    grad, hess, tress = banana_derivs(q)
    m = np.random.default_rng(0).standard_normal((2, 2))
    for use_backend in (True, False):
        system = ex_softabs.make_system(use_backend=use_backend)
        state = _state(q)
        np.testing.assert_allclose(system.hess_neg_log_dens(state), hess, rtol=1e-12, atol=1e-12)
        mtp = system.mtp_neg_log_dens(state)
        np.testing.assert_allclose(mtp(m), np.sum(m[:, :, None] * tress, axis=(0, 1)), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(system.grad_neg_log_dens(state), grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", [True, False])
def test_constrained_system_jacobian_and_mhp(backend):
    if backend:
        system = mici.systems.DenseConstrainedEuclideanMetricSystem(
            ex_torus.neg_log_dens, ex_torus.constr, dens_wrt_hausdorff=False, backend="npdiff")
        assert isinstance(system._mhp_constr, npmici.MiciDerivative)
    else:
        system = ex_torus.make_system()
    rng = np.random.default_rng(2)
    for _ in range(3):
        q = rng.standard_normal(3)
        state = _state(q)
        jac, hess = torus_derivs(q)
        np.testing.assert_allclose(system.jacob_constr(state), jac, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(system.constr(state), ex_torus.constr(q))
        m = rng.standard_normal((1, 3))
        np.testing.assert_allclose(system.mhp_constr(state)(m), np.sum(m[:, :, None] * hess, axis=(0, 1)),
                                   rtol=1e-12, atol=1e-12)


def _trig_constr(xp):
    def constr(q):  # R^3 -> R^2 with trigonometric terms
        return xp.stack([xp.sin(q[0]) * xp.cos(q[1]) + q[2] ** 2 - 0.5,
                         q[0] * q[1] * xp.exp(-q[2]) + xp.cos(q[2])])
    return constr


def _density(xp):
    def neg_log_dens(q):
        return 0.5 * xp.sum(q ** 2) + 0.5 * xp.sum((q[1:] - q[:-1] ** 2) ** 2) + xp.sum(xp.log(xp.cosh(q)))
    return neg_log_dens


@pytest.mark.parametrize("op_name", DIFF_OPS)
def test_backend_ops_match_finite_differences(op_name):
    """Every DIFF_OPS bundle Mici can ask for, on a vector or scalar function."""
    rng = np.random.default_rng(3)
    scalar = op_name in ("grad_and_value", "hessian_grad_and_value", "mtp_hessian_grad_and_value")
    func = _density(np) if scalar else _trig_constr(np)
    n = 5 if scalar else 3
    x = rng.standard_normal(n)
    out = autodiff_fallback(None, func, op_name, op_name, "npdiff")(x)
    eps = 1e-6

    def fd(f, x):
        cols = [(np.asarray(f(x + eps * e)) - np.asarray(f(x - eps * e))) / (2 * eps) for e in np.eye(len(x))]
        return np.stack(cols, axis=-1)

    assert np.allclose(out[-1], func(x))
    if op_name == "grad_and_value":
        np.testing.assert_allclose(out[0], fd(func, x), rtol=1e-6, atol=1e-6)
    elif op_name == "jacobian_and_value":
        np.testing.assert_allclose(out[0], fd(func, x), rtol=1e-6, atol=1e-6)
    elif op_name == "vjp_and_value":
        v = rng.standard_normal(2)
        np.testing.assert_allclose(out[0](v), v @ fd(func, x), rtol=1e-6, atol=1e-6)
    elif op_name == "hessian_grad_and_value":
        g = npdiff.grad(func)
        np.testing.assert_allclose(out[0], fd(g, x), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(out[1], g(x), rtol=1e-12)
    elif op_name == "mhp_jacobian_and_value":
        jac = npdiff.jacobian(func)
        h = fd(jac, x)  # h[i, j, k]
        m = rng.standard_normal((2, 3))
        np.testing.assert_allclose(out[0](m), np.sum(m[:, :, None] * h, axis=(0, 1)), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(out[1], jac(x), rtol=1e-12)
    elif op_name == "mtp_hessian_grad_and_value":
        hess = npdiff.hessian(func)
        t = fd(hess, x)
        m = rng.standard_normal((n, n))
        np.testing.assert_allclose(out[0](m), np.sum(m * t, axis=(-1, -2)), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(out[1], hess(x), rtol=1e-12)
        np.testing.assert_allclose(out[2], npdiff.grad(func)(x), rtol=1e-12)


@pytest.mark.parametrize("op_name", DIFF_OPS)
def test_backend_matches_mici_autograd_backend(op_name):
    """What Mici gets from npdiff equals what Mici's own autograd backend computes."""
    anp = pytest.importorskip("autograd.numpy")
    if not mici.autodiff._REGISTERED_BACKENDS["autograd"].available:
        pytest.skip("Mici's autograd backend unavailable")
    rng = np.random.default_rng(4)
    scalar = op_name in ("grad_and_value", "hessian_grad_and_value", "mtp_hessian_grad_and_value")
    make = _density if scalar else _trig_constr
    n = 6 if scalar else 3
    x = rng.standard_normal(n)
    ours = autodiff_fallback(None, make(np), op_name, op_name, "npdiff")(x)
    theirs = autodiff_fallback(None, make(anp), op_name, op_name, "autograd")(x)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if callable(b):
            arg = {"vjp_and_value": (2,), "mhp_jacobian_and_value": (2, n),
                   "mtp_hessian_grad_and_value": (n, n)}[op_name]
            v = rng.standard_normal(arg)
            a, b = a(v), b(v)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12)


# --- pickling (Mici pickles systems to run chains in several processes) -------------

def test_derivative_pickles_by_function_and_by_generated_code():
    d = npdiff.mici.hessian_grad_and_value(ex_banana.neg_log_dens)
    q = np.array([0.3, 0.9])
    expected = d(q)
    d2 = pickle.loads(pickle.dumps(d))
    for a, b in zip(d2(q), expected):
        np.testing.assert_allclose(a, b)
    assert d2(np.zeros(2)) is not None  # module-level function travels: new positions fine

    closure = npdiff.mici.grad_and_value(lambda q: np.sum(np.sin(q)))
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        pickle.dumps(closure)  # nothing generated yet and a lambda does not pickle
    x = np.array([0.1, 0.2, 0.3])
    g, v = closure(x)
    c2 = pickle.loads(pickle.dumps(closure))  # generated code only
    np.testing.assert_allclose(c2(x)[0], g)
    assert c2(x)[1] == pytest.approx(v)
    with pytest.raises(RuntimeError, match="unpickled"):
        c2(np.zeros(4))


def test_positions_of_other_dtypes():
    d = npdiff.mici.grad_and_value(ex_banana.neg_log_dens)
    g_int, _ = d(np.array([1, 2]))
    g_float, _ = d(np.array([1.0, 2.0]))
    np.testing.assert_allclose(g_int, g_float)
    g32, _ = d(np.array([1.0, 2.0], dtype=np.float32))
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, g_float, rtol=1e-6)
    g_list, _ = d([1.0, 2.0])
    np.testing.assert_allclose(g_list, g_float)


def test_parallel_chains_in_processes():
    """Mici pickles the system into worker processes; the npdiff derivatives travel."""
    system = mici.systems.EuclideanMetricSystem(ex_banana.neg_log_dens, backend="npdiff")
    rng = np.random.default_rng(5)
    sampler = mici.samplers.DynamicMultinomialHMC(system, mici.integrators.LeapfrogIntegrator(system), rng)
    _, traces, _ = sampler.sample_chains(n_warm_up_iter=10, n_main_iter=10,
                                         init_states=[rng.standard_normal(2) for _ in range(2)],
                                         n_worker=2, display_progress=False)
    pos = np.stack(traces["pos"])
    assert pos.shape == (2, 10, 2) and np.all(np.isfinite(pos))


# --- the three samplers ----------------------------------------------------------------

def test_hmc_banana_moments():
    """Sample moments within 4 Monte Carlo standard errors (from each quantity's ESS)."""
    res = ex_banana.main(n_iter=400, n_warm_up=150, n_chain=4, seed=20240611, verbose=False)
    assert res["samples"].shape == (4, 400, 2)
    assert 0.6 < res["accept"] < 1.0
    for name, m in res["moments"].items():
        # enough effective samples that the check is informative (MCSE ~ sd / 10)
        assert m["ess"] > 100, (name, m)
        assert abs(m["z"]) < 4, (name, m)


def test_constrained_hmc_torus_stays_on_manifold():
    res = ex_torus.main(n_iter=25, n_warm_up=10, n_chain=2, seed=20240611, verbose=False)
    samples = res["samples"].reshape(-1, 3)
    assert samples.shape == (50, 3) and np.all(np.isfinite(samples))
    assert np.all(np.abs(res["constr"]) < 1e-6)
    assert res["max_abs_constr"] < 1e-8  # Mici's Newton projection tolerance is 1e-9
    assert np.ptp(samples, axis=0).min() > 0.1  # the chains move
    # the torus has radius between R - r and R + r from the axis
    rho = np.hypot(samples[:, 0], samples[:, 1])
    assert np.all((rho > ex_torus.R - ex_torus.r - 1e-6) & (rho < ex_torus.R + ex_torus.r + 1e-6))


def test_softabs_rmhmc_runs():
    res = ex_softabs.main(n_iter=12, n_warm_up=6, n_chain=2, seed=20240611, verbose=False)
    samples = res["samples"]
    assert samples.shape == (2, 12, 2)
    assert np.all(np.isfinite(samples)) and np.all(np.isfinite(res["hamiltonian"]))
    assert res["accept"] > 0.3
    assert np.ptp(samples.reshape(-1, 2), axis=0).min() > 0.05  # it moves
    assert np.abs(samples).max() < 50  # and stays where the banana has its mass


# --- sample_chains with several chains: threads (Mici deep-copies transitions) and processes -------

def _sample(system, **kwargs):
    rng = np.random.default_rng(11)
    sampler = mici.samplers.DynamicMultinomialHMC(system, mici.integrators.LeapfrogIntegrator(system), rng)
    _, traces, _stats = sampler.sample_chains(n_warm_up_iter=20, n_main_iter=20,
                                             init_states=[rng.standard_normal(2) for _ in range(3)],
                                             display_progress=False, **kwargs)
    pos = np.stack(traces["pos"])
    assert pos.shape == (3, 20, 2) and np.all(np.isfinite(pos))
    assert len({tuple(p[-1]) for p in pos}) == 3  # independent chains
    return pos


@pytest.mark.filterwarnings("ignore:n_process argument is deprecated:DeprecationWarning")
@pytest.mark.parametrize("how", [{}, {"n_worker": 2, "use_thread_pool": True}, {"n_process": 2}, {"n_worker": 2}],
                         ids=["one-process", "threads", "n_process=2", "n_worker=2"])
def test_sample_chains_with_npdiff_backend(how):
    system = mici.systems.EuclideanMetricSystem(ex_banana.neg_log_dens, backend="npdiff")
    _sample(system, **how)


@pytest.mark.filterwarnings("ignore:n_process argument is deprecated:DeprecationWarning")
@pytest.mark.parametrize("how", [{}, {"n_worker": 2, "use_thread_pool": True}, {"n_process": 2}, {"n_worker": 2}],
                         ids=["one-process", "threads", "n_process=2", "n_worker=2"])
def test_sample_chains_with_npdiff_operator_as_gradient(how):
    """The system holds npdiff.value_and_grad-style operators itself: Mici deep-copies and pickles them."""
    grad = npdiff.grad(ex_banana.neg_log_dens)
    system = mici.systems.EuclideanMetricSystem(ex_banana.neg_log_dens, grad_neg_log_dens=grad)
    import copy
    copy.deepcopy(system)
    _sample(system, **how)
