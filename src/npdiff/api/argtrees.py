"""Pytree arguments: nested tuples, lists, dicts and namedtuples of arrays as operator arguments.

The operators' code is generated flat, one argument per leaf; this module
flattens the arguments (``flatten_args``), names the leaves (``leaf_names``:
``params_0_W``), rebuilds the trees of input nodes the operators' builds
receive (``tree_build``), matches tangents and cotangents to a structure
(``leaves_like``) and wraps flat generated code into a picklable callable
taking the trees (``TreeFunction``). A (nested) list or tuple of plain
numbers stays one array argument, as before.
"""
from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..ir.pytree import LEAF, NODES, children, has_namedtuple, is_node, plain_structure, restore, tree_flatten, tree_paths, tree_unflatten
from ..tracing.tracer import trace
from .checks import _describe

CONTAINERS = (tuple, list, dict)
_NUMBERS = (bool, int, float, complex, np.generic)


def _literal_shape(x):
    """Return the shape of x as an array literal (a number, or a rectangular nested list/tuple of numbers), or None."""
    if isinstance(x, _NUMBERS):
        return ()
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        if not x:
            return (0,)
        first = _literal_shape(x[0])
        if first is None or any(_literal_shape(e) != first for e in x[1:]):
            return None
        return (len(x),) + first
    return None


def arg_leaf(x) -> bool:
    """Return True if x is one array argument: not a container, or a rectangular nested list/tuple of numbers."""
    if not isinstance(x, CONTAINERS):
        return x is not None and not is_node(x)  # None is an empty pytree
    return not isinstance(x, dict) and _literal_shape(x) is not None


def is_tree_call(args) -> bool:
    """Return True if some argument is a pytree (a dict, a namedtuple, a list/tuple holding arrays or containers)."""
    return any((isinstance(a, CONTAINERS) or a is None or is_node(a)) and not arg_leaf(a) for a in args)


_F64 = ((), np.dtype(np.float64))
_PLAIN_SCALARS = (bool, int, complex, np.generic)


def fast_key(args):
    """Return (leaves, key, all leaves are ndarrays) for a call's arguments, or None (traced or unusual leaves).

    ``key`` is one flat tuple: the containers in prefix order (kind, dict keys or
    length, namedtuple class) and each leaf's (shape, dtype), so it determines
    the structures and leaf avals, and hashes fast (the cached call path).
    """
    leaves: list = []
    toks: list = []
    nd = True

    def rec(t):
        nonlocal nd
        c = t.__class__
        if c is np.ndarray:
            leaves.append(t)
            toks.append((t.shape, t.dtype))
        elif c is dict:
            toks.append(("d",) + tuple(t))
            for v in t.values():
                if v.__class__ is np.ndarray:
                    leaves.append(v)
                    toks.append((v.shape, v.dtype))
                else:
                    rec(v)
        elif c is float:
            leaves.append(t)
            toks.append(_F64)
            nd = False
        elif c is tuple or c is list:
            shape = _literal_shape(t)
            if shape is None:
                toks.append(("t" if c is tuple else "l", len(t)))
                for e in t:
                    rec(e)
            else:
                a = np.asarray(t)
                leaves.append(t)
                toks.append((a.shape, a.dtype))
                nd = False
        elif t is None:
            toks.append(("0",))
        elif isinstance(t, tuple) and hasattr(t, "_fields"):
            toks.append(("n", c))
            for e in t:
                rec(e)
        elif c in NODES:  # a registered class: its class and aux data, then its children
            kids, aux = NODES[c][0](t)
            toks.append(("c", c, aux))
            for e in kids:
                rec(e)
        elif isinstance(t, _PLAIN_SCALARS):
            a = np.asarray(t)
            leaves.append(t)
            toks.append((a.shape, a.dtype))
            nd = False
        else:
            raise LookupError  # a tracer, trace buffer or another library's array: the general path

    try:
        for a in args:
            rec(a)
    except LookupError:
        return None
    return leaves, tuple(toks), nd


def flatten_args(args, is_leaf: Callable = arg_leaf) -> tuple[list, tuple]:
    """Return (the leaves of all arguments in order, the structure of each argument)."""
    leaves, defs = [], []
    for a in args:
        ls, s = tree_flatten(a, is_leaf)
        leaves += ls
        defs.append(s)
    return leaves, tuple(defs)


def unflatten_args(defs, leaves) -> list:
    """Return the argument trees of these structures, filled with leaves in order."""
    out, it = [], iter(leaves)
    for s in defs:
        out.append(next(it) if s == LEAF else tree_unflatten(s, it))
    return out


def _ident(k) -> str:
    s = "".join(c if c.isalnum() or c == "_" else "_" for c in str(k)).strip("_")
    return s or "k"


def leaf_names(names, defs) -> list[str]:
    """Return one distinct identifier per leaf: the argument's name, then its path (``params_0_W``)."""
    out, seen = [], set(names)
    for name, s in zip(names, defs):
        if s == LEAF:
            out.append(name)
            continue
        for path in tree_paths(s):
            nm = "_".join([name] + [_ident(p) for p in path])
            while nm in seen:
                nm += "_"
            seen.add(nm)
            out.append(nm)
    return out


def _label(path) -> str:
    return "".join(f"[{p!r}]" for p in path)


def leaf_labels(names, defs) -> list[str]:
    """Return, per leaf, how the user names it: ``params['W']``, ``params[0][1]``, or just ``x``."""
    out = []
    for name, s in zip(names, defs):
        out += [name] if s == LEAF else [name + _label(p) for p in tree_paths(s)]
    return out


def _kind(s) -> str:
    kind = s[0]
    if kind == "dict":
        return f"a dict with keys {list(s[1])}"
    if kind == "namedtuple":
        return f"a {s[1].__name__} (namedtuple)"
    if kind == "node":
        return f"a {s[1].__name__} (registered pytree node)"
    if kind in ("tuple", "list"):
        return f"a {kind} of {len(s[1])} items"
    return "None" if kind == "none" else "an array"


def leaves_like(tree, structure, what: str, op: str) -> list:
    """Return tree's leaves in the order of ``structure``, refusing another structure (naming where).

    Dicts match by key (in any order); a tuple, list or namedtuple matches any of
    them with as many items.
    """
    leaves: list = []

    def fail(path, s, t):
        where = f" at {what}{_label(path)}" if path else ""
        raise TypeError(f"{op}: {what} must have the structure of {_describe_struct(structure)}; "
                        f"expected {_kind(s)}{where}, got {_describe(t)}")

    def rec(t, s, path):
        kind = s[0]
        if kind == "leaf":
            if isinstance(t, dict) or t is None or (isinstance(t, (list, tuple)) and not arg_leaf(t)):
                fail(path, s, t)
            leaves.append(t)
        elif kind == "none":
            if t is not None:
                fail(path, s, t)
        elif kind == "dict":
            if not isinstance(t, dict) or set(t) != set(s[1]):
                fail(path, s, t)
            for k, c in zip(s[1], s[2]):
                rec(t[k], c, path + (k,))
        elif kind == "node":
            if t.__class__ is not s[1]:
                fail(path, s, t)
            kids, _ = NODES[s[1]][0](t)
            if len(kids) != len(s[3]):
                fail(path, s, t)
            for i, (e, c) in enumerate(zip(kids, children(s))):
                rec(e, c, path + (i,))
        else:
            items = s[2] if kind == "namedtuple" else s[1]
            if not isinstance(t, (list, tuple)) or len(t) != len(items):
                fail(path, s, t)
            for i, (e, c) in enumerate(zip(t, items)):
                rec(e, c, path + (i,))

    rec(tree, structure, ())
    return leaves


def _describe_struct(s) -> str:
    return "an array" if s == LEAF else _kind(s)


def gather(trees, idx) -> tuple[list, Callable]:
    """Return (the leaves of trees[i] for i in idx, regroup): regroup(values per leaf) -> one tree per i."""
    leaves, parts = [], []
    for i in idx:
        ls, s = tree_flatten(trees[i])
        parts.append((s, len(leaves), len(leaves) + len(ls)))
        leaves += ls

    def regroup(values) -> list:
        return [values[a] if s == LEAF else tree_unflatten(s, values[a:b]) for s, a, b in parts]
    return leaves, regroup


def structure_of(tree):
    """Return the structure of a tree of nodes."""
    return tree_flatten(tree)[1]


@dataclass(frozen=True)
class TreeKey:
    """The cache key of a call with pytree arguments: each argument's structure, and the leaves' (shape, dtype)."""

    defs: tuple
    avals: tuple


def tree_build(build: Callable, defs, record: dict, operator_cls=None) -> Callable:
    """Return build taking one input node per leaf: it calls ``build`` on the argument trees.

    Namedtuples in the output (and in operators' trees) become tuples, which
    generated code can return; ``record["tree"]`` keeps the output structure
    when it had any, so the caller rebuilds them (``restore``).
    """
    def flat(*leaf_nodes):
        out = build(*unflatten_args(defs, leaf_nodes))
        leaves, s = tree_flatten(out)
        if operator_cls is not None:
            for op in leaves:
                if isinstance(op, operator_cls):
                    ol, os_ = tree_flatten(op.tree)
                    if has_namedtuple(os_):
                        op.tree = tree_unflatten(plain_structure(os_), ol)
        if has_namedtuple(s):
            record["tree"] = s
            out = tree_unflatten(plain_structure(s), leaves)
        return out
    return flat


class TreeFunction:
    """Generated code for pytree arguments: flattens the arguments, calls the flat GeneratedFunction.

    Attributes of the GeneratedFunction (``source``, ``arg_shapes``, ``arg_names``:
    one per leaf) are available on it. Pickles by the GeneratedFunction, the
    argument structures and the output structure (namedtuple classes by reference).
    """

    def __init__(self, gf, defs, out_tree=None, names=None):
        self.gf, self.defs, self.out_tree = gf, tuple(defs), out_tree
        self.names = list(names) if names is not None else [f"x{i}" for i in range(len(self.defs))]
        self.__name__ = gf.__name__
        self.__doc__ = gf.__doc__

    def leaves(self, args) -> list:
        """Return the leaves of args in the order of the generated code's arguments, checking their structure."""
        if len(args) != len(self.defs):
            raise TypeError(f"{self.__name__}() takes {len(self.defs)} arguments "
                            f"({', '.join(self.names)}), got {len(args)}")
        out = []
        for a, s, nm in zip(args, self.defs, self.names):
            out += [a] if s == LEAF and arg_leaf(a) else leaves_like(a, s, f"argument {nm!r}", self.__name__)
        return out

    def __call__(self, *args):
        out = self.gf(*self.leaves(args))
        return out if self.out_tree is None else restore(out, self.out_tree)

    def _trace_target(self, *args):  # traced by another operator: the flat code's array version
        out = self.gf._trace_target(*self.leaves(args))
        return out if self.out_tree is None else restore(out, self.out_tree)

    def __getattr__(self, name):
        if name in ("gf", "defs", "out_tree", "names") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.gf, name)

    def __reduce__(self):
        return (TreeFunction, (self.gf, self.defs, self.out_tree, self.names))

    def __repr__(self):
        return f"<TreeFunction {self.__name__} of {', '.join(self.names)}: {self.gf!r}>"


class OnTrees:
    """func called with argument trees rebuilt from leaves (traced as func itself: ``__wrapped__``)."""

    __signature__ = inspect.Signature([inspect.Parameter("leaves", inspect.Parameter.VAR_POSITIONAL)])

    def __init__(self, func: Callable, defs: tuple):
        self.__wrapped__, self.defs = func, defs

    def __call__(self, *leaves):
        f = getattr(self.__wrapped__, "_trace_target", self.__wrapped__)
        return f(*unflatten_args(self.defs, leaves))


def trace_trees(func: Callable, args: list):
    """Return (leaf nodes of args, fresh inputs per leaf, their argument trees, func's output) traced on them.

    When the first trace of a generation is on exactly the nodes of ``own_inputs``, its inputs are those
    nodes themselves.
    """
    nodes, defs = flatten_args(args, None)  # trees of nodes: every non-container but None is a leaf
    plain = all(d == LEAF for d in defs)
    target, avals = func if plain else OnTrees(func, defs), [(n.shape, n.dtype) for n in nodes]
    own = getattr(_own, "inputs", None)
    _own.inputs = None  # only the generation's first trace: a later or nested one may close over these nodes
    if own is not None and len(own) == len(nodes) and all(a is b for a, b in zip(own, nodes)):
        ins, out = trace(target, avals, inputs=list(nodes))
    else:
        ins, out = trace(target, avals, bind=nodes)
    return nodes, ins, (ins if plain else unflatten_args(defs, ins)), out


_own = threading.local()  # .inputs: input nodes no traced function can reach but through its arguments


class own_inputs:
    """Context in which the first trace on exactly these fresh input nodes traces on them (no copy).

    A trace normally runs on fresh inputs, then its graph is rebuilt on the nodes it was given, so that
    a nested derivative never confuses its variable with a value its function closes over. The input
    nodes a generation has just made are reachable only through the traced function's arguments: the
    first trace on them needs no fresh inputs, and the rebuild (a copy of the whole graph) is skipped.
    """

    def __init__(self, inputs: list):
        self.inputs = inputs

    def __enter__(self):
        self.saved, _own.inputs = getattr(_own, "inputs", None), self.inputs

    def __exit__(self, *exc):
        _own.inputs = self.saved
