"""Emit for ``backend="array_api"``: code written against the array API standard.

The generated function looks up its arguments' namespace once
(``xp = array_api_compat.array_namespace(...)``) and then calls only standard
functions on ``xp``, so one function runs on NumPy, Dask, CuPy, PyTorch and
``array_api_strict`` arrays. It reuses ``emit.Emitter`` with three changes:
each primitive is printed with its rendering in ``array_api_rules.py`` (keyed by
primitive name; ``NOT_XP`` refuses), nothing is ever updated in place (foreign arrays may be immutable),
and constants are module-level NumPy arrays converted once per call with
``xp.asarray(c, device=_dev)`` into the arguments' namespace and device.
"""
from __future__ import annotations

import importlib.util

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir.graph import Node
from ..ir.pytree import tree_flatten
from .array import Emitter, function_lines, module_source
from .array_api_rules import NOT_XP, rendering
from .writer import ModuleWriter

EXTRA = "array-api"  # the optional dependency group that installs array-api-compat


def require() -> None:
    """Raise ImportError naming the extra to install if array_api_compat is missing."""
    require_compat()


def emit_function(name: str, arg_names: list[str], inputs: list[Node], out_tree, *, closures: list | None = None,
                  doc: str | None = None, scalar: bool | None = None, checks: list | None = None):
    """Return (source, writer) of ``def name(args)`` written against the array API standard (no scalar version)."""
    leaves, structure = tree_flatten(out_tree)
    closures = {c[0]: c for c in (closures or [])}
    writer = ModuleWriter()
    lines, _ = function_lines(XpBackend(writer), name, arg_names, inputs, leaves, structure, closures, doc,
                              checks=checks or ())
    return module_source(writer, lines), writer


def require_compat() -> None:
    """Raise ImportError naming the extra to install if array_api_compat is missing."""
    if importlib.util.find_spec("array_api_compat") is None:
        raise ImportError("backend='array_api' needs the package array-api-compat: "
                          f"pip install 'npdiff[{EXTRA}]' (or pip install array-api-compat)")


def xp_dtype(dtype) -> str:
    """Return the source naming this dtype in the namespace ``xp`` (``xp.float64``)."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return "xp.bool"
    if dt.kind not in "iufc":
        raise UnsupportedOperationError(f"backend='array_api' has no dtype {dt}")
    return f"xp.{dt.name}"


class XpEmitter(Emitter):
    """Turns graph nodes into array-API source (see the module docstring)."""

    def __init__(self, writer: ModuleWriter | None = None):
        super().__init__(writer)
        self.used |= {"xp", "_dev", "array_api_compat"}
        self.outer: dict[int, str] = {}  # constants converted in the outer function, by node id
        self.local: dict[int, str] = {}  # ... in the nested function being emitted
        self.pending: list[str] = []  # conversions to print before the current statements
        self.depth = 0  # 0 while emitting the outer function, 1 inside a nested one
        self._globals: dict[str, str] = {}  # local name of a converted constant -> its module-level name

    # -- what templates may call ---------------------------------------------------------------
    def refuse(self, what: str):
        """Raise UnsupportedOperationError: the array API standard cannot express ``what``."""
        raise UnsupportedOperationError(f"{what} has no array API standard equivalent, so backend='array_api' "
                                        "cannot generate it; use backend='numpy'")

    def dtype(self, dtype) -> str:
        """Return ``xp.<dtype>``."""
        return xp_dtype(dtype)

    def const(self, value, key: int | None = None) -> str:
        """Return the local name of NumPy array ``value`` converted to the arguments' namespace."""
        cache = self.local if self.depth else self.outer
        if key is not None:
            for c in (self.local, self.outer) if self.depth else (self.outer,):
                if key in c:
                    return c[key]
        arr = np.asarray(value)
        if arr.dtype == object:
            self.refuse("an object constant (a random Generator)")
        xp_dtype(arr.dtype)
        g = self.fresh("_k")
        self.writer.constant(g, arr)
        name = self.fresh("k")
        self.pending.append(f"{name} = xp.asarray({g}, device=_dev)")
        if key is not None:
            cache[key] = name
        self._globals[name] = g
        return name

    # -- Emitter hooks -------------------------------------------------------------------------------
    def literal_source(self, lit: str) -> str:
        return lit.replace("np.", "math.")  # np.inf / np.nan: the generated code has no np

    def bind_constant(self, node: Node) -> str:
        return self.const(node.value, key=id(node))

    def code(self, prim, argnames, node):
        tmpl = rendering(prim)
        if tmpl is NOT_XP:
            self.refuse(f"the primitive {prim.name!r}")
        if callable(tmpl):
            return tmpl(self, argnames, node)
        return tmpl.format(*argnames, **dict(node.params))

    def _reusable(self, node, fresh_ids, users, viewed, argnames):
        return None  # never update an array in place

    def emit(self, outputs, forced=None, hints=None):
        self.pending = []
        lines = super().emit(outputs, forced, hints)
        return self.writer.statements(self.pending) + lines

    def output_expr(self, node: Node, copy: bool = False) -> str:
        """Return the source of a returned value (a fresh array, never a constant, an argument or a view)."""
        name = self.name_of(node)
        if copy and node.op != "const":
            return f"xp.asarray({name}, copy=True)"
        if node.op == "const" and name in self._globals:  # converted here, not by a statement already printed
            return f"xp.asarray({self._globals[name]}, copy=True, device=_dev)"
        a = node.args[0] if node.args else None
        if node.op == "broadcast_to" and node.ndim and not (a.op == "const" and a.ndim == 0):  # a view
            return f"xp.asarray({name}, copy=True)"
        return name


class XpBackend:
    """The array-API backend for ``emit.function_lines``."""

    def __init__(self, writer: ModuleWriter):
        require_compat()
        writer.use("array_api_compat")
        self.em = XpEmitter(writer)
        self.calls = 0
        self.scalars = False  # a 0-d argument (maybe a Python number) was bound

    def prologue(self, params):
        if self.calls:  # a nested function uses the namespace and device of the outer one
            return []
        first = params[0] if params else None
        if first is None:
            return ["xp = array_api_compat.array_namespace(np.empty(0))", "_dev = 'cpu'"]
        # the namespace and device of the array arguments (0-d ones may be Python numbers); NumPy arrays
        # among another library's arrays are converted into it (writer.XP_PRELUDE)
        return [f"xp, _dev, ({', '.join(params)},) = _xp_namespace({', '.join(params)})"]

    def param(self, node, name):
        p = self.em.bind_input(node, name)
        shape = tuple(node.shape)
        self.em.writer.checks = True
        lines = [f"if tuple({p}.shape) != {shape}: _bad_shape({p!r}, {shape}, {p}.shape)"]
        if node.ndim == 0:  # a Python number becomes a 0-d array of the generated dtype
            self.scalars = True
            lines.insert(0, f"if not hasattr({p}, 'shape'): {p} = xp.asarray({p}, dtype=xp.{node.dtype.name}, device=_dev)")
        return p, lines

    def emit(self, nodes):
        self.em.depth = 1 if self.calls else 0
        self.em.local = {}
        self.calls += 1
        return self.em.emit(nodes)

    def output_expr(self, node, copy=False):
        return self.em.output_expr(node, copy)

    def fresh(self, name):
        return self.em.fresh(name)
