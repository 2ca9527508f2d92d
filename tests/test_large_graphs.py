"""Large graphs from Python loops: explicit Euler integration, fixed-point iteration, deep networks.

Gradients are checked against an adjoint written by hand (Euler) and central
finite differences; a graph of more than 10^5 nodes must trace, differentiate
and compile under a low recursion limit (every traversal is iterative).
"""
import sys

import numpy as np
import pytest

import npdiff
from npdiff.ir import graph
from npdiff.transforms import substitute

DT = 0.01


def lorenz_loss(steps):
    """Return f(z0, p): squared norm of the Lorenz state after ``steps`` explicit Euler steps."""
    def f(z, p):
        x, y, w = z[0], z[1], z[2]
        s, r, b = p[0], p[1], p[2]
        for _ in range(steps):
            dx, dy, dw = s * (y - x), x * (r - w) - y, x * y - b * w
            x, y, w = x + DT * dx, y + DT * dy, w + DT * dw
        return x * x + y * y + w * w
    return f


def lorenz_adjoint(z0, p, steps):
    """Return (d loss/d z0, d loss/d p) by the discrete adjoint of explicit Euler, written by hand."""
    s, r, b = p
    zs = [np.array(z0, float)]
    for _ in range(steps):
        x, y, w = zs[-1]
        zs.append(zs[-1] + DT * np.array([s * (y - x), x * (r - w) - y, x * y - b * w]))
    lam = 2.0 * zs[-1]  # d loss / d z_N
    gp = np.zeros(3)
    for k in range(steps - 1, -1, -1):
        x, y, w = zs[k]
        J = np.array([[-s, s, 0.0], [r - w, -1.0, -x], [y, x, -b]])  # d f / d z at z_k
        P = np.array([[y - x, 0.0, 0.0], [0.0, x, 0.0], [0.0, 0.0, -w]])  # d f / d (s, r, b)
        gp += DT * (P.T @ lam)
        lam = lam + DT * (J.T @ lam)
    return lam, gp


def fd_grad(f, args, i, eps=1e-6):
    """Return the central finite-difference gradient of scalar f with respect to args[i]."""
    x = np.array(args[i], float)
    g = np.zeros_like(x)
    for k in range(x.size):
        d = np.zeros_like(x)
        d.flat[k] = eps
        a_plus = list(args)
        a_minus = list(args)
        a_plus[i], a_minus[i] = x + d, x - d
        g.flat[k] = (f(*a_plus) - f(*a_minus)) / (2 * eps)
    return g


Z0 = np.array([1.0, 1.0, 1.0])
P0 = np.array([10.0, 28.0, 8.0 / 3.0])


def test_euler_gradient_matches_hand_adjoint_and_fd():
    steps = 100
    f = lorenz_loss(steps)
    gz, gp = npdiff.grad(f, argnums=(0, 1))(Z0, P0)
    hz, hp = lorenz_adjoint(Z0, P0, steps)
    np.testing.assert_allclose(gz, hz, rtol=1e-10)
    np.testing.assert_allclose(gp, hp, rtol=1e-10)
    np.testing.assert_allclose(gz, fd_grad(f, (Z0, P0), 0), rtol=1e-5)
    np.testing.assert_allclose(gp, fd_grad(f, (Z0, P0), 1), rtol=1e-5)


def test_fixed_point_gradient_matches_fd():
    rng = np.random.default_rng(1)
    n, iters = 6, 150
    A = rng.normal(size=(n, n)) * 0.3

    def f(x0, b):
        x = x0
        for _ in range(iters):
            x = np.tanh(A @ x + b)
        return np.sum(x ** 2)

    x0, b = rng.normal(size=n), rng.normal(size=n)
    gx, gb = npdiff.grad(f, argnums=(0, 1))(x0, b)
    np.testing.assert_allclose(gb, fd_grad(f, (x0, b), 1), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gx, fd_grad(f, (x0, b), 0), rtol=1e-5, atol=1e-9)


def test_deep_network_gradients_match_fd():
    rng = np.random.default_rng(2)
    n, layers = 4, 40
    W = rng.normal(size=(layers, n, n)) / np.sqrt(n)

    def f_input(h):
        for i in range(layers):
            h = np.tanh(W[i] @ h)
        return np.sum(h)

    def f_params(theta, h):
        Ws = theta.reshape(layers, n, n)
        for i in range(layers):
            h = np.tanh(Ws[i] @ h)
        return np.sum(h)

    h0 = rng.normal(size=n)
    g = npdiff.grad(f_input)(h0)
    np.testing.assert_allclose(g, fd_grad(f_input, (h0,), 0), rtol=1e-5, atol=1e-9)
    theta = W.ravel()
    gt = npdiff.grad(f_params)(theta, h0)
    np.testing.assert_allclose(gt, fd_grad(f_params, (theta, h0), 0), rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("roll", [False, True])
def test_hundred_thousand_nodes_without_recursion(roll, monkeypatch):
    """A 10^5-node graph traces, differentiates, emits and compiles under a tight recursion limit.

    Unrolled (``roll_loops=False``), and rolled into one loop body (tests/test_rolled_loops.py): both
    agree with the hand-written adjoint.
    """
    monkeypatch.setattr(npdiff.config, "roll_loops", roll)
    steps = 1500  # about 108,000 nodes built (traced, tangent and cotangent graphs)
    f = lorenz_loss(steps)
    limit = sys.getrecursionlimit()
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    before = next(graph._counter)
    sys.setrecursionlimit(depth + 200)  # far below the graph's depth (about 10^4 nodes along a path)
    try:
        gf = npdiff.grad(f, argnums=(0, 1)).specialize((3,), (3,))
    finally:
        sys.setrecursionlimit(limit)
    built = next(graph._counter) - before
    assert built < 40_000 and "for _k in range" in gf.source if roll else built > 100_000
    gz, gp = gf(Z0 * 0.1, P0)
    hz, hp = lorenz_adjoint(Z0 * 0.1, P0, steps)
    np.testing.assert_allclose(gz, hz, rtol=1e-9)
    np.testing.assert_allclose(gp, hp, rtol=1e-9)


def test_substitute_renaming_inputs_keeps_structure():
    """Renaming inputs re-interns nodes (no re-simplification) and gives the same graph shape."""
    from npdiff.ir.graph import make_input, toposort
    from npdiff.primitives import ops
    a, b = make_input("a", (3,), np.float64), make_input("b", (3,), np.float64)
    out = ops.mul(ops.add(a, b), ops.exp(a))
    a2, b2 = make_input("a2", (3,), np.float64), make_input("b2", (3,), np.float64)
    (new,) = substitute([out], {id(a): a2, id(b): b2})
    assert [n.op for n in toposort([new])] == [n.op for n in toposort([out])]
    assert {id(n) for n in toposort([new]) if n.op == "input"} == {id(a2), id(b2)}
    (same,) = substitute([out], {id(a): a2, id(b): a2})  # not a renaming: rebuilt through apply
    assert {id(n) for n in toposort([same]) if n.op == "input"} == {id(a2)}
    x = np.array([0.1, 0.2, 0.3])
    gf = npdiff.numpify(lambda u, v: (u + v) * np.exp(u), (3,), (3,))
    np.testing.assert_allclose(gf(x, 2 * x), (3 * x) * np.exp(x))
