"""Operators are ordinary Python objects (issue 20, part 6): they copy, deep-copy and
pickle before and after the first call, travel to spawn pools and Dask workers, bind
keyword arguments by the function's signature, and share specialisations between
operator objects made from the same function and options.
"""
from __future__ import annotations

import copy
import gc
import multiprocessing
import pickle
import threading

import numpy as np
import pytest

import npdiff
from npdiff.api import mici_style, sharing


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def loss(w, X, y, scale=1.0, power=2, offset=None):
    r = X @ w - y
    out = scale * np.sum(np.abs(r) ** power)
    return out if offset is None else out + np.sum(offset * w)


X0 = np.linspace(-1.0, 1.5, 6)

OPERATORS = [
    (lambda: npdiff.grad(rosen), (X0,)),
    (lambda: npdiff.value_and_grad(rosen), (X0,)),
    (lambda: npdiff.jacfwd(rosen), (X0,)),
    (lambda: npdiff.jacrev(rosen), (X0,)),
    (lambda: npdiff.jacobian(rosen), (X0,)),
    (lambda: npdiff.hessian(rosen), (X0,)),
    (lambda: npdiff.hvp(rosen), (X0, np.ones(6))),
    (lambda: mici_style.hessian_grad_and_value(rosen), (X0,)),
]


def _same(a, b):
    for u, v in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        np.testing.assert_allclose(u, v, rtol=1e-13, atol=0)


@pytest.mark.parametrize("make,args", OPERATORS, ids=lambda v: getattr(v, "__name__", ""))
def test_copy_deepcopy_and_pickle_before_and_after_the_first_call(make, args):
    op = make()
    fresh = [copy.copy(op), copy.deepcopy(op), pickle.loads(pickle.dumps(op))]  # before the first call
    expect = op(*args)
    fresh += [copy.copy(op), copy.deepcopy(op), pickle.loads(pickle.dumps(op))]  # after
    for other in fresh:
        assert other is not op
        _same(other(*args), expect)
    assert copy.deepcopy([op, op])[0] is not op


def test_mici_backend_derivatives_deepcopy():
    import npdiff.mici as npmici
    d = npmici.grad_and_value(rosen)
    copy.deepcopy(d)
    d(X0)
    g, _v = copy.deepcopy(d)(X0)
    np.testing.assert_allclose(g, rosen_grad(X0), rtol=1e-12)


def test_unpicklable_internal_operator_says_what_to_pickle():
    h = npdiff.hessian(rosen)
    with pytest.raises(TypeError, match="public operator"):
        pickle.dumps(_internal(h))


def _internal(h):
    from npdiff.api.core import LazyFunction
    return LazyFunction(h._build, rosen, "internal")


def _apply(op, x):
    return op(x)


def test_spawn_pool_takes_the_operator_itself():
    g = npdiff.grad(rosen)
    xs = [X0 + k for k in range(3)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        before = pool.starmap(_apply, [(g, x) for x in xs])  # before the first call here
        g(X0)
        after = pool.starmap(_apply, [(g, x) for x in xs])
    for x, b, a in zip(xs, before, after):
        np.testing.assert_allclose(b, rosen_grad(x), rtol=1e-12)
        np.testing.assert_allclose(a, rosen_grad(x), rtol=1e-12)


def test_dask_distributed_task_takes_the_operator():
    distributed = pytest.importorskip("distributed")
    g = npdiff.grad(rosen)
    g(X0)
    with distributed.LocalCluster(n_workers=1, processes=True, threads_per_worker=1, dashboard_address=None) as c, \
            distributed.Client(c) as client:
        got = client.submit(g, X0 + 1.0, pure=False).result(timeout=120)
    np.testing.assert_allclose(got, rosen_grad(X0 + 1.0), rtol=1e-12)


# -- keyword arguments at call time --------------------------------------------------------------

def test_keywords_are_bound_by_signature_and_changes_are_seen():
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=3)
    g = npdiff.grad(loss)

    def expect(scale=1.0, power=2, offset=None, Xm=X):
        r = Xm @ w - y
        out = scale * power * Xm.T @ (np.abs(r) ** (power - 1) * np.sign(r))
        return out if offset is None else out + offset
    np.testing.assert_allclose(g(w, X, y), expect(), rtol=1e-12)
    np.testing.assert_allclose(g(w, X, y, scale=3.0), expect(3.0), rtol=1e-12)
    np.testing.assert_allclose(g(w, X, y, scale=0.5), expect(0.5), rtol=1e-12)  # a float: read at run time
    np.testing.assert_allclose(g(w, X, y, power=4), expect(power=4), rtol=1e-12)  # an int: specialised
    np.testing.assert_allclose(g(w, X, y, power=3), expect(power=3), rtol=1e-12)
    off = np.ones(3)
    np.testing.assert_allclose(g(w, X, y, offset=off), expect(offset=off), rtol=1e-12)
    off *= 2.0  # an array keyword changed in place: seen on the next call
    np.testing.assert_allclose(g(w, X, y, offset=off), expect(offset=off), rtol=1e-12)
    np.testing.assert_allclose(g(w, X=X, y=y), expect(), rtol=1e-12)  # positional parameters by keyword
    X2 = X * 2.0
    np.testing.assert_allclose(g(w, X=X2, y=y), expect(Xm=X2), rtol=1e-12)
    vg = npdiff.value_and_grad(loss, argnums=(0, -1))  # -1: the last positional argument, as JAX
    v, (_gw, gy) = vg(w, X, y, scale=2.0)
    assert v == pytest.approx(loss(w, X, y, scale=2.0), rel=1e-13)
    np.testing.assert_allclose(gy, -2.0 * 2.0 * (X @ w - y), rtol=1e-12)
    with pytest.raises(TypeError, match=r"unexpected keyword|got an unexpected|cannot be called"):
        g(w, X, y, nope=1.0)
    hv = npdiff.hvp(loss)(w, X, y, np.ones(3), scale=2.0)
    np.testing.assert_allclose(hv, 2.0 * 2.0 * X.T @ (X @ np.ones(3)), rtol=1e-12)
    J = npdiff.jacobian(lambda w, s=1.0: s * w)(w, s=3.0)
    np.testing.assert_allclose(J, 3.0 * np.eye(3))


# -- shared specialisations ------------------------------------------------------------------------

def _counting(f):
    calls = []

    def g(x):
        if type(x).__name__ == "Tracer":
            calls.append(1)
        return f(x)
    return g, calls


def test_new_operator_per_iteration_traces_once():
    f, calls = _counting(rosen)
    for k in range(20):
        np.testing.assert_allclose(npdiff.grad(f)(X0 + k), rosen_grad(X0 + k), rtol=1e-12)
    assert len(calls) == 1
    npdiff.grad(f, argnums=0)(X0)  # the same options spelled out
    assert len(calls) == 1
    npdiff.hessian(f)(X0)  # other options: its own specialisations
    n = len(calls)
    npdiff.hessian(f)(X0)
    assert len(calls) == n


def test_shared_cache_is_weak_and_bounded():
    before = sharing.shared_count()
    for _ in range(5):
        f = (lambda x: np.sum(x ** 2))
        npdiff.grad(f)(X0)
    del f
    gc.collect()
    assert sharing.shared_count() <= before + 1
    g = lambda x: np.sum(x ** 3)
    for k in range(sharing.PER_FUNCTION + 5):
        npdiff.grad(g, argnums=(0,) * (k + 1))(X0)  # distinct option sets
    assert len(getattr(g, sharing._SLOT)[1]) <= sharing.PER_FUNCTION

    class Callable:  # a callable object: the module-level cache, weak in the object
        def __call__(self, x):
            return np.sum(x ** 2)
    c = Callable()
    before = sharing.shared_count()
    np.testing.assert_allclose(npdiff.grad(c)(X0), 2 * X0)
    assert sharing.shared_count() == before + 1
    del c
    gc.collect()
    assert sharing.shared_count() == before


def test_shared_specialisations_are_thread_safe():
    f, calls = _counting(rosen)
    xs = [X0 + 0.1 * k for k in range(16)]
    errors = []

    def work(x):
        try:
            for _ in range(20):
                np.testing.assert_allclose(npdiff.grad(f)(x), rosen_grad(x), rtol=1e-12)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(x,)) for x in xs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(calls) == 1


def test_bound_methods_share_by_function_and_self():
    class Model:
        def __init__(self, a):
            self.a = a

        def f(self, x):
            return self.a * np.sum(x ** 2)
    m1, m2 = Model(1.0), Model(3.0)
    np.testing.assert_allclose(npdiff.grad(m1.f)(X0), 2.0 * X0)
    np.testing.assert_allclose(npdiff.grad(m2.f)(X0), 6.0 * X0)  # another self: its own code
    np.testing.assert_allclose(npdiff.grad(m1.f)(X0), 2.0 * X0)
