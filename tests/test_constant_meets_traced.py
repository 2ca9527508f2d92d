"""Constant arrays meeting traced values (the real-model-code issue): each idiom gives the plain function's
value, a gradient and a Hessian that match central differences, or is refused naming the idiom and the rewrite.

- ndarray methods of a constant with a traced argument (``X.dot(params)``): NumPy converts the argument
  in C by calling ``Tracer.__array__``, which hands it a probe array of scalar Tracers (probe.py);
- in-place updates of arrays made by NumPy functions from constants (``Q = np.diag(d); Q[i, j] += q``);
  arrays npdiff cannot follow (globals, ``X.copy()`` of a constant) are refused with the rewrite;
- scipy.sparse matrices times traced vectors (a constant linear map, sparse in the generated code);
- constants indexed by integers computed from traced values (a guarded gather, zero derivative).
"""
from __future__ import annotations

import numpy as np
import pytest

import npdiff
from util import fd_jac

RNG = np.random.default_rng(7)
X = RNG.normal(size=(30, 4))  # a design matrix, as in regression code
Y = RNG.poisson(2.0, size=30).astype(float)
C3 = np.array([1.0, 2.0, 3.0])
EDGES = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
TABLE = np.array([0.3, 1.7, -0.4, 2.2, 0.9, 1.1])


class Model:
    """Holds its data as attributes, as statistical libraries do."""

    def __init__(self):
        self.exog = X
        self.endog = Y

    def loglike(self, params):
        xb = self.exog.dot(params)
        return np.sum(self.endog * xb - np.exp(xb))


def _glm(p):
    resid = Y - np.exp(X.dot(p))
    return np.sum(X.T.dot(resid) ** 2) / 100.0


IDIOMS = {
    "X.dot(p)": lambda p: np.sum(np.sin(X.dot(p))),
    "X.T.dot(resid)": _glm,
    "np.asarray(X).dot(p)": lambda p: np.sum(np.asarray(X).dot(p) ** 2),
    "self.exog.dot(params)": Model().loglike,
    "c.dot(p) (a scalar)": lambda p: np.sin(X[0].dot(p)) * X[1].dot(p),
    "X.dot(P) (a matrix)": lambda p: np.sum(np.cos(X.dot(np.outer(p, p)))),
    "int X.dot(p)": lambda p: np.sum(np.tanh(np.arange(12).reshape(3, 4).dot(p))),
    "X.dot(p) then indexing": lambda p: X.dot(p)[3] ** 2 + np.sum(X.dot(p)[::2]),
    "X.dot written twice": lambda p: np.sum((X.dot(p) + X.dot(p * p)) ** 2) / 50,
}


def _fd_hessian(f, x, eps=1e-4):
    n = x.size
    H = np.zeros((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = eps
        H[i] = (fd_jac(f, [x + e], 0) - fd_jac(f, [x - e], 0)).ravel() / (2 * eps)
    return H


def _check_value_grad_hessian(f, x, rtol=1e-6, htol=1e-4):
    v, g = npdiff.value_and_grad(f)(x)
    assert v == pytest.approx(f(x), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(g, fd_jac(f, [x], 0).ravel(), rtol=rtol, atol=rtol)
    H = npdiff.hessian(f)(x)
    np.testing.assert_allclose(H, _fd_hessian(f, x), rtol=htol, atol=htol)


@pytest.mark.parametrize("name", sorted(IDIOMS))
def test_ndarray_method_of_a_constant_with_a_traced_argument(name):
    _check_value_grad_hessian(IDIOMS[name], np.array([0.1, -0.2, 0.3, 0.05]))


@pytest.mark.parametrize("shape", [(4,), (4, 2)])
def test_constant_dot_matches_numpy_across_shapes(shape):
    x = RNG.normal(size=shape)
    f = lambda p: X.dot(p) * 1.0
    np.testing.assert_allclose(npdiff.numpify(f, x)(x), X.dot(x), rtol=1e-13)
    J = npdiff.jacfwd(f)(x)
    np.testing.assert_allclose(np.reshape(J, (X.shape[0] * (shape[1] if len(shape) > 1 else 1), x.size)),
                               fd_jac(f, [x], 0), rtol=1e-7, atol=1e-7)


def test_constant_dot_is_one_matrix_in_the_generated_code():
    """The probe's products are read back as one constant matrix, not one node per product."""
    src = npdiff.numpify(npdiff.grad(lambda p: np.sum(np.sin(X.dot(p)))), np.ones(4)).source
    assert src.count("\n") < 25, src


def test_constant_method_that_compares_is_guarded():
    """edges.searchsorted(x) with x traced: a piecewise constant index, guarded; zero derivative."""
    f = lambda x: np.sum(EDGES.searchsorted(x) * x)
    g = npdiff.grad(f)
    for x in (np.array([0.2, 1.2, 1.7]), np.array([0.7, 0.1, 1.9])):
        np.testing.assert_allclose(g(x), EDGES.searchsorted(x).astype(float))
    v, _ = npdiff.value_and_grad(f)(np.array([0.7, 0.1, 1.9]))
    assert v == pytest.approx(f(np.array([0.7, 0.1, 1.9])))


INDEXED = {
    "table[np.floor(x).astype(int)]": lambda x: np.sum(TABLE[np.floor(x * 2).astype(int)] * x),
    "np.searchsorted(edges, x)": lambda x: np.sum(TABLE[np.searchsorted(EDGES, x)] * x ** 2),
    "np.digitize(x, edges)": lambda x: np.sum(TABLE[np.digitize(x, EDGES)] * np.sin(x)),
    "lookup-table interpolation": lambda x: np.sum(
        TABLE[np.floor(x * 2).astype(int)] * (1 - (x * 2 - np.floor(x * 2)))
        + TABLE[np.floor(x * 2).astype(int) + 1] * (x * 2 - np.floor(x * 2))),
    "np.take(table, i)": lambda x: np.sum(np.take(TABLE, np.floor(x * 2).astype(int)) * x),
}


@pytest.mark.parametrize("name", sorted(INDEXED))
def test_constants_indexed_by_integers_computed_from_traced_values(name):
    f = INDEXED[name]
    g = npdiff.value_and_grad(f)
    for x in (np.array([0.2, 1.3, 0.77]), np.array([1.6, 0.4, 0.05])):  # a new index re-specialises
        v, gr = g(x)
        assert v == pytest.approx(f(x), rel=1e-12)
        np.testing.assert_allclose(gr, fd_jac(f, [x], 0).ravel(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(npdiff.hessian(f)(x), _fd_hessian(f, x), rtol=1e-4, atol=1e-4)


FRESH = {
    "np.diag": lambda p: np.diag(np.ones(3)),
    "np.outer": lambda p: np.outer(np.ones(3), np.ones(3)),
    "np.copy": lambda p: np.copy(np.eye(3)),
    "np.concatenate": lambda p: np.concatenate([np.zeros((1, 3)), np.ones((2, 3))]),
    "np.tile": lambda p: np.tile(np.zeros(3), (3, 1)),
    "np.kron": lambda p: np.kron(np.eye(3), np.ones((1, 1))),
    "np.tri": lambda p: np.tri(3),
    "np.vstack": lambda p: np.vstack([np.zeros(3)] * 3),
}


@pytest.mark.parametrize("name", sorted(FRESH))
def test_in_place_updates_of_arrays_made_by_numpy_functions(name):
    make = FRESH[name]

    def f(p):
        q = make(p)
        q[0, 1] += p[0] * p[1]  # qmat[i, j] += Qi
        q[2, 2] = p[2]  # A[i, j] = p[k]
        q[q.shape[0] - 1] *= p[1]
        return np.sum(np.sin(q @ p))
    _check_value_grad_hessian(f, np.array([0.4, -0.3, 0.8]))


def test_in_place_update_of_a_mask_selected_part():
    """out[mask] = traced, with a constant mask and an array made by a NumPy function."""
    mask = np.array([True, False, True])

    def f(p):
        out = np.concatenate([np.zeros(1), np.ones(2)])
        out[mask] = p[:2] ** 2
        return np.sum(out * p)
    _check_value_grad_hessian(f, np.array([0.4, -0.3, 0.8]))


GLOBAL_OUT = np.zeros(3)


@pytest.mark.parametrize("idiom", ["global", "copy method", "element"])
def test_writes_into_arrays_npdiff_cannot_follow_are_refused_with_the_rewrite(idiom):
    def f(p):
        if idiom == "global":
            GLOBAL_OUT[:] = p
            return np.sum(GLOBAL_OUT)
        a = X[:3, :3].copy()  # ndarray.copy of a constant: a plain array
        if idiom == "copy method":
            a[0] = p
        else:
            a[0, 0] += p[0]
        return np.sum(a)
    with pytest.raises(npdiff.TracingError, match="written into an array npdiff does not follow") as e:
        npdiff.grad(f)(np.array([0.1, 0.2, 0.3]))
    assert "np.array(A, dtype=float)" in str(e.value) and "test_constant_meets_traced.py" in str(e.value)
    assert not GLOBAL_OUT.any()  # the global was not changed


def test_the_suggested_rewrite_works():
    def f(p):
        a = np.array(X[:3, :3], dtype=float)  # the rewrite the message suggests
        a[0, 0] += p[0]
        a[1] = p
        return np.sum(np.sin(a @ p))
    _check_value_grad_hessian(f, np.array([0.1, 0.2, 0.3]))


def test_compiled_code_converting_to_float_is_refused():
    blas = pytest.importorskip("scipy.linalg.blas")
    with pytest.raises(npdiff.TracingError, match="converted a traced array to a concrete NumPy array") as e:
        npdiff.grad(lambda p: blas.ddot(p, p))(np.array([0.1, 0.2]))
    assert "blas.ddot(p, p)" in str(e.value)


# -- scipy.sparse ------------------------------------------------------------------------------------------


def _sparse():
    sp = pytest.importorskip("scipy.sparse")
    D = RNG.normal(size=(6, 4))
    D[np.abs(D) < 0.6] = 0.0
    return sp, D


SPARSE = {
    "S @ p": lambda S, p: np.sum(np.sin(S @ p)),
    "S.dot(p)": lambda S, p: np.sum(np.sin(S.dot(p))),
    "S.T @ r": lambda S, p: np.sum((S.T @ np.tanh(S @ p)) ** 2),
    "r @ S": lambda S, p: np.sum(np.exp(np.tanh(S @ p) @ S)),
    "S @ P (a matrix)": lambda S, p: np.sum(np.sin(S @ np.outer(p, p))),
}


@pytest.mark.parametrize("fmt", ["csr_matrix", "csr_array", "csc_array", "coo_matrix"])
@pytest.mark.parametrize("name", sorted(SPARSE))
def test_scipy_sparse_matrix_times_traced(fmt, name):
    sp, D = _sparse()
    S = getattr(sp, fmt)(D)
    f = lambda p: SPARSE[name](S, p)
    _check_value_grad_hessian(f, np.array([0.3, -0.5, 0.2, 0.9]))


def test_sparse_matrix_stays_sparse_in_the_generated_code():
    sp, D = _sparse()
    S = sp.csr_array(D)
    gf = npdiff.numpify(npdiff.grad(lambda p: np.sum(np.sin(S @ p))), np.ones(4))
    assert "scipy.sparse.csr_array" in gf.source
    assert D.size not in [len(v) for v in getattr(gf, "consts", {}).values() if hasattr(v, "__len__")]
    x = np.array([0.3, -0.5, 0.2, 0.9])
    np.testing.assert_allclose(gf(x), D.T @ np.cos(D @ x), rtol=1e-13)


def test_sparse_times_constant_stays_scipys():
    sp, D = _sparse()
    S = sp.csr_array(D)

    def f(p):
        k = S @ np.ones(4)  # constants: SciPy's own product
        assert isinstance(k, np.ndarray)
        return np.sum(k * np.sum(p))
    _check_value_grad_hessian(f, np.array([0.3, -0.5, 0.2, 0.9]))


_HELPER_SOURCE = '''
import numpy as np
from numpy import zeros
def via_numpy(n):
    return np.zeros((n, n))  # np.zeros looked up while tracing: a trace buffer
def via_alias(n):
    return zeros((n, n))  # bound at import in another module: a plain ndarray npdiff cannot follow
'''


def test_in_place_updates_of_arrays_made_by_a_library_helper():
    import types
    helpers = types.ModuleType("model_helpers")  # a user-side library module (not NumPy/SciPy)
    exec(compile(_HELPER_SOURCE, "<model_helpers>", "exec"), helpers.__dict__)  # noqa: S102

    def f(p, make):
        q = make(2)
        q[0, 1] += p[0]  # qmat[i, j] += Qi
        q[1, 1] = p[1] * p[0]
        return np.sum(np.sin(q @ p))
    _check_value_grad_hessian(lambda p: f(p, helpers.via_numpy), np.array([0.3, 0.6]))
    with pytest.raises(npdiff.TracingError, match="written into an array npdiff does not follow"):
        npdiff.grad(lambda p: f(p, helpers.via_alias))(np.array([0.3, 0.6]))
