"""backend="array_api": the same derivative code on array_api_strict (the referee), Dask and PyTorch arrays.

Every operator family runs on each library's arrays; results must be arrays of
that library, equal to the NumPy backend's results, which are themselves
checked against central finite differences here.
"""
from __future__ import annotations

import numpy as np
import pytest

import npdiff
import npdiff.diffops as diffops
from npdiff.errors import UnsupportedOperationError
from util import assert_close, fd_jac

compat = pytest.importorskip("array_api_compat")

A = np.array([[1.0, 0.5, -0.3], [0.2, -1.0, 0.7], [0.4, 0.1, 0.9], [-0.6, 0.3, 0.2]])
X0 = np.array([0.3, -0.7, 1.1])


def f_scalar(x):  # gathers, scatters, einsum, constants, where, max, reshape/transpose
    z = A @ x
    m = x.reshape(3, 1) * x.reshape(1, 3)
    return (np.sum(np.log1p(np.exp(z))) + x[0] * x[1] ** 3 + np.sum(np.where(m > 0, m, 0.1 * m).T @ x)
            + np.max(np.sin(x)) - np.tanh(x[::-1][0]))


def f_vector(x):  # concatenate, cumsum, stack, broadcasting, slices
    return np.concatenate([x[:2] ** 2, np.cumsum(np.cos(x)), np.stack([x[0] * x[2], np.exp(x[1])])])


def f_indexing(x):  # indexed assignment, slices, repeated gathers (their transposes are scatters)
    y = np.concatenate([x, x ** 2, np.cos(x), x[::-1]]).reshape(3, 4)
    z = np.zeros((3, 4))
    z[1:, 2] = y[0, :2] ** 2
    z[0] = np.sin(y[2])
    z[[2, 2, 0], [1, 1, 3]] = x * 3.0
    return np.sum(z * y) + np.sum(y[1:] * y[:-1]) + np.sum(y[[0, 0, 2], [1, 1, 3]] ** 3)


def f_linalg(x):  # solve, cholesky, inv (the linalg functions Dask has too)
    M = np.eye(3) * 3.0 + np.outer(x, x)
    L = np.linalg.cholesky(M)
    return np.sum(np.linalg.solve(M, x)) + np.trace(np.linalg.inv(M)) + np.sum(L * L[:, :1])


def f_spectral(x):  # slogdet, det, eigh, eigvalsh, svd, qr, pinv
    M = np.eye(3) * 3.0 + np.outer(x, x) + np.diag(x)
    w, V = np.linalg.eigh(M)
    q, r = np.linalg.qr(M + np.triu(M))
    return (np.linalg.slogdet(M)[1] + np.linalg.det(M) / 10 + np.sum(w * V[0] ** 2) + np.sum(np.linalg.eigvalsh(M) ** 2)
            + np.sum(np.linalg.svd(M + x[0], compute_uv=False)) + np.sum(q[:, 0] * r[0]) + np.sum(np.linalg.pinv(M) @ x))


# -- the array libraries --------------------------------------------------------------------------

def _strict():
    xs = pytest.importorskip("array_api_strict")
    return xs, (lambda a: xs.asarray(np.asarray(a))), (lambda a: np.asarray(a)), \
        (lambda a: compat.array_namespace(a) is xs)


def _dask():
    da = pytest.importorskip("dask.array")
    return da, (lambda a: da.from_array(np.asarray(a), chunks=2)), (lambda a: np.asarray(a.compute())), \
        (lambda a: isinstance(a, da.Array))


def _torch():
    torch = pytest.importorskip("torch")
    return torch, (lambda a: torch.asarray(np.asarray(a))), (lambda a: a.numpy()), \
        (lambda a: isinstance(a, torch.Tensor))


LIBS = {"strict": _strict, "dask": _dask, "torch": _torch}


@pytest.fixture(params=sorted(LIBS))
def lib(request):
    return LIBS[request.param]()


def _check(out, expected, lib, rtol=1e-10, atol=1e-12):
    """Assert each leaf of out is an array of the library, equal to the NumPy backend's."""
    _, _, to_np, is_lib = lib
    leaves, _ = npdiff.ir.pytree.tree_flatten(out)
    exp_leaves, _ = npdiff.ir.pytree.tree_flatten(expected)
    assert len(leaves) == len(exp_leaves)
    for got, want in zip(leaves, exp_leaves):
        assert is_lib(got), f"result of type {type(got).__name__}, not an array of the arguments' library"
        assert_close(to_np(got), want, rtol=rtol, atol=atol)


# -- the NumPy backend is the reference: checked against finite differences first ---------------------

def test_reference_derivatives_against_finite_differences():
    for f in (f_scalar, f_indexing, f_linalg, f_spectral):
        assert_close(npdiff.grad(f)(X0), fd_jac(f, [X0], 0)[0], rtol=1e-6, atol=1e-7)
        assert_close(npdiff.hessian(f)(X0), fd_jac(npdiff.grad(f), [X0], 0), rtol=1e-5, atol=1e-6)
    assert_close(npdiff.jacrev(f_vector)(X0), fd_jac(f_vector, [X0], 0), rtol=1e-6, atol=1e-7)


# -- every operator family -------------------------------------------------------------------------

@pytest.mark.parametrize("f", [f_scalar, f_indexing, f_linalg, f_spectral],
                         ids=["elementwise", "indexing", "linalg", "spectral"])
def test_gradient_family(lib, f):
    mod, to_xp, _, _ = lib
    x = to_xp(X0)
    if f is f_spectral and mod.__name__ == "dask.array":
        pytest.skip("array_api_compat's Dask namespace has no det, slogdet, eigh, eigvalsh or pinv")
    if f is f_linalg and mod.__name__ == "dask.array":
        x = mod.from_array(X0, chunks=-1)  # Dask's linalg needs square chunks (docs/backends.md)
    ops = (npdiff.grad, npdiff.value_and_grad, npdiff.hessian, npdiff.jacfwd, npdiff.jacrev)
    if f is f_linalg and mod.__name__ == "dask.array":
        ops = ops[:2]  # Dask's solve takes 2-d right-hand sides only: no batched (Jacobian) tangents
    for op in ops:
        _check(op(f, backend="array_api")(x), op(f)(X0), lib)
    _check(npdiff.numpify(f, X0.shape, backend="array_api")(x), f(X0), lib)
    v = np.array([0.2, -0.1, 0.4])
    _check(npdiff.hvp(f, backend="array_api")(x, to_xp(v)), npdiff.hvp(f)(X0, v), lib)


def test_vector_function_family(lib):
    _, to_xp, _, _ = lib
    x, t = to_xp(X0), to_xp(np.array([1.0, 2.0, -1.0]))
    for op in (npdiff.jacfwd, npdiff.jacrev, npdiff.jacobian):
        _check(op(f_vector, backend="array_api")(x), op(f_vector)(X0), lib)
    _check(npdiff.jvp(f_vector, (x,), (t,), backend="array_api"),
           npdiff.jvp(f_vector, (X0,), (np.array([1.0, 2.0, -1.0]),)), lib)
    out, pull = npdiff.vjp(f_vector, x, backend="array_api")
    ref_out, ref_pull = npdiff.vjp(f_vector, X0)
    ct = np.linspace(-1.0, 1.0, 7)
    _check(out, ref_out, lib)
    _check(pull(to_xp(ct)), ref_pull(ct), lib)
    out, lin = npdiff.linearize(f_vector, x, backend="array_api")
    _check(lin(t), npdiff.linearize(f_vector, X0)[1](np.array([1.0, 2.0, -1.0])), lib)


def test_mici_style_bundles(lib):
    _, to_xp, _, _ = lib
    x = to_xp(X0)
    for name in ("grad_and_value", "hessian_grad_and_value"):
        op = getattr(npdiff, name)
        _check(op(f_scalar, backend="array_api")(x), op(f_scalar)(X0), lib)
    _check(npdiff.jacobian_and_value(f_vector, backend="array_api")(x), npdiff.jacobian_and_value(f_vector)(X0), lib)
    vjp, val = npdiff.vjp_and_value(f_vector, backend="array_api")(x)
    rvjp, rval = npdiff.vjp_and_value(f_vector)(X0)
    ct = np.linspace(-1.0, 1.0, 7)
    _check((vjp(to_xp(ct)), val), (rvjp(ct), rval), lib)
    m = np.arange(21.0).reshape(7, 3) / 10
    mhp, jac, val = npdiff.mhp_jacobian_and_value(f_vector, backend="array_api")(x)
    rmhp, rjac, rval = npdiff.mhp_jacobian_and_value(f_vector)(X0)
    _check((mhp(to_xp(m)), jac, val), (rmhp(m), rjac, rval), lib)
    mtp, h, g, val = npdiff.mtp_hessian_grad_and_value(f_scalar, backend="array_api")(x)
    rmtp, rh, rg, rval = npdiff.mtp_hessian_grad_and_value(f_scalar)(X0)
    m = np.eye(3) + 0.1
    _check((mtp(to_xp(m)), h, g, val), (rmtp(m), rh, rg, rval), lib, rtol=1e-9)


def test_diffops(lib):
    _, to_xp, _, _ = lib
    x, v = to_xp(X0), np.array([0.5, 1.0, -2.0])
    for name in ("gradient", "hessian"):
        op = getattr(diffops, name)
        _check(op(f_scalar, (3,), backend="array_api", return_aux=True)(x), op(f_scalar, (3,), return_aux=True)(X0), lib)
    _check(diffops.jacobian(f_vector, (3,), backend="array_api")(x), diffops.jacobian(f_vector, (3,))(X0), lib)
    cases = [("hessian_vector_product", f_scalar, v), ("jacobian_vector_product", f_vector, v),
             ("vector_jacobian_product", f_vector, np.linspace(0, 1, 7)),
             ("matrix_hessian_product", f_vector, np.ones((7, 3))), ("matrix_tressian_product", f_scalar, np.eye(3))]
    for name, f, arg in cases:
        op = getattr(diffops, name)
        _check(op(f, (3,), backend="array_api")(x)(to_xp(arg)), op(f, (3,))(X0)(arg), lib, rtol=1e-9)


# -- rules of the backend --------------------------------------------------------------------------

def test_generated_source_uses_only_the_namespace():
    g = npdiff.grad(f_scalar, backend="array_api").specialize((3,))
    body = g.source.split("def ", 1)[1]
    assert "xp, _dev, (x,) = _xp_namespace(x)" in body  # writer.XP_PRELUDE: array_api_compat.array_namespace
    assert "np." not in body and "math." not in body.replace("math.inf", "")
    assert "+=" not in body and "out=" not in body  # never an in-place update


def test_strict_rejects_numpy_only_code():
    """The referee works: array_api_strict refuses a NumPy-only call, so passing tests mean standard code."""
    xs = pytest.importorskip("array_api_strict")
    with pytest.raises((AttributeError, TypeError)):
        xs.einsum("i,i->", xs.asarray([1.0]), xs.asarray([1.0]))


def test_dask_result_stays_lazy_until_compute():
    da = pytest.importorskip("dask.array")
    x = da.from_array(X0, chunks=1)
    g = npdiff.grad(f_scalar, backend="array_api")(x)
    assert isinstance(g, da.Array)
    assert_close(g.compute(), npdiff.grad(f_scalar)(X0), rtol=1e-12)


def test_unsupported_primitive_is_refused_at_generation():
    sp = pytest.importorskip("scipy.special")
    with pytest.raises(UnsupportedOperationError, match=r"gammaln.*array_api|array_api.*gammaln"):
        npdiff.numpify(lambda x: np.sum(sp.gammaln(x)), (3,), backend="array_api")
    with pytest.raises(UnsupportedOperationError, match=r"digamma.*array_api"):  # the derivative needs digamma
        npdiff.grad(lambda x: np.sum(sp.gammaln(x)), backend="array_api").specialize((3,))
    with pytest.raises(UnsupportedOperationError, match="fmax"):
        npdiff.numpify(lambda x: np.fmax(x, 1.0), (3,), backend="array_api")


def test_unknown_backends_are_named():
    with pytest.raises(ValueError, match="unknown backend"):
        npdiff.grad(f_scalar, backend="jax")


def test_missing_compat_names_the_extra(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "array_api_compat" else real(n, *a))
    with pytest.raises(ImportError, match=r"npdiff\[array-api\]"):
        npdiff.grad(f_scalar, backend="array_api")


def test_returned_constants_and_broadcasts_are_fresh():
    xs = pytest.importorskip("array_api_strict")
    gf = npdiff.numpify(lambda x: (A.copy(), np.broadcast_to(x[0], (3,))), (3,), backend="array_api")
    a, b = gf(np.array(X0))  # NumPy arrays through the standard namespace
    a[0, 0] = 99.0
    assert gf(np.array(X0))[0][0, 0] == A[0, 0]
    assert b.flags.writeable
    out = gf(xs.asarray(X0))
    assert compat.array_namespace(out[0]) is xs


def test_generated_function_pickles():
    import pickle
    xs = pytest.importorskip("array_api_strict")
    gf = npdiff.grad(f_scalar, backend="array_api").specialize((3,))
    gf2 = pickle.loads(pickle.dumps(gf))
    assert_close(np.asarray(gf2(xs.asarray(X0))), npdiff.grad(f_scalar)(X0), rtol=1e-12)


def test_exported_module_imports_the_compat_layer(tmp_path):
    import importlib.util
    xs = pytest.importorskip("array_api_strict")
    path = tmp_path / "xp_model.py"
    npdiff.export({"grad_f": npdiff.grad(f_scalar, backend="array_api").specialize((3,))}, str(path))
    assert "import array_api_compat" in path.read_text()
    spec = importlib.util.spec_from_file_location("xp_model", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    _check(mod.grad_f(xs.asarray(X0)), npdiff.grad(f_scalar)(X0), _strict())


def test_python_number_arguments_take_the_arrays_namespace():
    """A Python float argument is a 0-d array of the generated dtype, on the other arguments' namespace."""
    g = npdiff.grad(lambda x, y: x * np.sum(y ** 2), backend="array_api")
    assert float(g(2.0, np.array([1.0, 2.0]))) == 5.0
    h = npdiff.grad(lambda x: x ** 3, backend="array_api")
    assert abs(float(h(1.5)) - 3 * 1.5 ** 2) < 1e-12  # no array argument at all: NumPy's namespace
    xs = pytest.importorskip("array_api_strict")
    out = g(2.0, xs.asarray([1.0, 2.0], dtype=xs.float64))
    assert type(out).__module__.startswith("array_api_strict") and float(out) == 5.0
