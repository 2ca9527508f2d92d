"""GeneratedFunction: a callable compiled from generated NumPy source."""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import types

import numpy as np

from .writer import bad_shape as _bad_shape  # noqa: F401  (the helper generated code calls)
from .writer import namespace

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


class GeneratedFunction:
    """A function built from generated plain NumPy source.

    Attributes: ``source`` (the Python source), ``arg_shapes``, ``arg_dtypes``,
    ``consts`` (the stored constants the source binds by name) and ``modules``
    (the modules it uses). Pickles by its source and constants, so it runs in
    processes where the original Python function cannot be imported.
    """

    def __init__(self, source: str, name: str, consts: dict, arg_shapes, arg_dtypes, arg_names=None,
                 modules=None):
        self.source = source
        self.__name__ = name
        self.consts = consts
        self.arg_shapes = tuple(tuple(s) for s in arg_shapes)
        self.arg_dtypes = tuple(np.dtype(d) for d in arg_dtypes)
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
        # tracing a generated function (to differentiate it again) uses the array version
        self._trace_target = ns.get(f"_{name}_array", self._fn)
        self.__doc__ = self._fn.__doc__

    def __call__(self, *args):
        try:
            return self._fn(*args)
        except TypeError:
            if len(args) != len(self.arg_shapes):  # checked only on failure: nothing on the hot path
                raise TypeError(f"{self.__name__}() takes {len(self.arg_shapes)} arguments, "
                                f"got {len(args)}") from None
            raise

    @property
    def guarded(self) -> bool:
        """True if the code checks value-dependent decisions (raising PathChangedError on another path)."""
        return "_path_changed(" in self.source

    def __reduce__(self):
        return (GeneratedFunction, (self.source, self.__name__, self.consts, self.arg_shapes,
                                    self.arg_dtypes, self.arg_names, self.modules))

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
