"""Shared machinery of the operator families: abstract values, tracing a
function on given nodes, lazy shape-specialised functions and code generation.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ..emit.backends import check_backend, emit_function
from ..emit.generated import GeneratedFunction
from ..emit.writer import WRONG_PATH
from ..errors import TracingError
from ..ir.gcpause import gc_paused
from ..ir.graph import Node, const, make_input, toposort
from ..ir.pytree import NODES, restore, tree_flatten, tree_unflatten
from ..primitives import apply
from ..primitives.helpers import zeros
from ..tracing.guards import values_known
from ..tracing.tracer import Tracer, is_traced, node_of, random_draws, recording, tracing, tracing_now
from ..transforms import substitute
from ..transforms.loops import rolling
from . import checks as _checks
from . import progress
from . import selfcheck as _selfcheck
from . import sharing as _sharing
from . import state as _state
from .argtrees import (
    CONTAINERS,
    TreeFunction,
    TreeKey,
    arg_leaf,
    fast_key,
    flatten_args,
    is_tree_call,
    leaf_labels,
    leaf_names,
    own_inputs,
    trace_trees,
    tree_build,
    unflatten_args,
)
from .auto import backend_of, make_auto
from .avals import ShapeDtype, _clean_name, arg_names, array_aval, aval, func_name, has_values, spec_leaf, value_aval  # noqa: F401
from .paths import Paths
from .paths import stale as _stale


def call_on_nodes(func: Callable, nodes: list):
    """Return func's output pytree of nodes, traced on fresh inputs then wired to ``nodes``.

    ``nodes`` holds one node per argument, or a pytree of nodes for a pytree argument.
    Tracing on fresh inputs keeps nested derivatives apart (no perturbation confusion).
    """
    nodes, ins, _, out = trace_trees(func, nodes)
    leaves, s = tree_flatten(out)
    if not all(i is n for i, n in zip(ins, nodes)):  # traced on fresh inputs: rewire them
        leaves = substitute(leaves, {id(i): n for i, n in zip(ins, nodes)})
    return tree_unflatten(s, leaves)


def transform_on_nodes(func: Callable, nodes: list, transform: Callable):
    """Return transform(inputs, outputs) for func traced on fresh inputs, rewired to ``nodes``.

    ``nodes`` (and the inputs transform receives) hold a node or a pytree of
    nodes per argument. Derivatives are taken with respect to the fresh inputs
    *before* they are replaced by ``nodes``, so nested operators never confuse their variables.
    """
    nodes, ins, in_trees, out = trace_trees(func, nodes)
    progress.stage("differentiating")
    result = transform(in_trees, out)
    leaves, s = tree_flatten(result)
    if all(i is n for i, n in zip(ins, nodes)):  # traced on the nodes themselves (``own_inputs``)
        return result
    mapping = {id(i): n for i, n in zip(ins, nodes)}
    present = [l for l in leaves if isinstance(l, Node)]
    new = iter(substitute(present, mapping))
    return tree_unflatten(s, [next(new) if isinstance(l, Node) else l for l in leaves])


def zero_if_none(t, shape, dtype) -> Node:
    """Return t (a derivative), or an array of zeros of this shape for a symbolic zero.

    A derivative that simplified to a Python number (``2.0 * x`` in x) becomes a constant of the
    derivative's dtype, so it is returned as a NumPy scalar like every other derivative.
    """
    if t is None:
        return zeros(shape, dtype)
    if t.op == "const" and t.weak and np.dtype(dtype).kind in "fc":
        return const(np.full(shape, t.value, dtype=dtype)) if shape == t.shape else t
    return t


def check_float(node: Node, what: str):
    if not np.issubdtype(node.dtype, np.inexact):
        raise TypeError(f"{what} requires floating-point inputs, got dtype {node.dtype}; "
                        f"pass a float array (e.g. x.astype(float)).")


class Operator:
    """An output that is itself a function: ``inner_tree`` of ``inner_inputs``.

    It is emitted as a nested function reusing everything the outer function
    computed (e.g. the pullback of vjp, or the product of matrix_hessian_product).
    """

    def __init__(self, names: list[str], inputs: list[Node], tree):
        self.names, self.inputs, self.tree = names, inputs, tree


def generate(*args, **kwargs) -> GeneratedFunction:
    """Return ``_generate_code(*args, **kwargs)`` built with the cyclic garbage collector paused."""
    with gc_paused():
        return _generate_code(*args, **kwargs)


def _generate_code(name: str, names: list[str], avals: list, build: Callable, closures_builder=None,
                   doc: str | None = None, values: list | None = None, backend: str = "numpy",
                   check: Callable | None = None) -> GeneratedFunction:
    """Return the GeneratedFunction of build(*input_nodes) -> output pytree of nodes (or Operators).

    With ``values`` (one concrete array per argument), Python control flow on
    traced values follows these values and the code checks each decision (guards).
    ``backend="array_api"`` writes code against the array API standard (no guards: give shapes).
    ``check``: the user's function; with values, the trace of it is compared with plain calls
    (``selfcheck``). The result's ``_state`` guards the state the traces read (``state.guard``).
    Specialisations that take long report progress (``progress``).
    """
    _checks.avals(names, avals, name)  # refuse object / string arguments naming them
    if backend == "auto":  # the lazy operators switch to numba later (api/auto.py)
        backend = "numpy"
    if backend != "numpy":
        check_backend(backend)
        values = None
    shapes = ", ".join(str(tuple(a[0])) for a in avals)
    with progress.specialising(f"specialising {name} for argument shapes {shapes}"), rolling(backend == "numpy"):
        return _generate(name, names, avals, build, closures_builder, doc, values, backend, check)


def _generate(name, names, avals, build, closures_builder, doc, values, backend, check) -> GeneratedFunction:
    inputs = [make_input(n, s, d) for n, (s, d) in zip(names, avals)]
    check = None if tracing_now() else check  # plain calls inside another trace would be traced
    with values_known(inputs, values) as vt, tracing(), recording() as records, own_inputs(inputs):
        before = {id(n) for n in random_draws()}  # an enclosing trace's draws are not this code's
        out = build(*inputs)
        checks = [apply("guard", p, expected=e, where=w) for p, e, w in vt.resolved_guards()] if vt else []
        checks += [n for n in random_draws() if id(n) not in before]  # every draw runs, used or not (NumPy's order)
        pending = _selfcheck.prepare(records, vt, check)
    _refuse_foreign_inputs(out, inputs, name)
    closures = None
    if closures_builder is not None:
        out, closures = closures_builder(out)
    else:
        leaves, s = tree_flatten(out)
        if any(isinstance(l, Operator) for l in leaves):
            closures = [(i, l.names, l.inputs, l.tree) for i, l in enumerate(leaves) if isinstance(l, Operator)]
            out = tree_unflatten(s, [const(0.0) if isinstance(l, Operator) else l for l in leaves])
    progress.stage("emitting code")
    source, writer = emit_function(name, names, inputs, out, closures=closures, doc=doc, checks=checks,
                                   backend=backend)
    progress.stage("compiling the generated code", lines=source.count("\n") + 1)
    gf = GeneratedFunction(source, name, writer.consts, [a[0] for a in avals], [a[1] for a in avals], names,
                           writer.modules)
    if pending is not None:
        progress.stage("self-checking the new path against the plain function")
        _selfcheck.run(pending, name)
    gf._state = _state.guard([r[0] for r in records])  # after the plain calls: the state they leave
    return gf


def foreign_inputs(out, inputs) -> bool:
    """Return True if out (a pytree of nodes and Operators) uses an input node other than ``inputs``.

    Such an input belongs to an enclosing trace: the function closes over a traced value of an outer
    function (``lambda y: x * y`` inside a function npdiff is tracing in x).
    """
    allowed = {id(n) for n in inputs}
    nodes = []
    for leaf in tree_flatten(out)[0]:
        if isinstance(leaf, Operator):
            allowed.update(id(n) for n in leaf.inputs)
            nodes += [n for n in tree_flatten(leaf.tree)[0] if isinstance(n, Node)]
        elif isinstance(leaf, Node):
            nodes.append(leaf)
    return any(n.op == "input" and id(n) not in allowed for n in toposort(nodes))


def inline_attempt(build: Callable):
    """Return build() (an operator's graph built inside the enclosing trace), or None if that fails.

    A decision on values the enclosing trace does not know (it was given shapes only) fails here but
    works in the operator's own generated code, which is traced with the argument values.
    """
    try:
        return build()
    except TracingError:
        return None


def _refuse_foreign_inputs(out, inputs, name):
    if foreign_inputs(out, inputs):
        raise TracingError(
            f"{name}: the function uses a traced value of an enclosing function npdiff is tracing (it closes "
            f"over the outer function's argument), so it cannot become separate generated code. Call the "
            f"operator (grad, jacobian, vjp...) itself inside the traced function: it then composes with "
            f"the outer trace, or pass the outer value as an argument.")


def _traced_result(out):
    """Return the build's output pytree of nodes as tracers (operators as functions of tracers)."""
    leaves, s = tree_flatten(out)
    return tree_unflatten(s, [_operator_closure(n) if isinstance(n, Operator) else Tracer(n) for n in leaves])


def _operator_closure(op: Operator):
    """Return a Python function applying an Operator to traced arguments."""
    def apply_op(*args):
        leaves, s = tree_flatten(op.tree)
        new = substitute(leaves, {id(i): node_of(a) for i, a in zip(op.inputs, args)})
        return tree_unflatten(s, [Tracer(n) for n in new])
    return apply_op


class LazyFunction:
    """A function specialised (and code-generated) per argument shapes and dtypes on first call.

    Called with tracers (inside another npdiff operator) it builds graph nodes
    instead, so operators compose to any order. When the function branches on
    values, each path taken is traced on first use and cached (``Paths``).
    """

    def __init__(self, build: Callable, func: Callable, prefix: str, doc: str = "", backend: str = "numpy",
                 trees: bool = False, recipe: tuple | None = None):
        self._backend = check_backend(backend)
        self._trees = trees  # build takes pytrees of nodes for pytree arguments
        self._build = build  # (*nodes) -> pytree of nodes
        self._func = func
        self.__name__ = f"{prefix}_{func_name(func)}"
        self.__doc__ = doc
        self.__wrapped__ = func
        # the last call with one or two arrays: (shape0, dtype0, GeneratedFunction, count, shape1, dtype1,
        # its state guard, the key's Paths or None): its state is checked as on the keyed path, a changed
        # state falls through to it; on another path the Paths' other functions are tried in turn
        self._one = None  # checked before building a cache key
        self._recipe = None  # (factory, func, options): set by _share
        self._nv = 0  # trailing arguments that are not the function's (hvp's vectors)
        if recipe is not None:
            self._share(recipe[0], recipe[1], **recipe[2])
        else:
            self._use_state(_sharing.State())

    def _use_state(self, state: _sharing.State) -> None:
        self._state = state  # shared by every operator with this recipe
        self._cache = state.cache  # key -> the GeneratedFunction tried first (the last path used)
        self._paths = state.paths  # key -> Paths
        self._tree_cache = state.tree_cache  # argtrees.fast_key -> the GeneratedFunction last used (pytrees)
        self._lock = state.lock
        self._one = None
        state.ops.add(self)

    def _share(self, factory: Callable, func: Callable, **options) -> LazyFunction:
        """Return self, made by ``factory(func, **options)``: it shares specialisations with operators alike."""
        options = {k: _sharing.hashable_option(v) for k, v in options.items()}
        self._recipe = (factory, func, options)  # how it pickles and binds keywords (see sharing)
        self._use_state(_sharing.shared_state(factory, func, options))
        return self

    def __reduce__(self):
        if self._recipe is None:
            raise TypeError(f"{self.__name__} is an operator built inside npdiff and cannot be pickled; pickle "
                            f"the public operator (npdiff.grad(f), ...) of a module-level function")
        factory, func, options = self._recipe
        return (_sharing.remake, (factory, func, dict(options)))

    def __copy__(self):
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)  # the same function and options: the specialisations are shared
        return new

    def __deepcopy__(self, memo):
        return self.__copy__()

    def _call_kw(self, args, kwargs):
        """Return the result of a call with keyword arguments (bound by the function's signature)."""
        if self._recipe is None:
            raise TypeError(f"{self.__name__}() got unexpected keyword arguments {sorted(kwargs)}")
        factory, func, options = self._recipe
        nargs = len(args) - self._nv
        _sharing.check_keywords(func, nargs, kwargs, self.__name__)
        runtime, static, key = _sharing.kw_layout(kwargs)
        key = (nargs,) + key
        state = self._state
        op = state.kw_ops.get(key)
        if op is None:
            opts = dict(options)
            if "argnums" in opts:
                nums = opts["argnums"]
                opts["argnums"] = (_sharing.positional_argnums(nums, nargs) if nums is not None else
                                   0 if nargs == 1 else tuple(range(nargs)))
            op = factory(_sharing.KwBound(func, nargs, runtime, static), **opts)
            with state.lock:
                state.kw_ops[key] = op
                while len(state.kw_ops) > _sharing.KW_VARIANTS:
                    state.kw_ops.popitem(last=False)
        vals = [kwargs[k] for k in runtime]
        return op(*args[:nargs], *vals, *args[nargs:])

    def __call__(self, *args, **kwargs):
        if kwargs:
            return self._call_kw(args, kwargs)
        one = self._one
        if one is not None and len(args) == one[3]:
            a = args[0]
            if a.__class__ is np.ndarray and a.dtype is one[1] and a.shape == one[0] and (
                    one[3] == 1 or (args[1].__class__ is np.ndarray and args[1].dtype is one[5]
                    and args[1].shape == one[4])) and (one[6] is None or one[6]()):
                out = one[2]._try(*args)
                if out is not WRONG_PATH:
                    return out
                for alt in () if one[7] is None else one[7].gfs:  # another known path, without an exception
                    if alt is not one[2] and (alt._state is None or alt._state()):
                        out = alt._try(*args)
                        if out is not WRONG_PATH:
                            self._one = (*one[:2], alt, *one[3:6], alt._state, one[7])
                            return out
                key = ((one[0], one[1]),) if one[3] == 1 else ((one[0], one[1]), (one[4], one[5]))
                return self._other_path(key, args, one[2])
        if self._backend == "array_api" and not any(is_traced(a) for a in args):
            return self._call_foreign(args)
        key = []
        for a in args:  # the hot path: arrays already specialised (one loop, one dictionary lookup)
            if a.__class__ is not np.ndarray:
                break
            key.append((a.shape, a.dtype))
        else:
            key = tuple(key)
            gf = self._cache.get(key)
            if gf is not None:
                st = gf._state
                if st is not None and not st():  # state read by the trace changed: trace again
                    return self._call_paths(key, args, gf)
                if len(key) <= 2 and key:
                    self._one = (*key[0], gf, len(key), *key[-1], st, self._paths.get(key))
                out = gf._try(*args)  # WRONG_PATH (no exception) from code with guards on another path
                return self._other_path(key, args, gf) if out is WRONG_PATH else out
        if self._tree_cache:  # pytree arguments seen: the cached path of their flat key first
            fast = fast_key(args)
            if fast is not None:
                gf = self._tree_cache.get(fast[1])
                if gf is not None and (gf._state is None or gf._state()):
                    out = gf._try(*fast[0]) if fast[2] else gf.attempt(*fast[0])
                    if out is not WRONG_PATH:
                        return out if gf.out_tree is None else restore(out, gf.out_tree)
        for a in args:
            if isinstance(a, CONTAINERS) or a is None or a.__class__ in NODES:  # maybe a pytree (or an array literal)
                if is_tree_call(args):
                    return self._call_tree(args)
                break
        if any(is_traced(a) for a in args):
            return _traced_result(self._build(*[node_of(a) for a in args]))
        if tracing_now():  # inside a trace: the function may close over the outer function's traced values
            out = inline_attempt(lambda: self._build(*[node_of(a) for a in args]))
            if out is not None and foreign_inputs(out, ()):
                return _traced_result(out)  # e.g. x * grad(lambda y: x * y)(2.0), differentiated in x
        return self._call_paths(tuple(value_aval(a) for a in args), args)

    def _tree_defs(self, args, is_leaf=arg_leaf):
        """Return (leaves, structures) of pytree arguments, refused by operators that take arrays only."""
        if not self._trees:
            bad = next(a for a in args if (isinstance(a, CONTAINERS) or a.__class__ in NODES) and not is_leaf(a))
            raise TypeError(f"{self.__name__}: this operator takes array arguments; got "
                            f"{_checks._describe(bad)} (pytree arguments are for the JAX-style operators)")
        return flatten_args(args, is_leaf)

    def _call_tree(self, args):
        """Return the result for pytree arguments: the flat code (one argument per leaf) on their leaves."""
        fast = fast_key(args) if self._trees else None
        leaves, defs = self._tree_defs(args)
        if any(is_traced(a) for a in leaves):
            return _traced_result(self._build(*unflatten_args(defs, [node_of(a) for a in leaves])))
        if tracing_now():  # as in __call__: a closure over the outer function's traced values
            out = inline_attempt(lambda: self._build(*unflatten_args(defs, [node_of(a) for a in leaves])))
            if out is not None and foreign_inputs(out, ()):
                return _traced_result(out)
        if self._backend == "array_api":
            return self._call_foreign(args)
        key = TreeKey(defs, tuple(value_aval(a) for a in leaves))
        gf = self._cache.get(key)
        out = WRONG_PATH if gf is None or (gf._state is not None and not gf._state()) else gf.attempt(*leaves)
        if out is WRONG_PATH:
            gf, out = self._paths_of(key).call(leaves, gf, self._maker(key))
            self._cache[key] = gf
        if fast is not None:
            self._tree_cache[fast[1]] = gf
        tree = getattr(gf, "out_tree", None)
        return out if tree is None else restore(out, tree)

    def _call_foreign(self, args):
        """Return the result of the code generated for another backend (shapes only, no guards)."""
        if is_tree_call(args):
            leaves, defs = self._tree_defs(args)
            key = TreeKey(defs, tuple(array_aval(a) for a in leaves))
            gf = self._cache.get(key)
            gf = self._specialize_key(key, None) if gf is None or _stale(gf) else gf
            out = gf._fn(*leaves)
            tree = getattr(gf, "out_tree", None)
            return out if tree is None else restore(out, tree)
        key = tuple(array_aval(a) for a in args)
        gf = self._cache.get(key)
        if gf is None or _stale(gf):
            gf = self.specialize(*[ShapeDtype(s, d) for s, d in key])
        return gf._fn(*args)

    def _other_path(self, key, args, skip):
        """Return the result of the first other known path accepting these exact arrays, or trace one.

        The path that answers becomes the cached one (and the one-entry memo), so alternating
        between known paths costs one look at the other path's decisions, no exception.
        """
        paths = self._paths.get(key)
        for gf in () if paths is None else paths.gfs:
            if gf is not skip and (gf._state is None or gf._state()):
                out = gf._try(*args)
                if out is WRONG_PATH:
                    continue
                paths.touch(gf)
                self._cache[key] = gf
                if len(key) <= 2:
                    self._one = (*key[0], gf, len(key), *key[-1], gf._state, paths)
                return out
        return self._call_paths(key, args, skip)

    def _call_paths(self, key, args, skip=None):
        gf, out = self._paths_of(key).call(args, skip, self._maker(key))
        self._cache[key] = gf
        return out

    def _maker(self, key) -> Callable:
        return lambda values: self._generate(key, values)

    def _paths_of(self, key) -> Paths:
        paths = self._paths.get(key)
        if paths is None:
            with self._lock:
                paths = self._paths.get(key)
                if paths is None:
                    paths = Paths(None, self.__name__)  # shared: each call passes its operator's maker
                    self._paths[key] = paths
        return paths

    def _names(self, n: int) -> list[str]:
        """Return the generated function's n argument names (hvp overrides it to name its vector)."""
        return arg_names(self._func, n)

    def _generate(self, avals, values=None) -> GeneratedFunction:
        doc = self.__doc__.splitlines()[0] if self.__doc__ else None
        if isinstance(avals, TreeKey):  # flat code: one argument per leaf, named by its path
            record: dict = {}
            _checks.avals(leaf_labels(self._names(len(avals.defs)), avals.defs), avals.avals, self.__name__)
            names = leaf_names(self._names(len(avals.defs)), avals.defs)
            build = tree_build(self._build, avals.defs, record, Operator)
            gf = generate(self.__name__, names, list(avals.avals), build, doc=doc, values=values,
                          backend=self._backend, check=self._func)
            gf.out_tree = record.get("tree")  # the output structure, when it holds namedtuples
            flat = list(avals.avals)
        else:
            names, flat, build = self._names(len(avals)), list(avals), self._build
            gf = generate(self.__name__, names, flat, build, doc=doc, values=values, backend=self._backend,
                          check=self._func)
        if self._backend == "auto":
            make_auto(gf, lambda: generate(self.__name__, names, flat, build, doc=doc, backend="numba"),
                      [int(np.prod(s)) for s, _ in flat])
        return gf

    def specialize(self, *arg_shapes) -> GeneratedFunction:
        """Return the GeneratedFunction for these argument shapes (or ShapeDtypes), or example arrays.

        Given example arrays, Python control flow on their values is allowed: the
        result computes the path they take and raises ``npdiff.PathChangedError``
        on arguments that take another. Given shapes, such control flow raises
        ``npdiff.TracingError``. Pytree arguments (dicts, lists/tuples of arrays,
        namedtuples) are given as pytrees of these; the result then takes the pytrees.
        """
        if any(isinstance(s, CONTAINERS) and not spec_leaf(s) for s in arg_shapes):
            leaves, defs = self._tree_defs(arg_shapes, spec_leaf)
            key = TreeKey(defs, tuple(aval(s) for s in leaves))
            gf = self._specialize_key(key, leaves if has_values(leaves) else None)
            return TreeFunction(gf, defs, getattr(gf, "out_tree", None), self._names(len(defs)))
        avals = tuple(aval(s) for s in arg_shapes)
        return self._specialize_key(avals, arg_shapes if has_values(arg_shapes) else None)

    def _specialize_key(self, avals, values) -> GeneratedFunction:
        """Return the GeneratedFunction for this key, for these example values (or None: shapes only)."""
        if values is not None:
            gf = self._paths_of(avals).find_or_add(values, make=self._maker(avals))
        else:
            gf = self._cache.get(avals)
            if gf is not None and _stale(gf):
                self._cache.pop(avals, None)
                gf = None
            if gf is not None and gf.guarded:
                try:  # name the decision on values (the paths held were traced from values)
                    self._generate(avals)
                    detail = ""
                except TracingError as e:
                    detail = f"\n{e}"
                raise TracingError(
                    f"{self.__name__} branches on argument values, so shapes alone do not determine its "
                    f"code; pass example arrays: specialize(*example_arrays){detail}")
            if gf is None:
                gf = self._generate(avals)
                self._paths_of(avals).gfs = (gf,)
        if self._cache.get(avals) is None or _stale(self._cache[avals]):
            self._cache[avals] = gf
        return gf

    @property
    def source(self) -> str:
        """Return the source of the most recent specialisation."""
        if not self._cache:
            raise AttributeError("call the function (or .specialize(shapes)) first to generate source")
        return list(self._cache.values())[-1].source

    def cache_info(self) -> CacheInfo:
        """Return the specialisations held: ``CacheInfo(currsize, specializations, paths)``.

        ``specializations`` has one entry per argument shapes and dtypes, a tuple
        of ``ShapeDtype(shape, dtype)``, one per argument; ``paths`` gives, for
        each, the number of paths through the function traced for it (more than
        one when the function branches on values: see guards); ``currsize`` is
        the number of generated functions held; ``backends`` says which code each
        runs (``backend="auto"``: ``"numpy (timing for numba)"``, ``"numba"``, ...).
        """
        keys = list(dict.fromkeys(list(self._cache) + list(self._paths)))
        specs = tuple(tuple(unflatten_args(key.defs, [ShapeDtype(tuple(s), np.dtype(d)) for s, d in key.avals]))
                      if isinstance(key, TreeKey) else tuple(ShapeDtype(tuple(s), np.dtype(d)) for s, d in key)
                      for key in keys)
        counts = tuple(len(self._paths[k].gfs) if k in self._paths else 1 for k in keys)
        backends = tuple(backend_of(self._cache[k]) if k in self._cache else self._backend for k in keys)
        return CacheInfo(sum(counts), specs, counts, backends)

    def cache_clear(self) -> None:
        """Drop every specialisation and path held (the next call generates code again).

        Operators made from the same function and options share their specialisations, so this clears theirs too.
        """
        self._state.clear()  # also forgets every sharing operator's last call (_one)


class CacheInfo(NamedTuple):
    """What ``LazyFunction.cache_info()`` returns."""

    currsize: int
    specializations: tuple
    paths: tuple = ()
    backends: tuple = ()  # per specialisation, the code it runs ("numpy", "numba"; backend="auto" says more)
