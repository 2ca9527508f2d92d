"""npdiff.compat.jax: JAX's names and defaults against closed forms; unmapped names raise with the NumPy spelling."""
from __future__ import annotations

import functools

import numpy as onp
import pytest

import npdiff
import npdiff.compat.jax as jax
import npdiff.compat.jax.numpy as jnp
from npdiff.compat.jax import lax, tree_util
from npdiff.compat.jax.flatten_util import ravel_pytree
from npdiff.errors import UnsupportedOperationError
from util import assert_close

X = onp.array([0.3, -1.2, 0.7])


def test_jnp_is_numpy():
    assert jnp is onp
    import npdiff.compat.jax.numpy.linalg as la
    assert la is onp.linalg


def test_jacobians_default_to_the_first_argument():
    f = lambda x, y: jnp.sin(x) * y
    y = 2.5
    for op in (jax.jacfwd, jax.jacrev, jax.jacobian):
        J = op(f)(X, y)
        assert_close(J, onp.diag(onp.cos(X) * y), 1e-12, 1e-12, op.__name__)
        assert_close(op(f, argnums=1)(X, y), onp.sin(X), 1e-12, 1e-12, op.__name__)
    assert isinstance(npdiff.jacfwd(f)(X, y), tuple)  # npdiff's own jacfwd: all arguments


def test_grad_hessian_value_and_grad():
    f = lambda x, c: c * jnp.sum(x ** 3)
    assert_close(jax.grad(f)(X, 2.0), 6.0 * X ** 2, 1e-12, 1e-12)
    v, g = jax.value_and_grad(f, argnums=1)(X, 2.0)
    assert_close(v, f(X, 2.0), 1e-12, 1e-12)
    assert_close(g, onp.sum(X ** 3), 1e-12, 1e-12)
    assert_close(jax.hessian(f)(X, 2.0), onp.diag(12.0 * X), 1e-12, 1e-12)
    g, aux = jax.grad(lambda x: (jnp.sum(x ** 2), jnp.max(x)), has_aux=True)(X)
    assert_close(g, 2 * X, 0, 0)
    assert float(aux) == onp.max(X)
    with pytest.raises(UnsupportedOperationError, match="holomorphic"):
        jax.grad(f, holomorphic=True)


def test_jvp_vjp_linearize():
    f = lambda x: jnp.sin(x) * x
    t = onp.array([1.0, 0.5, -2.0])
    out, tan = jax.jvp(f, (X,), (t,))
    d = onp.cos(X) * X + onp.sin(X)
    assert_close(out, f(X), 0, 0)
    assert_close(tan, d * t, 1e-12, 1e-12)
    out, pullback = jax.vjp(f, X)
    (ct,) = pullback(t)
    assert_close(ct, d * t, 1e-12, 1e-12)
    out, lin = jax.linearize(f, X)
    assert_close(lin(t), d * t, 1e-12, 1e-12)


def test_jit_is_the_identity_in_every_form():
    f = lambda x: x * 2
    assert jax.jit(f) is f
    assert jax.jit(f, static_argnums=(0,)) is f
    assert functools.partial(jax.jit, static_argnums=1)(f) is f
    g = jax.jit(jax.grad(lambda x: jnp.sum(x ** 2)))
    assert_close(g(X), 2 * X, 0, 0)
    jax.config.update("jax_enable_x64", True)  # accepted, no effect


def test_tree_util_imports_as_a_submodule():
    import npdiff.compat.jax.tree_util as jtu
    from npdiff.compat.jax.tree_util import tree_map
    assert jtu is npdiff.tree_util
    assert tree_map(lambda a: a + 1, {"a": 1.0}) == {"a": 2.0}


def test_stop_gradient_tree_util_ravel():
    f = lambda x: jnp.sum(lax.stop_gradient(x) * x)
    assert_close(jax.grad(f)(X), X, 0, 0)
    tree = {"a": X, "b": (onp.eye(2), 3.0)}
    flat, unravel = ravel_pytree(tree)
    assert flat.shape == (8,) and tree_util.tree_structure(unravel(flat)) == tree_util.tree_structure(tree)
    doubled = jax.tree.map(lambda a: a * 2, tree)
    assert_close(doubled["b"][0], 2 * onp.eye(2), 0, 0)
    assert len(jax.tree.leaves(tree)) == 3


def test_custom_jvp_and_vjp_decorator_forms():
    @jax.custom_jvp
    def f(x):
        return jnp.log1p(jnp.exp(x))

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), t / (1 + jnp.exp(-x))
    sig = 1 / (1 + onp.exp(-X))
    assert_close(jax.grad(lambda x: jnp.sum(f(x)))(X), sig, 1e-12, 1e-12)
    assert_close(jax.jacfwd(f)(X), onp.diag(sig), 1e-12, 1e-12)

    @jax.custom_vjp
    def clip_grad(x):
        return x

    clip_grad.defvjp(lambda x: (x, None), lambda res, g: (jnp.clip(g, -0.5, 0.5),))
    assert_close(jax.grad(lambda x: jnp.sum(clip_grad(x) * 3.0))(X), onp.full(3, 0.5), 0, 0)

    g = jax.custom_jvp(lambda x, y: x * y)
    g.defjvps(lambda t, ans, x, y: t * y, lambda t, ans, x, y: x * t)
    assert_close(jax.grad(lambda x: jnp.sum(g(x, X)))(X), X, 1e-12, 1e-12)
    with pytest.raises(UnsupportedOperationError, match="nondiff_argnums"):
        jax.custom_vjp(lambda x: x, nondiff_argnums=(0,))


@pytest.mark.parametrize("call,spelling", [
    (lambda: jax.vmap(jnp.sin)(X), "np.stack"),
    (lambda: jax.lax.scan(lambda c, x: (c, x), 0.0, X), "for loop"),
    (lambda: jax.lax.fori_loop(0, 3, lambda i, v: v, 0.0), "for i in range"),
    (lambda: jax.random.PRNGKey(0), "default_rng"),
    (lambda: jax.random.normal(None, (3,)), "default_rng"),
])
def test_unmapped_names_raise_with_the_numpy_spelling(call, spelling):
    with pytest.raises(UnsupportedOperationError, match=spelling):
        call()
