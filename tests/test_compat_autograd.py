"""npdiff.compat.autograd: every public name against real autograd (skipped without it) or closed forms."""
from __future__ import annotations

import numpy as onp
import pytest

import npdiff.compat.autograd as ag
import npdiff.compat.autograd.numpy as np
from npdiff.compat.autograd.extend import defjvp, defvjp, primitive
from npdiff.compat.autograd.misc import flatten
from npdiff.compat.autograd.misc.optimizers import adam, rmsprop, sgd
from util import assert_close

R = onp.random.RandomState(0)
X = R.randn(4)
M = R.randn(3, 4)
TOL = dict(rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def real():
    pytest.importorskip("autograd")
    import autograd
    return autograd


@pytest.fixture(scope="module")
def anp(real):
    import autograd.numpy
    return autograd.numpy


def _same(a, b, what=""):
    la, sa = ag_tree(a)
    lb, sb = ag_tree(b)
    assert sa == sb, f"{what}: structure {sa} vs {sb}"
    for x, y in zip(la, lb):
        assert onp.shape(x) == onp.shape(y), f"{what}: shape {onp.shape(x)} vs {onp.shape(y)}"
        onp.testing.assert_allclose(onp.asarray(x), onp.asarray(y), err_msg=what, **TOL)


def ag_tree(t):
    from npdiff.tree_util import tree_flatten
    leaves, s = tree_flatten(t)
    return leaves, repr(s).replace("'leaf'", "L")


def make_loss(np):
    def loss(w, x, scale=1.0):
        return scale * np.sum(np.tanh(np.dot(M, w)) ** 2) + np.sum(w * x)
    return loss


def test_numpy_and_scipy_are_the_real_modules():
    import numpy
    assert np is numpy
    import npdiff.compat.autograd.numpy.linalg as la
    import npdiff.compat.autograd.numpy.random as npr
    assert npr is numpy.random and la is numpy.linalg
    pytest.importorskip("scipy")
    import npdiff.compat.autograd.scipy.special as sp
    import npdiff.compat.autograd.scipy.stats.norm as norm
    import scipy.special
    import scipy.stats

    from npdiff.compat.autograd.scipy.misc import logsumexp
    assert sp is scipy.special and norm is scipy.stats.norm and logsumexp is scipy.special.logsumexp


@pytest.mark.parametrize("argnum", [0, 1, (0, 1)])
def test_grad_value_and_grad_argnum(real, anp, argnum):
    for ours, theirs in ((ag.grad, real.grad), (ag.value_and_grad, real.value_and_grad)):
        _same(ours(make_loss(np), argnum)(X, X[::-1], scale=2.0),
              theirs(make_loss(anp), argnum)(X, X[::-1], scale=2.0),
              f"{ours.__name__} {argnum}")


def test_grad_of_containers_and_python_floats(real, anp):
    f = lambda np: lambda p, n: np.sum(p["w"][:n] ** 2) * p["b"][0] + p["b"][1] ** 3
    p = {"w": X, "b": [1.5, -0.5]}
    for n in (2, 3, 2):  # an int argument: part of the specialisation, values differ
        _same(ag.grad(f(np))(p, n), real.grad(f(anp))(p, n), f"dict n={n}")
    g = lambda np: lambda t: t[0] * np.sum(t[1])
    _same(ag.grad(g(np))((2.0, X)), real.grad(g(anp))((2.0, X)), "tuple")
    assert isinstance(ag.grad(g(np))((2.0, X)), tuple)


def test_grad_one_element_output_and_empty_container(real, anp):
    f = lambda np: lambda x: np.dot(x[None, :], x[:, None])  # shape (1, 1)
    _same(ag.grad(f(np))(X), real.grad(f(anp))(X))
    assert ag.grad(lambda l, x: np.sum(x))([], X) == []


def test_elementwise_jacobian_hessian(real, anp):
    f = lambda np: lambda x, y: np.sin(x) * y ** 2
    for ours, theirs in ((ag.elementwise_grad, real.elementwise_grad), (ag.jacobian, real.jacobian),
                         (ag.hessian, real.hessian)):
        for argnum in (0, 1):
            _same(ours(f(np), argnum)(X, X + 1), theirs(f(anp), argnum)(X, X + 1), f"{ours.__name__} {argnum}")
    s = lambda np: lambda x: np.sum(np.exp(x) * x[::-1])
    _same(ag.hessian(s(np))(X), real.hessian(s(anp))(X), "hessian of a scalar")


def test_forward_and_product_operators(real, anp):
    s = lambda np: lambda x: np.sum(np.sin(x) ** 3)
    v = R.randn(4)
    _same(ag.deriv(np.sin)(0.3), real.deriv(anp.sin)(0.3), "deriv")
    _same(ag.make_jvp(np.tanh)(X)(v), real.make_jvp(anp.tanh)(X)(v), "make_jvp")
    vjp, ans = ag.make_vjp(np.tanh)(X)
    rvjp, rans = real.make_vjp(anp.tanh)(X)
    _same(ans, rans)
    _same(vjp(v), rvjp(v), "make_vjp")
    hvp, g = ag.make_hvp(s(np))(X)
    rhvp, rg = real.make_hvp(s(anp))(X)
    _same(g, rg)
    _same(hvp(v), rhvp(v), "make_hvp")
    for name in ("hessian_tensor_product", "hessian_vector_product"):
        _same(getattr(ag, name)(s(np))(X, v), getattr(real, name)(s(anp))(X, v), name)
    V = R.randn(3)
    f = lambda np: lambda x: np.dot(M, np.sin(x))
    for name in ("tensor_jacobian_product", "vector_jacobian_product"):
        _same(getattr(ag, name)(f(np))(X, V), getattr(real, name)(f(anp))(X, V), name)
    _same(ag.make_ggnvp(f(np))(X)(v), real.make_ggnvp(f(anp))(X)(v), "ggnvp")


def test_aux_named_dict_holomorphic_checkpoint(real, anp):
    f = lambda np: lambda x: (np.sum(x ** 2), np.sum(x) * 3.0)
    g, aux = ag.grad_and_aux(f(np))(X)
    rg, raux = real.grad_and_aux(f(anp))(X)
    _same(g, rg)
    _same(aux, raux)
    h = lambda np: lambda a, b: np.sum(a * b ** 2)
    _same(ag.grad_named(h(np), "b")(X, X + 1), real.grad_named(h(anp), "b")(X, X + 1), "grad_named")
    d = ag.multigrad_dict(h(np))(X, X + 1)
    assert set(d) == {"a", "b"}
    _same(d["b"], real.grad(h(anp), 1)(X, X + 1))
    z = 0.3 + 1.1j
    hol = lambda np: lambda z: z ** 3 + np.sin(z)
    _same(ag.holomorphic_grad(hol(np))(z), real.holomorphic_grad(hol(anp))(z))
    assert ag.checkpoint(np.sin) is np.sin


def test_flatten_matches_autograds_order(real):
    from autograd.misc import flatten as real_flatten
    tree = (1.0, M, [X[:2], {"y": X, "x": 2.0}])
    flat, unflatten = flatten(tree)
    rflat, _ = real_flatten(tree)
    _same(flat, rflat, "flat vector (dicts by sorted key)")
    back = unflatten(flat)
    _same(back[1], M)
    _same(back[2][1]["y"], X)


@pytest.mark.parametrize("name", ["adam", "sgd", "rmsprop"])
def test_optimizers_match_autograd(real, anp, name):
    from autograd.misc import optimizers as real_opt
    ours = {"adam": adam, "sgd": sgd, "rmsprop": rmsprop}[name]
    obj = lambda np: lambda p, i: np.sum((p["a"] - X) ** 2) + np.sum(np.sin(p["b"][0] - M) ** 2) * (1 + i % 2)
    grad, rgrad = ag.grad(obj(np)), real.grad(obj(anp))
    x0 = {"a": onp.zeros(4), "b": [onp.ones((3, 4))]}
    seen, rseen = [], []
    out = ours(grad, x0, callback=lambda x, i, g: seen.append((i, x["a"][0], g["a"][0])), num_iters=12, step_size=0.05)
    rout = getattr(real_opt, name)(rgrad, x0, callback=lambda x, i, g: rseen.append((i, x["a"][0], g["a"][0])),
                                   num_iters=12, step_size=0.05)
    _same(out, rout, name)
    onp.testing.assert_allclose(onp.array(seen), onp.array(rseen), **TOL)


def _logsumexp(x):
    m = onp.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def test_extend_defvjp_primitive(real):
    lse = primitive(_logsumexp)
    defvjp(lse, lambda ans, x: lambda g: g * np.exp(x - ans))
    f = lambda x: lse(x * 2.0) ** 2
    assert_close(ag.grad(f)(X), real.grad(lambda x: _real_lse(real)(x * 2.0) ** 2)(X), 1e-10, 1e-12)
    assert_close(lse(X), _logsumexp(X), 0, 0)
    with pytest.raises(NotImplementedError):  # a VJP rule only: forward mode is refused, as in autograd
        ag.deriv(lambda t: lse(X * t))(1.0)


def _real_lse(real):
    import autograd.numpy as anp
    from autograd.extend import defvjp as rdefvjp
    from autograd.extend import primitive as rprimitive
    f = rprimitive(lambda x: onp.max(x) + onp.log(onp.sum(onp.exp(x - onp.max(x)))))
    rdefvjp(f, lambda ans, x: lambda g: g * anp.exp(x - ans))
    return f


def test_extend_defjvp_forward_and_reverse():
    cube = primitive(lambda x, c, mode: c * x ** 3)  # rules in x and c; mode is a string (untraced)
    defjvp(cube, lambda g, ans, x, c, mode: 3.0 * c * x ** 2 * g, lambda g, ans, x, c, mode: x ** 3 * g)
    c = 1.7
    assert_close(ag.grad(lambda x: np.sum(cube(x, c, "m")))(X), 3 * c * X ** 2, 1e-12, 1e-12)
    assert_close(ag.grad(lambda c: np.sum(cube(X, c, "m")), 0)(c), onp.sum(X ** 3), 1e-12, 1e-12)
    assert_close(ag.elementwise_grad(lambda x: cube(x, c, "m"))(X), 3 * c * X ** 2, 1e-12, 1e-12)
    assert_close(ag.deriv(lambda c: np.sum(cube(X, c, "m")))(c), onp.sum(X ** 3), 1e-12, 1e-12)
    assert_close(ag.hessian(lambda x: np.sum(cube(x, c, "m")))(X), onp.diag(6 * c * X), 1e-12, 1e-12)


def test_extend_missing_rule_for_a_differentiated_argument():
    f = primitive(lambda x, y: x * y)
    defvjp(f, lambda ans, x, y: lambda g: g * y)  # no rule for y
    assert_close(ag.grad(lambda x, y: np.sum(f(x, y)))(X, X + 1), X + 1, 0, 0)  # y traced, not differentiated
    with pytest.raises(NotImplementedError, match="argument 1"):
        ag.grad(lambda x, y: np.sum(f(x, y)), 1)(X, X + 1)
    g = primitive(lambda x: 2.0 * x)
    with pytest.raises(NotImplementedError):
        ag.grad(lambda x: np.sum(g(x)))(X)


def test_builtins_isinstance_of_traced_values():
    seen, seen_float = [], []  # the first entry is the trace's (the self-checks call the function again)
    ag.grad(lambda x: seen.append(ag.isinstance(x, np.ndarray)) or np.sum(x))(X)
    ag.grad(lambda x: seen_float.append(ag.isinstance(x, float)) or x * 2.0)(1.5)
    assert seen[0] and seen_float[0] and ag.tuple is tuple


@pytest.mark.parametrize("sa,sb,kw", [
    ((6,), (4,), {}), ((2,), (5,), {}), ((4, 3), (2, 2), {}), ((4, 3), (3, 2), dict(axes=([0], [1]))),
    ((3, 3, 2), (3, 2, 3), dict(axes=([1], [1]), dot_axes=([0], [2]))),
    ((2, 5, 4, 3), (2, 4, 2, 3, 2), dict(axes=([1, 2], [2, 4]), dot_axes=([0, 3], [0, 3]))),
])
@pytest.mark.parametrize("mode", ["full", "valid", "same"])
def test_scipy_signal_convolve_matches_autograds(real, sa, sb, kw, mode):
    from autograd.scipy.signal import convolve as real_convolve

    from npdiff.compat.autograd.scipy.signal import convolve
    A, B = R.randn(*sa), R.randn(*sb)
    _same(convolve(A, B, mode=mode, **kw), real_convolve(A, B, mode=mode, **kw), mode)
    W = R.randn(*onp.shape(real_convolve(A, B, mode=mode, **kw)))
    f = lambda conv: lambda a, b: np.sum(conv(a, b, mode=mode, **kw) * W)
    _same(ag.grad(f(convolve), (0, 1))(A, B), real.grad(f(real_convolve), (0, 1))(A, B), f"gradient {mode}")


def test_extend_argnum_forms_linear_and_notrace(real, anp):
    import autograd.extend as rext

    from npdiff.compat.autograd.extend import def_linear, defjvp_argnum, defvjp_argnum, notrace_primitive
    A = R.randn(3, 4)

    def build(ext, np_):
        mul = ext.primitive(lambda x, y: x * y)
        ext.defvjp_argnum(mul, lambda argnum, ans, args, kwargs: lambda g: g * args[1 - argnum])
        fwd = ext.primitive(lambda x, y: x * y)
        ext.defjvp_argnum(fwd, lambda argnum, g, ans, args, kwargs: g * args[1 - argnum])
        lin = ext.primitive(lambda x: np_.dot(A, x))
        ext.def_linear(lin)
        return mul, fwd, lin
    ours = build(types_ns(primitive=primitive, defvjp_argnum=defvjp_argnum, defjvp_argnum=defjvp_argnum,
                          def_linear=def_linear), np)
    theirs = build(rext, anp)
    for k, (o, t) in enumerate(zip(ours, theirs)):
        if k < 2:  # a JVP-only primitive is differentiated in reverse mode too (autograd refuses): same gradient
            f = lambda p: lambda x, y: np.sum(np.sin(p(x, y)))
            rf = lambda p: lambda x, y: anp.sum(anp.sin(p(x, y)))
            _same(ag.grad(f(o), (0, 1))(X, X[::-1]), real.grad(rf(theirs[0]), (0, 1))(X, X[::-1]), f"argnum form {k}")
        else:
            assert_close(ag.grad(lambda x: np.sum(o(x) ** 2))(X), 2 * A.T @ A @ X, 1e-12, 1e-12)  # autograd: JVP only
            _same(ag.deriv(lambda s: np.sum(o(X * s)))(0.5), real.deriv(lambda s: anp.sum(t(X * s)))(0.5), "jvp")
    _same(ag.deriv(lambda s: np.sum(ours[1](X * s, X)))(0.5), real.deriv(lambda s: anp.sum(theirs[1](X * s, X)))(0.5))
    frozen = notrace_primitive(lambda x: x ** 2)
    assert_close(ag.grad(lambda x: np.sum(frozen(x) * x))(X), X ** 2, 0, 0)


def types_ns(**kw):
    import types
    return types.SimpleNamespace(**kw)


def test_misc_helpers_core_and_tracer():
    from npdiff.compat.autograd.core import make_vjp, primitive_vjps
    from npdiff.compat.autograd.misc import const_graph, flatten_func
    from npdiff.compat.autograd.tracer import isbox
    f = lambda p, s: {"y": p["a"] * s}
    flat_f, unflatten, x0 = flatten_func(f, {"a": X})
    assert_close(flat_f(x0, 2.0), 2 * X, 0, 0)
    assert_close(unflatten(x0)["a"], X, 0, 0)
    assert const_graph(lambda a, b, c=0.0: a + 2 * b + 3 * c, 1.0, c=3.0)(2.0) == 14.0
    seen = []  # the first entry is the trace's (the self-checks call the function again, on plain arrays)
    ag.grad(lambda x: seen.append(isbox(x)) or np.sum(x))(X)
    assert seen[0] and not any(seen[1:]) and not isbox(X) and primitive_vjps == {}
    vjp, _ans = make_vjp(np.sin)(X)
    assert_close(vjp(np.ones(4)), np.cos(X), 1e-12, 1e-12)
