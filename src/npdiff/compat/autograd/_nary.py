"""autograd's argument conventions on npdiff's operators: ``argnum``, containers, keyword arguments.

autograd differentiates ``fun`` with respect to ``args[argnum]`` (or the tuple
of ``args[i]`` for a tuple ``argnum``), where a list, tuple or dict argument is
a container whose every element (Python floats included) is differentiated and
whose gradient has the same structure. The other arguments pass through
untouched. ``Flat`` maps such a call onto one npdiff operator of a flat
function: one argument per differentiated leaf, then the other arguments that
are arrays or floats (so new values reuse the generated code); arguments that
are not (ints, strings, functions, lists of ints: ``static``) and keyword
arguments are closed over and make part of the cache key, by value. A static
argument that cannot be keyed by value (a user object, a list mixing arrays and
ints) is closed over for this call only: the operator is built again on each
call, which is correct (a mutated object is never served stale code) but slower.
"""
from __future__ import annotations

import types
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from ...ir.pytree import tree_flatten, tree_unflatten

_ARRAYISH = (np.ndarray, np.floating, np.complexfloating, float, complex)
_VALUE = (type(None), bool, int, str, bytes, np.integer, np.bool_, type, types.FunctionType,
          types.BuiltinFunctionType, types.MethodType, np.ufunc)
_NOKEY = object()
CACHE_SIZE = 64  # operators kept per autograd-style operator (least recently used evicted)


def _dynamic(x) -> bool:
    """Return True if x can be an operator argument: an array, a float, or a container of only those."""
    if isinstance(x, _ARRAYISH) and not isinstance(x, bool):
        return True
    if isinstance(x, (list, tuple, dict)):
        leaves = tree_flatten(x)[0]
        return bool(leaves) and all(isinstance(l, _ARRAYISH) for l in leaves)
    return False


def value_key(x) -> Any:
    """Return a hashable key equal for equal values of x (ints, strings, functions, containers of them), or _NOKEY."""
    if isinstance(x, _VALUE):
        return (type(x), x)
    if isinstance(x, (list, tuple, dict)) or x is None:
        leaves, td = tree_flatten(x)
        keys = [value_key(l) for l in leaves]
        if any(k is _NOKEY for k in keys):
            return _NOKEY
        try:
            hash(td)
        except TypeError:
            return _NOKEY
        return ("tree", td, tuple(keys))
    return _NOKEY


class Flat:
    """One call's split: the flat function, its arguments and how results regroup into autograd's structures."""

    def __init__(self, fun: Callable, argnum, args: tuple, kwargs: dict, reshape_scalar: bool = False):
        self.multi = isinstance(argnum, (tuple, list))
        self.nums = tuple(argnum) if self.multi else (argnum,)
        if not all(isinstance(i, int) for i in self.nums):
            raise TypeError(f"argnum must be an int or a tuple of ints, got {argnum!r}")
        leaves, self.defs, self.counts = [], [], []
        for i in self.nums:
            ls, d = tree_flatten(args[i])
            leaves += ls
            self.defs.append(d)
            self.counts.append(len(ls))
        self.nwrt = len(leaves)
        wrt = set(self.nums)
        dyn, static, toks = [], {}, []
        for j, a in enumerate(args):
            if j in wrt:
                continue
            if _dynamic(a):
                dyn.append(j)
                toks.append(("d", j))
            else:
                static[j] = a
                toks.append(("s", j, value_key(a)))
        kw = tuple(sorted((k, value_key(v)) for k, v in kwargs.items()))
        self.key = (len(args), self.nums, tuple(self.defs), tuple(toks), kw, reshape_scalar)
        if any(t[0] == "s" and t[2] is _NOKEY for t in toks) or any(k is _NOKEY for _, k in kw):
            self.key = None  # not cacheable by value: closed over for this call only
        self.values = leaves + [args[j] for j in dyn]
        nums, defs, counts, n, kwargs = self.nums, self.defs, self.counts, len(args), dict(kwargs)

        def flat(*vals):
            full = [static.get(j) for j in range(n)]
            k = 0
            for i, d, c in zip(nums, defs, counts):
                full[i] = tree_unflatten(d, vals[k:k + c])
                k += c
            for j, v in zip(dyn, vals[k:]):
                full[j] = v
            out = fun(*full, **kwargs)
            if reshape_scalar and np.ndim(out) and np.size(out) == 1:  # autograd's grad takes any one-element output
                out = np.reshape(out, ())
            return out
        flat.__name__ = getattr(fun, "__name__", "fun")
        self.fun = flat

    def regroup(self, leaf_values) -> Any:
        """Return per-leaf results put back into the differentiated arguments' structures."""
        leaf_values = list(leaf_values)
        parts, k = [], 0
        for d, c in zip(self.defs, self.counts):
            parts.append(tree_unflatten(d, leaf_values[k:k + c]))
            k += c
        return tuple(parts) if self.multi else parts[0]


class Cached:
    """Operators built by ``make(flat function, number of differentiated leaves)``, cached per Flat key."""

    def __init__(self, make: Callable):
        self.make = make
        self.ops: OrderedDict = OrderedDict()

    def get(self, call: Flat):
        """Return the operator for this call (built once per key; uncacheable calls build a fresh one)."""
        if call.key is None:
            return self.make(call.fun, call.nwrt)
        op = self.ops.get(call.key)
        if op is None:
            op = self.make(call.fun, call.nwrt)
            self.ops[call.key] = op
            if len(self.ops) > CACHE_SIZE:
                self.ops.popitem(last=False)
        else:
            self.ops.move_to_end(call.key)
        return op
