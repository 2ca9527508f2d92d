"""autograd.misc.flatten on npdiff.tree_util: nested tuples, lists and dicts of arrays to one vector and back."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ....ir.pytree import tree_flatten, tree_unflatten
from ....tree_util import ravel_pytree

_SCALARS = (float, complex, int)


def _sorted(value):
    """Return value with every dict's keys in sorted order (autograd's flatten orders dict entries by key)."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_sorted(v) for v in value)
    return value


def flatten(value) -> tuple[Any, Callable[[Any], Any]]:
    """Return (flat 1-d array, unflatten): the leaves raveled in order (dicts by sorted key), and its inverse.

    ``unflatten`` gives Python numbers back where ``value`` held Python numbers
    (when the vector is a plain array; a traced vector gives 0-d arrays).
    """
    value = _sorted(value)
    flat, unravel = ravel_pytree(value)
    kinds = [type(l) if type(l) in _SCALARS else None for l in tree_flatten(value)[0]]
    if not any(kinds):
        return flat, unravel

    def unflatten(vector):
        tree = unravel(vector)
        if type(vector) is not np.ndarray:
            return tree
        leaves, s = tree_flatten(tree)
        return tree_unflatten(s, [k(l) if k is not None else l for k, l in zip(kinds, leaves)])
    return flat, unflatten


def flatten_func(func: Callable, example) -> tuple[Callable, Callable, Any]:
    """Return (flat func, unflatten, flat example): func on a flat vector, its output flattened too."""
    flat_example, unflatten = flatten(example)

    def flat_func(x, *args):
        return flatten(func(unflatten(x), *args))[0]
    return flat_func, unflatten, flat_example
