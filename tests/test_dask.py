"""The Dask examples on a local cluster of two worker processes started here.

examples/dask_logistic.py: one gradient over a chunked data set (array-API backend);
examples/dask_sweep.py: many independent evaluations shipped to workers by pickle.
Both are checked against NumPy-backend results and finite differences.
"""
from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

import npdiff
from util import assert_close, fd_jac

pytest.importorskip("array_api_compat")
pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"npdiff_example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  worker_dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


def test_logistic_gradient_over_chunks(client):
    ex = _load("dask_logistic")
    out = ex.run(3000, features=4, chunk=500, check_rows=700, client=client)
    assert out["chunks"] == 6
    # the Dask result on the first rows equals the NumPy backend's, which equals finite differences
    assert_close(out["grad_subset"], out["grad_subset_numpy"], rtol=1e-12, atol=1e-12)
    X, y, _ = ex.make_data(3000, 4, 500)
    Xs, ys = X[:700].compute(), y[:700].compute()
    fd = fd_jac(lambda w: ex.loss(w, Xs, ys), [np.zeros(4)], 0)[0]
    assert_close(out["grad_subset_numpy"], fd, rtol=1e-6, atol=1e-6)
    # the full gradient: the sum of per-chunk NumPy gradients
    g_np = sum(npdiff.grad(ex.loss)(np.zeros(4), X[i:i + 500].compute(), y[i:i + 500].compute())
               for i in range(0, 3000, 500))
    assert_close(out["grad"], g_np, rtol=1e-10, atol=1e-10)


def test_parameter_sweep_as_tasks(client):
    ex = _load("dask_sweep")
    out = ex.run(12, client)
    assert out["grads"].shape == (12, ex.N) and out["hessians"].shape == (12, ex.N, ex.N)
    for (x, a), g, h in zip(out["points"], out["grads"], out["hessians"]):
        assert_close(g, fd_jac(lambda x: ex.energy(x, a), [x], 0)[0], rtol=1e-6, atol=1e-5)
        assert_close(h, npdiff.hessian(ex.energy)(x, a), rtol=1e-12, atol=1e-12)
    x, a = out["points"][0]
    assert_close(out["hessians"][0], fd_jac(lambda x: npdiff.grad(ex.energy)(x, a), [x], 0), rtol=1e-5, atol=1e-4)


def test_numpy_parameters_meet_dask_data_on_a_local_cluster(client):
    """grad(loss, backend="array_api")(w, X, y) with a NumPy w and Dask X, y: w is promoted into Dask (as
    NumPy defers to Dask), the gradient is one lazy Dask computation, .compute() brings it back as NumPy."""
    import dask.array as da
    ex = _load("dask_minimize")
    X, y, _ = ex.make_data(4000, 500)
    w = np.linspace(-0.3, 0.4, ex.FEATURES)
    g = npdiff.grad(ex.loss, backend="array_api")(w, X, y)
    assert isinstance(g, da.Array)
    g = client.compute(g).result()
    assert type(g) is np.ndarray
    Xn, yn = client.compute([X, y], sync=True)
    assert_close(g, npdiff.grad(ex.loss)(w, Xn, yn), rtol=1e-12, atol=1e-14)
    assert_close(g, fd_jac(lambda w: ex.loss(w, Xn, yn), [w], 0)[0], rtol=1e-6, atol=1e-8)
    value, g2 = npdiff.value_and_grad(ex.loss, backend="array_api")(w, X, y)  # one computation for both
    value, g2 = client.compute([value, g2], sync=True)
    assert np.isclose(value, ex.loss(w, Xn, yn)) and np.allclose(g2, g)
    assert_close(npdiff.grad(ex.loss, backend="array_api", argnums=1)(w, X, y).compute(),
                 npdiff.grad(ex.loss, argnums=1)(w, Xn, yn), rtol=1e-12, atol=1e-14)  # w only promoted


def test_minimize_with_one_dask_computation_per_gradient(client):
    ex = _load("dask_minimize")
    out = ex.fit(6000, client, chunk=1000, verbose=False)
    assert out["result"].success and out["chunks"] == 6
    assert all(r["worker_mib"] > 0 and r["seconds"] > 0 for r in out["records"])
    X, y, _ = ex.make_data(6000, 1000)
    Xn, yn = client.compute([X, y], sync=True)
    minimize = pytest.importorskip("scipy.optimize").minimize
    ref = minimize(npdiff.value_and_grad(ex.loss), np.zeros(ex.FEATURES), args=(Xn, yn), jac=True,
                   method="L-BFGS-B", options={"maxiter": 30})
    assert np.allclose(out["w"], ref.x, atol=1e-5)
