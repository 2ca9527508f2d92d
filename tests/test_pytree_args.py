"""Pytree arguments (dicts, lists/tuples of arrays, namedtuples) of the JAX-style operators.

Every derivative is checked against central finite differences on the
flattened leaves of the arguments (never only against another npdiff mode).
"""
from __future__ import annotations

import pickle
from collections import namedtuple

import numpy as np
import pytest

import npdiff
from npdiff.ir.pytree import tree_flatten, tree_unflatten
from util import assert_close

State = namedtuple("State", "pos vel")
Outer = namedtuple("Outer", "state mass")

EPS = 1e-6


def ravel(tree):
    """Return (the float leaves of tree as one vector, unravel: vector -> tree of tree's kinds)."""
    leaves, s = tree_flatten(tree)
    shapes = [np.shape(l) for l in leaves]
    scalar = [isinstance(l, float) for l in leaves]
    vec = np.concatenate([np.ravel(np.asarray(l, dtype=float)) for l in leaves]) if leaves else np.zeros(0)

    def unravel(v):
        out, k = [], 0
        for shape, sc in zip(shapes, scalar):
            n = int(np.prod(shape))
            part = v[k:k + n].reshape(shape)
            out.append(float(part) if sc else part)
            k += n
        return tree_unflatten(s, out)
    return vec, unravel


def fd_jacobian(f, args, i):
    """Return the central-difference Jacobian of ravel(f(*args)) with respect to ravel(args[i])."""
    x, unravel = ravel(args[i])
    cols = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = EPS
        hi = ravel(f(*args[:i], unravel(x + e), *args[i + 1:]))[0]
        lo = ravel(f(*args[:i], unravel(x - e), *args[i + 1:]))[0]
        cols.append((hi - lo) / (2 * EPS))
    return np.stack(cols, axis=1)


def assert_tree_close(a, b, rtol=1e-5, atol=1e-6):
    la, sa = tree_flatten(a)
    lb, sb = tree_flatten(b)
    assert sa == sb, f"structures differ: {sa} vs {sb}"
    for x, y in zip(la, lb):
        assert_close(x, y, rtol, atol)


def same_types(a, b):
    """Assert a and b have the same containers (types, keys, lengths) all the way down."""
    assert type(a) is type(b) or (np.ndim(a) == np.ndim(b) and not isinstance(a, (tuple, list, dict))), \
        (type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            same_types(a[k], b[k])
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same_types(x, y)


rng = np.random.default_rng(0)


def dict_loss(p):
    return np.sum(np.sin(p["w"]) * p["b"][0]) + np.sum(p["b"] ** 2) * p["s"]


DICT_P = {"w": rng.normal(size=(3,)), "b": rng.normal(size=(2,)), "s": 1.5}


def mlp_loss(params, x, labels):
    h = x
    for W, b in params[:-1]:
        h = np.tanh(h @ W + b)
    W, b = params[-1]
    z = h @ W + b
    z = z - np.max(z, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(len(labels)), labels])


MLP_PARAMS = [(rng.normal(size=(3, 4)), rng.normal(size=4) * 0.1), (rng.normal(size=(4, 2)), rng.normal(size=2) * 0.1)]
MLP_X = rng.normal(size=(5, 3))
MLP_Y = np.array([0, 1, 0, 1, 1])


def grad_against_fd(f, args, i, got):
    fd = fd_jacobian(lambda *a: f(*a), args, i)[0]
    _vec, _unravel = ravel(args[i])
    same_types(got, args[i])
    assert_close(ravel(got)[0], fd, 1e-5, 1e-6)


# -- gradients --------------------------------------------------------------------------

def test_grad_of_dict_is_a_dict_with_the_same_keys():
    g = npdiff.grad(dict_loss)(DICT_P)
    assert isinstance(g, dict) and list(g) == ["w", "b", "s"]
    grad_against_fd(dict_loss, [DICT_P], 0, g)


def test_value_and_grad_of_a_dict():
    v, g = npdiff.value_and_grad(dict_loss)(DICT_P)
    assert_close(v, dict_loss(DICT_P))
    grad_against_fd(dict_loss, [DICT_P], 0, g)


def test_the_issue_example():
    g = npdiff.grad(lambda p: np.sum(p["a"] ** 2))({"a": np.ones(2)})
    assert_close(g["a"], 2 * np.ones(2))


def test_mlp_params_list_of_tuples_softmax_cross_entropy():
    g = npdiff.grad(mlp_loss)(MLP_PARAMS, MLP_X, MLP_Y)
    assert isinstance(g, list) and all(isinstance(t, tuple) for t in g)
    assert [tuple(a.shape for a in t) for t in g] == [((3, 4), (4,)), ((4, 2), (2,))]
    grad_against_fd(mlp_loss, [MLP_PARAMS, MLP_X, MLP_Y], 0, g)
    # a few steps of gradient descent lower the loss (the same cached code each step)
    params, lf = MLP_PARAMS, npdiff.value_and_grad(mlp_loss)
    first, _ = lf(params, MLP_X, MLP_Y)
    for _ in range(20):
        _loss, g = lf(params, MLP_X, MLP_Y)
        params = [(W - 0.5 * gW, b - 0.5 * gb) for (W, b), (gW, gb) in zip(params, g)]
    assert lf(params, MLP_X, MLP_Y)[0] < first
    assert lf.cache_info().currsize == 1


def test_nested_namedtuples():
    def energy(o):
        return 0.5 * o.mass * np.sum(o.state.vel ** 2) + np.sum(np.cos(o.state.pos))

    o = Outer(State(rng.normal(size=3), rng.normal(size=3)), 2.0)
    g = npdiff.grad(energy)(o)
    assert type(g) is Outer and type(g.state) is State
    grad_against_fd(energy, [o], 0, g)


def test_mixed_array_and_float_leaves():
    f = lambda p: p[0] * np.sum(p[1] ** 3) + p[2] ** 2
    p = (1.5, rng.normal(size=4), -0.5)
    g = npdiff.grad(f)(p)
    assert isinstance(g, tuple) and len(g) == 3
    grad_against_fd(f, [p], 0, g)


def test_argnums_mixing_pytree_and_array_arguments():
    def f(params, data, x):
        W, b = params["W"], params["b"]
        return np.sum(np.tanh(data[0] @ W + b) * x) + np.sum(data[1])

    params = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    data = (rng.normal(size=(4, 3)), np.arange(3))  # a non-differentiated pytree with an int leaf
    x = rng.normal(size=(4, 2))
    gp, gx = npdiff.grad(f, argnums=(0, 2))(params, data, x)
    grad_against_fd(f, [params, data, x], 0, gp)
    grad_against_fd(f, [params, data, x], 2, gx)
    (gp2,) = npdiff.grad(f, argnums=(0,))(params, data, x)
    assert_tree_close(gp2, gp)


def test_integer_leaf_in_a_differentiated_argument_is_refused_by_name():
    with pytest.raises(TypeError, match=r"p\['n'\]"):
        npdiff.grad(lambda p: np.sum(p["x"]) * p["n"])({"x": np.ones(2), "n": 3})


def test_list_of_plain_numbers_stays_an_array():
    g = npdiff.grad(lambda x: np.sum(np.asarray(x) ** 2))([1.0, 2.0])
    assert isinstance(g, np.ndarray) and g.shape == (2,)
    assert_close(g, [2.0, 4.0])
    # a ragged list of numbers is a list pytree (as in autograd) whose rectangular parts are arrays
    g = npdiff.grad(lambda x: x[1] * x[0][0])([[1.0], 2.0])
    assert isinstance(g, list) and np.shape(g[0]) == (1,)
    assert_close(g[0], [2.0])
    assert_close(g[1], 1.0)


# -- Jacobians and Hessians ---------------------------------------------------------------

def dict_to_dict(p):
    return {"u": p["a"] * p["b"], "v": np.sin(p["a"]) + p["c"][0]}


DD_P = {"a": rng.normal(size=3), "b": 0.7, "c": (rng.normal(size=3),)}


@pytest.mark.parametrize("op", [npdiff.jacfwd, npdiff.jacrev, npdiff.jacobian])
def test_jacobian_nests_output_outside_input_inside(op):
    J = op(dict_to_dict)(DD_P)
    assert list(J) == ["u", "v"] and list(J["u"]) == ["a", "b", "c"] and isinstance(J["v"]["c"], tuple)
    assert J["u"]["a"].shape == (3, 3) and np.shape(J["u"]["b"]) == (3,) and J["v"]["c"][0].shape == (3, 3)
    fd = fd_jacobian(dict_to_dict, [DD_P], 0)  # rows: u then v; columns: a, b, c[0]
    rows = {"u": slice(0, 3), "v": slice(3, 6)}
    cols = {"a": slice(0, 3), "b": slice(3, 4), "c": slice(4, 7)}
    for o in rows:
        for i in cols:
            block = J[o][i][0] if i == "c" else J[o][i]
            assert_close(np.reshape(block, (3, -1)), fd[rows[o], cols[i]], 1e-5, 1e-6, f"{o}/{i}")


def test_jacobian_with_argnums_tuple_gives_a_tuple_per_output_leaf():
    f = lambda p, x: {"y": p["a"] * x}
    p, x = {"a": rng.normal(size=2)}, rng.normal(size=2)
    J = npdiff.jacrev(f, argnums=(0, 1))(p, x)
    assert isinstance(J["y"], tuple) and isinstance(J["y"][0], dict)
    assert_close(J["y"][0]["a"], fd_jacobian(f, [p, x], 0))
    assert_close(J["y"][1], fd_jacobian(f, [p, x], 1))


def test_hessian_of_a_dict_is_a_dict_of_dicts():
    f = lambda p: np.sum(p["a"] ** 2 * p["b"]) + np.sum(np.sin(p["a"])) * p["b"] ** 2
    p = {"a": rng.normal(size=3), "b": 0.8}
    H = npdiff.hessian(f)(p)
    assert list(H) == ["a", "b"] and list(H["a"]) == ["a", "b"]
    g = npdiff.grad(f)
    grad_against_fd(f, [p], 0, g(p))
    fd = fd_jacobian(g, [p], 0)  # differences of the (checked) gradient
    flat = np.block([[H["a"]["a"], np.reshape(H["a"]["b"], (3, 1))],
                     [np.reshape(H["b"]["a"], (1, 3)), np.reshape(H["b"]["b"], (1, 1))]])
    assert_close(flat, fd, 1e-5, 1e-5)


def test_hvp_with_a_pytree_vector():
    f = lambda p: np.sum(p["a"] ** 3) * p["b"] + np.sum(p["a"]) * p["b"] ** 2
    p = {"a": rng.normal(size=3), "b": 0.8}
    v = {"b": -0.3, "a": rng.normal(size=3)}  # keys in another order: matched by key
    hv = npdiff.hvp(f)(p, v)
    g = npdiff.grad(f)
    fd = fd_jacobian(g, [p], 0) @ ravel({"a": v["a"], "b": v["b"]})[0]
    same_types(hv, p)
    assert_close(ravel(hv)[0], fd, 1e-5, 1e-5)
    with pytest.raises(TypeError, match="hvp: v must have the structure"):
        npdiff.hvp(f)(p, {"a": v["a"]})


def test_grad_of_grad_and_jacfwd_of_grad():
    f = lambda p: np.sum(p[0] ** 3) * p[1]
    p = (rng.normal(size=3), 1.3)
    g = npdiff.grad(f)
    gg = npdiff.grad(lambda q: np.sum(g(q)[0] ** 2))
    ref = lambda q: np.sum((3 * q[0] ** 2 * q[1]) ** 2)
    grad_against_fd(ref, [p], 0, gg(p))
    H = npdiff.jacfwd(g)(p)
    assert isinstance(H, tuple) and isinstance(H[0], tuple)
    fd = fd_jacobian(g, [p], 0)
    assert_close(np.block([[H[0][0], np.reshape(H[0][1], (3, 1))], [np.reshape(H[1][0], (1, 3)),
                                                                      np.reshape(H[1][1], (1, 1))]]), fd, 1e-5, 1e-5)


def test_grad_of_grad_with_namedtuples():
    f = lambda s: np.sum(s.pos ** 2 * s.vel)
    s = State(rng.normal(size=2), rng.normal(size=2))
    gg = npdiff.grad(lambda t: np.sum(npdiff.grad(f)(t).pos ** 2))
    ref = lambda t: np.sum((2 * t.pos * t.vel) ** 2)
    out = gg(s)
    assert type(out) is State
    grad_against_fd(ref, [s], 0, out)


# -- jvp, vjp, linearize ---------------------------------------------------------------------

def test_jvp_with_pytree_primals_and_tangents():
    p = {"a": rng.normal(size=3), "b": 0.7, "c": (rng.normal(size=3),)}
    t = {"c": (rng.normal(size=3),), "a": rng.normal(size=3), "b": 0.2}
    out, tout = npdiff.jvp(dict_to_dict, (p,), (t,))
    assert_tree_close(out, dict_to_dict(p))
    tvec = ravel({"a": t["a"], "b": t["b"], "c": t["c"]})[0]
    assert_close(ravel(tout)[0], fd_jacobian(dict_to_dict, [p], 0) @ tvec, 1e-5, 1e-6)
    with pytest.raises(TypeError, match=r"jvp: tangent 0 must have the structure of a dict with keys"):
        npdiff.jvp(dict_to_dict, (p,), ({"a": t["a"], "b": 0.2},))
    with pytest.raises(ValueError, match=r"tangent 0\['a'\] has shape \(2,\)"):
        npdiff.jvp(dict_to_dict, (p,), ({"a": np.ones(2), "b": 0.2, "c": t["c"]},))


def test_vjp_pullback_takes_the_output_structure_and_returns_primal_structures():
    f = lambda p, x: {"y": p["a"] * x, "z": (np.sum(p["a"] ** 2),)}
    p, x = {"a": rng.normal(size=3)}, rng.normal(size=3)
    _out, pullback = npdiff.vjp(f, p, x)
    ct = {"z": (0.7,), "y": rng.normal(size=3)}
    gp, gx = pullback(ct)
    assert isinstance(gp, dict) and list(gp) == ["a"]
    cvec = ravel({"y": ct["y"], "z": ct["z"]})[0]
    assert_close(gp["a"], cvec @ fd_jacobian(f, [p, x], 0), 1e-5, 1e-6)
    assert_close(gx, cvec @ fd_jacobian(f, [p, x], 1), 1e-5, 1e-6)
    with pytest.raises(TypeError, match="vjp: the pullback takes one cotangent"):
        pullback({"y": ct["y"]})


def test_vjp_with_namedtuple_primal():
    f = lambda s: s.pos * s.vel
    s = State(rng.normal(size=2), rng.normal(size=2))
    _, pullback = npdiff.vjp(f, s)
    (g,) = pullback(np.ones(2))
    assert type(g) is State
    assert_close(ravel(g)[0], np.ones(2) @ fd_jacobian(f, [s], 0))


def test_linearize_takes_pytree_tangents():
    p = {"a": rng.normal(size=3), "b": 0.7, "c": (rng.normal(size=3),)}
    _out, f_jvp = npdiff.linearize(dict_to_dict, p)
    t = {"a": rng.normal(size=3), "b": -0.4, "c": (rng.normal(size=3),)}
    assert_close(ravel(f_jvp(t))[0], fd_jacobian(dict_to_dict, [p], 0) @ ravel(t)[0], 1e-5, 1e-6)
    with pytest.raises(TypeError, match="linearize: tangent 0 must have the structure"):
        f_jvp([t["a"]])


# -- caching, specialisation, pickling, guards ----------------------------------------------

def test_structure_is_part_of_the_cache_key():
    f = lambda p: np.sum(p[0] * 2.0) + np.sum(p[1] * 3.0) if isinstance(p, (tuple, list)) else \
        np.sum(p["a"] * 2.0) + np.sum(p["b"] * 3.0)
    g = npdiff.grad(f)
    a, b = np.ones(2), np.ones(2)
    assert isinstance(g((a, b)), tuple)
    assert isinstance(g([a, b]), list)
    r1 = g({"a": a, "b": b})
    r2 = g({"b": b, "a": a})  # other key order: its own code, the same derivative per key
    assert_close(r1["a"], 2 * a)
    assert_close(r2["a"], 2 * a)
    assert_close(r2["b"], 3 * b)
    h = npdiff.grad(lambda p: np.sum(p["x"] * 2.0) + np.sum(p["y"] ** 2))
    assert_close(h({"x": a, "y": b})["x"], 2 * a)
    with pytest.raises(KeyError):
        h({"a": a, "b": b})  # same leaf shapes, other keys: traced anew (and the function fails on them)
    info = g.cache_info()
    assert info.currsize == 4
    assert any(isinstance(s[0], dict) for s in info.specializations)


def test_generated_code_is_flat_with_leaf_names():
    g = npdiff.grad(mlp_loss)
    g(MLP_PARAMS, MLP_X, MLP_Y)
    assert "def grad_mlp_loss(params_0_0, params_0_1, params_1_0, params_1_1, x, labels)" in g.source
    d = npdiff.grad(dict_loss)
    d(DICT_P)
    assert "(p_w, p_b, p_s)" in d.source


def test_specialize_with_a_pytree_argument_pickles():
    f = lambda s: np.sum(s.pos ** 2 * s.vel)
    s = State(rng.normal(size=3), rng.normal(size=3))
    gf = npdiff.grad(f).specialize(State(npdiff.ShapeDtype((3,)), npdiff.ShapeDtype((3,))))
    g = pickle.loads(pickle.dumps(gf))(s)
    assert type(g) is State
    grad_against_fd(f, [s], 0, g)
    assert "pos" in gf.source
    with pytest.raises(TypeError, match="must have the structure of a State"):
        gf({"pos": s.pos, "vel": s.vel})


def test_specialize_and_numpify_with_example_pytrees():
    gf = npdiff.grad(dict_loss).specialize(DICT_P)
    grad_against_fd(dict_loss, [DICT_P], 0, gf(DICT_P))
    nf = npdiff.numpify(dict_loss, {"w": (3,), "b": (2,), "s": npdiff.ShapeDtype(())})
    assert_close(nf(DICT_P), dict_loss(DICT_P))
    assert_close(pickle.loads(pickle.dumps(nf))(DICT_P), dict_loss(DICT_P))


def test_guards_on_values_with_pytree_arguments():
    def f(p):
        if p["a"][0] > 0:
            return np.sum(p["a"] ** 2) * p["b"]
        return np.sum(np.sin(p["a"])) * p["b"]

    g = npdiff.grad(f)
    for a0 in (1.0, -1.0, 2.0):
        p = {"a": np.array([a0, 0.5]), "b": 1.5}
        grad_against_fd(f, [p], 0, g(p))
    assert g.cache_info().paths == (2,)


def test_operators_without_pytree_support_refuse_clearly():
    with pytest.raises(TypeError, match="takes array arguments; got a dict"):
        npdiff.grad_and_value(lambda p: np.sum(p["a"]))({"a": np.ones(2)})


def test_has_aux_with_pytree_arguments():
    f = lambda p: (np.sum(p["a"] ** 2) * p["s"], {"r": p["a"] * 2})
    p = {"a": rng.normal(size=3), "s": 0.5}
    g, aux = npdiff.grad(f, has_aux=True)(p)
    assert_close(aux["r"], p["a"] * 2)
    grad_against_fd(lambda q: f(q)[0], [p], 0, g)
    J, aux2 = npdiff.jacrev(lambda q: (q["a"] * q["s"], q["s"]), has_aux=True)(p)
    assert_close(aux2, p["s"])
    assert_close(J["a"], fd_jacobian(lambda q: q["a"] * q["s"], [p], 0)[:, :3])


def test_hvp_with_argnums_mixing_pytree_and_array():
    f = lambda p, x: np.sum(p["w"] ** 2 * x ** 3)
    p, x = {"w": rng.normal(size=2)}, rng.normal(size=2)
    vp, vx = {"w": rng.normal(size=2)}, rng.normal(size=2)
    hp, hx = npdiff.hvp(f, argnums=(0, 1))(p, x, vp, vx)
    assert isinstance(hp, dict)
    gw = npdiff.grad(f, argnums=(0, 1))
    z = np.concatenate([p["w"], x])  # (w, x) as one vector: the gradient checked, then differenced
    grad_against_fd(lambda zz: f({"w": zz[:2]}, zz[2:]), [z], 0, ravel(gw(p, x))[0])
    H = fd_jacobian(lambda zz: ravel(gw({"w": zz[:2]}, zz[2:]))[0], [z], 0)
    ref = H @ np.concatenate([vp["w"], vx])
    assert_close(np.concatenate([hp["w"], hx]), ref, 1e-5, 1e-5)


def test_eager_operators_follow_value_branches_with_pytrees():
    def f(p):
        return p["a"] ** 2 if p["a"][0] > 0 else np.sin(p["a"]) * p["b"]

    for a0 in (1.0, -1.0):
        p = {"a": np.array([a0, 0.3]), "b": 2.0}
        _, pullback = npdiff.vjp(f, p)
        (g,) = pullback(np.ones(2))
        assert_close(ravel(g)[0], np.ones(2) @ fd_jacobian(f, [p], 0))
        t = {"a": np.array([0.5, -1.0]), "b": 0.25}
        _, tout = npdiff.jvp(f, (p,), (t,))
        assert_close(tout, fd_jacobian(f, [p], 0) @ ravel(t)[0])


def test_cached_call_path_takes_lists_floats_and_arrays_alike():
    f = lambda p: np.sum(np.asarray(p[0]) ** 2) * p[1]
    g = npdiff.grad(f)
    for p in [(np.array([1.0, 2.0]), 3.0), ([1.0, 2.0], 3.0), (np.array([1.0, 2.0]), np.float64(3.0))]:
        r = g(p)
        assert_close(r[0], [6.0, 12.0])
        assert_close(r[1], 5.0)
    g.cache_clear()
    assert g.cache_info().currsize == 0
    assert_close(g((np.array([1.0, 2.0]), 3.0))[0], [6.0, 12.0])


def test_function_returning_a_namedtuple_of_a_pytree_argument():
    f = lambda s: State(s.pos * 2.0, s.vel ** 2)
    s = State(rng.normal(size=2), rng.normal(size=2))
    J = npdiff.jacfwd(f)(s)
    assert type(J) is State and type(J.pos) is State
    assert_close(J.vel.vel, np.diag(2 * s.vel))
    out, tout = npdiff.jvp(f, (s,), (State(np.ones(2), np.ones(2)),))
    assert type(out) is State and type(tout) is State
    assert_close(tout.vel, 2 * s.vel)


def test_check_grads_takes_pytree_arguments():
    npdiff.check_grads(dict_loss, (DICT_P,), order=2)

    @npdiff.custom_jvp
    def bad(x):
        return np.sin(x)
    bad.defjvp(lambda primals, tangents: (np.sin(primals[0]), 2.0 * tangents[0]))
    with pytest.raises(AssertionError, match="derivative mismatch"):
        npdiff.check_grads(lambda p: np.sum(bad(p["a"])) * p["s"], ({"a": np.ones(2), "s": 2.0},), order=1)


def test_a_string_leaf_is_refused_naming_it():
    with pytest.raises(TypeError, match=r"argument \"p\['n'\]\" has dtype <U3"):
        npdiff.grad(lambda p: p["x"] * 2.0)({"x": 1.0, "n": "abc"})


def test_array_api_backend_with_pytree_arguments():
    pytest.importorskip("array_api_compat")
    g = npdiff.grad(dict_loss, backend="array_api")
    p = dict(DICT_P, s=np.array(1.5))  # the array-API code takes arrays (no Python floats)
    grad_against_fd(dict_loss, [p], 0, g(p))


def test_specialized_pytree_code_checks_its_path():
    def f(p):
        return np.sum(p["a"] ** 2) if p["a"][0] > 0 else np.sum(p["a"] ** 3)

    gf = npdiff.grad(f).specialize({"a": np.array([1.0, 2.0])})
    assert_close(gf({"a": np.array([3.0, 1.0])})["a"], [6.0, 2.0])
    with pytest.raises(npdiff.PathChangedError):
        gf({"a": np.array([-1.0, 2.0])})
