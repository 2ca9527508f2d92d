"""Generated code that calls SciPy solvers, leaving the process that traced it: ``npdiff.export`` (a module
run in a fresh process where npdiff cannot be imported), the command line, and pickles through a
``multiprocessing`` spawn pool. Values and derivatives must equal the in-process ones; the derivatives
are also checked against central finite differences of the in-process function.
"""
from __future__ import annotations

import multiprocessing
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import npdiff
from npdiff.errors import UnsupportedOperationError
from npdiff.primitives import solvers

so = pytest.importorskip("scipy.optimize")
si = pytest.importorskip("scipy.integrate")

P = np.array([0.5, 0.7, 1.3])
W = np.array([1.0, 2.0])


def F2(z, a):
    return np.array([z[0] + a[0] * z[1] ** 3 - 1.0, z[1] + np.sin(z[0]) * a[1]])


def J2(z, a):
    return np.array([[1.0 + 0.0 * z[0], 3.0 * a[0] * z[1] ** 2], [np.cos(z[0]) * a[1], 1.0 + 0.0 * z[1]]])


A20 = np.eye(20) * 3.0 + np.sin(np.arange(400.0)).reshape(20, 20) * 0.1  # a constant stored in the .npz


def ode_rhs(t, y, k):
    return -k[:2] * y + k[2] * np.sin(t) * y[::-1]


CASES = {
    "brentq": lambda p: so.brentq(lambda x: x ** 3 + p[0] * x - 2.0 - p[1], 0.0, 3.0, xtol=1e-14),
    "brentq_traced_bracket": lambda p: so.brentq(lambda x: x ** 3 + p[0] * x - 2.0, 0.0 * p[2], 3.0 + p[2],
                                                 xtol=1e-14),
    "newton_array": lambda p: so.newton(lambda x: x ** 3 + p * x - 2.0, np.ones(3), tol=1e-13) @ P,
    "root_scalar_pair": lambda p: so.root_scalar(lambda x: (x ** 3 + p[0] * x - 2.0, 3 * x ** 2 + p[0]), x0=1.0,
                                                 fprime=True, method="newton", xtol=1e-14).root,
    "root": lambda p: so.root(F2, np.zeros(2), args=(p,), tol=1e-13).x @ W,
    "root_jac": lambda p: so.root(F2, np.zeros(2), args=(p,), jac=J2, tol=1e-13).x @ W,
    "root_stored_constant": lambda p: so.root(lambda z: A20 @ z + 0.1 * z ** 3 - p[0] * np.arange(20.0) - p[1],
                                              np.zeros(20), tol=1e-13).x.sum(),
    "fsolve": lambda p: so.fsolve(F2, np.zeros(2), args=(p,), xtol=1e-13) @ W,
    "fixed_point": lambda p: so.fixed_point(lambda x: np.cos(x) * p, np.ones(3), xtol=1e-13) @ P,
    "npdiff_fixed_point": lambda p: npdiff.fixed_point(lambda x, c: 0.5 * np.cos(x) * c, np.zeros(3), p) @ P,
    "minimize_bounds": lambda p: so.minimize(lambda z: np.sum((z - p) ** 2 * P) + np.sum(z ** 4), np.zeros(3),
                                             method="L-BFGS-B", bounds=so.Bounds([0.0, 0.0, 0.0], [0.6, 2.0, 0.5]),
                                             tol=1e-14).x @ P,
    "least_squares": lambda p: so.least_squares(lambda z: np.array([z[0] - p[0], z[1] * z[0] - p[1], z[1] - p[2]]),
                                                np.ones(2), xtol=1e-15, ftol=1e-15, gtol=1e-15).x @ W,
    "solve_ivp": lambda p: np.sum(si.solve_ivp(ode_rhs, (0.0, 2.0), np.array([1.0, p[0]]), args=(p,),
                                               t_eval=np.linspace(0.5, 2.0, 4), rtol=1e-10, atol=1e-12).y ** 2),
    "solve_ivp_dense": lambda p: np.sum(si.solve_ivp(ode_rhs, (0.0, 2.0), np.array([1.0, p[0]]), args=(p,),
                                                     dense_output=True, rtol=1e-10, atol=1e-12)
                                        .sol(np.array([0.3, p[2]])) ** 2),
    "odeint_traced_times": lambda p: np.sum(si.odeint(ode_rhs, np.array([1.0, 0.5]), np.array([0.0, 1.0, p[2]]),
                                                      args=(p,), tfirst=True, rtol=1e-11, atol=1e-12) ** 2),
    "quad_traced_limit": lambda p: si.quad(lambda t: np.exp(-p[0] * t) * np.cos(p[1] * t), 0.0, p[2],
                                           epsabs=1e-13)[0],
    "quad_vec": lambda p: np.sum(si.quad_vec(lambda t: np.exp(-p * t), 0.0, 1.0, epsabs=1e-13)[0] * P),
}
NO_FD = {"minimize_bounds", "least_squares"}  # optimiser tolerances limit finite differences (test_solvers)


def adjoint_case(p):
    return np.sum(si.solve_ivp(ode_rhs, (0.0, 2.0), np.array([1.0, 0.5]), args=(p,), t_eval=np.array([1.0, 2.0]),
                               method="DOP853", rtol=1e-10, atol=1e-12).y)


def fd(fun, x, h=1e-6):
    return np.array([(fun(x + h * e) - fun(x - h * e)) / (2 * h) for e in np.eye(x.size)])


@pytest.fixture(scope="module")
def generated():
    """{name: GeneratedFunction}: value and gradient of every case, the adjoint gradient, one Hessian."""
    out = {}
    for name, f in CASES.items():
        out[f"f_{name}"] = npdiff.numpify(f, (3,))
        out[f"g_{name}"] = npdiff.grad(f).specialize((3,))
    saved = npdiff.config.ode_adjoint_min_params
    npdiff.config.ode_adjoint_min_params = 1  # read when the call is traced
    try:
        out["g_adjoint"] = npdiff.grad(adjoint_case).specialize((3,))
    finally:
        npdiff.config.ode_adjoint_min_params = saved
    out["h_brentq"] = npdiff.hessian(CASES["brentq"]).specialize((3,))
    return out


RUN_EXPORTED = textwrap.dedent("""
    import sys
    sys.modules["npdiff"] = None  # the module must not need npdiff
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    import solver_mod
    p = np.array([0.5, 0.7, 1.3])
    np.savez(sys.argv[2], **{name: getattr(solver_mod, name)(p) for name in sys.argv[3:]})
""")


def test_exported_module_runs_without_npdiff(generated, tmp_path):
    npdiff.export(generated, tmp_path / "solver_mod.py")
    text = (tmp_path / "solver_mod.py").read_text()
    assert "npdiff.primitives" not in text and "import npdiff" not in text
    assert (tmp_path / "solver_mod.npz").exists()  # the residual's 20 x 20 constant
    assert "Needs NumPy and SciPy" in text
    proc = subprocess.run([sys.executable, "-c", RUN_EXPORTED, str(tmp_path), str(tmp_path / "out.npz"),
                           *generated], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "out.npz") as got:
        for name, fn in generated.items():
            np.testing.assert_allclose(got[name], fn(P), rtol=1e-12, atol=1e-14, err_msg=name)
        for name in CASES:
            if name not in NO_FD:
                np.testing.assert_allclose(got[f"g_{name}"], fd(generated[f"f_{name}"], P), rtol=2e-6, atol=1e-7,
                                           err_msg=name)
        np.testing.assert_allclose(got["g_adjoint"], fd(adjoint_case, P), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(got["h_brentq"], fd(generated["g_brentq"], P, 1e-5), rtol=1e-5, atol=1e-7)


def _call(fn, x):
    return fn(x)


def test_pickles_run_in_a_spawn_pool(generated):
    names = ["g_brentq", "g_root_jac", "g_minimize_bounds", "g_solve_ivp", "g_solve_ivp_dense", "g_odeint_traced_times",
             "g_quad_traced_limit", "g_adjoint", "g_npdiff_fixed_point", "h_brentq"]
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        got = pool.starmap(_call, [(generated[n], P) for n in names])
    for name, value in zip(names, got):
        np.testing.assert_allclose(value, generated[name](P), rtol=1e-12, atol=1e-14, err_msg=name)


def test_unpickled_code_never_reaches_another_spec(generated, monkeypatch):
    g = generated["g_quad_traced_limit"]
    keys = solvers.keys_in(g.source)
    blob = pickle.dumps(g)
    other = solvers.SPECS[solvers.keys_in(generated["f_brentq"].source)[0]]
    for k in keys:  # as in another process, where these keys name other solver calls
        monkeypatch.setitem(solvers.SPECS, k, other)
    g2 = pickle.loads(blob)
    assert not set(solvers.keys_in(g2.source)) & set(keys)
    monkeypatch.undo()
    np.testing.assert_allclose(g2(P), g(P), rtol=1e-13)
    assert pickle.loads(pickle.dumps(g2)).source == g2.source  # pickled again: the same recipes, adopted once


def test_cli_prints_a_module_with_the_solver(tmp_path, monkeypatch, capsys):
    (tmp_path / "fit.py").write_text(textwrap.dedent("""
        import numpy as np
        from scipy.integrate import solve_ivp

        def loss(k):
            sol = solve_ivp(lambda t, y: -k * y, (0.0, 1.0), np.ones(2), t_eval=np.array([0.5, 1.0]), rtol=1e-10,
                            atol=1e-12)
            return np.sum(sol.y)
    """))
    from npdiff.cli import main
    monkeypatch.chdir(tmp_path)
    assert main(["grad", "fit.py:loss", "--shape", "2"]) == 0
    text = capsys.readouterr().out
    assert "npdiff.primitives" not in text and "import npdiff" not in text
    ns: dict = {}
    exec(compile(text, "grad_loss", "exec"), ns)
    k = np.array([0.3, 0.9])
    np.testing.assert_allclose(ns["grad_loss"](k), -np.array([0.5, 1.0]) @ np.exp(-np.outer([0.5, 1.0], k)),
                               rtol=1e-8)


def _custom_root_case(a):
    @npdiff.custom_root(lambda x, a: x ** 3 + a * x - 2.0)
    def solve(x0, a):
        x = x0
        for _ in range(60):
            x = x - (x ** 3 + a * x - 2.0) / (3 * x ** 2 + a)
        return x
    return np.sum(solve(np.ones(3), a))


def test_what_cannot_leave_the_process_is_named(tmp_path):
    g = npdiff.grad(_custom_root_case).specialize((3,))
    for attempt in (lambda: npdiff.export({"g": g}, tmp_path / "m.py"), lambda: pickle.dumps(g)):
        with pytest.raises(UnsupportedOperationError, match="custom_root: the solve function is Python code"):
            attempt()
    def f(p):
        return so.minimize(lambda z: np.sum((z - p) ** 2 + z ** 4), np.zeros(3), callback=lambda xk: None,
                           tol=1e-14).x.sum()
    g = npdiff.grad(f).specialize((3,))
    # the first component of the argmin solves x + 2 x^3 = p[0]: dx/dp = 1 / (1 + 6 x^2)
    x = so.brentq(lambda z: z + 2 * z ** 3 - P[0], 0.0, 1.0, xtol=1e-15)
    np.testing.assert_allclose(g(P)[0], 1.0 / (1.0 + 6.0 * x ** 2), rtol=1e-6)  # in this process it runs
    with pytest.raises(UnsupportedOperationError, match="minimize's option callback= is a function object"):
        npdiff.export({"g": g}, tmp_path / "m.py")
