"""npdiff.tree_util (flatten, map, registered nodes, ravel_pytree) and npdiff.stop_gradient."""
from __future__ import annotations

import collections

import numpy as np
import pytest

import npdiff
from npdiff import tree_util as tu
from util import assert_close, fd_jac


class Params:
    """A user class registered as a pytree node (aux: its name, hashable)."""

    def __init__(self, w, b, name="p"):
        self.w, self.b, self.name = w, b, name


tu.register_pytree_node(Params, lambda p: ((p.w, p.b), p.name), lambda name, ch: Params(*ch, name=name))
Point = collections.namedtuple("Point", "x y")


def test_flatten_unflatten_round_trip():
    tree = {"a": np.ones(2), "b": [1.0, (np.zeros(3), None)], "c": Point(2.0, np.eye(2)),
            "d": Params(np.arange(2.0), 4.0, "q")}
    leaves, td = tu.tree_flatten(tree)
    assert len(leaves) == tu.treedef_num_leaves(td) == 7
    back = tu.tree_unflatten(td, leaves)
    assert isinstance(back["c"], Point) and isinstance(back["d"], Params) and back["d"].name == "q"
    assert back["b"][1][1] is None and tu.tree_leaves(back)[3] is leaves[3]
    assert tu.tree_structure(back) == td
    with pytest.raises(ValueError, match="leaves"):
        tu.tree_unflatten(td, leaves[:-1])


def test_tree_map_over_several_trees_and_is_leaf():
    a = {"x": np.ones(2), "y": [1.0, 2.0]}
    b = {"x": np.full(2, 3.0), "y": [10.0, 20.0]}
    out = tu.tree_map(lambda u, v: u + v, a, b)
    assert_close(out["x"], np.full(2, 4.0), 0, 0)
    assert out["y"] == [11.0, 22.0]
    with pytest.raises(ValueError, match="structure"):
        tu.tree_map(lambda u, v: u, a, {"x": 1.0})
    assert tu.tree_map(len, {"k": [1, 2, 3]}, is_leaf=lambda t: isinstance(t, list)) == {"k": 3}


def test_registered_node_as_operator_argument():
    f = lambda p: np.sum(np.sin(p.w) * p.b) + p.b ** 2
    p = Params(np.array([0.3, -1.2, 2.0]), 1.5, "layer")
    g = npdiff.grad(f)(p)
    assert isinstance(g, Params) and g.name == "layer"
    assert_close(g.w, np.cos(p.w) * p.b, 1e-12, 1e-12)
    assert_close(g.b, np.sum(np.sin(p.w)) + 2 * p.b, 1e-12, 1e-12)
    p2 = Params(p.w + 1.0, 0.5, "layer")  # the cached path: another value, the same structure
    assert_close(npdiff.grad(f)(p2).w, np.cos(p2.w) * 0.5, 1e-12, 1e-12)
    v, g3 = npdiff.value_and_grad(f)(p2)
    assert_close(v, f(p2), 1e-12, 1e-12)
    assert isinstance(g3, Params)
    _, t = npdiff.jvp(f, (p,), (Params(np.ones(3), 0.0, "layer"),))
    assert_close(t, np.sum(np.cos(p.w) * p.b), 1e-12, 1e-12)


def test_registered_node_as_output():
    f = lambda d: Params(d["x"] * 2.0, np.sum(d["x"]), "out")
    J = npdiff.jacrev(f)({"x": np.array([1.0, 2.0])})  # pytree arguments: the output's nodes are rebuilt
    assert isinstance(J, Params) and J.name == "out"
    assert_close(J.w["x"], 2.0 * np.eye(2), 0, 0)
    assert_close(J.b["x"], np.ones(2), 0, 0)
    with pytest.raises(TypeError, match="registered pytree node"):  # array arguments: refused, never mangled
        npdiff.jacrev(lambda x: Params(x, np.sum(x)))(np.array([1.0, 2.0]))


def test_ravel_pytree_round_trip_and_dtypes():
    tree = {"W": np.arange(6.0).reshape(2, 3), "b": [np.float32(1.5), np.zeros(2, np.float32)], "s": 2.0}
    flat, unravel = tu.ravel_pytree(tree)
    assert flat.shape == (10,) and flat.dtype == np.float64
    back = unravel(flat)
    assert back["W"].shape == (2, 3) and back["b"][1].dtype == np.float32 and float(back["s"]) == 2.0
    assert_close(back["W"], tree["W"], 0, 0)
    with pytest.raises(ValueError, match="shape"):
        unravel(flat[:-1])
    empty, un = tu.ravel_pytree({})
    assert empty.shape == (0,) and un(empty) == {}


def test_ravel_pytree_feeds_scipy_minimize():
    optimize = pytest.importorskip("scipy.optimize")
    target = {"a": np.array([1.0, -2.0]), "b": {"c": np.array([[0.5], [3.0]])}}
    params = tu.tree_map(np.zeros_like, target)
    flat0, unravel = tu.ravel_pytree(params)

    def loss(theta):
        p = unravel(theta)
        return np.sum((p["a"] - target["a"]) ** 2) + np.sum((p["b"]["c"] - target["b"]["c"]) ** 4)
    vg = npdiff.value_and_grad(loss)
    assert_close(npdiff.grad(loss)(flat0 + 0.1), fd_jac(loss, [flat0 + 0.1], 0).ravel(), 1e-6, 1e-6)
    res = optimize.minimize(vg, flat0, jac=True, method="BFGS")
    best = unravel(res.x)
    assert_close(best["a"], target["a"], 1e-4, 1e-4)
    assert_close(best["b"]["c"], target["b"]["c"], 3e-2, 3e-2)


def test_stop_gradient_zero_derivative_in_every_mode():
    x = np.array([0.5, -1.0, 2.0])
    f = lambda x: np.sum(npdiff.stop_gradient(x) * x ** 2)  # derivative: stop(x) * 2x = 2x^2
    assert_close(npdiff.grad(f)(x), 2 * x ** 2, 1e-12, 1e-12)
    assert_close(npdiff.jvp(f, (x,), (np.ones(3),))[1], np.sum(2 * x ** 2), 1e-12, 1e-12)
    assert_close(npdiff.hessian(f)(x), np.diag(2 * x), 1e-12, 1e-12)  # d/dx (2 stop(x) x) = 2 stop(x)
    assert_close(npdiff.grad(lambda x: np.sum(npdiff.stop_gradient(x ** 2)))(x), np.zeros(3), 0, 0)


def test_stop_gradient_on_plain_values_and_pytrees():
    x = np.arange(3.0)
    assert npdiff.stop_gradient(x) is x
    f = lambda d: np.sum(npdiff.stop_gradient({"a": d["a"]})["a"] * d["a"]) + np.sum(d["b"])
    g = npdiff.grad(f)({"a": x, "b": np.ones(2)})
    assert_close(g["a"], x, 0, 0)
    assert_close(g["b"], np.ones(2), 0, 0)
