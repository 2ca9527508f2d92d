"""What npdiff can trace: the supported NumPy/SciPy functions and a coverage report.

Everything is read from the lowering tables (``trace.FUNCTIONS``, ``UFUNCS``,
``METHODS``, the array-creation patches and ``EXTRA_PATCHES``), so the list is
always the one the tracer actually uses.
"""
from __future__ import annotations

import importlib
import sys

import numpy as np

from .tracing import tracer as trace

# namespaces searched for public names, in order of preference
NAMESPACES = ("numpy", "numpy.linalg", "numpy.fft", "scipy.special", "scipy.linalg", "scipy.stats")
REPORTED = ("numpy", "numpy.linalg", "scipy.special")  # namespaces counted by coverage_report


def _module(name, load=False):
    mod = sys.modules.get(name)
    if mod is None and load:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            return None
    return mod


def _public_names(mod) -> dict[int, list[str]]:
    """Return id(object) -> the public names a module binds it to."""
    out: dict[int, list[str]] = {}
    for name in dir(mod):
        if name.startswith("_"):
            continue
        try:
            obj = getattr(mod, name)
        except Exception:  # noqa: BLE001 - deprecated attributes may raise
            continue
        out.setdefault(id(obj), []).append(name)
    return out


def _supported_objects() -> list:
    """Return the NumPy/SciPy callables that have a lowering (functions and ufuncs)."""
    objs = [f for f, low in trace.FUNCTIONS.items() if not getattr(low, "npdiff_refuses", False)]
    objs += [k for k in trace.UFUNCS if not isinstance(k, tuple)]
    objs += [trace._ORIG[name] for name in trace._PATCHES if name in trace._ORIG]
    return objs


def _patched_names() -> list[str]:
    names = []
    for mod, name, fn in trace.EXTRA_PATCHES:
        if getattr(fn, "npdiff_names", None):  # a private method patched for public ones (scipy.sparse's @)
            names.extend(fn.npdiff_names)
            continue
        prefix = getattr(mod, "npdiff_qualname", None) if not isinstance(mod, type(sys)) else mod.__name__
        if prefix is None:
            prefix = getattr(mod, "__module__", "") + "." + getattr(mod, "__name__", type(mod).__name__)
        names.append(f"{prefix}.{name}")
    return names


def supported_functions() -> list[str]:
    """Return the sorted qualified names npdiff can trace and differentiate.

    NumPy and SciPy functions under every public name they have (``numpy.abs``
    and ``numpy.absolute``), ufunc methods (``numpy.add.reduce``), ndarray
    methods (``ndarray.sum``) and intercepted SciPy functions
    (``scipy.special.logsumexp``, ``scipy.stats.norm.logpdf``).
    """
    index = {ns: _public_names(mod) for ns in NAMESPACES if (mod := _module(ns)) is not None}
    names: set[str] = set()

    def qualified(obj) -> list[str]:
        found = [f"{ns}.{n}" for ns, table in index.items() for n in table.get(id(obj), [])]
        if found:
            return found
        if str(getattr(obj, "__name__", "")).startswith("_"):  # a library's private helper (scipy.special._ufuncs._zeta)
            return []
        mod = getattr(obj, "__module__", None) or "numpy"
        if mod.startswith("npdiff"):  # a stand-in patched over a NumPy name: listed by _patched_names()
            return []
        return [f"{mod}.{getattr(obj, '__name__', repr(obj))}"]

    for obj in _supported_objects():
        names.update(qualified(obj))
    for key in trace.UFUNCS:
        if isinstance(key, tuple):
            ufunc, method = key
            names.update(f"{q}.{method}" for q in qualified(ufunc))
    names.update(f"ndarray.{m}" for m in trace.METHODS)
    names.update(f"ndarray.{m}" for m, kind in trace.NDARRAY_TABLE.items() if kind in ("method", "inplace", "property"))
    names.update(_patched_names())
    return sorted(names)


def _is_public_callable(obj) -> bool:
    return callable(obj) and not isinstance(obj, type)


def coverage(namespace: str) -> tuple[list[str], list[str]]:
    """Return (supported, unsupported) public callables of a namespace (e.g. "numpy.linalg")."""
    mod = _module(namespace, load=True)
    if mod is None:
        return [], []
    done = {id(o) for o in _supported_objects()}
    patched = {n.rsplit(".", 1)[1] for n in _patched_names() if n.rsplit(".", 1)[0] == namespace}
    yes, no = [], []
    for name in sorted(dir(mod)):
        if name.startswith("_"):
            continue
        try:
            obj = getattr(mod, name)
        except Exception:  # noqa: BLE001
            continue
        if not _is_public_callable(obj):
            continue
        (yes if id(obj) in done or name in patched else no).append(name)
    return yes, no


def coverage_report(verbose: bool = False) -> str:
    """Return a readable count of the supported public callables of NumPy,
    numpy.linalg, scipy.special and the ndarray methods (with the missing names if verbose)."""
    lines = ["npdiff coverage (public callables with a derivative-aware lowering)"]
    rows = [(ns, *coverage(ns)) for ns in REPORTED]
    public = [m for m in dir(np.ndarray) if not m.startswith("_")]  # methods and properties (dispatch.NDARRAY_TABLE)
    rows.append(("ndarray attributes", [m for m in public if trace.NDARRAY_TABLE.get(m) in trace.METHOD_KINDS],
                 [m for m in public if trace.NDARRAY_TABLE.get(m) not in trace.METHOD_KINDS]))
    width = max(len(r[0]) for r in rows)
    for ns, yes, no in rows:
        total = len(yes) + len(no)
        if not total:
            lines.append(f"  {ns:<{width}}  not installed")
            continue
        lines.append(f"  {ns:<{width}}  {len(yes):4d} / {total:4d}  ({100.0 * len(yes) / total:5.1f}%)")
    lines.append(f"  {len(supported_functions())} qualified names in total (see npdiff.supported.supported_functions())")
    if verbose:
        for ns, _, no in rows:
            if no:
                lines.append(f"\nnot supported in {ns}:")
                lines.append("  " + ", ".join(no))
    return "\n".join(lines)


# -- keyword arguments npdiff refuses ---------------------------------------------------------------

UFUNC_KEYWORDS = ("out", "where", "casting", "order", "dtype", "subok", "signature")


def _optional_names(func) -> tuple[list[str], bool]:
    """Return (optional parameter names, has **kwargs) of a callable's signature (([], False) if none)."""
    import inspect
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return [], False
    names = [p.name for p in params if p.default is not p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return names, any(p.kind is p.VAR_KEYWORD for p in params)


def _refused(func, lowering) -> list[str]:
    theirs, var_kw = _optional_names(func)
    ours, _ = _optional_names(lowering)
    names = list(dict.fromkeys(theirs + (ours if var_kw or func is None else [])))
    honours = set(getattr(lowering, "npdiff_honours", ()))
    return [n for n in names if n not in honours]


def refused_parameters() -> dict[str, list[str]]:
    """Return {qualified name: optional parameters npdiff refuses unless left at their default}.

    Read from the lowerings' declarations (``honours=``) against NumPy's own signatures: NumPy
    functions (under their first public name), ndarray methods, ufuncs (the ufunc keywords) and
    ufunc methods. A parameter not listed is honoured exactly (some only for some values, e.g.
    ``order='C'/'F'``; those refuse the other values by name).
    """
    out: dict[str, list[str]] = {}
    index = {ns: _public_names(mod) for ns in NAMESPACES if (mod := _module(ns)) is not None}

    def name_of(obj):
        for ns, table in index.items():
            if id(obj) in table:
                return f"{ns}.{min(table[id(obj)])}"
        return f"{getattr(obj, '__module__', None) or 'numpy'}.{getattr(obj, '__name__', repr(obj))}"

    seen = set()
    for func, low in trace.FUNCTIONS.items():
        if getattr(low, "npdiff_refuses", False) or isinstance(func, np.ufunc) or id(func) in seen:
            continue
        seen.add(id(func))
        patch = trace._PATCHES.get(getattr(func, "__name__", ""))
        if getattr(patch, "__wrapped__", None) is func and hasattr(patch, "npdiff_honours"):  # np.array...
            low = patch
        refused = _refused(func, low)
        if refused:
            out[name_of(func)] = refused
    for name, low in trace.METHODS.items():
        if name.startswith("_") or name in ("real", "imag"):
            continue
        refused = _refused(getattr(np.ndarray, name, None), low)
        if refused:
            out[f"ndarray.{name}"] = refused
    for key, low in trace.UFUNCS.items():
        if isinstance(key, tuple):
            uf, method = key
            params = {"reduce": ("axis", "dtype", "out", "keepdims", "initial", "where"),
                      "accumulate": ("axis", "dtype", "out")}.get(method, UFUNC_KEYWORDS)
            qual = f"{trace._ufunc_qualname(uf)}.{method}"
        else:
            params, qual = UFUNC_KEYWORDS, trace._ufunc_qualname(key)
        honours = set(getattr(low, "npdiff_honours", ()))
        refused = [p for p in params if p not in honours]
        if refused:
            out[qual] = refused
    return dict(sorted(out.items()))
