"""GeneratedFunction: a callable compiled from generated NumPy source."""
from __future__ import annotations

import ast
import hashlib
import os
import re
import sys
import tempfile
import types

import numpy as np

from ..errors import PathChangedError
from ..primitives import solvers
from .writer import WRONG_PATH, namespace
from .writer import bad_shape as _bad_shape  # noqa: F401  (the helper generated code calls)

_GUARD_LINE = re.compile(r"^(\s*if .*): _path_changed\(.*\)\s*$", re.M)

# what a GeneratedFunction built without a record of its modules (an older pickle) may use
DEFAULT_MODULES = ("numpy", "math", "scipy.special", "scipy.linalg", "scipy.sparse")


def cache_dir() -> str:
    """Return the directory where sources with compiled kernels are written (``NPDIFF_CACHE_DIR`` or ~/.cache)."""
    d = os.environ.get("NPDIFF_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "npdiff")
    try:
        os.makedirs(d, exist_ok=True)
        if os.access(d, os.W_OK):
            return d
    except OSError:
        pass
    d = os.path.join(tempfile.gettempdir(), f"npdiff-{os.getuid() if hasattr(os, 'getuid') else 0}")
    os.makedirs(d, exist_ok=True)
    return d


def source_file(source: str) -> str:
    """Return the path of a file holding source, named by its hash (written once).

    Numba's on-disk cache (``cache=True``) keys compiled kernels by their
    source file, so code with kernels is compiled under a real, stable file name.
    """
    path = os.path.join(cache_dir(), "npdiff_" + hashlib.sha256(source.encode()).hexdigest()[:24] + ".py")
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(source)
        os.replace(tmp, path)
    return path


def load_graph(graph: dict) -> GeneratedFunction:
    """Return the GeneratedFunction of a solver recipe's graph."""
    return GeneratedFunction(graph["source"], graph["name"], graph["consts"], graph["arg_shapes"],
                             graph["arg_dtypes"], None, graph["modules"])


def _with_solvers(source, name, consts, arg_shapes, arg_dtypes, arg_names, modules, recipes):
    """Return a GeneratedFunction whose solver calls run specs adopted from their recipes (unpickling)."""
    keys = {k: solvers.adopt(r, load_graph) for k, r in recipes.items()}
    return GeneratedFunction(solvers.rekey(source, keys.__getitem__), name, consts, arg_shapes, arg_dtypes,
                             arg_names, modules)


def _canonical(d: np.dtype) -> np.dtype:
    """Return NumPy's own instance of a native numeric dtype (an unpickled one is an equal copy)."""
    return np.dtype(d.type) if d.isnative and d.kind in "biufc" else d


class GeneratedFunction:
    """A function built from generated plain NumPy source.

    Attributes: ``source`` (the Python source), ``arg_shapes``, ``arg_dtypes``,
    ``consts`` (the stored constants the source binds by name) and ``modules``
    (the modules it uses). Pickles by its source and constants, so it runs in
    processes where the original Python function cannot be imported.

    Called with arrays of another dtype than it was generated for, it converts
    them when NumPy's ``same_kind`` casting allows (an int or float32 array to
    float64 code) and raises ``TypeError`` otherwise (complex to real, object);
    lists and Python numbers are converted like ``np.asarray``. Argument shapes
    are checked (``ValueError`` naming the argument, expected and received).

    Security: unpickling a GeneratedFunction executes its source (as unpickling
    anything can run code). Load pickles only from sources you trust.
    """

    _state = None  # api.state guard (() -> bool) of the state the trace read (set by api.core.generate; not pickled)

    def __init__(self, source: str, name: str, consts: dict, arg_shapes, arg_dtypes, arg_names=None,
                 modules=None):
        self.source = source
        self.__name__ = name
        self.consts = consts
        self.arg_shapes = tuple(tuple(s) for s in arg_shapes)
        self.arg_dtypes = tuple(_canonical(np.dtype(d)) for d in arg_dtypes)
        self._d0 = self.arg_dtypes[0] if len(self.arg_dtypes) == 1 else None  # fast path of __call__
        self.arg_names = tuple(arg_names or ())
        self.modules = tuple(sorted(modules)) if modules is not None else DEFAULT_MODULES
        ns = namespace(self.modules, consts)
        filename = f"<npdiff:{name}>"
        if "numba" in self.modules:  # compiled kernels: a real module, so numba's disk cache can find it
            filename = source_file(source)
            mod = types.ModuleType(os.path.splitext(os.path.basename(filename))[0])
            mod.__dict__.update(ns)
            mod.__file__ = filename
            sys.modules[mod.__name__] = mod
            ns = mod.__dict__
        exec(compile(source, filename, "exec"), ns)
        self._fn = ns[name]
        self._try = self._first_try if self.guarded else self._fn  # the path-selection entry (``attempt``)
        # tracing a generated function (to differentiate it again) uses the array version
        self._trace_target = ns.get(f"_{name}_array", self._fn)
        self.__doc__ = self._fn.__doc__

    def __call__(self, *args):
        if len(args) == 1 and self._d0 is not None:  # the hot path of one-argument code: one check
            a = args[0]
            if a.__class__ is np.ndarray and a.dtype is self._d0:
                return self._fn(a)
        return self._call(self._fn, args)

    def attempt(self, *args):
        """Return the result for these arguments, or ``WRONG_PATH`` if they take another path (no exception)."""
        return self._call(self._try, args)

    def _first_try(self, *args):
        """Compile the path-selection version of this code on its first use, then run it."""
        self._try = self._trial()
        return self._try(*args)

    def _trial(self):
        """Return a version of the function that returns WRONG_PATH where it would raise PathChangedError.

        The guards' statements become ``return _WRONG_PATH`` where they sit in a top-level function
        (checked on the syntax tree); otherwise the exception is caught.
        """
        tree = ast.parse(self.source)
        nested = [n for f in tree.body if isinstance(f, ast.FunctionDef) for n in ast.walk(f)
                  if isinstance(n, (ast.FunctionDef, ast.Lambda)) and n is not f]
        if "numba" in self.modules or any("_path_changed" in ast.unparse(n) for n in nested):
            fn = self._fn

            def trial(*args):
                try:
                    return fn(*args)
                except PathChangedError:
                    return WRONG_PATH
            return trial
        ns = namespace(self.modules, self.consts)
        exec(compile(_GUARD_LINE.sub(r"\1: return _WRONG_PATH", self.source), f"<npdiff:{self.__name__}>", "exec"), ns)
        return ns[self.__name__]

    def _call(self, fn, args):
        if len(args) == 1 and self._d0 is not None:  # the hot path of one-argument code: one check
            a = args[0]
            if a.__class__ is np.ndarray and a.dtype is self._d0:
                return fn(a)
        if len(args) != len(self.arg_shapes):
            raise TypeError(f"{self.__name__}() takes {len(self.arg_shapes)} arguments "
                            f"({', '.join(self._arg_labels())}), got {len(args)}; a GeneratedFunction takes "
                            f"exactly the arguments it was generated for")
        for a, d in zip(args, self.arg_dtypes):
            if a.__class__ is not np.ndarray or a.dtype is not d:
                if any(getattr(type(v), "_npdiff_traced", False) for v in args):  # called inside a trace: trace the array version
                    return self._trace_target(*args)
                return fn(*self._converted(args))
        return fn(*args)

    def _converted(self, args) -> list:
        """Return the arguments as arrays of the dtypes this code was generated for (same_kind casts only)."""
        out = []
        for i, (a, d) in enumerate(zip(args, self.arg_dtypes)):
            if isinstance(a, (np.ndarray, np.generic, list, tuple, bool, int, float, complex, str)):
                a = np.asarray(a)
                if a.dtype != d:
                    if a.dtype.kind not in "biufc" or not np.can_cast(a.dtype, d, "same_kind"):
                        name = self.arg_names[i] if i < len(self.arg_names) else f"x{i}"
                        other = (f", or generate code for {a.dtype} (call the npdiff operator itself, or "
                                 f"specialize with ShapeDtype(shape, {a.dtype.name!r}))"
                                 if a.dtype.kind in "biufc" else "")
                        raise TypeError(
                            f"{self.__name__}: argument {name!r} has dtype {a.dtype}, but this code was "
                            f"generated for dtype {d}; convert it (np.asarray({name}, dtype={d.name!r})) if "
                            f"that is what you mean{other}")
                    a = a.astype(d)
            out.append(a)  # other array types (array API libraries) go through unchanged
        return out

    @property
    def guarded(self) -> bool:
        """True if the code checks value-dependent decisions (raising PathChangedError on another path)."""
        return "_path_changed(" in self.source

    def __reduce__(self):
        args = (self.source, self.__name__, self.consts, self.arg_shapes, self.arg_dtypes, self.arg_names,
                self.modules)
        keys = solvers.keys_in(self.source)
        if keys:  # SciPy solver calls: their recipes travel along, re-keyed on arrival (_with_solvers)
            return (_with_solvers, (*args, {k: solvers.portable(k) for k in keys}))
        return (GeneratedFunction, args)

    def __repr__(self):
        return f"<GeneratedFunction {self._signature()}>"

    # ------------------------------------------------------------------
    # Display (one-line repr, and rich output in Jupyter / IPython).
    # ------------------------------------------------------------------

    def _arg_labels(self) -> list[str]:
        """Return 'name: shape dtype' for each argument."""
        names = list(self.arg_names) + [f"x{i}" for i in range(len(self.arg_names), len(self.arg_shapes))]
        return [f"{n}: {s} {d}" for n, s, d in zip(names, self.arg_shapes, self.arg_dtypes)]

    def _signature(self) -> str:
        """Return 'name(arg: shape dtype, ...)' on one line."""
        return f"{self.__name__}({', '.join(self._arg_labels())})"

    def _repr_markdown_(self) -> str:
        """Return a Markdown description: signature, argument shapes and dtypes, and the source."""
        fence = "```"
        while fence in self.source:
            fence += "`"
        return (f"**GeneratedFunction** `{self._signature()}`\n\n"
                f"{fence}python\n{self.source.rstrip()}\n{fence}\n")

    def _repr_html_(self) -> str:
        """Return an HTML description: the signature and the source (highlighted if Pygments is installed)."""
        import html
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer
        except ImportError:
            body = f"<pre>{html.escape(self.source)}</pre>"
        else:
            body = highlight(self.source, PythonLexer(), HtmlFormatter(noclasses=True, nowrap=False))
        args = "".join(f"<li><code>{html.escape(a)}</code></li>" for a in self._arg_labels())
        return (f"<div class=\"npdiff-generated\"><p><b>GeneratedFunction</b> "
                f"<code>{html.escape(self.__name__)}</code></p><ul>{args}</ul>{body}</div>")
