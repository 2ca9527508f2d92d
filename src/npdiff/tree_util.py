"""Pytrees for users: nested tuples, lists, dicts, namedtuples and registered classes of arrays.

``tree_flatten`` / ``tree_unflatten`` / ``tree_map`` / ``tree_leaves`` work on
the same trees npdiff's operators accept as arguments (``grad(loss)(params)``
with ``params`` a dict returns a dict). ``register_pytree_node`` adds a class:
its instances are then containers everywhere, operator arguments included.
``ravel_pytree`` turns a tree of arrays into one flat vector and back, e.g. to
hand dict parameters to ``scipy.optimize.minimize``.

Differences from JAX's ``jax.tree_util``: dict keys keep their insertion order
(JAX sorts them); ``None`` is an empty subtree, as in JAX; a structure is an
opaque hashable value (``PyTreeDef``-like), compared with ``==``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .ir.pytree import num_leaves, register_node
from .ir.pytree import tree_flatten as _flatten
from .ir.pytree import tree_unflatten as _unflatten

__all__ = ["tree_flatten", "tree_unflatten", "tree_leaves", "tree_structure", "tree_map", "register_pytree_node",
           "ravel_pytree", "treedef_num_leaves"]


def tree_flatten(tree, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list, Any]:
    """Return (leaves, treedef): the tree's leaves in order and its structure (``is_leaf(x)``: keep x whole)."""
    return _flatten(tree, is_leaf)


def tree_unflatten(treedef, leaves) -> Any:
    """Return the tree of structure ``treedef`` holding ``leaves`` in order."""
    leaves = list(leaves)
    n = num_leaves(treedef)
    if len(leaves) != n:
        raise ValueError(f"tree_unflatten: the structure has {n} leaves, got {len(leaves)}")
    return _unflatten(treedef, leaves)


def tree_leaves(tree, is_leaf: Callable[[Any], bool] | None = None) -> list:
    """Return the tree's leaves in order."""
    return _flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Return the tree's structure (treedef)."""
    return _flatten(tree, is_leaf)[1]


def treedef_num_leaves(treedef) -> int:
    """Return the number of leaves of a structure."""
    return num_leaves(treedef)


def tree_map(f: Callable, tree, *rest, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Return the tree of f(leaf, *matching leaves of rest); the trees in rest must have tree's structure."""
    leaves, treedef = _flatten(tree, is_leaf)
    others = []
    for r in rest:
        rl, rd = _flatten(r, is_leaf)
        if rd != treedef:
            raise ValueError(f"tree_map: a tree of another structure: {rd} vs {treedef}")
        others.append(rl)
    return _unflatten(treedef, [f(*xs) for xs in zip(leaves, *others)])


def register_pytree_node(nodetype: type, flatten_func: Callable, unflatten_func: Callable) -> None:
    """Register a class as a pytree node (JAX's signature); return None.

    ``flatten_func(obj) -> (children, aux_data)`` with ``aux_data`` hashable;
    ``unflatten_func(aux_data, children) -> obj``. Instances then flatten to
    their children's leaves everywhere, and may be operator arguments
    (``grad(f)(obj)`` returns an instance holding the gradient). unflatten_func
    must accept any values as children (traced values, gradients).
    """
    register_node(nodetype, flatten_func, unflatten_func)


def ravel_pytree(tree) -> tuple[np.ndarray, Callable[[Any], Any]]:
    """Return (flat, unravel): the leaves raveled and concatenated into one 1-d array, and its inverse.

    ``flat`` has the leaves' common dtype (NumPy's promotion); ``unravel(v)``
    splits a vector of ``flat``'s size back into a tree of the original shapes
    and dtypes. Both are plain NumPy, so they can be traced (a loss written on
    ``unravel(theta)`` is differentiated in ``theta``).
    """
    leaves, treedef = _flatten(tree)
    shapes = [np.shape(x) for x in leaves]
    dtypes = [np.result_type(x) for x in leaves]
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    bounds = np.cumsum([0] + sizes).tolist()
    dtype = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
    flat = np.concatenate([np.ravel(x) for x in leaves]).astype(dtype, copy=False) if leaves \
        else np.zeros(0, dtype)

    def unravel(v):
        """Return the tree of ``v`` (a vector of the flat size) split back into the original leaves."""
        if np.shape(v) != (bounds[-1],):
            raise ValueError(f"unravel: expected a vector of shape ({bounds[-1]},), got shape {np.shape(v)}")
        vdt = v.dtype if hasattr(v, "dtype") else np.result_type(v)
        parts = []
        for shape, dt, a, b in zip(shapes, dtypes, bounds[:-1], bounds[1:]):
            part = np.reshape(v[a:b], shape)
            parts.append(part if vdt == dt else part.astype(dt))
        return _unflatten(treedef, parts)
    return flat, unravel
