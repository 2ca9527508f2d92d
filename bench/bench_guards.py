"""Value-dependent control flow: the gradient of a piecewise function per call,
npdiff (guarded paths, one or alternating) vs autograd (re-traces every call)
vs hand-written NumPy. autograd is optional. Alternating between the two paths
should cost the mean of the two direct rows (each path checks its decisions
before computing anything else)."""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded BLAS, as in DESIGN.md

import numpy as np
from common import per_call, table

import npdiff


def huberish(x, np=np):
    """A piecewise loss (JAX's jit refuses the `if`): quadratic near 0, log-cosh-like outside."""
    s = np.sum(x * x)
    if s < 1.0:
        return 0.5 * s + np.sum(np.sin(x)) * x[0]
    return np.sqrt(s) - 0.5 + np.sum(np.sin(x)) * x[0]


def huberish_grad_hand(x):
    s = np.sum(x * x)
    c = np.cos(x) * x[0]
    c[0] += np.sum(np.sin(x))
    return (x if s < 1.0 else x / np.sqrt(s)) + c


def newton_sqrt(c):
    """A Newton iteration with a tolerance (a while loop on values)."""
    x = c * 1.0
    while np.abs(x * x - c) > 1e-13 * c:
        x = x - (x * x - c) / (2.0 * x)
    return x


def main():
    rng = np.random.default_rng(0)
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        autograd = anp = None
    for n in (3, 100, 100_000):
        inside = rng.normal(size=n) * 0.3 / np.sqrt(n)
        outside = inside * 10.0
        g = npdiff.grad(huberish)
        for x in (inside, outside):
            assert np.allclose(g(x), huberish_grad_hand(x))
        rows = [("hand-written NumPy", per_call(huberish_grad_hand, inside)),
                ("npdiff.grad (same path)", per_call(g, inside)),
                ("npdiff.grad (the other path, alone)", per_call(g, outside)),
                ("npdiff.grad (alternating paths, per call)", per_call(lambda: (g(inside), g(outside))) / 2)]
        if autograd is not None:
            ag = autograd.grad(lambda x: huberish(x, np=anp))
            assert np.allclose(ag(inside), huberish_grad_hand(inside))
            rows.append(("autograd.grad", per_call(ag, inside)))
        table(f"gradient of a piecewise function, n = {n}", rows, "hand-written NumPy")

    g = npdiff.grad(newton_sqrt)
    c = np.array(2.0)
    assert abs(g(c) - 0.5 / np.sqrt(c)) < 1e-9
    rows = [("hand-written 0.5 / sqrt(c)", per_call(lambda c: 0.5 / np.sqrt(c), c)),
            ("npdiff.grad (unrolled Newton path)", per_call(g, c))]
    if autograd is not None:
        ag = autograd.grad(lambda c: newton_sqrt(c))
        rows.append(("autograd.grad", per_call(ag, 2.0)))
    table("derivative of a Newton square root (while loop on values)", rows, "hand-written 0.5 / sqrt(c)")
    state_rows()


A_COEF, B_COEF = 1.0, 100.0  # globals read by rosen_state: guarded (identity or equal value) per call
WEIGHTS = np.linspace(1.0, 2.0, 9)  # a global array: guarded by identity and its bytes per call


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_state(x):
    return np.sum(WEIGHTS * (B_COEF * (x[1:] - x[:-1] ** 2) ** 2 + (A_COEF - x[:-1]) ** 2))


def state_rows():
    """Cost of the state guards (issue 20 part 1) and of the self-checks per new path (interleaved runs, best of 5)."""
    import time
    x = np.linspace(-1.0, 1.0, 10)
    g, gs = npdiff.grad(rosen), npdiff.grad(rosen_state)
    g(x), gs(x)
    gf = next(iter(gs._cache.values()))
    guard = gf._state
    best = {"on": np.inf, "off": np.inf, "none": np.inf, "guard": np.inf}
    for _ in range(5):  # interleaved, so load on the machine affects both alike
        gf._state, gs._one = None, None  # the call path as before the guards (nothing checked)
        best["off"] = min(best["off"], per_call(gs, x))
        gf._state, gs._one = guard, None  # (the one-call memo holds the guard it was made with)
        best["on"] = min(best["on"], per_call(gs, x))
        best["none"] = min(best["none"], per_call(g, x))
        best["guard"] = min(best["guard"], per_call(guard))
    rows = [("grad, 3 globals, guards off", best["off"]), ("grad, 3 globals guarded", best["on"]),
            ("grad, no state read (no guard)", best["none"]), ("state guard alone", best["guard"])]
    table("Rosenbrock n = 10 gradient: state guard overhead per call", rows, "grad, 3 globals, guards off")
    first = {False: np.inf, True: np.inf}
    npdiff.grad(rosen_state)(x)  # warm-up
    for _ in range(7):
        for check in (False, True):
            npdiff.config.self_check = check
            gg = npdiff.grad(rosen_state)
            gg.cache_clear()  # operators of one function share their code: make this call trace anew
            t0 = time.perf_counter()
            gg(x)
            first[check] = min(first[check], time.perf_counter() - t0)
    npdiff.config.self_check = True
    table("Rosenbrock n = 10 gradient: first call (trace + code generation) per new path",
          [("self-checks off", first[False]), ("self-checks on", first[True])], "self-checks off")


if __name__ == "__main__":
    main()
