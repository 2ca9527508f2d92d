"""custom_jvp / custom_vjp against closed forms and finite differences."""
import numpy as np
import pytest

import npdiff
from util import assert_close, fd_jac


@npdiff.custom_jvp
def safe_log1pexp(x):
    return np.log1p(np.exp(x))


@safe_log1pexp.defjvp
def _rule(primals, tangents):
    (x,), (t,) = primals, tangents
    return safe_log1pexp(x), t / (1.0 + np.exp(-x))


@npdiff.custom_vjp
def clipped_sin(x):
    return np.sin(x)


def _fwd(x):
    return np.sin(x), np.cos(x)


def _bwd(cos_x, ct):
    return (np.clip(ct * cos_x, -0.5, 0.5),)


clipped_sin.defvjp(_fwd, _bwd)
X = np.array([-0.3, 0.2, 1.7])


def test_custom_jvp_used_in_both_modes():
    f = lambda x: np.sum(safe_log1pexp(x) * x)
    expect = 1.0 / (1.0 + np.exp(-X)) * X + np.log1p(np.exp(X))
    assert_close(npdiff.grad(f)(X), expect, 1e-12, 1e-12)
    J = npdiff.jacfwd(lambda x: safe_log1pexp(x))(X)
    assert_close(J, np.diag(1.0 / (1.0 + np.exp(-X))), 1e-12, 1e-12)


def test_custom_jvp_second_order_against_fd():
    f = lambda x: np.sum(safe_log1pexp(x) ** 2)
    g = npdiff.grad(f)
    H = npdiff.hessian(f)(X)
    assert_close(H, fd_jac(g, [X], 0), 1e-5, 1e-7)


def test_custom_vjp_rule_is_what_reverse_mode_uses():
    f = lambda x: np.sum(clipped_sin(x) * 3.0)
    g = npdiff.grad(f)(X)
    assert_close(g, np.clip(3.0 * np.cos(X), -0.5, 0.5), 1e-12, 1e-12)
    J = npdiff.jacrev(lambda x: clipped_sin(x))(X)
    assert_close(J, np.diag(np.clip(np.cos(X), -0.5, 0.5)), 1e-12, 1e-12)


def test_custom_vjp_forward_mode_is_a_clear_error():
    with pytest.raises(npdiff.UnsupportedOperationError, match="custom_vjp"):
        npdiff.jacfwd(lambda x: clipped_sin(x))(X)


def test_custom_functions_called_on_arrays_run_plain():
    assert_close(safe_log1pexp(X), np.log1p(np.exp(X)))
    assert_close(clipped_sin(X), np.sin(X))


def test_generated_code_is_plain_numpy():
    src = npdiff.grad(lambda x: np.sum(safe_log1pexp(x))).specialize((3,)).source
    assert "np.exp" in src and "custom" not in src.split("def ")[1].split("\n")[0]
