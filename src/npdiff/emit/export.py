"""Export GeneratedFunctions as one standalone Python module (NumPy, and SciPy where the code uses it).

``export({"f": numpify(f, (3,)), "grad_f": grad(f).specialize((3,))}, "model_ad.py")``
writes ``model_ad.py`` defining ``f`` and ``grad_f`` and returns the paths it wrote. Each function's source is
wrapped in a small factory so that the module-level constants its source
hoists (``_c``, ``_c1``...) stay private to it. The module is assembled by a
``writer.ModuleWriter``: the constants a GeneratedFunction pickles (more than
``writer.LITERAL_MAX`` elements) are stored in ``model_ad.npz`` next to the
module and loaded at import (relative to the module file), or, with ``constants="inline"``, printed
into the source. ``module_text`` returns the source without writing it (the command line prints it).
"""
from __future__ import annotations

import keyword
import os
import textwrap

import numpy as np

from .export_solvers import RESERVED as _SOLVER_NAMES
from .export_solvers import SOLVERS_MODULE, with_solvers
from .generated import DEFAULT_MODULES
from .writer import ModuleWriter, array_source, npz_path, npz_prelude, printable

__all__ = ["export"]

_RESERVED = {"np", "math", "os", "scipy", "_bad_shape", "_path_changed", "PathChangedError", "_consts", "_npz"}




def _check_function(key, fn):
    if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key):
        raise ValueError(f"export: {key!r} is not a valid Python function name")
    if key in _RESERVED or key in _SOLVER_NAMES or key.startswith(("_make_", "_solver_", "_graph")):
        raise ValueError(f"export: the name {key!r} is reserved in the exported module; choose another")
    lazy = hasattr(fn, "specialize") and not hasattr(fn, "arg_shapes")  # its source depends on the call
    source = None if lazy else getattr(fn, "source", None)
    name = getattr(fn, "__name__", None)
    if not isinstance(source, str) or not isinstance(name, str):
        if hasattr(fn, "specialize"):
            raise TypeError(f"export: {key!r} is a lazy operator without fixed shapes; export "
                            f"its specialisation, e.g. op.specialize(*arg_shapes)")
        raise TypeError(f"export: {key!r} must be a GeneratedFunction (from numpify, grad(...).specialize(...), "
                        f"diffops...), got {type(fn).__name__}")
    modules = getattr(fn, "modules", None) or DEFAULT_MODULES
    return source, name, dict(getattr(fn, "consts", None) or {}), modules


def _signature_line(key, fn) -> str:
    shapes = getattr(fn, "arg_shapes", ())
    dtypes = getattr(fn, "arg_dtypes", ())
    names = list(getattr(fn, "arg_names", ()) or [f"x{i}" for i in range(len(shapes))])
    args = ", ".join(f"{n}: {s} {np.dtype(d).name}" for n, s, d in zip(names, shapes, dtypes))
    return f"    {key}({args})"


CONSTANTS = ("npz", "inline")
_NAMES = {"numpy": "NumPy", "scipy": "SciPy", "numba": "Numba", "array_api_compat": "array-api-compat"}


def _needs(modules) -> str:
    """Return 'NumPy and SciPy (scipy.special)': the packages beyond the standard library the code imports."""
    tops: dict = {}
    for m in sorted(modules):
        top = m.split(".")[0]
        if top in ("os", "math"):
            continue
        tops.setdefault(top, [])
        if "." in m:
            tops[top].append(m)
    names = [_NAMES.get(t, t) + (f" ({', '.join(sub)})" if sub else "") for t, sub in tops.items()]
    names.sort(key=lambda n: not n.startswith("NumPy"))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _constant(writer: ModuleWriter, skey: str, value, inline: bool, what: str) -> str:
    """Return the source of a constant: printed, or stored under ``skey`` (its own key: the functions'
    constants stay apart) and read from the module's .npz."""
    arr = np.asarray(value)
    if arr.dtype == object:
        raise ValueError(f"export: {type(value).__name__} objects (constant {what}) cannot "
                         "be written into a standalone module; draw from np.random instead, or keep the "
                         "GeneratedFunction (it pickles with the object)")
    if printable(arr) or (inline and printable(arr, limit=arr.size)):
        return array_source(arr)
    if inline:
        raise ValueError(f"export: constant {what} (dtype {arr.dtype}) cannot be "
                         f"printed into the source; use constants='npz'")
    writer.consts[skey] = arr
    return f"_consts[{skey!r}]"


def module_text(functions: dict, path=None, constants: str = "npz", flat: bool = False) -> tuple[str, dict]:
    """Return (source of a standalone module defining each GeneratedFunction under its key, the constants
    to save in ``<module>.npz`` beside ``path``: empty with ``constants="inline"``, which prints them all).

    ``flat=True`` (one function) writes its constants and code at module level, as ``npdiff CMD`` prints.
    """
    if not isinstance(functions, dict) or not functions:
        raise TypeError("export expects a non-empty dict {name: GeneratedFunction}")
    if constants not in CONSTANTS:
        raise ValueError(f"export: constants={constants!r}; expected 'npz' (large constants in "
                         f"<module>.npz beside the module) or 'inline' (one self-contained file)")
    items = [(key, *_check_function(key, fn)) for key, fn in functions.items()]
    inline = constants == "inline" or path is None
    writer = ModuleWriter()
    writer.checks = True  # every generated function checks its arguments with _bad_shape
    used: set = set()
    sources, blocks = with_solvers([it[1] for it in items], used,  # SciPy solver calls: defined in the module
                                   lambda skey, arr: _constant(writer, skey, arr, inline, skey))
    items = [(key, src, name, consts, [m for m in modules if m != SOLVERS_MODULE])
             for (key, _, name, consts, modules), src in zip(items, sources)]
    writer.use(*used)
    for key, source, name, consts, modules in items:
        writer.use(*modules)
        const_lines = [f"{cname} = {_constant(writer, f'{key}__{cname}', value, inline, f'{cname!r} of {key!r}')}"
                       for cname, value in consts.items()]
        if flat and len(items) == 1:
            rename = [] if key == name else ["", f"{key} = {name}"]
            blocks.append("\n".join(const_lines + ([""] if const_lines else []) + [source.rstrip("\n")] + rename))
            continue
        inner = "\n".join(const_lines + ([""] if const_lines else []) + [source.rstrip("\n"), f"return {name}"])
        blocks.append(f"def _make_{key}():\n{textwrap.indent(inner, '    ')}\n\n\n"
                      f"{key} = _make_{key}()\n{key}.__name__ = {key}.__qualname__ = {key!r}")
    stored = dict(writer.consts)
    npz = npz_path(path) if stored else None
    doc = ['"""Generated by npdiff.', "", f"Needs {_needs(writer.modules)} at run time."]
    if npz is not None:
        doc.append(f"Loads its large constants from {os.path.basename(npz)}, which must stay next to this file.")
    doc += ["", "Functions:"] + [_signature_line(key, functions[key]) for key, *_ in items] + ['"""']
    prelude = []
    if npz is not None:
        writer.use("os")
        prelude = [npz_prelude(npz)]
    module = writer.module(blocks, doc="\n".join(doc), header=prelude)
    compile(module, path or "<npdiff>", "exec")  # fail here, not at import, if something went wrong
    return module, stored


def export(functions: dict, path, constants: str = "npz") -> list[str]:
    """Write a standalone module defining each GeneratedFunction under its key; return the paths written.

    ``functions`` maps names to GeneratedFunctions. With ``constants="npz"`` (the default) constants too
    large to print are saved to ``<module>.npz`` next to ``path`` and loaded at import; with
    ``constants="inline"`` every constant is printed into the source: one self-contained file. The
    module's docstring lists the packages it imports (NumPy, and SciPy when the code uses it) and the
    ``.npz`` it loads.
    """
    path = os.fspath(path)
    module, stored = module_text(functions, path, constants)
    written = [path]
    if stored:
        np.savez(npz_path(path), **stored)
        written.append(npz_path(path))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(module)
    return written
