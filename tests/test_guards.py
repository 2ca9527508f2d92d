"""Guarded specialisation: Python control flow on traced values.

Every derivative is checked against central finite differences (or a closed
form) of the plain NumPy function, on each path.
"""
import math
import pickle
import threading
import warnings

import numpy as np
import pytest

import npdiff
from util import assert_close, fd_jac


def piecewise(x):
    if abs(x[0]) < 0.5:
        return np.sum(x ** 2) * x[1]
    else:
        return np.sum(np.sin(x)) + x[0] * x[2]


A = np.array([0.1, 0.7, -0.3])  # the `if` branch
B = np.array([1.3, 0.7, -0.3])  # the `else` branch


def _n_paths(op):
    return sum(len(p.gfs) for p in op._paths.values())


def test_piecewise_both_branches_one_operator_called_alternately():
    g = npdiff.grad(piecewise)
    for x in (A, B, A, B, B, A):
        assert_close(g(x), fd_jac(piecewise, [x], 0).ravel(), 1e-6, 1e-8, "grad")
    assert _n_paths(g) == 2
    src = g.source
    assert "_path_changed(" in src and "abs(x[0]) < 0.5" in src and "test_guards.py" in src


def test_piecewise_jacobians_hessian_and_hvp():
    for x in (A, B, A):
        fdg = fd_jac(piecewise, [x], 0).ravel()
        fdh = fd_jac(npdiff.grad(piecewise), [x], 0)
        assert_close(npdiff.jacfwd(piecewise)(x), fdg, 1e-6, 1e-8, "jacfwd")
        assert_close(npdiff.jacrev(piecewise)(x), fdg, 1e-6, 1e-8, "jacrev")
        assert_close(npdiff.hessian(piecewise)(x), fdh, 1e-5, 1e-6, "hessian")
        assert_close(npdiff.jacfwd(npdiff.jacrev(piecewise))(x), fdh, 1e-5, 1e-6, "jacfwd(jacrev)")
        v = np.array([0.3, -1.0, 2.0])
        assert_close(npdiff.hvp(piecewise)(x, v), fdh @ v, 1e-5, 1e-6, "hvp")


def test_grad_of_grad_of_piecewise_scalar():
    def f(x):
        if x > 0:
            return x ** 3
        return np.sin(x)
    gg = npdiff.grad(npdiff.grad(f))
    for x in (0.7, -0.4, 1.5, -2.0):
        fd = (f(x + 1e-4) - 2 * f(x) + f(x - 1e-4)) / 1e-8
        assert abs(gg(x) - fd) < 1e-4 * max(1.0, abs(fd))
        assert abs(gg(x) - (6 * x if x > 0 else -np.sin(x))) < 1e-12


def test_while_loop_newton_sqrt_derivative_of_the_unrolled_path():
    def newton_sqrt(c):
        x = c * 1.0
        while np.abs(x * x - c) > 1e-13 * c:
            x = x - (x * x - c) / (2.0 * x)
        return x
    g = npdiff.grad(newton_sqrt)
    for c in (2.0, 9.0, 2.5, 100.0, 2.0):
        assert abs(g(c) - 0.5 / math.sqrt(c)) < 1e-9
        fd = (newton_sqrt(c + 1e-6) - newton_sqrt(c - 1e-6)) / 2e-6
        assert abs(g(c) - fd) < 1e-6
    assert _n_paths(g) >= 2  # different iteration counts are different paths


def test_while_loop_fixed_point_solve_vector():
    def solve(a):  # x = cos(a * x) elementwise, iterated to a tolerance
        x = np.zeros_like(a)
        err = 1.0
        while err > 1e-13:
            x_new = np.cos(a * x)
            err = np.max(np.abs(x_new - x))
            x = x_new
        return np.sum(x * a)
    a = np.array([0.3, 0.5, 0.2])
    g = npdiff.grad(solve)(a)
    assert_close(g, fd_jac(solve, [a], 0).ravel(), 1e-6, 1e-8, "fixed-point grad")


def test_float_of_comparison_as_weight():
    def f(x):
        w = float(x[0] >= 0)
        return w * np.sum(x ** 2) + (1.0 - w) * np.sum(np.exp(x))
    g = npdiff.grad(f)
    for x in (np.array([0.5, -1.0]), np.array([-0.5, 2.0]), np.array([0.2, 0.1])):
        assert_close(g(x), fd_jac(f, [x], 0).ravel(), 1e-6, 1e-8, "weight grad")


def test_integer_index_computed_from_values():
    def f(x):
        i = int(np.argmax(x))
        return x[i] ** 2 + np.sum(x) * x[(i + 1) % 3]
    g = npdiff.grad(f)
    for x in (np.array([1.0, 3.0, 2.0]), np.array([4.0, 1.0, 2.0]), np.array([0.1, 0.2, 0.9])):
        assert_close(g(x), fd_jac(f, [x], 0).ravel(), 1e-6, 1e-8, "argmax grad")
    assert _n_paths(g) == 3


def test_index_and_item_of_integer_values():
    def f(x):
        k = np.sum(x > 0)  # an integer-valued traced array
        return np.sum(x[: k.item()] ** 2) + x[k] if k < 3 else np.sum(x)
    g = npdiff.grad(f)
    for x in (np.array([1.0, -1.0, -2.0, 0.5]), np.array([1.0, 2.0, -2.0, 0.5]), np.array([1.0, 2.0, 3.0, 1.0])):
        assert_close(g(x), fd_jac(f, [x], 0).ravel(), 1e-6, 1e-8, "index grad")


def test_assert_on_values():
    def f(x):
        assert np.all(x > 0), "x must be positive"
        return np.sum(np.log(x))
    g = npdiff.grad(f)
    x = np.array([1.0, 2.0, 4.0])
    assert_close(g(x), 1.0 / x, 1e-12, 0, "grad log")
    with pytest.raises(AssertionError, match="positive"):
        g(np.array([1.0, -2.0, 4.0]))
    assert_close(g(x * 2), 0.5 / x, 1e-12, 0, "grad log again")


def test_paths_past_max_paths_are_dropped_least_recently_used_with_one_warning(monkeypatch):
    assert npdiff.config.max_paths == 64

    def f(x):
        n = int(x[0])  # a new path for every integer part
        return np.sum(x ** 2) * n
    monkeypatch.setattr(npdiff.config, "max_paths", 5)
    g = npdiff.grad(f)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning while the paths fit
        for k in range(5):
            x = np.array([k + 0.5, 1.0])
            assert_close(g(x), fd_jac(f, [x], 0).ravel(), 1e-6, 1e-8, "grad")
        g(np.array([0.5, 1.0]))  # path 0 is now the most recently used
    with pytest.warns(npdiff.PathChurnWarning, match=r"more than 5 different paths.*np\.where") as rec:
        x = np.array([7.5, 1.0])
        assert_close(g(x), fd_jac(f, [x], 0).ravel(), 1e-6, 1e-8, "grad on a new path past the bound")
    assert "int(x[0])" in str(rec[0].message) and rec[0].filename == __file__
    assert g.cache_info().paths == (5,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only; dropped paths come back traced again
        for k in (0, 1, 2, 9, 10, 11, 1):
            x = np.array([k + 0.5, 1.0])
            assert_close(g(x), fd_jac(f, [x], 0).ravel(), 1e-6, 1e-8, "grad after churn")
    assert g.cache_info().paths == (5,)


def test_a_call_on_another_path_runs_only_its_decisions_before_switching():
    def f(x):
        if np.sum(x) > 0:
            return np.sum(np.sin(x) * np.exp(x))
        return np.sum(np.tanh(x))
    g = npdiff.grad(f)
    a, b = np.linspace(0.1, 1.0, 40), -np.linspace(0.1, 1.0, 40)
    g(a), g(b)
    paths = g._paths[next(iter(g._paths))].gfs
    assert len(paths) == 2
    for gf in paths:  # the decision comes before any of the path's own arithmetic
        lines = [l.strip() for l in gf.source.splitlines()]
        first_math = min(i for i, l in enumerate(lines) if "np.sin" in l or "np.tanh" in l or "math." in l)
        assert max(i for i, l in enumerate(lines) if "_path_changed" in l) < first_math, gf.source


def test_threads_on_different_paths_get_correct_results():
    g = npdiff.grad(piecewise)
    rng = np.random.default_rng(1)
    xs = [rng.uniform(-1.5, 1.5, 3) for _ in range(40)]
    expect = [fd_jac(piecewise, [x], 0).ravel() for x in xs]
    errors = []

    def work(k):
        try:
            for _rep in range(3):
                for i in range(k % 4, len(xs), 2):
                    assert_close(g(xs[i]), expect[i], 1e-6, 1e-8, "threaded grad")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert _n_paths(g) == 2


def test_mici_style_hessian_grad_and_value_of_piecewise():
    for op in (npdiff.hessian_grad_and_value, npdiff.mici.hessian_grad_and_value):
        d = op(piecewise)
        for x in (A, B, A, B):
            h, g, v = d(x)
            assert abs(v - piecewise(x)) < 1e-12
            assert_close(g, fd_jac(piecewise, [x], 0).ravel(), 1e-6, 1e-8, "mici grad")
            assert_close(h, fd_jac(npdiff.grad(piecewise), [x], 0), 1e-5, 1e-6, "mici hessian")


def test_eager_jvp_vjp_linearize_of_piecewise():
    v = np.array([1.0, -2.0, 0.5])
    for x in (A, B, A):
        fd = fd_jac(piecewise, [x], 0).ravel()
        out, t = npdiff.jvp(piecewise, (x,), (v,))
        assert abs(out - piecewise(x)) < 1e-12 and abs(t - fd @ v) < 1e-6
        out, pull = npdiff.vjp(piecewise, x)
        assert_close(pull(2.0)[0], 2.0 * fd, 1e-6, 1e-8, "vjp")
        out, lin = npdiff.linearize(piecewise, x)
        assert abs(lin(v) - fd @ v) < 1e-6


def test_custom_jvp_with_a_branch_inside():
    @npdiff.custom_jvp
    def soft(x):
        if x > 0:
            return x + np.log1p(np.exp(-x))
        return np.log1p(np.exp(x))

    @soft.defjvp
    def soft_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return soft(x), t / (1.0 + np.exp(-x))
    g = npdiff.grad(lambda x: soft(x) * 2.0)
    for x in (3.0, -2.0, 0.5):
        assert abs(g(x) - 2.0 / (1.0 + np.exp(-x))) < 1e-12


def test_specialize_with_example_arrays_and_pickled_path_changed_error():
    gf = npdiff.grad(piecewise).specialize(A)
    assert gf.guarded and "abs(x[0]) < 0.5" in gf.source
    gf2 = pickle.loads(pickle.dumps(gf))
    assert_close(gf2(A * 0.5), fd_jac(piecewise, [A * 0.5], 0).ravel(), 1e-6, 1e-8, "same path")
    with pytest.raises(npdiff.PathChangedError, match=r"abs\(x\[0\]\) < 0\.5.*test_guards\.py") as e:
        gf2(B)
    assert not isinstance(e.value, (ValueError, ArithmeticError))
    with pytest.raises(npdiff.PathChangedError):
        gf(B)


def test_export_of_guarded_function_raises_path_changed(tmp_path):
    import importlib.util
    gf = npdiff.grad(piecewise).specialize(B)
    npdiff.export({"grad_pw": gf}, tmp_path / "pw_mod.py")
    spec = importlib.util.spec_from_file_location("pw_mod", tmp_path / "pw_mod.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert_close(mod.grad_pw(B), fd_jac(piecewise, [B], 0).ravel(), 1e-6, 1e-8, "exported")
    with pytest.raises(npdiff.PathChangedError, match=r"abs\(x\[0\]\)"):
        mod.grad_pw(A)


def test_shapes_only_raises_tracing_error_suggesting_example_arrays():
    with pytest.raises(npdiff.TracingError, match=r"abs\(x\[0\]\) < 0\.5") as e:
        npdiff.grad(piecewise).specialize((3,))
    assert "example" in str(e.value) and "np.where" in str(e.value)
    with pytest.raises(npdiff.TracingError, match="example"):
        npdiff.numpify(piecewise, (3,))
    with pytest.raises(npdiff.TracingError, match="example"):
        npdiff.diffops.gradient(piecewise, (3,))
    g = npdiff.grad(piecewise)
    g(A)  # a traced path exists now; shapes alone still cannot pick one
    with pytest.raises(npdiff.TracingError, match="example arrays"):
        g.specialize((3,))


def test_float_of_real_traced_value_still_raises():
    with pytest.raises(npdiff.TracingError, match="drop its derivative"):
        npdiff.grad(lambda x: float(x[0]) * x[1])(np.array([1.0, 2.0]))
    with pytest.raises(npdiff.TracingError, match="drop its derivative"):
        npdiff.grad(lambda x: math.sin(x))(1.0)
    with pytest.raises(npdiff.TracingError, match="drop its derivative"):
        npdiff.grad(lambda x: x.item() * x)(1.0)


def test_decision_on_a_tangent_is_refused():
    @npdiff.custom_jvp
    def f(x):
        return np.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), (np.cos(x) * t if t > 0 else t)  # a decision on the tangent
    with pytest.raises(npdiff.TracingError, match="tangent"):
        npdiff.grad(f)(0.5)


def test_decisions_inside_jvp_see_known_tangents():
    def f(x):
        _, t = npdiff.jvp(lambda y: y ** 2, (x,), (np.ones_like(x),))
        return np.sum(x ** 2) if t[0] > 0 else -np.sum(x)
    for x in (np.array([1.0, 2.0]), np.array([-1.0, 2.0])):
        assert_close(npdiff.grad(f)(x), fd_jac(f, [x], 0).ravel(), 1e-6, 1e-8, "grad")


def test_no_guards_for_functions_without_value_control_flow():
    g = npdiff.grad(lambda x: np.sum(np.sin(x)))
    g(A)
    assert "_path_changed" not in g.source and not g.specialize(A).guarded


def readme_loss(x):
    if abs(x[0]) < 0.5:  # a branch on a value
        return np.sum(x ** 2)
    s = 1.0 + x * x
    r = s
    while np.max(np.abs(r * r - s)) > 1e-12:  # Newton iterations to a tolerance
        r = 0.5 * (r + s / r)
    return np.sum(r) + float(x[1] >= 0) * x[1]  # a 0/1 weight


def test_readme_example():
    g = npdiff.grad(readme_loss)
    for x in (np.array([0.1, 2.0, -1.0]), np.array([1.5, 2.0, -1.0]), np.array([-3.0, -2.0, 0.5])):
        assert_close(g(x), fd_jac(readme_loss, [x], 0).ravel(), 1e-6, 1e-7, "readme grad")
    x = np.array([1.5, 2.0, -1.0])
    assert_close(g(x), x / np.sqrt(1 + x * x) + np.array([0.0, 1.0, 0.0]), 1e-10, 0, "closed form")


def test_floor_of_a_real_value_as_index_linear_interpolation():
    table = np.array([0.0, 1.0, 4.0, 9.0, 16.0])

    def interp(t):
        i = int(np.floor(t))
        frac = t - i
        return table[i] * (1.0 - frac) + table[i + 1] * frac
    g = npdiff.grad(interp)
    for t in (0.5, 2.25, 3.75, 1.1):
        fd = (interp(t + 1e-6) - interp(t - 1e-6)) / 2e-6
        assert abs(g(t) - fd) < 1e-6
        assert abs(g(t) - (table[int(t) + 1] - table[int(t)])) < 1e-12


def test_vjp_inside_grad_follows_values():
    def f(x):
        _, pull = npdiff.vjp(piecewise, x)
        return np.sum(pull(1.0)[0] ** 2)
    for x in (A, B):
        assert_close(npdiff.grad(f)(x), fd_jac(f, [x], 0).ravel(), 1e-5, 1e-7, "grad of vjp")


def test_numpify_with_example_arrays_is_guarded():
    gf = npdiff.numpify(piecewise, A)
    assert gf.guarded and abs(gf(A) - piecewise(A)) < 1e-12
    with pytest.raises(npdiff.PathChangedError):
        gf(B)


def test_alternating_paths_select_without_exceptions(monkeypatch):
    """A call on another known path is routed by the paths' decisions alone: no PathChangedError is raised
    (each path's selection version returns WRONG_PATH), while the generated code called directly still raises."""
    from npdiff.emit.writer import WRONG_PATH

    def f(x):
        s = np.sum(x * x)
        if s < 1.0:
            return 0.5 * s + np.sum(np.sin(x)) * x[0]
        return np.sqrt(s) - 0.5 + np.sum(np.sin(x)) * x[0]
    g = npdiff.grad(f)
    a, b = np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 3.0])
    want = {id(a): g(a), id(b): g(b)}  # both paths traced
    raised = []
    init = npdiff.PathChangedError.__init__
    monkeypatch.setattr(npdiff.PathChangedError, "__init__", lambda self, *m: (raised.append(m), init(self, *m))[1])
    for _ in range(5):
        for x in (a, b, b, a):
            np.testing.assert_array_equal(g(x), want[id(x)])
    assert raised == []
    gf = g.specialize(a)
    assert gf.attempt(b) is WRONG_PATH and gf.attempt(a) is not WRONG_PATH
    with pytest.raises(npdiff.PathChangedError):
        gf(b)
    assert raised
