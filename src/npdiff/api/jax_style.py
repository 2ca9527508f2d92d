"""JAX-style operators: grad, value_and_grad, jacfwd, jacrev, jacobian,
hessian, hvp, jvp, vjp, linearize, and numpify."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..emit.generated import GeneratedFunction
from ..ir.graph import Node, const
from ..ir.pytree import tree_flatten, tree_unflatten
from ..primitives import apply  # "to_csr" (sparse=True output) is primitives/sparse.py
from ..tracing import guards
from ..tracing.tracer import draws_forgotten, trace_depth
from ..transforms import jvp_nodes, loops, vjp_nodes
from ..transforms.jacobian import jacobian_blocks
from ..transforms.separable import separable_hessian
from . import checks
from .argtrees import CONTAINERS, TreeFunction, flatten_args, gather, leaf_labels, leaf_names, leaves_like, structure_of, tree_build
from .core import LazyFunction, arg_names, aval, call_on_nodes, check_float, func_name, generate, has_values, spec_leaf, transform_on_nodes, zero_if_none
from .eager import eager_function, jvp, linearize, vjp  # noqa: F401  (re-exported: the eager operators)


def _argnums(argnums, n, op="grad"):
    return checks.argnums(argnums, n, op)


def _split_aux(out, has_aux, op="has_aux"):
    if not has_aux:
        checks.no_aux(out, op)
        return out, None
    return checks.pair(out, op)


def _scalar(node: Node, op: str) -> Node:
    if not (isinstance(node, Node) and node.size == 1):  # a (1,) or (1, 1) output is a scalar, as in autograd
        checks.scalar_output(node, op)
    checks.real_output(node, op)
    return node


def _wrt_floats(func, nodes, nums, op):
    """Refuse integer or boolean arguments (or pytree leaves) among those differentiated, named as in func."""
    names = arg_names(func, len(nodes))
    for i in nums:
        leaves, s = tree_flatten(nodes[i])
        for leaf, label in zip(leaves, leaf_labels([names[i]], [s])):
            checks.differentiable(leaf, label, op)


def _one(dtype, shape=()) -> Node:
    return const(np.ones(shape, dtype))


# -- numpify --------------------------------------------------------------------------

def numpify(func: Callable, *arg_shapes, backend: str = "numpy") -> GeneratedFunction:
    """Return a GeneratedFunction of func itself for these argument shapes (or example arrays).

    Given example arrays, Python control flow on their values is allowed: the
    code computes the path they take and raises ``npdiff.PathChangedError`` on
    arguments that take another. ``backend="array_api"`` writes the code against the array API standard.
    Pytree arguments are given as pytrees of shapes or examples; the result then takes such pytrees.
    """
    if any(isinstance(s, CONTAINERS) and not spec_leaf(s) for s in arg_shapes):
        leaves, defs = flatten_args(arg_shapes, spec_leaf)
        record: dict = {}
        names = arg_names(func, len(defs))
        gf = generate(func_name(func), leaf_names(names, defs), [aval(s) for s in leaves],
                      tree_build(lambda *trees: call_on_nodes(func, list(trees)), defs, record),
                      values=list(leaves) if has_values(leaves) else None, backend=backend)
        return TreeFunction(gf, defs, record.get("tree"), names)
    avals = [aval(s) for s in arg_shapes]
    names = arg_names(func, len(avals))
    values = list(arg_shapes) if has_values(arg_shapes) else None  # example arrays: branches become guards
    return generate(func_name(func), names, avals, lambda *nodes: call_on_nodes(func, list(nodes)),
                    values=values, backend=backend)


numpify_func = numpify


# -- gradients -----------------------------------------------------------------------------

def _value_and_grad_nodes(func, argnums, has_aux, op):
    def build(*nodes):
        checks.arity(func, len(nodes), op)
        nums, multi = _argnums(argnums, len(nodes), op)
        _wrt_floats(func, nodes, nums, op)

        def transform(ins, out):
            value, aux = _split_aux(out, has_aux, op)
            value = _scalar(value, op)
            if loops.enabled() and trace_depth() == 1:  # the outermost operator: roll long Python loops
                vt = guards.current()
                value = loops.roll(value, [g[0] for g in vt.guards] if vt is not None else None)
            uniq = list(dict.fromkeys(nums))  # argnums=(0, 0): each argument once, then repeated
            wrt, regroup = gather(ins, uniq)  # the leaves of pytree arguments
            cts = vjp_nodes([value], wrt, [_one(value.dtype, value.shape)])
            by = dict(zip(uniq, regroup([zero_if_none(c, w.shape, w.dtype) for c, w in zip(cts, wrt)])))
            grads = tuple(by[i] for i in nums)
            return value, aux, grads if multi else grads[0]
        return transform_on_nodes(func, list(nodes), transform)
    return build


def value_and_grad(func: Callable, argnums=0, has_aux: bool = False, create_graph: bool = True,
                   realize: bool = True, backend: str = "numpy") -> LazyFunction:
    """Return a function computing (value, grad) of scalar func (((value, aux), grad) with has_aux)."""
    inner = _value_and_grad_nodes(func, argnums, has_aux, "value_and_grad")

    def build(*nodes):
        value, aux, g = inner(*nodes)
        return ((value, aux), g) if has_aux else (value, g)
    return LazyFunction(build, func, "value_and_grad", "Return the value and gradient of the function.", backend,
                        trees=True, recipe=(value_and_grad, func, dict(
                            argnums=argnums, has_aux=has_aux, create_graph=create_graph, realize=realize,
                            backend=backend)))


def grad(func: Callable, argnums=0, has_aux: bool = False, create_graph: bool = True,
         realize: bool = True, backend: str = "numpy") -> LazyFunction:
    """Return a function computing the gradient of scalar func ((grad, aux) with has_aux)."""
    inner = _value_and_grad_nodes(func, argnums, has_aux, "grad")

    def build(*nodes):
        _value, aux, g = inner(*nodes)
        return (g, aux) if has_aux else g
    return LazyFunction(build, func, "grad", "Return the gradient of the function.", backend, trees=True,
                        recipe=(grad, func, dict(argnums=argnums, has_aux=has_aux, create_graph=create_graph,
                                                 realize=realize, backend=backend)))


# -- Jacobians -------------------------------------------------------------------------------

def jac_nodes(outs, wrt: list[Node], mode: str, sparse: bool = False, symmetric: bool = False):
    """Return (leaves, structure, blocks): per output leaf, the Jacobian block for each wrt node.

    ``mode`` is "fwd", "rev" or "auto"; see ``transforms.jacobian.jacobian_blocks``.
    """
    leaves, s = tree_flatten(outs)
    for w in wrt:
        check_float(w, "jacobian")
    return leaves, s, jacobian_blocks(leaves, wrt, mode, sparse, symmetric)


def _jac_op(mode, prefix, symmetric=False):
    def op(func: Callable, argnums=None, has_aux: bool = False, sparse: bool = False,
           backend: str = "numpy") -> LazyFunction:
        if sparse:
            checks.require("scipy.sparse", f"{prefix}(..., sparse=True)", "scipy")

        def build(*nodes):
            checks.arity(func, len(nodes), prefix)
            if argnums is None:
                nums, multi = tuple(range(len(nodes))), len(nodes) > 1
            else:
                nums, multi = _argnums(argnums, len(nodes), prefix)
            _wrt_floats(func, nodes, nums, prefix)

            def transform(ins, out):
                value, aux = _split_aux(out, has_aux, prefix)
                wrt, regroup = gather(ins, nums)  # output structure outside, argument structure inside
                _leaves, s, blocks = jac_nodes(value, wrt, mode, sparse, symmetric)
                jac = tree_unflatten(s, [tuple(regroup(b)) if multi else regroup(b)[0] for b in blocks])
                return (jac, aux) if has_aux else jac
            return transform_on_nodes(func, list(nodes), transform)
        lf = LazyFunction(build, func, prefix, "Return the Jacobian of the function.", backend, trees=True)
        return lf if symmetric else lf._share(globals()[prefix], func, argnums=argnums, has_aux=has_aux,
                                              sparse=sparse, backend=backend)  # the public jacfwd/jacrev/jacobian
    op.__name__ = prefix
    op.__doc__ = f"Return a function computing the Jacobian of func ({mode} mode), shape out.shape + in.shape."
    return op


_JACS = {mode: _jac_op(mode, name) for mode, name in (("fwd", "jacfwd"), ("rev", "jacrev"), ("auto", "jacobian"))}


def jacfwd(func: Callable, argnums=None, has_aux: bool = False, sparse: bool = False,
           backend: str = "numpy") -> LazyFunction:
    """Return a function computing the Jacobian of func in forward mode, shape ``out.shape + in.shape``.

    ``argnums=None`` differentiates every array argument (one Jacobian when there is one, else a tuple);
    with ``has_aux`` the function returns ``(out, aux)`` and the call ``(jac, aux)``; ``sparse=True``
    returns a ``scipy.sparse.csr_array`` found from the structural sparsity pattern.
    """
    return _JACS["fwd"](func, argnums, has_aux, sparse, backend)


def jacrev(func: Callable, argnums=None, has_aux: bool = False, sparse: bool = False,
           backend: str = "numpy") -> LazyFunction:
    """Return a function computing the Jacobian of func in reverse mode, shape ``out.shape + in.shape``.

    Arguments as for ``jacfwd``.
    """
    return _JACS["rev"](func, argnums, has_aux, sparse, backend)


def jacobian(func: Callable, argnums=None, has_aux: bool = False, sparse: bool = False,
             backend: str = "numpy") -> LazyFunction:
    """Return a function computing the Jacobian of func, shape ``out.shape + in.shape``.

    The mode (forward, reverse, or a mix) is chosen from the input and output sizes; arguments as for
    ``jacfwd``.
    """
    return _JACS["auto"](func, argnums, has_aux, sparse, backend)


_hess_jac = _jac_op("fwd", "jacfwd", symmetric=True)  # Jacobian of a gradient: star colouring


def hessian(func: Callable, argnums=0, sparse: bool = False, backend: str = "numpy") -> LazyFunction:
    """Return a function computing the Hessian of scalar func, shape in.shape + in.shape."""
    gs, gj = grad(func, argnums), jacrev(func, argnums)

    def build(*nodes):  # grad for scalar func; jacrev otherwise, so hessian(hessian(f)) works (as in JAX)
        with draws_forgotten():  # a look at the output's shape: its random draws are not the function's
            out = call_on_nodes(func, list(nodes))
        scalar = isinstance(out, Node) and out.shape == ()
        return (gs if scalar else gj)._build(*nodes)
    g = LazyFunction(build, func, "grad", "Return the gradient of the function.", trees=True)
    h = _hess_jac(g, argnums, sparse=sparse, backend=backend)
    jac_build = h._build

    def checked_build(*nodes):  # hessian's own messages before jacfwd's
        checks.arity(func, len(nodes), "hessian")
        _wrt_floats(func, nodes, _argnums(argnums, len(nodes), "hessian")[0], "hessian")
        banded = None if sparse else _separable(func, nodes, argnums)
        return banded if banded is not None else jac_build(*nodes)
    h._build = checked_build
    h.__name__ = f"hessian_{func_name(func)}"
    h.__wrapped__ = func
    h._func = func
    h.__doc__ = "Return the Hessian of the function."
    return h._share(hessian, func, argnums=argnums, sparse=sparse, backend=backend)


def _separable(func, nodes, argnums):
    """Return the Hessian node of a sum of elementwise functions of slices of one vector argument
    (strided assembly, transforms/separable.py), or None."""
    if not isinstance(argnums, (int, np.integer)) or not 0 <= argnums < len(nodes):
        return None
    w = nodes[argnums]
    if not isinstance(w, Node) or w.ndim != 1:
        return None
    with draws_forgotten():  # a look only: a function that draws is refused below
        out = call_on_nodes(func, list(nodes))
    return separable_hessian(out, w) if isinstance(out, Node) else None


def hvp(func: Callable, argnums=0, backend: str = "numpy") -> LazyFunction:
    """Return a function hvp(*args, v) computing the Hessian of scalar func times v.

    With a tuple ``argnums`` the call takes one vector per argnum,
    ``hvp(f, argnums=(0, 1))(x, y, vx, vy)``, and returns a tuple: the
    blocks of H @ (vx, vy), one per argnum.
    """
    g = grad(func, argnums)
    nv = 1 if isinstance(argnums, (int, np.integer)) else len(argnums) if isinstance(argnums, (tuple, list)) else 1

    def build(*nodes):
        args, vs = list(nodes[:len(nodes) - nv]), list(nodes[len(nodes) - nv:])
        usage = ("; call hvp(f)(*args, v)" if nv == 1 else
                 f"; with argnums={argnums!r} call hvp(f, argnums={argnums!r})(*args, " +
                 ", ".join(f"v{i}" for i in range(nv)) + "): one vector per argnum")
        checks.arity(func, len(args), "hvp", usage)
        nums, _multi = _argnums(argnums, len(args), "hvp")
        names = arg_names(func, len(args))
        _wrt_floats(func, args, nums, "hvp")
        vleaves = []
        for k, (i, v) in enumerate(zip(nums, vs)):  # each v has its argument's structure and shapes
            vname = "v" if nv == 1 else f"v{k}"
            s = structure_of(args[i])
            vl = leaves_like(v, s, vname, "hvp")
            for x, t, label in zip(tree_flatten(args[i])[0], vl, leaf_labels([names[i]], [s])):
                checks.same_shape(t, x.shape, vname, f"argument {label!r}", "hvp")
            vleaves.append(vl)

        def transform(ins, gout):
            uniq = list(dict.fromkeys(nums))
            wrt, _ = gather(ins, uniq)
            starts = [0]
            for i in uniq:
                starts.append(starts[-1] + len(tree_flatten(ins[i])[0]))
            tv = [None] * len(wrt)
            for i, vl in zip(nums, vleaves):  # argnums=(0, 0): the tangents of one argument add up
                for j, v in enumerate(vl, starts[uniq.index(i)]):
                    tv[j] = v if tv[j] is None else apply("add", tv[j], v)
            gl, gs = tree_flatten(gout)
            ts = jvp_nodes(gl, wrt, tv)
            return tree_unflatten(gs, [zero_if_none(t, o.shape, o.dtype) for t, o in zip(ts, gl)])
        return transform_on_nodes(g, args, transform)

    lf = LazyFunction(build, func, "hvp", "Return the Hessian-vector product.", backend, trees=True)

    def names(n):  # f's argument names, then v (or v0, v1...), kept distinct
        out = arg_names(func, max(n - nv, 0))
        for nm in (["v"] if nv == 1 else [f"v{i}" for i in range(nv)])[:n]:
            while nm in out:
                nm += "_"
            out.append(nm)
        return out
    lf._names = names
    lf._nv = nv
    return lf._share(hvp, func, argnums=argnums, backend=backend)


def sparsity(func: Callable, *arg_shapes, argnums=0):
    """Return the structural Jacobian sparsity pattern of func w.r.t. one argument.

    A ``scipy.sparse.csr_array`` of booleans with shape (out.size, in.size)
    (True where the derivative may be nonzero), found from the graph without
    evaluating func and without building the dense matrix (SciPy needed).
    """
    import scipy.sparse

    from ..tracing.tracer import trace
    from ..transforms import sparsity as sp
    avals = [aval(a) for a in arg_shapes]
    ins, out = trace(func, avals)
    if not isinstance(out, Node):
        raise TypeError("sparsity() needs a function returning one array")
    deps = sp.dependency([out], ins[argnums], sp.MAX_NNZ_SPARSE)
    if deps is None:
        raise ValueError(f"the sparsity pattern is too large to compute (more than {sp.MAX_NNZ_SPARSE} "
                         "entries in one node's pattern)")
    P = deps[0]
    return scipy.sparse.csr_array((np.ones(P.nnz, bool), P.indices, P.indptr), shape=(out.size, P.ncols))
