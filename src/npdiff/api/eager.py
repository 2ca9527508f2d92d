"""The eager operators jvp, vjp and linearize: each call runs code generated
(and cached) per function and argument shapes; primals, tangents and
cotangents may be pytrees (the code then takes one argument per leaf)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..emit.generated import GeneratedFunction
from ..ir.graph import make_input
from ..ir.pytree import has_namedtuple, restore, tree_flatten, tree_unflatten
from ..tracing.tracer import Tracer, is_traced, node_of, tracing_now
from ..transforms import jvp_nodes, substitute, vjp_nodes
from . import checks
from .argtrees import flatten_args, gather, is_tree_call, leaf_labels, leaf_names, leaves_like, structure_of, trace_trees, tree_build, unflatten_args
from .core import (
    Operator,
    Paths,
    arg_names,
    array_aval,
    call_on_nodes,
    check_backend,
    foreign_inputs,
    func_name,
    generate,
    inline_attempt,
    transform_on_nodes,
    value_aval,
    zero_if_none,
)

_EAGER_CACHE: dict = {}


def _split_aux(out, has_aux, op):
    if has_aux:
        return checks.pair(out, op)
    checks.no_aux(out, op)
    return out, None


def _jvp_build(func, k, has_aux):
    """Return build(*primals, *tangents) -> (out, tangent_out[, aux]); pytree tangents match their primals."""
    def build(*nodes):
        xs, ts = list(nodes[:k]), list(nodes[k:])
        checks.arity(func, k, "jvp")
        tl = []
        for i, (x, t) in enumerate(zip(xs, ts)):
            xl, s = tree_flatten(x)
            for xn, tn in zip(xl, leaves_like(t, s, f"tangent {i}", "jvp")):
                if xn.shape != tn.shape:
                    raise ValueError(f"jvp: tangent {i} has shape {tn.shape}, expected {xn.shape} "
                                     f"(the shape of primal {i}); each tangent has its primal's shape")
                tl.append(tn)

        def transform(ins, out):
            value, aux = _split_aux(out, has_aux, "jvp")
            leaves, s = tree_flatten(value)
            touts = jvp_nodes(leaves, gather(ins, range(k))[0], tl)
            touts = [zero_if_none(t, o.shape, o.dtype) for t, o in zip(touts, leaves)]
            res = (value, tree_unflatten(s, touts))
            return res + (aux,) if has_aux else res
        return transform_on_nodes(func, xs, transform)
    return build


def _vjp_build(func, has_aux):
    """Return build(*primals) -> (out, pullback operator[, aux]); the pullback gives one pytree per primal."""
    def build(*nodes):
        checks.arity(func, len(nodes), "vjp")
        out = call_on_nodes(func, list(nodes))
        value, aux = _split_aux(out, has_aux, "vjp")
        leaves, _ = tree_flatten(value)
        ct_names = ["ct"] if len(leaves) == 1 else [f"ct{i}" for i in range(len(leaves))]
        ct_in = [make_input(n, l.shape, l.dtype) for n, l in zip(ct_names, leaves)]
        prims, regroup = gather(nodes, range(len(nodes)))
        cts = vjp_nodes(leaves, prims, ct_in)
        pullback = Operator(ct_names, ct_in, tuple(regroup([zero_if_none(c, n.shape, n.dtype)
                                                            for c, n in zip(cts, prims)])))
        return (value, pullback, aux) if has_aux else (value, pullback)
    return build


def _linearize_build(func):
    """Return build(*primals) -> (out, f_jvp operator taking one tangent per primal leaf)."""
    def build(*nodes):
        checks.arity(func, len(nodes), "linearize")
        out = call_on_nodes(func, list(nodes))
        checks.no_aux(out, "linearize")
        leaves, s = tree_flatten(out)
        prims, _ = gather(nodes, range(len(nodes)))
        t_names = [f"{n.p['name']}_dot" if n.op == "input" else f"t{i}" for i, n in enumerate(prims)]
        t_in = [make_input(nm, n.shape, n.dtype) for nm, n in zip(t_names, prims)]
        ts = jvp_nodes(leaves, prims, t_in)
        ts = [zero_if_none(t, o.shape, o.dtype) for t, o in zip(ts, leaves)]
        return out, Operator(t_names, t_in, tree_unflatten(s, ts))
    return build


def _distinct(names: list[str]) -> list[str]:
    seen, out = set(), []
    for nm in names:
        while nm in seen:
            nm += "_"
        seen.add(nm)
        out.append(nm)
    return out


def _eager_parts(kind, func, avals, has_aux, defs=None):
    """Return (build on one node per leaf, argument names, argument avals, record of the output structure)."""
    k = len(defs) if defs is not None else len(avals)
    names = arg_names(func, k)
    if defs is not None:
        names = leaf_names(names, defs)
    record: dict = {}
    if kind == "jvp":
        build, names, avals, all_defs = (_jvp_build(func, k, has_aux), _distinct(names + [f"{n}_dot" for n in names]),
                                         avals + avals, (defs or ()) * 2)
    else:
        build = _vjp_build(func, has_aux) if kind == "vjp" else _linearize_build(func)
        all_defs = defs
    if defs is not None:
        build = tree_build(build, all_defs, record, Operator)
    return build, names, avals, record


def eager_function(kind: str, func: Callable, avals, has_aux: bool = False,
                   backend: str = "numpy", defs=None) -> GeneratedFunction:
    """Return the GeneratedFunction behind jvp / vjp / linearize for these argument shapes (no values).

    jvp's function takes (*primals, *tangents); vjp's and linearize's take the
    primals and return the pullback / linear map as a nested function. With
    ``defs`` (the primals' pytree structures), ``avals`` are the leaves' and the
    function takes one argument per leaf.
    """
    build, names, avals, _ = _eager_parts(kind, func, [tuple(a) for a in avals], has_aux, defs)
    return generate(f"{kind}_{func_name(func)}", names, avals, build, backend=backend)


def _eager_call(kind: str, func: Callable, args, nprimals: int, has_aux: bool = False, backend: str = "numpy",
                defs=None):
    """Return the result of the (cached) generated jvp / vjp / linearize code on these arguments.

    Cached per function, kind, shapes and pytree structures (``defs``: args are
    then the leaves); a function that branches on values gets one
    GeneratedFunction per path taken (traced with the actual arguments).
    """
    if backend != "numpy":
        check_backend(backend)
        avals = tuple(array_aval(a) for a in args[:nprimals])
        key = (kind, id(func), avals, has_aux, backend, defs)
        hit = _EAGER_CACHE.get(key)
        if hit is None or hit[0] is not func:
            build, names, all_avals, record = _eager_parts(kind, func, list(avals), has_aux, defs)
            gf = generate(f"{kind}_{func_name(func)}", names, all_avals, build, backend=backend)
            hit = _EAGER_CACHE[key] = (func, gf, record)
        out = hit[1]._fn(*args)
    else:
        avals = tuple(value_aval(a) for a in args[:nprimals])
        key = (kind, id(func), avals, has_aux, defs)
        hit = _EAGER_CACHE.get(key)
        if hit is None or hit[0] is not func:
            build, names, all_avals, record = _eager_parts(kind, func, list(avals), has_aux, defs)
            name = f"{kind}_{func_name(func)}"
            paths = Paths(lambda values: generate(name, names, all_avals, build, values=values, check=func),
                          name)
            if len(_EAGER_CACHE) > 256:
                _EAGER_CACHE.clear()
            hit = _EAGER_CACHE[key] = (func, paths, record)
        out = hit[1].call(args)[1]
    tree = hit[2].get("tree")
    return out if tree is None else restore(out, tree)


def _as_tuple(xs, what):
    if not isinstance(xs, (tuple, list)):
        raise TypeError(f"jvp: {what} must be a tuple (or list) with one entry per argument of the "
                        f"function, e.g. jvp(f, (x,), (v,)); got {checks._describe(xs)}")
    return tuple(xs)


def _traced_trees(args):
    """Return (argument trees of graph nodes, True) if any leaf of args is traced, else (None, False).

    Inside a trace, untraced arguments give (trees, False): the function may close over the outer
    function's traced values, and then the operator composes with the outer trace (``_inline``).
    """
    leaves, defs = flatten_args(args)
    traced = any(is_traced(a) for a in leaves)
    if not traced and not tracing_now():
        return None, False
    return unflatten_args(defs, [node_of(a) for a in leaves]), traced


def _inline(build):
    """Return build()'s output if it uses an enclosing trace's values (a closure over them), else None."""
    out = inline_attempt(build)
    return out if out is not None and foreign_inputs(out, ()) else None


def _tracers(tree):
    leaves, s = tree_flatten(tree)
    return tree_unflatten(s, [Tracer(n) for n in leaves])


def jvp(func: Callable, primals: Sequence, tangents: Sequence, has_aux: bool = False, backend: str = "numpy"):
    """Return (out, tangent_out) (with has_aux: (out, tangent_out, aux)) of func at primals.

    Primals may be pytrees (dicts, lists/tuples of arrays, namedtuples); each
    tangent then has its primal's structure and shapes.
    """
    primals, tangents = _as_tuple(primals, "primals"), _as_tuple(tangents, "tangents")
    if len(primals) != len(tangents):
        checks.tangents(primals, tangents)  # raises, naming both counts
    trees, traced = _traced_trees(primals + tangents)
    if traced:
        return _tracers(_jvp_build(func, len(primals), has_aux)(*trees))
    if trees is not None:  # inside a trace: e.g. jvp of a closure over the outer function's argument
        out = _inline(lambda: _jvp_build(func, len(primals), has_aux)(*trees))
        if out is not None:
            return _tracers(out)
    if not is_tree_call(primals + tangents):
        return _eager_call("jvp", func, primals + checks.tangents(primals, tangents), len(primals), has_aux,
                           backend)
    pl, defs = flatten_args(primals)
    tl = []
    for i, (t, s) in enumerate(zip(tangents, defs)):
        tl += leaves_like(t, s, f"tangent {i}", "jvp")
    labels = leaf_labels([f"primal {i}" for i in range(len(defs))], defs)
    tl = checks.tangents(tuple(pl), tuple(tl), labels=labels)
    return _eager_call("jvp", func, tuple(pl) + tl, len(pl), has_aux, backend, defs)


def _primal_leaves(primals, op):
    """Return (leaves, structures) of the primals (structures None when all are arrays), refusing non-floats."""
    if not is_tree_call(primals):
        checks.float_primals(primals, op)
        return primals, None
    leaves, defs = flatten_args(primals)
    checks.float_primals(leaves, op, leaf_labels([f"primal {i}" for i in range(len(defs))], defs))
    return tuple(leaves), defs


def vjp(func: Callable, *primals, has_aux: bool = False, backend: str = "numpy"):
    """Return (out, pullback) (with has_aux: (out, pullback, aux)); pullback(ct) gives a tuple.

    ``ct`` has the structure of the output; the tuple holds one cotangent per
    primal, with that primal's structure (a dict for a dict, and so on).
    """
    trees, traced = _traced_trees(primals)
    res = None
    if traced:
        res = trace_trees(func, trees)
    elif trees is not None:  # inside a trace: compose only if func closes over the outer function's values
        res = inline_attempt(lambda: trace_trees(func, trees))
        if res is not None and not foreign_inputs(res[3], res[1]):
            res = None
    if res is not None:
        nodes, ins, _, out = res
        mapping = {id(i): n for i, n in zip(ins, nodes)}
        value, aux = _split_aux(out, has_aux, "vjp")
        leaves, s = tree_flatten(value)
        defs = tuple(structure_of(t) for t in trees)

        def pullback(ct):
            cts = vjp_nodes(leaves, ins, [node_of(c) for c in leaves_like(ct, s, "the cotangent", "vjp")])
            cts = [zero_if_none(c, n.shape, n.dtype) for c, n in zip(cts, ins)]
            return tuple(unflatten_args(defs, [Tracer(c) for c in substitute(cts, mapping)]))
        wrapped = tree_unflatten(s, [Tracer(n) for n in substitute(leaves, mapping)])
        if has_aux:
            al, as_ = tree_flatten(aux)
            return wrapped, pullback, tree_unflatten(as_, [Tracer(n) for n in substitute(al, mapping)])
        return wrapped, pullback

    leaves, defs = _primal_leaves(primals, "vjp")
    res = _eager_call("vjp", func, leaves, len(leaves), has_aux, backend, defs)
    op = res[1]
    leaves, structure = tree_flatten(res[0])
    shapes = [np.shape(leaf) for leaf in leaves]
    nt = defs is not None and has_namedtuple(("tuple", defs))

    def pullback(ct):
        try:
            cl = leaves_like(ct, structure, "the cotangent", "vjp")
        except TypeError:
            cl = checks.cotangent(ct, structure, shapes)  # raises, naming the shapes expected
        out = op(*cl)
        return restore(out, ("tuple", defs)) if nt else out
    return (res[0], pullback, res[2]) if has_aux else (res[0], pullback)


def linearize(func: Callable, *primals, backend: str = "numpy"):
    """Return (out, f_jvp) where f_jvp(*tangents) is the linear map of func at primals (tangents like primals)."""
    leaves, defs = _primal_leaves(primals, "linearize")
    out, op = _eager_call("linearize", func, leaves, len(leaves), backend=backend, defs=defs)
    n = len(primals)
    ostruct = structure_of(out) if defs is not None else None

    def f_jvp(*tangents):
        if len(tangents) != n:
            raise TypeError(f"linearize: f_jvp takes one tangent per primal ({n}), got {len(tangents)}")
        if defs is None:
            return op(*tangents)
        tl = []
        for i, (t, s) in enumerate(zip(tangents, defs)):
            tl += leaves_like(t, s, f"tangent {i}", "linearize")
        res = op(*tl)
        return restore(res, ostruct) if has_namedtuple(ostruct) else res
    f_jvp.__doc__ = op.__doc__
    return out, f_jvp
