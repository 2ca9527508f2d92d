"""Every public method and property of np.ndarray, on a Tracer and on a trace buffer holding traced values.

The names come from dir(np.ndarray), not from a list kept here: each gives NumPy's value and a Jacobian that
matches central differences, or is refused by name (UnsupportedOperationError / TracingError). A NumPy
release that adds a method fails test_every_public_name_is_in_the_table until the table says how a
traced array answers it.
"""
from __future__ import annotations

import numpy as np
import pytest

import npdiff
from npdiff.tracing.dispatch import BUFFER_OWN, NDARRAY_TABLE
from util import fd_jac

PUBLIC = sorted(n for n in dir(np.ndarray) if not n.startswith("_"))
X34 = np.array([[0.31, 1.12, 0.57, 0.93], [0.18, 0.74, 1.03, 0.42], [0.66, 0.27, 0.88, 1.21]])
W42 = np.array([[0.5, -1.0], [2.0, 0.25], [-0.75, 1.5], [1.0, 0.3]])
SORTED = np.array([0.12, 0.35, 0.61, 0.97, 1.4, 1.83])

# name -> (example argument, function of the array calling that method or property once)
SPECS = {
    "all": (X34, lambda a: a.all(axis=0)), "any": (X34, lambda a: a.any(axis=1)),
    "argmax": (X34, lambda a: a.argmax(axis=0)), "argmin": (X34, lambda a: a.argmin()),
    "argpartition": (X34, lambda a: np.sort(a, axis=-1)[:, 1] * 0 + a.argpartition(1, axis=-1)[:, :2].min(-1)),
    "argsort": (X34, lambda a: a.argsort(axis=1)), "astype": (X34, lambda a: a.astype(np.complex128).real),
    "clip": (X34, lambda a: a.clip(0.3, 0.9)), "compress": (X34, lambda a: a.compress([True, False, True], axis=0)),
    "conj": (X34, lambda a: a.conj()), "conjugate": (X34, lambda a: a.conjugate()),
    "copy": (X34, lambda a: a.copy()), "cumprod": (X34, lambda a: a.cumprod(axis=1)),
    "cumsum": (X34, lambda a: a.cumsum(axis=0)), "diagonal": (X34, lambda a: a.diagonal()),
    "dot": (X34, lambda a: a.dot(W42)), "flatten": (X34, lambda a: a.flatten()),
    "max": (X34, lambda a: a.max(axis=0)), "mean": (X34, lambda a: a.mean(axis=1)),
    "min": (X34, lambda a: a.min()), "prod": (X34, lambda a: a.prod(axis=0)),
    "ravel": (X34, lambda a: a.ravel()), "repeat": (X34, lambda a: a.repeat(2, axis=0)),
    "reshape": (X34, lambda a: a.reshape(4, 3)), "round": (X34, lambda a: a.round(1) + a),
    "searchsorted": (SORTED, lambda a: a.searchsorted(np.array([0.5, 1.5])) * 1.0),
    "squeeze": (X34[:1], lambda a: a.squeeze()), "std": (X34, lambda a: a.std(axis=0)),
    "sum": (X34, lambda a: a.sum(axis=1)), "swapaxes": (X34, lambda a: a.swapaxes(0, 1)),
    "take": (X34, lambda a: a.take([0, 5, 11])), "trace": (X34, lambda a: a.trace()),
    "transpose": (X34, lambda a: a.transpose()), "var": (X34, lambda a: a.var(axis=1)),
    "sort": (X34, lambda a: (a.sort(axis=1), a)[1]),
    "partition": (X34, lambda a: (a.partition(2, axis=-1), a[:, 2])[1]),  # the kth element is defined
    "fill": (X34, lambda a: (a.fill(2.5), a)[1]),
    "T": (X34, lambda a: a.T), "mT": (X34, lambda a: a.mT), "real": (X34, lambda a: a.real),
    "imag": (X34, lambda a: a.imag + a), "nonzero": (X34, lambda a: a[(a > 0.5).nonzero()]), "flat": (X34, lambda a: a.flat[[0, 5, 11]]),
}


def test_every_public_name_is_in_the_table():
    missing = [n for n in PUBLIC if n not in NDARRAY_TABLE]
    assert not missing, f"ndarray names npdiff's table (dispatch.NDARRAY_TABLE) does not cover: {missing}"
    extra = [n for n in NDARRAY_TABLE if not hasattr(np.ndarray, n)]
    assert not extra, f"names in the table that np.ndarray does not have: {extra}"


def test_the_table_agrees_with_the_lowerings():
    """A public ndarray method with a lowering (METHODS) is not refused by the table, and vice versa."""
    from npdiff.tracing.dispatch import METHODS
    public = [n for n in METHODS if n in NDARRAY_TABLE]
    assert [n for n in public if NDARRAY_TABLE[n] not in ("method", "inplace", "property")] == []
    assert [n for n, k in NDARRAY_TABLE.items() if k in ("method", "inplace") and n not in METHODS] == []


def test_every_supported_name_has_a_spec():
    need = [n for n in PUBLIC if NDARRAY_TABLE[n] in ("method", "inplace", "property")]
    assert sorted(set(need) - set(SPECS)) == []


def _through_buffer(fn):
    def f(x):
        b = np.zeros(x.shape)
        b[...] = x  # a trace buffer holding traced values
        return fn(b)
    return f


def _check(fn, x0):
    want = np.asarray(fn(x0.copy()), dtype=np.float64)
    jac = npdiff.jacfwd(lambda x: fn(x) * 1.0)(x0.copy())
    got = npdiff.numpify(lambda x: fn(x) * 1.0, x0.copy())(x0.copy())
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want, rtol=1e-12, atol=1e-12)
    ref = fd_jac(lambda x: np.asarray(fn(x.copy()), dtype=np.float64), [x0], 0)
    np.testing.assert_allclose(np.reshape(jac, ref.shape), ref, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("holder", ["tracer", "buffer"])
def test_supported_name_value_and_jacobian(name, holder):
    x0, fn = SPECS[name]
    _check(fn if holder == "tracer" else _through_buffer(fn), x0)


@pytest.mark.parametrize("holder", ["tracer", "buffer"])
def test_buffer_methods_from_the_issue(holder):
    """b.compress([True, False, True]) and b.searchsorted(1.5) through a buffer holding traced values."""
    wrap = (lambda fn: fn) if holder == "tracer" else _through_buffer
    x = np.array([1.0, 2.0, 3.0])
    g = npdiff.grad(wrap(lambda b: np.sum(b.compress([True, False, True]))))(x)
    np.testing.assert_array_equal(g, [1.0, 0.0, 1.0])
    v, g = npdiff.value_and_grad(wrap(lambda b: b.searchsorted(1.5) * np.sum(b)))(x)
    assert v == 1 * 6.0 and np.all(g == 1.0)  # searchsorted gives 1 for [1, 2, 3]


@pytest.mark.parametrize("name", ["shape", "dtype", "ndim", "size", "itemsize", "nbytes", "device", "strides", "base"])
@pytest.mark.parametrize("holder", ["tracer", "buffer"])
def test_metadata_is_numpys(name, holder):
    seen = {}

    def fn(a):
        seen.setdefault("v", getattr(a, name))  # the traced run (the self-check runs fn again on ndarrays)
        return np.sum(a)
    if holder == "buffer" and name == "base":
        pytest.skip("a trace buffer is a view of the array np.zeros made: its own base")
    npdiff.grad(fn if holder == "tracer" else _through_buffer(fn))(X34.copy())
    assert seen["v"] == getattr(X34, name)


@pytest.mark.parametrize("holder", ["tracer", "buffer"])
def test_flat_writes_reach_the_array(holder):
    def fn(a):
        a.flat[[1, 6]] = a.flat[[0, 5]] ** 2
        return a * 1.0
    _check(fn if holder == "tracer" else _through_buffer(fn), X34)


def test_traced_flags_are_a_contiguous_arrays():
    seen = {}

    def fn(a):
        seen.setdefault("flags", (a.flags.c_contiguous, a.flags["C_CONTIGUOUS"]))
        return np.sum(a)
    npdiff.grad(fn)(X34.copy())
    assert seen["flags"] == (True, True)


def _use(a, name):
    attr = getattr(a, name)
    if callable(attr):
        attr()
    return np.sum(a)


REFUSED = [n for n in PUBLIC if NDARRAY_TABLE.get(n) not in ("method", "inplace", "property", "meta", "concrete")]


@pytest.mark.parametrize("name", REFUSED)
@pytest.mark.parametrize("holder", ["tracer", "buffer"])
def test_refused_by_name(name, holder):
    fn = lambda a: _use(a, name)
    if holder == "buffer" and name in BUFFER_OWN:  # a real ndarray's own metadata (flags say read-only)
        npdiff.grad(_through_buffer(fn))(X34.copy())
        return
    # methods: UnsupportedOperationError; properties: an AttributeError (hasattr() stays False), same message
    errors = (npdiff.UnsupportedOperationError, npdiff.TracingError, AttributeError)
    with pytest.raises(errors, match=rf"npdiff does not support ndarray\.{name}\b"):
        npdiff.grad(fn if holder == "tracer" else _through_buffer(fn))(X34.copy())


@pytest.mark.parametrize("name", ["item", "tolist"])
@pytest.mark.parametrize("holder", ["tracer", "buffer"])
def test_concrete_conversions(name, holder):
    """item()/tolist() of a real traced array would drop the derivative: refused; of an integer array: guarded."""
    fn = lambda a: getattr(a, name)()
    with pytest.raises(npdiff.TracingError, match=rf"\.{name}\(\)"):
        npdiff.grad(lambda x: fn(x if holder == "tracer" else _through_buffer(lambda b: b)(x)) * 1.0)(X34[0, :1])

    def branch(x):
        a = x if holder == "tracer" else _through_buffer(lambda b: b)(x)
        k = (a > 0.5).astype(int)
        first = k.item(0) if name == "item" else k.tolist()[0]
        return np.sum(x ** 2) if first else np.sum(x ** 3)
    for x in (np.array([0.2, 0.9]), np.array([0.7, 0.9])):
        v, g = npdiff.value_and_grad(branch)(x)
        assert v == pytest.approx(branch(x))
        np.testing.assert_allclose(g, fd_jac(branch, [x], 0).ravel(), rtol=1e-6)
