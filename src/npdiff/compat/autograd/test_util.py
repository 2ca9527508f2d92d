"""autograd.test_util: derivative checks with autograd's call signatures, written on npdiff.

``check_grads(fun, argnum=0, modes=None, order=2)(*args, **kwargs)`` checks the
derivatives of fun with respect to the argument(s) ``argnum``: forward mode
(``npdiff.jvp``) and reverse mode (``npdiff.vjp``) against central finite
differences along random directions, then (order > 1) the same checks on the
functions (x, v) -> jvp and (x, u) -> vjp, which npdiff differentiates again.
Complex values pair as Re(sum(a * b)) (npdiff follows JAX's convention).
"""
from __future__ import annotations

import itertools

import numpy as np

from ...api import jax_style as npdiff  # the operators (npdiff itself imports the layers above api)
from ...tree_util import tree_flatten, tree_unflatten

__all__ = ["check_grads", "combo_check", "check_equivalent", "scalar_close"]

STEP = 1e-6
ATOL = 1e-6
RTOL = 1e-6


def scalar_close(a, b, atol=ATOL, rtol=RTOL) -> bool:
    """Return True if two scalars agree to an absolute or a relative tolerance."""
    return abs(a - b) < atol or abs(a - b) / abs(a + b) < rtol


def _plain(tree):
    """Return tree with named tuples (np.linalg's SVDResult, EighResult...) as plain tuples."""
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return tuple(_plain(t) for t in tree)
    if isinstance(tree, (list, tuple)):
        return type(tree)(_plain(t) for t in tree)
    return tree


def _leaves(tree):
    return tree_flatten(_plain(tree))[0]


def _is_complex(x) -> bool:
    return np.iscomplexobj(x)


def _random_like(x):
    """Return a random direction shaped like x (complex for complex x, a Python float for a float)."""
    if isinstance(x, dict):  # a pytree argument
        return {k: _random_like(e) for k, e in x.items()}
    if isinstance(x, (list, tuple)):  # an argument that is a list of arrays (np.concatenate([a, b]))
        return type(x)(_random_like(e) for e in x)
    shape = np.shape(x)
    v = np.random.randn(*shape)  # noqa: NPY002 - autograd's test_util draws from the global state users seed
    if _is_complex(x):
        v = v + 1j * np.random.randn(*shape)  # noqa: NPY002
    if isinstance(x, (float, complex, int)) and not isinstance(x, bool):
        return complex(v) if _is_complex(x) else float(v)
    return np.asarray(v, dtype=np.result_type(np.asarray(x).dtype, float))


def _axpy(a, v, x):
    """Return x + a * v keeping x's kind (Python scalar, array or list of them)."""
    if isinstance(x, dict):
        return {k: _axpy(a, v[k], xe) for k, xe in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_axpy(a, ve, xe) for ve, xe in zip(v, x))
    out = np.asarray(x) + a * np.asarray(v)
    if isinstance(x, (float, complex, int)) and not isinstance(x, bool):
        return complex(out) if np.iscomplexobj(out) else float(out)
    return out


def _pair(a, b) -> float:
    """Return the real pairing Re(sum(a * b)) summed over matching pytree leaves."""
    la, lb = _leaves(a), _leaves(b)
    assert len(la) == len(lb), f"pytree mismatch: {len(la)} leaves vs {len(lb)}"
    return float(sum(np.real(np.sum(np.asarray(p) * np.asarray(q))) for p, q in zip(la, lb)))


def _numeric_jvp(f, xs, vs):
    """Return (f(x + h v) - f(x - h v)) / 2h as a pytree of arrays."""
    h = STEP / 2
    plus = _plain(f(*[_axpy(h, v, x) for x, v in zip(xs, vs)]))
    minus = f(*[_axpy(-h, v, x) for x, v in zip(xs, vs)])
    lp, struct = tree_flatten(plus)
    lm = _leaves(minus)
    return tree_unflatten(struct, [(np.asarray(p) - np.asarray(m)) / STEP for p, m in zip(lp, lm)])


def _random_cotangent(y):
    leaves, struct = tree_flatten(_plain(y))
    return tree_unflatten(struct, [_random_like(np.asarray(l)) if np.ndim(l) else
                                   np.asarray(_random_like(np.asarray(l))) for l in leaves])


def _check(f0, xs, modes, order, name):
    f = lambda *a: _plain(f0(*a))
    y = f(*xs)
    vs = [_random_like(x) for x in xs]
    numeric = _numeric_jvp(f, xs, vs)
    if "fwd" in modes:
        _, tangent = npdiff.jvp(f, tuple(xs), tuple(vs))
        u = _random_cotangent(y)
        exact, approx = _pair(u, tangent), _pair(u, numeric)
        assert scalar_close(exact, approx), f"(JVP) check of {name} failed: npdiff {exact}, finite differences {approx}"
        if order > 1:
            n = len(xs)
            jvp_f = lambda *a: npdiff.jvp(f, tuple(a[:n]), tuple(a[n:]))[1]
            _check(jvp_f, list(xs) + vs, modes, order - 1, f"jvp_{name}")
    if "rev" in modes:
        u = _random_cotangent(y)
        _, pullback = npdiff.vjp(f, *xs)
        grads = pullback(u)
        for g, x in zip(grads, xs):
            assert np.shape(g) == np.shape(x), f"vjp of {name}: shape {np.shape(g)} for an input {np.shape(x)}"
        exact, approx = _pair(list(grads), list(vs)), _pair(u, numeric)
        assert scalar_close(exact, approx), f"(VJP) check of {name} failed: npdiff {exact}, finite differences {approx}"
        if order > 1:
            n = len(xs)
            u_leaves, u_struct = tree_flatten(u)  # a tuple output's cotangent: one argument per leaf
            vjp_f = lambda *a: npdiff.vjp(f, *a[:n])[1](tree_unflatten(u_struct, list(a[n:])))
            _check(vjp_f, list(xs) + list(u_leaves), modes, order - 1, f"vjp_{name}")


def check_grads(fun, argnum=0, modes=None, order=2):
    """Return a checker: checker(*args, **kwargs) checks fun's derivatives in args[argnum]."""
    modes = ("fwd", "rev") if modes is None else tuple(modes)
    nums = (argnum,) if isinstance(argnum, int) else tuple(argnum)
    name = getattr(fun, "__name__", "fun")

    def checker(*args, **kwargs):
        def f(*xs):
            full = list(args)
            for i, x in zip(nums, xs):
                full[i] = x
            return fun(*full, **kwargs)
        flat, struct = tree_flatten([args[i] for i in nums])  # a list argument: one input per array

        def g(*leaves):
            return f(*tree_unflatten(struct, list(leaves)))
        g.__name__ = name
        _check(g, flat, modes, order, name)
    return checker


def check_equivalent(x, y):
    """Assert two pytrees of arrays have the same shapes and (projected) values."""
    lx, ly = _leaves(x), _leaves(y)
    assert len(lx) == len(ly)
    for a, b in zip(lx, ly):
        assert np.shape(a) == np.shape(b), f"shape {np.shape(a)} != {np.shape(b)}"
        v = _random_like(np.asarray(a))
        assert scalar_close(_pair(a, v), _pair(b, v)), f"values differ:\n{a}\n{b}"


def combo_check(fun, *args, **kwargs):
    """Return a checker that runs check_grads over every combination of the listed values."""
    def run(*arg_lists, **kwarg_lists):
        names = list(kwarg_lists)
        for values in itertools.product(*arg_lists):
            for kw in itertools.product(*[kwarg_lists[k] for k in names]):
                check_grads(fun, *args, **kwargs)(*values, **dict(zip(names, kw)))
    return run
