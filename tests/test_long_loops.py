"""Long Python loops: derivatives of the unrolled code stay right while generation gets faster.

Generation of large graphs pauses the cyclic collector and traces the first
function of a generation on its own input nodes (no graph copy). Checked here:
derivatives of explicit Euler loops against central finite differences on both
backends (unrolled Python floats for few steps, arrays for many), loops with
branches inside (guards), Hessians of loops, nested operators that close over
the outer variable (no perturbation confusion), pytree arguments, and that the
collector's state is restored.
"""
import gc
import threading

import numpy as np
import pytest

import npdiff
from npdiff.ir import graph
from util import fd_vjp

DT = 0.01


def euler(steps):
    """Return f(y0, p): squared norm after ``steps`` explicit Euler steps of a damped oscillator."""
    def f(y0, p):
        y = y0
        for _ in range(steps):
            y = y + DT * np.array([y[1], -p[0] * y[0] - p[1] * y[1]])
        return np.sum(y ** 2)
    return f


def fd_grad(f, args, argnum):
    """Return the central finite-difference gradient of scalar f in argument argnum (tests/util.py)."""
    return fd_vjp(f, args, argnum, 1.0)


Y0, P = np.array([1.0, -0.3]), np.array([1.3, 0.2])


@pytest.mark.parametrize("steps", [3, 40, 400])
def test_euler_gradient_matches_finite_differences(steps):
    f = euler(steps)
    for argnum in (0, 1):
        got = npdiff.grad(f, argnums=argnum)(Y0, P)
        np.testing.assert_allclose(got, fd_grad(f, (Y0, P), argnum), rtol=1e-6, atol=1e-8)


def test_both_backends_of_a_loop():
    """Few steps unroll to Python floats (array fallback kept); many steps use the array backend."""
    few = npdiff.grad(euler(3), argnums=1).specialize(Y0, P)
    many = npdiff.grad(euler(400), argnums=1).specialize(Y0, P)
    assert "except (ArithmeticError, ValueError)" in few.source
    assert "except (ArithmeticError, ValueError)" not in many.source
    for gf, steps in ((few, 3), (many, 400)):
        np.testing.assert_allclose(gf(Y0, P), fd_grad(euler(steps), (Y0, P), 1), rtol=1e-6, atol=1e-8)


def bouncing(steps):
    """Return f(y0, p): an Euler loop with a branch on the state in every step (guards)."""
    def f(y0, p):
        y = y0
        for _ in range(steps):
            if y[0] > 0.0:
                y = y + DT * np.array([y[1], -p[0] * y[0]])
            else:
                y = y + DT * np.array([y[1], -p[1] * y[0] * y[0] + 1.0])
        return np.sum(y ** 2)
    return f


def test_loop_with_branches_inside():
    f = bouncing(150)
    g = npdiff.grad(f, argnums=(0, 1))
    for y0 in (np.array([0.05, -1.0]), np.array([0.8, 0.1]), np.array([-0.5, 0.4])):
        gy, gp = g(y0, P)
        np.testing.assert_allclose(gy, fd_grad(f, (y0, P), 0), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(gp, fd_grad(f, (y0, P), 1), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("steps", [60, 300])  # 300: long enough to roll a gradient; a Hessian stays unrolled
def test_hessian_of_a_loop(steps):
    f = euler(steps)
    h = npdiff.hessian(f, argnums=1)(Y0, P)
    g = npdiff.grad(f, argnums=1)
    eps = 1e-5
    fd = np.array([(g(Y0, P + eps * e) - g(Y0, P - eps * e)) / (2 * eps) for e in np.eye(2)])
    np.testing.assert_allclose(h, fd, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(h, h.T, rtol=1e-10, atol=1e-12)
    v = np.array([1.0, -2.0])
    np.testing.assert_allclose(npdiff.hvp(lambda p: f(Y0, p))(P, v), h @ v, rtol=1e-8)


def test_nested_operator_closing_over_the_outer_argument():
    """The inner derivative is taken in y alone, not in the x it closes over (4x, not 6x)."""
    def f(x):
        return np.sum(npdiff.grad(lambda y: np.sum(x * y ** 2))(x))  # 2 x y at y = x: sum 2 x^2
    x = np.array([0.5, -1.5, 2.0])
    np.testing.assert_allclose(npdiff.grad(f)(x), 4 * x, rtol=1e-12)

    def loop(x):
        s = x
        for _ in range(20):
            s = s + 0.1 * npdiff.grad(lambda y: np.sum(x * np.sin(y)))(s)
        return np.sum(s ** 2)
    np.testing.assert_allclose(npdiff.grad(loop)(x), fd_grad(loop, (x,), 0), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("steps", [50, 500])  # 500: rolled (tests/test_rolled_loops.py)
def test_pytree_argument_of_a_loop(steps):
    def f(params, y0):
        y = y0
        for _ in range(steps):
            y = y + DT * np.array([y[1], -params["k"][0] * y[0] - params["c"] * y[1]])
        return np.sum(y ** 2)
    params = {"k": np.array([1.3]), "c": np.array(0.2)}
    g = npdiff.grad(f)(params, Y0)
    assert ("for _k" in npdiff.grad(f).specialize(params, Y0).source) == (steps == 500)
    np.testing.assert_allclose(g["k"], fd_grad(lambda k: f({"k": k, "c": params["c"]}, Y0), (params["k"],), 0),
                               rtol=1e-6)
    np.testing.assert_allclose(g["c"], fd_grad(lambda c: f({"k": params["k"], "c": c}, Y0), (params["c"],), 0),
                               rtol=1e-6)


def test_generation_builds_nodes_linearly_without_a_copy(monkeypatch):
    """Twice the steps build twice the nodes (no superlinear term); nothing is rebuilt by substitution.

    Measured unrolled (long loops are otherwise rolled: tests/test_rolled_loops.py).
    """
    monkeypatch.setattr(npdiff.config, "roll_loops", False)

    def nodes(steps):
        before = next(graph._counter)
        npdiff.grad(euler(steps), argnums=1).specialize((2,), (2,))
        return next(graph._counter) - before
    n1, n2 = nodes(200), nodes(400)
    assert 1.9 < n2 / n1 < 2.1
    per_step = (n2 - n1) / 200
    assert per_step < 60, per_step  # trace 10 + tangents 8 + cotangents 22 (68 with the former graph copy)


def test_collector_state_is_restored():
    assert gc.isenabled()
    npdiff.grad(euler(5), argnums=1)(Y0, P)
    assert gc.isenabled()
    gc.disable()
    try:
        npdiff.grad(euler(6), argnums=1)(Y0, P)
        assert not gc.isenabled()  # a user's choice is kept
    finally:
        gc.enable()
    with pytest.raises(IndexError):
        npdiff.grad(lambda x: np.sum(x[5]))(np.ones(2))  # a failing trace restores it too
    assert gc.isenabled()


def test_generation_in_threads():
    results = {}

    def work(i):
        results[i] = npdiff.grad(euler(30 + i), argnums=1)(Y0, P)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert gc.isenabled()
    for i in range(4):
        np.testing.assert_allclose(results[i], fd_grad(euler(30 + i), (Y0, P), 1), rtol=1e-6, atol=1e-8)
