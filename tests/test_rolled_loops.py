"""Rolled loops: a gradient of a long Python loop is generated with its body once, as a ``for`` loop.

``transforms/loops.py`` finds the consecutive identical copies of a loop body in
the traced graph and replaces them by ``loop_scan`` (the forward sweep storing
the carries) whose reverse mode is ``loop_rev`` (the reverse sweep over the
body's vector-Jacobian product). Checked here: gradients of rolled loops against
central finite differences and against the same gradient generated unrolled
(``config.roll_loops = False``), over vector, scalar and matrix carries, constants
inside the body, a constant of its own per step (a weight matrix per layer, data
indexed by the step number, a Python-float time), values of the last step read
after the loop, float32, pytrees, two loops in a row; that loops with a branch on the state per step, loops read
back by earlier steps after the loop, nested operators and Hessians stay unrolled
and right; and that the rolled code exports and pickles.
"""
import pickle
import subprocess
import sys

import numpy as np
import pytest

import npdiff
from npdiff import config
from test_long_loops import bouncing, euler
from util import fd_vjp

DT = 0.01
Y0, P = np.array([1.0, -0.3]), np.array([1.3, 0.2])


oscillator = euler  # the damped oscillator, explicit Euler steps


def lorenz(steps):
    def f(z, p):
        x, y, w = z[0], z[1], z[2]
        for _ in range(steps):
            dx, dy, dw = p[0] * (y - x), x * (p[1] - w) - y, x * y - p[2] * w
            x, y, w = x + 0.002 * dx, y + 0.002 * dy, w + 0.002 * dw
        return x * x + y * y + w * w
    return f


A = np.random.default_rng(0).normal(size=(6, 6)) * 0.3


def fixed_point(steps):
    def f(x0, b):
        x = x0
        for _ in range(steps):
            x = np.tanh(A @ x + b)
        return np.sum(x ** 2)
    return f


def with_exports(steps):
    def f(y0, p):
        y = y0
        for _ in range(steps):
            d = DT * np.array([y[1], -p[0] * y[0]])
            y = y + d
        return np.sum(y ** 2) + 3.0 * np.sum(d ** 2)  # d of the last step is read after the loop
    return f


def matrix_state(steps):
    B = np.array([[0.0, 1.0, 0.0], [-1.0, -0.1, 0.2], [0.0, -0.2, -0.05]])

    def f(m0, k):
        m = m0
        for _ in range(steps):
            m = m + DT * (B * k[0]) @ m - DT * k[1] * m ** 3
        return np.sum(m * m)
    return f


def two_loops(steps):
    def f(y0, p):
        y = y0
        for _ in range(steps):
            y = y + DT * np.array([y[1], -p[0] * y[0]])
        s = np.sum(y)
        for _ in range(steps):
            y = y + DT * np.array([y[1] * s, -p[1] * y[0]])
        return np.sum(y ** 2)
    return f


W = np.random.default_rng(1).normal(size=(600, 4, 4)) / 2.0
DATA = np.cumsum(np.random.default_rng(2).normal(size=500)) * 0.1


def network(h, b):
    """A weight matrix per layer: step k reads its own constant W[k] (stacked, read by the step number)."""
    for i in range(len(W)):
        h = np.tanh(W[i] @ h + b)
    return np.sum(h)


def ar1(theta, s):
    """An AR(1) log-likelihood over data, one term per time step (its sign changes split the loop)."""
    ll = 0.0
    for t in range(1, len(DATA)):
        r = DATA[t] - theta[0] * DATA[t - 1]
        ll = ll - 0.5 * r * r / np.exp(2 * s[0]) - s[0]
    return ll


def forced(y0, p):
    """A Python-float time read by np.sin: another constant per step, of either sign."""
    y = y0
    for k in range(700):
        y = y + DT * np.array([y[1], -p[0] * y[0] + p[1] * np.sin(k * DT)])
    return np.sum(y ** 2)


SEQ = np.random.default_rng(3).normal(size=(800, 3))


def ar1_argument(theta, y):
    """The AR(1) log-likelihood with the data an argument: y[t] is read at the step's t (a run-time slice)."""
    ll = 0.0
    for t in range(1, y.shape[0]):
        r = y[t] - theta[0] * y[t - 1]
        ll = ll - 0.5 * r * r / np.exp(2 * theta[1]) - theta[1]
    return ll


def rnn_backwards(w, xs):
    """A recurrence over every other row of an input sequence, last row first (a negative stride)."""
    h = np.zeros(3)
    for t in range(xs.shape[0] - 1, -1, -2):
        h = np.tanh(w[:3] * h + xs[t, :] * w[3:])
    return np.sum(h ** 2)


CASES = {
    "AR(1) with the data an argument": (ar1_argument, (np.array([0.6, -0.3]), DATA)),
    "recurrence over an argument's rows": (rnn_backwards, (np.linspace(-0.5, 0.4, 6), SEQ)),
    "network (a constant per step)": (network, (np.linspace(-1, 1, 4), np.linspace(0.1, -0.2, 4))),
    "AR(1) over data": (ar1, (np.array([0.6]), np.array([-0.3]))),
    "forcing sin(k dt)": (forced, (Y0, P)),
    "oscillator": (oscillator(600), (Y0, P)),
    "lorenz (scalar carries)": (lorenz(500), (np.array([1.0, 1.0, 1.0]), np.array([10.0, 28.0, 8.0 / 3.0]))),
    "fixed point (array constant in the body)": (fixed_point(400), (np.linspace(-1, 1, 6), np.linspace(0.2, -0.3, 6))),
    "exports": (with_exports(700), (Y0, P)),
    "matrix state": (matrix_state(300), (np.eye(3) + 0.1, np.array([1.0, 0.5]))),
    "two loops": (two_loops(400), (Y0, P)),
}


def _source(f, args, argnums):
    return npdiff.grad(f, argnums=argnums).specialize(*args).source


@pytest.mark.parametrize("name", sorted(CASES))
def test_rolled_gradient_matches_finite_differences_and_the_unrolled_code(name, monkeypatch):
    f, args = CASES[name]
    src = _source(f, args, (0, 1))
    assert "for _k in range(" in src and ", -1, -1):" in src, src
    got = npdiff.grad(f, argnums=(0, 1))(*args)
    for i in (0, 1):
        np.testing.assert_allclose(got[i], fd_vjp(f, args, i, 1.0), rtol=2e-5, atol=1e-7)
    monkeypatch.setattr(config, "roll_loops", False)
    plain = npdiff.grad(lambda *a: f(*a), argnums=(0, 1))  # a new function: not the rolled specialisation
    unrolled = plain.specialize(*args).source
    assert "for _k" not in unrolled
    # the data's signs split the AR(1) loop (x * -c is printed -(x * c)): several loops, short runs unrolled
    assert src.count("\n") < (0.5 if name == "AR(1) over data" else 0.03) * unrolled.count("\n")
    for a, b in zip(got, plain(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)


def test_two_loops_are_both_rolled():
    f, args = CASES["two loops"]
    assert _source(f, args, 1).count(", -1, -1):") == 2


def test_value_and_grad_of_a_rolled_loop():
    f = with_exports(700)
    v, g = npdiff.value_and_grad(f, argnums=1)(Y0, P)
    assert v == f(Y0, P)  # the same operations in the same order
    np.testing.assert_allclose(g, fd_vjp(f, (Y0, P), 1, 1.0), rtol=1e-6)


def test_float32_loop():
    f = oscillator(600)
    y0, p = Y0.astype(np.float32), P.astype(np.float32)
    g = npdiff.grad(f, argnums=1)
    assert "for _k" in g.specialize(y0, p).source
    got = g(y0, p)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, npdiff.grad(f, argnums=1)(Y0, P), rtol=2e-3)


def test_a_branch_in_every_step_stays_unrolled_and_right():
    f = bouncing(400)
    for y0 in (np.array([0.05, -1.0]), np.array([0.8, 0.1])):
        np.testing.assert_allclose(npdiff.grad(f, argnums=1)(y0, P), fd_vjp(f, (y0, P), 1, 1.0), rtol=1e-5, atol=1e-7)


def test_every_step_read_after_the_loop():
    """A trajectory kept in a list and summed afterwards: each step is read after the loop."""
    def f(y0, p):
        y, ys = y0, []
        for _ in range(400):
            y = y + DT * np.array([y[1], -p[0] * y[0] - p[1] * y[1]])
            ys.append(y)
        return np.sum(np.stack(ys) ** 2)
    np.testing.assert_allclose(npdiff.grad(f, argnums=1)(Y0, P), fd_vjp(f, (Y0, P), 1, 1.0), rtol=1e-6)


def test_rolled_code_pickles_and_exports(tmp_path):
    f = oscillator(600)
    gf = npdiff.grad(f, argnums=1).specialize(Y0, P)
    assert "for _k" in gf.source
    want = gf(Y0, P)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(gf))(Y0, P), want)
    f2, args = CASES["fixed point (array constant in the body)"]
    npdiff.export({"grad_f": npdiff.grad(f2, argnums=1).specialize(*args)}, tmp_path / "fp.py")
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import numpy as np; import fp; "
            "print(repr(fp.grad_f(np.linspace(-1, 1, 6), np.linspace(0.2, -0.3, 6)).tolist()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    np.testing.assert_allclose(eval(out), npdiff.grad(f2, argnums=1)(*args), rtol=1e-13)


def test_switch_off(monkeypatch):
    monkeypatch.setattr(config, "roll_loops", False)
    assert "for _k" not in _source(oscillator(600), (Y0, P), 1)


def test_a_loop_left_unrolled_leaves_the_others_rolled():
    """Three loops, the first one branching on the state every step (guards): the other two still roll.

    (A loop whose result a later branch reads stays unrolled: the decision is checked first, on the
    unrolled values.)
    """
    def f(y0, p):
        y = y0
        for _ in range(150):
            y = y + DT * (np.array([y[1], -y[0]]) if y[0] > -10.0 else np.array([y[1], y[0]]))
        for _ in range(300):
            y = y + DT * np.array([y[1], -p[0] * y[0]])
        for _ in range(300):
            y = y + DT * np.array([y[1] * p[1], -y[0]])
        return np.sum(y ** 2)
    src = _source(f, (Y0, P), 1)
    assert src.count(", -1, -1):") == 2 and "_path_changed" in src
    np.testing.assert_allclose(npdiff.grad(f, argnums=1)(Y0, P), fd_vjp(f, (Y0, P), 1, 1.0), rtol=1e-6)


def test_a_position_that_wraps_around_stays_right():
    """x[t - 1] at t = 0 reads x[-1]: that step is not in the progression, the rest roll."""
    def f(p, x):
        s = 0.0
        for t in range(x.shape[0]):
            s = s + np.sin(p[0] * x[t - 1] + s) * p[1]
        return s
    args = (np.array([0.7, 0.3]), np.linspace(-1.0, 1.0, 300))
    assert "for _k" in _source(f, args, (0, 1))
    got = npdiff.grad(f, argnums=(0, 1))(*args)
    for i in (0, 1):
        np.testing.assert_allclose(got[i], fd_vjp(f, args, i, 1.0), rtol=1e-6, atol=1e-9)
