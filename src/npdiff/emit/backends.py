"""Backend name -> the module that emits code for it.

A backend is one module in ``emit/`` with two functions:

- ``require()``: raise ImportError naming what to install when an optional
  dependency is missing (return nothing otherwise);
- ``emit_function(name, arg_names, inputs, out_tree, *, closures=None, doc=None,
  checks=None, scalar=None) -> (source, writer)``: the source of ``def name(...)``
  computing ``out_tree`` (a pytree of nodes) and the ``ModuleWriter`` holding its
  stored constants and modules (see ``codegen.emit_function``).

Adding a backend is adding its module and one entry here; every operator's
``backend=`` argument is checked against this table (``check_backend``).
"""
from __future__ import annotations

from types import ModuleType

from ..ir.graph import Node
from . import array_api, codegen, fused

BACKENDS: dict[str, ModuleType] = {
    "numpy": codegen,  # NumPy calls; tiny graphs unrolled to Python floats (scalar.py)
    "array_api": array_api,  # the array API standard, on the arguments' namespace
    "numba": fused,  # NumPy calls with elementwise chains fused into compiled loops
}


# names the lazy operators accept that are policies rather than writers: the backend each starts with
POLICIES = {
    "auto": "numpy",  # NumPy code first; api/auto.py moves a specialisation to numba once that repays compiling
}


def backend_module(backend: str) -> ModuleType:
    """Return the module emitting code for ``backend`` (ValueError for an unknown name)."""
    module = BACKENDS.get(backend) if isinstance(backend, str) else None
    if module is None:
        raise ValueError(f"unknown backend {backend!r}; expected one of {tuple(BACKENDS) + tuple(POLICIES)}")
    return module


def check_backend(backend: str) -> str:
    """Return backend if npdiff can generate code for it; raise naming what is missing otherwise."""
    backend_module(POLICIES.get(backend, backend) if isinstance(backend, str) else backend).require()
    return backend


def emit_function(name: str, arg_names: list[str], inputs: list[Node], out_tree, *, backend: str = "numpy",
                  closures: list | None = None, doc: str | None = None, scalar: bool | None = None,
                  checks: list | None = None):
    """Return (source, writer) of ``def name(args)`` computing out_tree, written by ``backend``'s module."""
    return backend_module(backend).emit_function(name, arg_names, inputs, out_tree, closures=closures, doc=doc,
                                                 scalar=scalar, checks=checks)
