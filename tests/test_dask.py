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
