"""The NumPy backend (``backend="numpy"``): array code, or unrolled Python-float code with the array code as fallback.

``emit_function`` (reached through ``backends.emit_function``): for tiny graphs
it tries the scalar printer (``scalar.py``) and keeps it when it is estimated
cheaper; the generated wrapper falls back to the array version on math errors,
so results keep NumPy's inf/nan semantics. Otherwise the array printer
(``array.py``), whose long elementwise chains on large arrays run block by
block (``blocked.py``).
"""
from __future__ import annotations

from ..ir.graph import Node, at_most, toposort
from ..ir.pytree import tree_flatten
from .array import ArrayBackend, function_lines, module_source
from .blocked import BlockedBackend
from .scalar import TOTAL_MAX, NotScalar, ScalarBackend, eligible, prefer_scalar
from .writer import ModuleWriter


def require() -> None:
    """The NumPy backend needs nothing beyond NumPy."""


def _array_operator(name):
    def expr(params, pos, structure):
        if structure[0] == "leaf":
            return f"_{name}_array({', '.join(params)})"
        if structure[0] == "tuple" and all(e[0] == "leaf" for e in structure[1]):
            return f"_{name}_array({', '.join(params)})[{pos}]"
        return None
    return expr


def emit_function(name: str, arg_names: list[str], inputs: list[Node], out_tree, *,
                  closures: list | None = None, doc: str | None = None, scalar: bool | None = None,
                  checks: list | None = None):
    """Return (source, writer) of ``def name(args): ...`` returning out_tree (a pytree of nodes).

    The ``writer`` (a ModuleWriter) holds the stored constants the source binds
    by name and the modules it uses. ``closures`` is a list of (leaf position,
    inner arg names, inner input nodes, inner output pytree): that output leaf
    becomes a nested function computing the inner outputs, which reuses
    everything the outer function computed. For tiny arrays (``scalar=None``
    decides by size) the body is unrolled into Python-float arithmetic, with
    the array version as the fallback. ``checks`` are guard nodes: statements emitted as early as
    possible, never returned.
    """
    leaves, structure = tree_flatten(out_tree)
    closures = {c[0]: c for c in (closures or [])}
    if scalar is not False:
        all_out = [l for i, l in enumerate(leaves) if i not in closures]
        for _, _, _inodes, itree in closures.values():
            all_out += tree_flatten(itree)[0]
        all_out += list(checks or ())
        if scalar or (at_most(all_out, TOTAL_MAX) and eligible(toposort(all_out))):
            sw = ModuleWriter()
            try:
                slines, _ = function_lines(ScalarBackend(sw), f"_{name}_scalar", arg_names, inputs, leaves,
                                            structure, closures, None, fallback=_array_operator(name),
                                            checks=checks or ())
            except NotScalar:
                slines = None
            if slines is not None:
                aw = ModuleWriter()
                alines, params = function_lines(ArrayBackend(aw), f"_{name}_array", arg_names, inputs, leaves,
                                                 structure, closures, None, checks=checks or ())
                if not scalar and not prefer_scalar(slines, alines):
                    slines = None
            if slines is not None:
                args = ", ".join(params)
                # the unrolled body runs inside the wrapper's try (one Python call less per call)
                wrapper = [f"def {name}({args}):"] + ([f'    """{doc}"""'] if doc else []) + [
                    "    try:", *_indent(slines[1:], "    "),
                    "    except (ArithmeticError, ValueError):  # math domain/overflow: NumPy semantics",
                    f"        return _{name}_array({args})"]
                aw.use(*sw.modules)
                aw.checks |= sw.checks
                return module_source(aw, alines + [""] + wrapper), aw
    writer = ModuleWriter()
    lines, _ = function_lines(BlockedBackend(writer), name, arg_names, inputs, leaves, structure, closures, doc,
                               checks=checks or ())
    return module_source(writer, lines), writer


def _indent(lines: list[str], pad: str) -> list[str]:
    """Return lines indented by pad (blank lines stay blank)."""
    return [pad + line if line.strip() else line for line in lines]
