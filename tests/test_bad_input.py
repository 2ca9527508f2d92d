"""Bad input (issue 10): each mistake gets a clear error naming the problem and the fix,
never a deep NumPy traceback or a wrong number; edge values follow IEEE arithmetic.
"""
import pickle
import re
import sys
import threading

import numpy as np
import pytest

import npdiff

X3 = np.array([1.0, 2.0, 3.0])


def f_sq(x):
    return np.sum(x ** 2)


def f_xy(x, y):
    return np.sum(x ** 2 * y ** 3)


# -- wrong number of arguments -------------------------------------------------------------------

@pytest.mark.parametrize("op", [npdiff.grad, npdiff.value_and_grad, npdiff.jacfwd, npdiff.jacrev, npdiff.jacobian,
                                npdiff.hessian])
def test_lazy_operator_with_too_many_arguments(op):
    with pytest.raises(TypeError, match=r"f_sq\(x\) cannot be called with 2 positional arguments \(too many"):
        op(f_sq)(X3, X3)


@pytest.mark.parametrize("op", [npdiff.grad, npdiff.jacfwd, npdiff.hessian])
def test_lazy_operator_with_too_few_arguments(op):
    with pytest.raises(TypeError, match=r"f_xy\(x, y\) cannot be called with 1 positional argument "
                                        r"\(missing a required argument: 'y'\)"):
        op(f_xy)(X3)
    with pytest.raises(TypeError, match="cannot be called with 0 positional arguments"):
        op(f_xy)()


def test_hvp_arity_names_the_vector():
    with pytest.raises(TypeError, match=r"missing a required argument: 'x'\); call hvp\(f\)\(\*args, v\)"):
        npdiff.hvp(f_sq)(X3)
    with pytest.raises(TypeError, match=r"one vector per argnum"):
        npdiff.hvp(f_xy, argnums=(0, 1))(X3, X3, X3)  # two vectors needed


def test_mici_style_bundle_takes_one_argument():
    with pytest.raises(TypeError, match=r"Mici-style operators take one array argument .* got 2"):
        npdiff.grad_and_value(f_sq)(X3, X3)


def test_generated_function_arity_lists_its_arguments():
    gf = npdiff.numpify(f_xy, (3,), (3,))
    with pytest.raises(TypeError, match=r"f_xy\(\) takes 2 arguments \(x: \(3,\) float64, y: \(3,\) float64\), got 1"):
        gf(X3)
    dg = npdiff.diffops.gradient(f_sq, (3,))
    with pytest.raises(TypeError, match="takes 1 arguments"):
        dg(X3, X3)


def test_eager_operators_arity():
    with pytest.raises(TypeError, match=r"jvp: f_sq\(x\) cannot be called with 2 positional arguments"):
        npdiff.jvp(f_sq, (X3, X3), (X3, X3))
    with pytest.raises(TypeError, match=r"vjp: f_xy\(x, y\) cannot be called with 1 positional argument"):
        npdiff.vjp(f_xy, X3)
    with pytest.raises(TypeError, match=r"linearize: f_xy\(x, y\) cannot be called with 3"):
        npdiff.linearize(f_xy, X3, X3, X3)


# -- shapes ----------------------------------------------------------------------------------------

SHAPE_MSG = r"argument 'x' has shape \(4,\), expected shape \(3,\)"


@pytest.mark.parametrize("make", [
    lambda: npdiff.numpify(f_sq, (3,)),
    lambda: npdiff.grad(f_sq).specialize((3,)),
    lambda: npdiff.value_and_grad(f_sq).specialize((3,)),
    lambda: npdiff.jacfwd(lambda x: x ** 2).specialize((3,)),
    lambda: npdiff.jacrev(lambda x: x ** 2).specialize((3,)),
    lambda: npdiff.hessian(f_sq).specialize((3,)),
    lambda: npdiff.grad_and_value(f_sq).specialize((3,)),
    lambda: npdiff.mtp_hessian_grad_and_value(f_sq).specialize((3,)),
    lambda: npdiff.diffops.gradient(f_sq, (3,)),
    lambda: npdiff.diffops.hessian(f_sq, (3,)),
    lambda: npdiff.diffops.jacobian(lambda x: x ** 2, (3,)),
    lambda: npdiff.diffops.hessian_vector_product(f_sq, (3,)),
    lambda: npdiff.mici.grad_and_value(f_sq).specialize((3,)),
], ids=range(13))
def test_every_family_checks_shapes(make):
    gf = make()
    with pytest.raises(ValueError, match=SHAPE_MSG):
        gf(np.ones(4))


def test_hvp_generated_function_checks_both_shapes():
    gf = npdiff.hvp(f_sq).specialize((3,), (3,))
    with pytest.raises(ValueError, match=SHAPE_MSG):
        gf(np.ones(4), X3)
    with pytest.raises(ValueError, match=r"argument 'v' has shape \(2,\), expected shape \(3,\)"):
        gf(X3, np.ones(2))


def test_operator_results_check_their_vector_shapes():
    hv = npdiff.diffops.hessian_vector_product(f_sq, (3,))(X3)
    with pytest.raises(ValueError, match=r"argument 'v' has shape \(4,\), expected shape \(3,\)"):
        hv(np.ones(4))
    vjp_op, _ = npdiff.vjp_and_value(lambda x: x * 2)(X3)
    with pytest.raises(ValueError, match=r"argument 'v' has shape \(2,\), expected shape \(3,\)"):
        vjp_op(np.ones(2))


def test_lazy_operator_specialises_for_a_new_shape():
    g = npdiff.grad(f_sq)
    for x in (X3, np.arange(4.0), np.arange(6.0).reshape(2, 3), np.array(2.5)):
        assert np.allclose(g(x), 2 * x)
    assert g.cache_info().currsize == 4
    jac = npdiff.jacfwd(lambda x: np.sin(x))
    for n in (2, 5):
        x = np.linspace(0.1, 1.0, n)
        assert np.allclose(jac(x), np.diag(np.cos(x)))


# -- dtypes and lists ------------------------------------------------------------------------------

@pytest.mark.parametrize("op", [npdiff.grad, npdiff.value_and_grad, npdiff.jacfwd, npdiff.jacrev, npdiff.hessian])
@pytest.mark.parametrize("x", [np.arange(3), np.array([True, False]), 3], ids=["int", "bool", "pyint"])
def test_differentiating_integers_is_refused(op, x):
    with pytest.raises(TypeError, match=r"requires floating-point inputs, got dtype (int64|bool) for argument 'x'; "
                                        r"pass a float array \(e\.g\. x\.astype\(float\)\)"):
        op(f_sq)(x)


def test_integer_argument_not_differentiated_is_fine():
    def f(x, n):
        return np.sum(x ** n)
    assert np.allclose(npdiff.grad(f)(X3, np.int64(3)), 3 * X3 ** 2)


def test_integer_inputs_of_bundles_and_eager_operators():
    with pytest.raises(TypeError, match=r"grad_and_value requires floating-point inputs, got dtype int64 for argument 'x'"):
        npdiff.grad_and_value(f_sq)(np.arange(3))
    with pytest.raises(TypeError, match="gradient requires floating-point inputs"):
        npdiff.diffops.gradient(f_sq, npdiff.ShapeDtype((3,), np.int64))
    with pytest.raises(TypeError, match="hvp requires floating-point inputs"):
        npdiff.hvp(f_sq)(np.arange(3), X3)
    for call in (lambda: npdiff.jvp(f_sq, (np.arange(3),), (X3,)), lambda: npdiff.vjp(f_sq, np.arange(3)),
                 lambda: npdiff.linearize(f_sq, np.arange(3))):
        with pytest.raises(TypeError, match=r"requires floating-point primals, got dtype int64 for primal 0"):
            call()
    # the Mici backend converts integer positions to float64 (Mici's own convention)
    g, v = npdiff.mici.grad_and_value(f_sq)(np.arange(3))
    assert np.allclose(g, [0.0, 2.0, 4.0]) and v == 5.0


@pytest.mark.parametrize("bad", [np.array([1.0, None]), np.array(["a", "b"])], ids=["object", "str"])
def test_object_and_string_arrays_are_refused(bad):
    with pytest.raises(TypeError, match=r"argument 'y' has dtype (object|<U1); npdiff functions take numeric arrays"):
        npdiff.grad(lambda x, y: np.sum(x))(np.ones(2), bad)
    with pytest.raises(TypeError, match="npdiff functions take numeric arrays"):
        npdiff.numpify(lambda x: x, npdiff.ShapeDtype((2,), bad.dtype))


def test_lists_and_python_numbers_are_converted_like_numpy():
    assert np.allclose(npdiff.grad(f_sq)([1.0, 2.0]), [2.0, 4.0])
    assert np.allclose(npdiff.jacrev(lambda x: x ** 2)([1.0, 2.0]), np.diag([2.0, 4.0]))
    assert npdiff.grad(lambda x: x ** 3)(2.0) == 12.0
    assert np.allclose(npdiff.numpify(f_sq, (2,))([1.0, 2.0]), 5.0)
    out, t = npdiff.jvp(f_sq, ([1.0, 2.0],), ([1.0, 0.0],))
    assert np.isclose(out, 5.0) and np.isclose(t, 2.0)


def test_generated_function_converts_safe_dtypes_and_refuses_others():
    cube = npdiff.numpify(lambda x: x ** 3, (2,))  # generated for float64
    big = np.array([2 ** 30, 3], dtype=np.int64)
    assert cube(big).dtype == np.float64
    assert cube(big)[0] == 2.0 ** 90  # computed in float64, not wrapped around in int64
    assert np.allclose(cube(np.array([1.5, 2.0], np.float32)), [3.375, 8.0])
    g = npdiff.grad(lambda x: np.sum(np.sin(x) * x)).specialize((40,))
    xi = np.arange(40)
    assert np.allclose(g(xi), np.sin(xi) + xi * np.cos(xi))
    with pytest.raises(TypeError, match=r"argument 'x' has dtype complex128, but this code was generated for dtype "
                                        r"float64; convert it .* ShapeDtype\(shape, 'complex128'\)"):
        cube(np.ones(2) + 1j)
    with pytest.raises(TypeError, match=r"argument 'x' has dtype object, but this code was generated for dtype float64"):
        cube(np.array([1.0, None]))
    # pickled: the same checks, and the fast path still applies to float64 arrays
    back = pickle.loads(pickle.dumps(cube))
    assert back.arg_dtypes[0] is np.dtype(np.float64)
    assert back(big)[0] == 2.0 ** 90


def test_jvp_tangent_dtypes():
    _out, t = npdiff.jvp(lambda x: x / 3, (X3,), (np.array([3, 6, 9]),))  # int tangent: converted
    assert t.dtype == np.float64 and np.allclose(t, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="tangent 0 has dtype complex128, which cannot be converted to the dtype "
                                        "of primal 0, float64"):
        npdiff.jvp(lambda x: x / 3, (X3,), (X3 + 1j,))


# -- non-scalar output to grad ---------------------------------------------------------------------

def test_grad_of_non_scalar_names_shape_and_alternatives():
    for op in (npdiff.grad, npdiff.value_and_grad):
        with pytest.raises(TypeError, match=r"requires a scalar-valued function; the output has shape \(3,\)\. "
                                            r"Use jacobian/jacrev .* or vjp"):
            op(lambda x: x ** 2)(X3)
    with pytest.raises(TypeError, match=r"the output is a tuple of 2 items"):
        npdiff.grad(lambda x: (np.sum(x), x))(X3)
    with pytest.raises(TypeError, match=r"grad_and_value \(a gradient\) requires a scalar-valued function; the output "
                                        r"has shape \(3,\)\. Use jacobian_and_value"):
        npdiff.grad_and_value(lambda x: x ** 2)(X3)
    with pytest.raises(TypeError, match=r"gradient \(a gradient\) requires a scalar-valued function"):
        npdiff.diffops.gradient(lambda x: x ** 2, (3,))


# -- argnums ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", [npdiff.grad, npdiff.value_and_grad, npdiff.jacfwd, npdiff.jacrev, npdiff.hessian])
def test_argnums_out_of_range(op):
    with pytest.raises(ValueError, match=r"argnums=2 is out of range: the function was called with 2 arguments "
                                         r"\(valid argnums: 0 to 1, or -2 to -1\)"):
        op(f_xy, argnums=2)(X3, X3)
    with pytest.raises(ValueError, match=r"argnums=\(0, -3\) is out of range"):
        op(f_xy, argnums=(0, -3))(X3, X3)


def test_hvp_argnums_out_of_range():
    with pytest.raises(ValueError, match="hvp: argnums=1 is out of range"):
        npdiff.hvp(f_sq, argnums=1)(X3, X3)


@pytest.mark.parametrize("bad", ["x", 0.0, True, (0, "y"), [0.5]])
def test_argnums_of_the_wrong_type(bad):
    with pytest.raises(TypeError, match="argnums must be an int or a tuple of ints, got"):
        npdiff.grad(f_xy, argnums=bad)(X3, X3)


def test_negative_and_repeated_argnums_are_exact():
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    gx, gy = 2 * x * y ** 3, 3 * x ** 2 * y ** 2
    assert np.allclose(npdiff.grad(f_xy, argnums=-1)(x, y), gy)
    a, b = npdiff.grad(f_xy, argnums=(1, 1))(x, y)
    assert np.allclose(a, gy) and np.allclose(b, gy)
    _v, (a, b) = npdiff.value_and_grad(f_xy, argnums=(0, 0))(x, y)
    assert np.allclose(a, gx) and np.allclose(b, gx)
    ja, jb = npdiff.jacfwd(lambda x, y: x * y, argnums=(0, 0))(x, y)
    assert np.allclose(ja, np.diag(y)) and np.allclose(jb, np.diag(y))


def test_hvp_with_a_tuple_of_argnums_takes_one_vector_each():
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    vx, vy = np.array([0.5, -1.0]), np.array([2.0, 1.0])
    # f = sum(x^2 y^3): Hxx = diag(2 y^3), Hxy = diag(6 x y^2), Hyy = diag(6 x^2 y)
    hx = 2 * y ** 3 * vx + 6 * x * y ** 2 * vy
    hy = 6 * x * y ** 2 * vx + 6 * x ** 2 * y * vy
    rx, ry = npdiff.hvp(f_xy, argnums=(0, 1))(x, y, vx, vy)
    assert np.allclose(rx, hx) and np.allclose(ry, hy)
    assert np.allclose(npdiff.hvp(f_xy, argnums=1)(x, y, vy), 6 * x ** 2 * y * vy)


# -- has_aux ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda f: npdiff.grad(f, has_aux=True)(X3),
    lambda f: npdiff.value_and_grad(f, has_aux=True)(X3),
    lambda f: npdiff.jacfwd(f, has_aux=True)(X3),
    lambda f: npdiff.jacrev(f, has_aux=True)(X3),
    lambda f: npdiff.jvp(f, (X3,), (X3,), has_aux=True),
    lambda f: npdiff.vjp(f, X3, has_aux=True),
], ids=["grad", "value_and_grad", "jacfwd", "jacrev", "jvp", "vjp"])
def test_has_aux_needs_a_pair(call):
    with pytest.raises(TypeError, match=r"with has_aux=True the function must return a pair \(output, aux\); "
                                        r"it returned an array of shape \(\)"):
        call(f_sq)
    with pytest.raises(TypeError, match="it returned a tuple of 3 items"):
        call(lambda x: (np.sum(x), x, x))


# -- tangents and cotangents -----------------------------------------------------------------------

def test_jvp_tangents():
    with pytest.raises(ValueError, match=r"jvp: tangent 0 has shape \(4,\), expected \(3,\) \(the shape of primal 0\)"):
        npdiff.jvp(f_sq, (X3,), (np.ones(4),))
    with pytest.raises(ValueError, match="got 1 primal and 2 tangents"):
        npdiff.jvp(f_sq, (X3,), (X3, X3))
    with pytest.raises(TypeError, match=r"jvp: primals must be a tuple .* got an array of shape \(3,\)"):
        npdiff.jvp(f_sq, X3, X3)
    # the same check once the code for these shapes exists
    npdiff.jvp(f_sq, (X3,), (X3,))
    with pytest.raises(ValueError, match=r"tangent 0 has shape \(4,\)"):
        npdiff.jvp(f_sq, (X3,), (np.ones(4),))


def test_jvp_tangent_shape_inside_another_operator():
    def f(x):
        return npdiff.jvp(lambda z: np.sum(z ** 2), (x,), (np.ones(4),))[1]
    with pytest.raises(ValueError, match=r"jvp: tangent 0 has shape \(4,\), expected \(3,\)"):
        npdiff.grad(f)(X3)


def test_vjp_cotangents():
    _, pull = npdiff.vjp(lambda x: x * 2, X3)
    with pytest.raises(ValueError, match=r"argument 'ct' has shape \(4,\), expected shape \(3,\)"):
        pull(np.ones(4))
    _out, pull = npdiff.vjp(lambda x: (x * 2, np.sum(x)), X3)
    with pytest.raises(TypeError, match=r"expected the output's structure \(2 arrays of shapes \(3,\), \(\)\), got an "
                                        r"array of shape \(3,\)"):
        pull(np.ones(3))
    (g,) = pull((np.ones(3), 1.0))
    assert np.allclose(g, 3.0)


def test_linearize_tangents():
    _out, f_jvp = npdiff.linearize(lambda x: np.sin(x), X3)
    with pytest.raises(ValueError, match=r"argument 'x_dot' has shape \(4,\), expected shape \(3,\)"):
        f_jvp(np.ones(4))
    with pytest.raises(TypeError, match=r"f_jvp takes one tangent per primal \(1\), got 2"):
        f_jvp(X3, X3)
    assert np.allclose(f_jvp(X3), np.cos(X3) * X3)


def test_hvp_vector_shape():
    with pytest.raises(ValueError, match=r"hvp: v has shape \(4,\), expected \(3,\) \(the shape of argument 'x'\)"):
        npdiff.hvp(f_sq)(X3, np.ones(4))


# -- IEEE edge values ------------------------------------------------------------------------------

EDGE = [  # function, input, the derivative formula NumPy evaluates
    (np.sqrt, np.array([0.0, 4.0]), lambda x: 0.5 / np.sqrt(x)),
    (np.log, np.array([-1.0, 0.0]), lambda x: 1.0 / x),
    (np.arcsin, np.array([2.0, 1.0]), lambda x: 1.0 / np.sqrt(1.0 - x * x)),
    (lambda x: 1.0 / x, np.array([0.0, -0.0]), lambda x: -1.0 / (x * x)),
    (np.exp, np.array([1000.0, np.inf]), np.exp),
    (lambda x: x ** 2, np.array([np.nan, np.inf]), lambda x: 2 * x),
]


@pytest.mark.parametrize("fn,x,deriv", EDGE, ids=["sqrt0", "logneg", "arcsin2", "recip0", "expinf", "nan"])
def test_edge_values_follow_ieee(fn, x, deriv):
    with np.errstate(all="ignore"):
        want_val, want_der = fn(x), deriv(x)
        # the array path
        v, g = npdiff.value_and_grad(lambda z: np.sum(fn(z)))(x)
        np.testing.assert_array_equal(g, want_der)
        np.testing.assert_array_equal(v, np.sum(want_val))
        np.testing.assert_array_equal(np.diag(npdiff.jacfwd(fn)(x)), want_der)
        # the scalar (Python-float) path, element by element, on Python floats and 0-d arrays
        for xi, vi, di in zip(x.tolist(), want_val, want_der):
            for arg in (xi, np.array(xi)):
                v, g = npdiff.value_and_grad(fn)(arg)
                np.testing.assert_array_equal(v, vi)
                np.testing.assert_array_equal(g, di)


# -- functions that mutate their input -------------------------------------------------------------

def mut_set(x):
    x[0] = 1.0
    return np.sum(x ** 2)


def mut_add(x):
    x += 1
    return np.sum(x ** 2)


@pytest.mark.parametrize("n", [3, 50])  # scalar and array code paths
def test_callers_array_is_never_modified(n):
    x = np.linspace(2.0, 3.0, n)
    x0 = x.copy()
    g_set = 2 * x0
    g_set[0] = 0.0
    g_add = 2 * (x0 + 1)
    for f, g in ((mut_set, g_set), (mut_add, g_add)):
        for call in (lambda: npdiff.grad(f)(x), lambda: npdiff.jacrev(f)(x), lambda: npdiff.jacfwd(f)(x),
                     lambda: npdiff.value_and_grad(f)(x)[1], lambda: npdiff.grad_and_value(f)(x)[0],
                     lambda: npdiff.vjp(f, x)[1](1.0)[0], lambda: npdiff.mici.grad_and_value(f)(x)[0],
                     lambda: npdiff.diffops.gradient(f, (n,))(x)):
            for _ in range(2):  # the first call traces, the second runs the cached code
                np.testing.assert_allclose(call(), g)
                np.testing.assert_array_equal(x, x0)
        gf = npdiff.numpify(f, (n,))
        assert np.isclose(gf(x), f(x0.copy()))
        np.testing.assert_array_equal(x, x0)
        h = npdiff.hessian(f)(x)
        np.testing.assert_allclose(np.diag(h), np.where(g == 0.0, 0.0, 2.0))
        np.testing.assert_array_equal(x, x0)


def test_mutating_output_function_keeps_the_callers_array():
    def double(x):
        x *= 2
        return x
    x = X3.copy()
    assert np.allclose(npdiff.jacfwd(double)(x), 2 * np.eye(3))
    out, t = npdiff.jvp(double, (x,), (np.ones(3),))
    assert np.allclose(out, 2 * X3) and np.allclose(t, 2.0)
    np.testing.assert_array_equal(x, X3)


# -- side effects run once per trace -----------------------------------------------------------------

def test_side_effects_run_once_per_trace(capsys):
    calls = []

    def f(x):
        print("tracing f")
        calls.append(x.shape)
        return np.sum(x ** 2)

    npdiff.config.self_check = False  # the self-checks call f again, on plain arrays (tested below)
    try:
        g = npdiff.grad(f)
        for _ in range(3):
            g(X3)
        assert len(calls) == 1 and capsys.readouterr().out.count("tracing f") == 1
        g(np.ones(5))  # a new shape: traced again
        assert len(calls) == 2
    finally:
        npdiff.config.self_check = True
    calls.clear()
    g = npdiff.grad(f)
    g(X3)
    per_path = len(calls)
    assert 2 <= per_path <= 6  # the trace, one plain call for the value, two to four for the derivative
    for _ in range(3):
        g(X3)
    assert len(calls) == per_path  # never per call


# -- threads ------------------------------------------------------------------------------------------

def test_threads_calling_one_lazy_operator_on_different_shapes():
    g = npdiff.grad(lambda x: np.sum(np.sin(x) * x))
    errors, barrier = [], threading.Barrier(6)

    def work(k):
        try:
            barrier.wait()
            for i in range(30):
                n = 1 + (k + i) % 7
                x = np.linspace(0.1, 1.0 + k, n)
                out = g(x)
                if not np.allclose(out, np.sin(x) + x * np.cos(x)):
                    errors.append((k, i, n))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert g.cache_info().currsize == 7


# -- missing optional dependencies -------------------------------------------------------------------

def test_sparse_without_scipy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.sparse", None)
    with pytest.raises(ImportError, match=r"jacfwd\(\.\.\., sparse=True\) needs scipy: pip install scipy"):
        npdiff.jacfwd(lambda x: x ** 2, sparse=True)


def test_mici_register_without_mici_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mici", None)
    monkeypatch.setitem(sys.modules, "mici.autodiff", None)
    with pytest.raises(ImportError, match=r"needs Mici: pip install mici"):
        npdiff.mici.register()


# -- pickles run code: documented ---------------------------------------------------------------------

def test_unpickling_is_documented_as_trusted_input_only():
    assert re.search(r"Load pickles only from sources you trust", npdiff.GeneratedFunction.__doc__)
    import pathlib
    docs = pathlib.Path(__file__).resolve().parents[1] / "docs"
    assert "trust" in (docs / "limitations.md").read_text()
