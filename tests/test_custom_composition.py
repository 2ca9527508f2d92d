"""Custom rules inside sparsity patterns and automatic mode selection."""
from __future__ import annotations

import numpy as np
import pytest

import npdiff
from util import assert_close, fd_jac


@npdiff.custom_jvp
def _softmax_cj(x):
    e = np.exp(x - x.max())
    return e / e.sum()


@_softmax_cj.defjvp
def _softmax_cj_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    s = _softmax_cj(x)
    return s, s * t - s * np.sum(s * t)


@npdiff.custom_jvp
def _sumsq_cj(x):
    return np.sum(x ** 2)


@_sumsq_cj.defjvp
def _sumsq_cj_jvp(primals, tangents):
    return _sumsq_cj(primals[0]), np.sum(2 * primals[0] * tangents[0])


@pytest.mark.parametrize("func", [lambda x: _softmax_cj(x) * 2, lambda x: _sumsq_cj(x) * x])
def test_custom_jvp_sparsity_is_not_assumed_elementwise(func):
    # the sparsity pattern treated custom_jvp outputs as elementwise in the inputs, so the
    # coloured (compressed) jacfwd of a softmax was ~0 and a scalar output crashed
    x = np.linspace(-1, 1, 12)
    want = fd_jac(func, [x], 0).reshape(12, 12)
    for op in (npdiff.jacfwd, npdiff.jacrev, npdiff.jacobian):
        assert_close(op(func)(x), want)


def test_jacobian_auto_mode_uses_reverse_through_custom_vjp():
    @npdiff.custom_vjp
    def sm(x):
        e = np.exp(x - x.max())
        return e / e.sum()

    def fwd(x):
        s = sm(x)
        return s, (s,)

    def bwd(res, ct):
        (s,) = res
        return (s * ct - s * np.sum(s * ct),)
    sm.defvjp(fwd, bwd)
    x = np.array([0.3, -0.5, 0.8])
    assert_close(npdiff.jacobian(sm)(x), fd_jac(sm, [x], 0))


def _sin_with_rule():
    @npdiff.custom_jvp
    def f(x):
        return np.sin(x)
    f.defjvp(lambda p, t: (np.sin(p[0]), np.cos(p[0]) * t[0]))
    return f


def test_custom_rule_registry_does_not_keep_dropped_rules_alive():
    import gc

    from npdiff.primitives.custom import RULES
    before = len(RULES)
    for _ in range(5):
        f = _sin_with_rule()
        assert_close(npdiff.grad(lambda x, f=f: np.sum(f(x)))(np.ones(3)), np.cos(np.ones(3)))
    del f
    gc.collect()
    assert len(RULES) <= before
