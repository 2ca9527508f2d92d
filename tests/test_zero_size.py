"""Arrays with a zero-length axis: every operator must generate code that compiles and runs.

A zero-size array has no elements to unroll or unpack, so paths of the emitters that build one
statement per element (the Python-float version for tiny arrays) used to print empty statements
(``    = x.ravel().tolist()``), an IndentationError raised from npdiff's own generated source when
the user called the operator. These tests run many NumPy functions on inputs with a zero-length
axis through numpify, jvp, vjp, jacfwd, jacrev, grad and hessian, for values and shapes against NumPy,
and, where the function also has a non-empty argument, derivatives against finite differences.
"""
from __future__ import annotations

import numpy as np
import pytest

import npdiff
from util import assert_close, fd_jac

R = np.random.default_rng(3)
E = np.ones((0, 3))  # a zero-length first axis
E1 = np.ones((0,))
E3 = np.ones((2, 0, 3))

# (name, function of one array, example input with a zero-length axis)
UNARY = [
    ("sin", np.sin, E),
    ("exp_log", lambda x: np.log(np.exp(x) + 1.0), E),
    ("square_sum_axis0", lambda x: np.sum(x ** 2, axis=0), E),
    ("sum_axis1", lambda x: np.sum(x, axis=1), E),
    ("sum_all", np.sum, E),
    ("prod_axis0", lambda x: np.prod(x, axis=0), E),
    ("max_initial", lambda x: np.max(x, axis=0, initial=2.0), E),
    ("min_initial", lambda x: np.min(x, axis=0, initial=-2.0), E),
    ("max_axis1", lambda x: np.max(x, axis=1), E),
    ("mean_axis1", lambda x: np.mean(x, axis=1), E),
    ("cumsum", lambda x: np.cumsum(x, axis=0), E),
    ("cumprod", lambda x: np.cumprod(x, axis=1), E),
    ("diff0", lambda x: np.diff(x, axis=0), E),
    ("diff1", lambda x: np.diff(x, axis=1), E),
    ("diff_to_empty", lambda x: np.diff(x), np.ones(1)),
    ("diff_n2", lambda x: np.diff(x, n=2, axis=1), E3),
    ("repeat0", lambda x: np.repeat(x, 0, axis=1), np.ones((2, 3))),
    ("repeat_none", lambda x: np.repeat(x, 0), np.ones((2, 3))),
    ("repeat_empty", lambda x: np.repeat(x, 2, axis=0), E),
    ("tile", lambda x: np.tile(x, (2, 1)), E),
    ("transpose", lambda x: x.T * 2.0, E),
    ("reshape", lambda x: x.reshape(3, 0), E),
    ("reshape3", lambda x: np.reshape(x, (0, 1, 3)) + 1.0, E),
    ("flip", lambda x: np.flip(x, axis=1), E),
    ("roll", lambda x: np.roll(x, 1, axis=1), E),
    ("slice_empty", lambda x: x[1:1] * 3.0, np.ones((4, 2))),
    ("slice_of_empty", lambda x: x[:, 1:] ** 2, E),
    ("index_array", lambda x: x[np.array([], dtype=int)], np.ones(4)),
    ("take", lambda x: np.take(x, np.array([], dtype=int), axis=1), np.ones((2, 3))),
    ("split", lambda x: np.array_split(x, 3)[2], np.ones(1)),
    ("split_all", lambda x: np.concatenate([p * (i + 1.0) for i, p in enumerate(np.array_split(x, 3))]),
     np.ones(1)),
    ("concat_self", lambda x: np.concatenate([x, x], axis=0), E),
    ("stack", lambda x: np.stack([x, 2.0 * x]), E),
    ("matmul_left", lambda x: x @ np.ones((3, 2)), E),
    ("matmul_inner", lambda x: x.T @ x, E),
    ("outer", lambda x: np.outer(x, x), E1),
    ("dot_empty", lambda x: np.dot(x, x), E1),
    ("einsum_batch", lambda x: np.einsum("...ij,...jk->...ik", x, x.swapaxes(-1, -2)), np.ones((0, 2, 3))),
    ("einsum_trace", lambda x: np.einsum("ii->", x), np.ones((0, 0))),
    ("where", lambda x: np.where(x > 0, x, -x), E),
    ("clip", lambda x: np.clip(x, -1.0, 1.0), E),
    ("abs", np.abs, E),
    ("sort", lambda x: np.sort(x, axis=0), E),
    ("linspace0", lambda x: np.linspace(x, 2.0 * x, 0), np.float64(1.3)),
    ("linspace0_vec", lambda x: np.linspace(x, 2.0 * x, 0, axis=1), np.ones(2)),
    ("zeros_like", lambda x: np.zeros_like(x) + x, E),
    ("setitem", lambda x: _setitem(x), E),
    ("pad", lambda x: np.pad(x, ((1, 1), (0, 0))), E),
    ("var", lambda x: np.var(x, axis=1), E),
    ("norm_rows", lambda x: np.linalg.norm(x, axis=1), E),
    ("logsumexp_rows", lambda x: np.log(np.sum(np.exp(x), axis=1)), E),
    ("trace_extra", lambda x: np.trace(x, axis1=1, axis2=2), np.ones((0, 2, 2))),
    ("append", lambda x: np.append(x, x), E),
    ("hstack", lambda x: np.hstack([x, x]), E),
    ("kron", lambda x: np.kron(x, np.ones((2, 2))), E),
    ("broadcast", lambda x: x[:, None, :] * x[None, :, :], E),
]


def _setitem(x):
    y = np.zeros_like(x)
    y[:, 1] = x[:, 0] * 2.0
    return y


def _float(x):
    return np.asarray(x, dtype=np.float64)


@pytest.mark.parametrize("name,f,x", UNARY, ids=[u[0] for u in UNARY])
def test_numpify_matches_numpy(name, f, x):
    g = npdiff.numpify(f, x)
    compile(g.source, "<check>", "exec")
    ref = f(x)
    got = g(x)
    assert np.shape(got) == np.shape(ref)
    assert_close(got, ref, what=name)


@pytest.mark.parametrize("name,f,x", UNARY, ids=[u[0] for u in UNARY])
def test_derivative_operators_run(name, f, x):
    ref = np.asarray(f(x))
    for op in (npdiff.jacfwd, npdiff.jacrev, npdiff.jacobian):
        J = op(f)(x)
        assert np.shape(J) == ref.shape + np.shape(x), op.__name__
        assert_close(J, fd_jac(f, [x], 0).reshape(ref.shape + np.shape(x)), what=op.__name__)
    out, t = npdiff.jvp(f, (x,), (np.ones_like(x),))
    assert np.shape(out) == ref.shape and np.shape(t) == ref.shape
    out, pull = npdiff.vjp(f, x)
    (ct,) = pull(np.ones_like(ref))
    assert np.shape(ct) == np.shape(x)
    g = npdiff.grad(lambda x: np.sum(f(x)))(x)
    assert np.shape(g) == np.shape(x)
    assert_close(g, fd_jac(lambda x: np.sum(f(x)), [x], 0).reshape(np.shape(x)), what="grad")
    H = npdiff.hessian(lambda x: np.sum(f(x) ** 2))(x)
    assert np.shape(H) == np.shape(x) * 2


# functions of an empty array and a non-empty one: the non-empty argument's derivative is not trivial
BINARY = [
    ("concat", lambda e, y: np.concatenate([e, y]) ** 2, E1, np.array([0.3, -1.2, 0.7])),
    ("concat2d", lambda e, y: np.sin(np.concatenate([e, y], axis=0)), E, R.normal(size=(2, 3))),
    ("stack_cols", lambda e, y: np.hstack([y, e.T[:, :0]]) * y, np.ones((0, 2)), R.normal(size=(2, 2))),
    ("empty_sum_plus", lambda e, y: np.sum(e) + y ** 2, E, R.normal(size=3)),
    ("max_initial_plus", lambda e, y: np.max(e, axis=0, initial=0.5) * y, E, R.normal(size=3)),
    ("matmul_zero_inner", lambda e, y: (e.T @ e) + y, E, R.normal(size=(3, 3))),
    ("append_list", lambda e, y: np.append(e, np.exp(y)), E1, R.normal(size=4)),
    ("einsum_empty_batch", lambda e, y: np.einsum("bij,jk->bik", e, y).sum() + np.sum(y ** 3),
     np.ones((0, 2, 3)), R.normal(size=(3, 2))),
]


@pytest.mark.parametrize("name,f,e,y", BINARY, ids=[b[0] for b in BINARY])
def test_mixed_empty_and_nonempty(name, f, e, y):
    ref = np.asarray(f(e, y))
    assert_close(npdiff.numpify(f, e, y)(e, y), ref, what="value")
    for op in (npdiff.jacfwd, npdiff.jacrev):
        J = op(f, argnums=(0, 1))(e, y)
        assert np.shape(J[0]) == ref.shape + e.shape
        assert_close(J[1], fd_jac(f, [e, y], 1).reshape(ref.shape + y.shape), what=op.__name__)
    _, pull = npdiff.vjp(f, e, y)
    ct = R.normal(size=ref.shape)
    ce, cy = pull(ct)
    assert np.shape(ce) == e.shape
    assert_close(cy, (ct.ravel() @ fd_jac(f, [e, y], 1)).reshape(y.shape), what="vjp")


@pytest.mark.parametrize("name,f,x", UNARY[:20], ids=[u[0] for u in UNARY[:20]])
def test_array_api_backend(name, f, x):
    pytest.importorskip("array_api_compat")  # the array-api extra
    try:
        g = npdiff.numpify(f, x, backend="array_api")
    except npdiff.UnsupportedOperationError:
        pytest.skip("not expressible in the array API standard")
    assert_close(g(x), f(x), what=name)


def test_registry_elementwise_primitives_on_empty():
    """Every elementwise primitive that is a NumPy ufunc, differentiated twice, on a (0, 3) input."""
    from npdiff.primitives import PRIMS
    checked = 0
    for n, prim in PRIMS.items():
        u = getattr(np, n, None)
        if not prim.elementwise or not prim.partials or not isinstance(u, np.ufunc) or u.nin != len(prim.partials):
            continue
        f = (lambda u: lambda x: u(*([x] * u.nin)))(u)
        assert npdiff.hessian(lambda x: np.sum(f(x)))(E).shape == E.shape * 2, n
        assert npdiff.jacfwd(f)(E).shape == (0, 3, 0, 3), n
        assert npdiff.numpify(f, E)(E).shape == E.shape, n
        checked += 1
    assert checked > 20


def test_random_programs_with_zero_length_axes():
    """The random-program fuzzer with zero-length axes allowed: value and every derivative operator."""
    from hypothesis import HealthCheck, given, settings

    import fuzz

    used = []

    @settings(deadline=None, derandomize=True, database=None, max_examples=100,
              suppress_health_check=list(HealthCheck))
    @given(fuzz.programs(max_steps=4, min_len=0, order3=0.0))
    def run(prog):
        try:
            fuzz.check_program(prog)
        except fuzz.Guard:
            return
        except Exception as e:
            raise AssertionError(f"{e}\n{prog.reproducer()}") from e
        if any(0 in s for s in prog.in_shapes):
            used.append(prog)
    run()
    assert len(used) >= 12  # the property was exercised on empty inputs


def _signature_entries():
    import signature_table as T
    out = []
    for name, entry in T.ENTRIES.items():
        x = np.asarray(getattr(entry, "x", None))
        if x.ndim and x.dtype.kind == "f":
            out.append(pytest.param(name, entry, id=name))
    return out


@pytest.mark.parametrize("name,entry", _signature_entries())
def test_signature_table_functions_on_an_empty_first_axis(name, entry):
    """Every function of the signature table, on its example input with the first axis emptied."""
    import warnings

    from test_signatures import _lookup
    x = np.asarray(entry.x)[:0]
    call = entry.call or (lambda a: _lookup(name)(a))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ref = call(np.copy(x))
        except Exception:  # noqa: BLE001 - NumPy refuses an empty input (a reduction without identity)
            pytest.skip("NumPy refuses this empty input")
        try:
            got = npdiff.numpify(call, x)(x)
        except npdiff.UnsupportedOperationError:
            pytest.skip("not supported for other reasons")
        leaves_ref = npdiff.ir.pytree.tree_flatten(ref)[0]
        leaves_got = npdiff.ir.pytree.tree_flatten(got)[0]
        assert len(leaves_got) == len(leaves_ref)
        for a, b in zip(leaves_got, leaves_ref):
            a, b = np.asarray(a), np.asarray(b)
            assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
            if a.dtype.kind in "fc":
                assert np.allclose(a, b, equal_nan=True)
            else:
                assert np.array_equal(a, b)
        if entry.deriv and all(np.asarray(leaf).dtype.kind == "f" for leaf in leaves_ref):
            for op in (npdiff.jacrev, npdiff.jacfwd):
                J = npdiff.ir.pytree.tree_flatten(op(call)(x))[0]
                assert [np.shape(j) for j in J] == [np.shape(r) + x.shape for r in leaves_ref]
