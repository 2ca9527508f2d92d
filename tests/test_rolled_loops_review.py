"""Adversarial review of rolled loops (issue 22 part 3): programs built to break the detection.

Each test compares ``npdiff.grad`` of a loop long enough to roll with the unrolled gradient
(``config.roll_loops = False``, a new function object) and with central finite differences.
"""
import re

import numpy as np
import pytest

import npdiff
from npdiff import config
from util import fd_jac, fd_vjp


def _rolled(f, args, argnums):
    return "for _k" in npdiff.grad(f, argnums=argnums).specialize(*args).source


def _check(f, args, argnums, monkeypatch, rtol=1e-6, atol=1e-9, rolls=True):
    """Assert the (rolled) gradient matches the unrolled one and finite differences."""
    if rolls is not None:
        assert _rolled(f, args, argnums) == rolls
    got = npdiff.grad(f, argnums=argnums)(*args)
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    got = got if isinstance(argnums, tuple) else (got,)
    for i, g in zip(nums, got):
        np.testing.assert_allclose(g, fd_vjp(f, args, i, 1.0), rtol=rtol, atol=atol)
    with monkeypatch.context() as m:
        m.setattr(config, "roll_loops", False)
        plain = npdiff.grad(lambda *a: f(*a), argnums=argnums)(*args)
    plain = plain if isinstance(argnums, tuple) else (plain,)
    for g, want in zip(got, plain):
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-13)


def test_first_step_reading_another_value_from_before_the_loop(monkeypatch):
    """Step 0 multiplies by X, the others by Y (computed just after X): the body must not read Y at step 0."""
    def f(p):
        x, y = p * 2.0, np.cos(p)
        s = p
        for k in range(1200):
            s = s * (x if k == 0 else y)
        return np.sum(s)
    _check(f, (np.array([0.01, 0.02]),), 0, monkeypatch)


@pytest.mark.parametrize("start", [np.array([0.3, 0.2]), np.array([[0.3], [0.2]])])
def test_initial_carry_broadcast_by_the_first_step(start, monkeypatch):
    """s = p[0] (or a column) before s = s + ...x: the carry's shape is set by the first step."""
    def f(p, x):
        s = p[0] if p.ndim == 1 else p
        for _ in range(600):
            s = s + 0.01 * np.sin(s * x)
        return np.sum(s ** 2)
    _check(f, (start, np.array([0.3, -0.5, 0.9])), (0, 1), monkeypatch)


IDX = np.array([[k % 4, (3 * k) % 4] for k in range(600)])  # half the rows repeat a position


def _write_rows(x, p):
    s = x
    for k in range(600):
        t = s * 0.999
        t[IDX[k]] = np.sin(t[IDX[k]]) * p[0] + np.array([0.01, 0.02]) * p[1]  # a repeated position: last wins
        s = t
    return np.sum(s ** 2)


def _add_rows(x, p):
    s = x
    for k in range(600):
        t = s * 0.999
        t[IDX[k]] += np.sin(s[IDX[k]]) * p[0] * 0.01
        s = t
    return np.sum(s ** 2)


@pytest.mark.parametrize("f", [_write_rows, _add_rows])
def test_index_array_of_its_own_per_step(f, monkeypatch):
    """y[idx[k]] = v with idx[k] = [j, j] on some steps: an index read by the step number is not data to stack
    (the transpose of a write at non-constant indices assumed them distinct: gradients off by 1e45)."""
    _check(f, (np.array([0.3, -0.2, 0.5, 0.1]), np.array([1.3, 0.2])), (0, 1), monkeypatch, rolls=None)


def test_initial_carry_read_again_after_the_loop(monkeypatch):
    """s0 + s after the loop: the generated code updated s0 in place (s0 += last), the trajectory's row 0."""
    def f(x, p):
        s0 = np.sin(x * p[0])
        s = s0
        for _ in range(600):
            s = s + 0.01 * np.cos(s * p[1])
        return np.sum((s0 + s) ** 2)
    _check(f, (np.array([0.3, -0.2, 0.5]), np.array([1.3, 0.2])), (0, 1), monkeypatch)


def _write_at_traced(x, v):
    idx = (x > 0).astype(int)  # a traced index with a repeated position
    y = np.zeros((3, 2))
    y[idx, 1] = v * v
    return y * np.array([[1.0], [2.0], [3.0]])


def test_write_at_a_traced_repeated_index():
    """Found on the way (no loop needed): y[idx] = v with a traced idx holding a position twice gave
    every write the cotangent; NumPy keeps the last write only."""
    x, v = np.array([[0.5, -0.7], [0.2, 0.3]]), np.array([[1.0, 2.0], [3.0, 4.0]])
    want = fd_jac(_write_at_traced, (x, v), 1)
    np.testing.assert_allclose(npdiff.jacrev(_write_at_traced, argnums=1)(x, v).reshape(want.shape), want, atol=1e-6)
    f = lambda x, v: np.sum(_write_at_traced(x, v))
    np.testing.assert_allclose(npdiff.grad(f, argnums=1)(x, v), fd_vjp(f, (x, v), 1, 1.0), atol=1e-6)


# -- programs that rolled (or stayed unrolled) correctly in the review: kept as regression guards ----------


def test_two_iterations_back_stays_right(monkeypatch):
    """a, b = b, f(a, b): copy k+2 reads copy k (not a carry of the previous copy only)."""
    def f(p):
        a, b = p, p * 1.1
        for _ in range(600):
            a, b = b, 0.5 * a + 0.49 * np.tanh(b)
        return np.sum(b ** 2)
    _check(f, (np.array([0.3, 0.7]),), 0, monkeypatch, rolls=None)


def test_draws_in_the_loop_read_only_by_aux():
    """The value's loop rolls; the draws beside it stay fresh per call and in NumPy's order."""
    def f(x, p):
        s, noise = x, 0.0
        for _ in range(600):
            s = s + 0.01 * np.sin(p[0] * s)
            noise = noise + np.random.normal()
        return np.sum(s ** 2), noise
    x, p = np.array([0.3, -0.2]), np.array([1.3, 0.2])
    vg = npdiff.value_and_grad(f, argnums=1, has_aux=True)
    assert "for _k" in vg.specialize(x, p).source
    np.random.seed(3)
    (v, aux), g = vg(x, p)
    after = np.random.rand()
    np.random.seed(3)
    assert (v, aux) == f(x, p) and after == np.random.rand()
    np.testing.assert_allclose(g, fd_vjp(lambda *a: f(*a)[0], (x, p), 1, 1.0), rtol=1e-6)


DATA = np.linspace(0.0, 1.0, 600)


def _driven(x, p):
    s = x
    for k in range(600):
        s = s + 0.01 * np.sin(p[0] * s + DATA[k])
    return np.sum(s ** 2)


def test_per_step_data_changed_in_place_between_calls():
    x, p = np.array([0.3, -0.2]), np.array([1.3, 0.2])
    g = npdiff.grad(_driven, argnums=1)
    assert "for _k" in g.specialize(x, p).source
    g(x, p)
    saved = DATA.copy()
    try:
        DATA[:] = np.linspace(1.0, -2.0, 600)
        np.testing.assert_allclose(g(x, p), fd_vjp(_driven, (x, p), 1, 1.0), rtol=1e-6)
    finally:
        DATA[:] = saved


def test_per_step_masks_and_aux_intermediates(monkeypatch):
    masks = np.array([[(k + j) % 3 == 0 for j in range(4)] for k in range(600)])

    def f(x, p):
        s, mids = x, []
        for k in range(600):
            s = np.where(masks[k], s * 0.99 + 0.01 * np.sin(p[0] * s), s)
            mids.append(s)
        return np.sum(s ** 2), mids[300]
    x, p = np.array([0.3, -0.2, 0.5, 0.1]), np.array([1.3, 0.2])
    _check(lambda x, p: f(x, p)[0], (x, p), (0, 1), monkeypatch)
    (v, mid), g = npdiff.value_and_grad(f, argnums=1, has_aux=True)(x, p)
    assert v == f(x, p)[0]
    np.testing.assert_array_equal(mid, f(x, p)[1])
    np.testing.assert_allclose(g, fd_vjp(lambda *a: f(*a)[0], (x, p), 1, 1.0), rtol=1e-6)


def test_initial_value_of_another_shape_read_by_a_contraction():
    """Graph level: step 0 reads x (1, 3) through einsum('ij,ik->jk'), later steps a (2, 3) carry.

    Broadcasting x to (2, 3) before the loop doubles step 0's contraction: only elementwise readers
    may take a broadcast initial value (the run then starts a step later).
    """
    from npdiff.ir.graph import const, intern, make_input
    from npdiff.primitives import apply
    from npdiff.transforms import loops
    from npdiff.transforms.evaluate import evaluate

    x, w = make_input("x", (1, 3), np.float64), make_input("w", (3, 3), np.float64)
    s, acc = x, apply("reduce_sum", w, axes=(0, 1))
    for _ in range(300):
        t = intern("einsum", (s, s), (("spec", "ij,ik->jk"),), (3, 3), np.dtype(np.float64))
        acc = apply("add", acc, apply("reduce_sum", t, axes=(0, 1)))
        u = apply("tanh", apply("add", apply("multiply", apply("multiply", t, w), const(0.3)), const(0.4)))
        s = apply("gather", u, index=(("s", 0, 2, 1),))  # (2, 3): the cheapest place to cut, no rotation
    out = apply("add", apply("reduce_sum", s, axes=(0, 1)), acc)
    rolled = loops.roll(out)
    assert rolled is not out
    values = {id(x): (x, np.array([[0.3, -0.2, 0.5]])), id(w): (w, np.arange(9.0).reshape(3, 3) / 4 - 1)}
    assert evaluate(rolled, dict(values), lambda n: None) == evaluate(out, dict(values), lambda n: None)


def _unrolled_grad(f, args, argnums, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(config, "roll_loops", False)
        return npdiff.grad(lambda *a: f(*a), argnums=argnums)(*args)


def test_stepped_read_of_a_complex_argument_keeps_its_imaginary_cotangent(monkeypatch):
    """Real carries, complex x read as x[t]: the reverse sweep packed x's cotangent as float64 (imag dropped)."""
    def f(p, x):
        h = 0.0
        for t in range(x.shape[0]):
            h = np.tanh(p[0] * h + np.real(x[t]) * p[1] + np.imag(x[t]) ** 2)
        return h
    rng = np.random.default_rng(2)
    x = rng.normal(size=320) + 1j * rng.normal(size=320)
    args = (np.array([0.7, 0.3]), x)
    assert _rolled(f, args, (0, 1))
    got = npdiff.grad(f, argnums=(0, 1))(*args)
    want = _unrolled_grad(f, args, (0, 1), monkeypatch)
    assert got[1].dtype == np.complex128
    eye, e = np.eye(320), 1e-6
    d_re = np.array([(f(args[0], x + e * u) - f(args[0], x - e * u)) / (2 * e) for u in eye])
    d_im = np.array([(f(args[0], x + 1j * e * u) - f(args[0], x - 1j * e * u)) / (2 * e) for u in eye])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(got[1], d_re - 1j * d_im, rtol=1e-6, atol=1e-9)  # the unrolled convention
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10, atol=1e-13)


def test_stepped_read_of_a_float32_argument_into_float64_carries(monkeypatch):
    """x float32 read as x[t] by float64 carries: its gradient comes back float32, as unrolled."""
    def f(p, x):
        h = np.zeros(3)
        for t in range(x.shape[0]):
            h = np.tanh(p[0] * h + x[t] * p[1])
        return np.sum(h)
    args = (np.array([0.7, 0.3]), np.random.default_rng(1).normal(size=(320, 3)).astype(np.float32))
    assert _rolled(f, args, (0, 1))
    got = npdiff.grad(f, argnums=(0, 1))(*args)
    want = _unrolled_grad(f, args, (0, 1), monkeypatch)
    assert got[1].dtype == np.float32
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got[0], fd_vjp(f, args, 0, 1.0), rtol=1e-6, atol=1e-9)


def _reverse_sweep(src: str) -> str:
    """Return the body of the generated code's reverse loop (the second ``for _k`` loop)."""
    at = src.index("for _k", src.index("for _k") + 1)
    lines = src[at:].splitlines()
    return "\n".join([lines[0]] + [ln for ln in lines[1:] if ln.startswith(" " * 8)][:10_000])


@pytest.mark.parametrize("stride", [1, -3])
def test_stepped_reads_add_their_cotangent_in_place(monkeypatch, stride):
    """x[t] read per step: the reverse sweep adds the row's cotangent at t, not a length-N array per step
    (which made grad w.r.t. x quadratic in the loop length: 3.1 s against 0.16 s w.r.t. p at 32,000 steps).
    """
    def f(p, x, y):
        h = np.zeros(2)
        ts = range(0, x.shape[0], stride) if stride > 0 else range(x.shape[0] - 1, -1, stride)
        for t in ts:
            h = np.tanh(p[0] * h + x[t, 0] * p[1] - x[t, 1:] * y[t] + h[::-1] * x[t, 2])
        return np.sum(h ** 2)
    rng = np.random.default_rng(4)
    n = 320 * abs(stride)
    args = (np.array([0.7, 0.3]), rng.normal(size=(n, 3)), rng.normal(size=n))
    src = npdiff.grad(f, argnums=(0, 1, 2)).specialize(*args).source
    sweep = _reverse_sweep(src)
    assert len(re.findall(r"acc\d*\[\w+:\w+ \+ 1\] \+= ", sweep)) == 4  # x's three reads and y's
    assert f"np.zeros(({n}" not in sweep
    _check(f, args, (0, 1, 2), monkeypatch)


@pytest.mark.parametrize("shift", [2, 150])
def test_a_position_wrapping_mid_loop_ends_the_run_there(monkeypatch, shift):
    """x[t - shift] wraps at t = shift: the progression breaks there; each side rolls (it used to refuse both)."""
    def f(p, x):
        h = 0.0
        for t in range(x.shape[0]):
            h = np.tanh(p[0] * h + x[t - shift] * p[1])
        return h
    args = (np.array([0.7, 0.3]), np.random.default_rng(6).normal(size=600))
    src = npdiff.grad(f, argnums=(0, 1)).specialize(*args).source
    assert src.count("for _k") == (2 if shift < 16 else 4)
    _check(f, args, (0, 1), monkeypatch)


def test_two_arrays_wrapping_at_different_steps(monkeypatch):
    """x[t - 3] wraps at t = 3 (the run starts after), y[t - 400] at t = 400 (the run ends there): two loops."""
    def f(p, x, y):
        h = 0.0
        for t in range(x.shape[0]):
            h = np.tanh(p[0] * h + x[t - 3] * p[1] * y[t - 400])
        return h
    rng = np.random.default_rng(7)
    args = (np.array([0.7, 0.3]), rng.normal(size=600), rng.normal(size=600))
    assert npdiff.grad(f, argnums=(0, 1, 2)).specialize(*args).source.count("for _k") == 4
    _check(f, args, (0, 1, 2), monkeypatch)
