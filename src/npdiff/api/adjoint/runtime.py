"""Run-time helpers of the shape-generic adjoint, printed into its source when used.

Each helper is kept as source text (``helper_source`` prints the ones a
generated adjoint calls, with their dependencies) and is also defined in this
module, so it can be imported and tested.
"""
from __future__ import annotations

import numpy as np  # noqa: F401  (the helpers defined by exec below use it)

__all__ = ["HELPERS", "helper_source"]

HELPERS = {
    "_unbroadcast": ((), '''
def _unbroadcast(g, x):
    """Sum the adjoint g down to the shape of x (undo NumPy broadcasting)."""
    if g.__class__ is x.__class__ is np.ndarray and g.shape == x.shape:
        return g  # the common case, without np.shape's dispatch
    shape = np.shape(x)
    if np.shape(g) == shape:
        return g
    lead = np.ndim(g) - len(shape)
    if lead < 0:
        return g + np.zeros(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and np.shape(g)[lead + i] != 1)
    g = np.sum(g, axis=axes, keepdims=True).reshape(shape)
    return g if isinstance(x, np.ndarray) else g[()]
'''),
    "_mT": ((), '''
def _mT(x):
    """Matrix transpose: swap the last two axes (x.T for a 2-d x)."""
    return np.swapaxes(x, -1, -2)
'''),
    "_matmul_grad_a": (("_unbroadcast", "_mT"), '''
def _matmul_grad_a(g, a, b):
    """Adjoint of a in c = a @ b: g @ b.T for matrices, any np.matmul operands."""
    if a.__class__ is b.__class__ is np.ndarray and a.ndim == 2 == b.ndim:
        return g @ b.T  # matrices (the common case): no broadcasting to undo
    if np.ndim(b) == 1:
        if np.ndim(a) == 1:
            return g * b
        return g[..., :, None] * b
    if np.ndim(a) == 1:
        return _unbroadcast((g[..., None, :] @ _mT(b))[..., 0, :], a)
    return _unbroadcast(g @ _mT(b), a)
'''),
    "_matmul_grad_b": (("_unbroadcast", "_mT"), '''
def _matmul_grad_b(g, a, b):
    """Adjoint of b in c = a @ b: a.T @ g for matrices, any np.matmul operands."""
    if a.__class__ is b.__class__ is np.ndarray and a.ndim == 2 == b.ndim:
        return a.T @ g  # matrices (the common case): no broadcasting to undo
    if np.ndim(a) == 1:
        if np.ndim(b) == 1:
            return g * a
        return _unbroadcast(a[:, None] * g[..., None, :], b)
    if np.ndim(b) == 1:
        return _unbroadcast((g[..., None, :] @ a)[..., 0, :], b)
    return _unbroadcast(_mT(a) @ g, b)
'''),
    "_dot_grad_a": (("_unbroadcast", "_matmul_grad_a"), '''
def _dot_grad_a(g, a, b):
    """Adjoint of a in c = np.dot(a, b), any operand dimensions."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * b, a)
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        return _matmul_grad_a(g, a, b)
    if np.ndim(b) == 1:
        return np.multiply.outer(g, b)
    axes_b = [i for i in range(np.ndim(b)) if i != np.ndim(b) - 2]
    return np.tensordot(g, b, axes=(list(range(np.ndim(a) - 1, np.ndim(g))), axes_b))
'''),
    "_dot_grad_b": (("_unbroadcast", "_matmul_grad_b"), '''
def _dot_grad_b(g, a, b):
    """Adjoint of b in c = np.dot(a, b), any operand dimensions."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(a * g, b)
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        return _matmul_grad_b(g, a, b)
    lead = list(range(np.ndim(a) - 1))
    if np.ndim(b) == 1:
        return np.tensordot(a, g, axes=(lead, lead))
    return np.moveaxis(np.tensordot(a, g, axes=(lead, lead)), 0, -2)
'''),
    "_solve_grad_b": (("_mT",), '''
def _solve_grad_b(a, g):
    """Adjoint of b in x = np.linalg.solve(a, b): solve(a.T, g)."""
    if np.ndim(g) < np.ndim(a):
        return np.linalg.solve(_mT(a), g[..., None])[..., 0]
    return np.linalg.solve(_mT(a), g)
'''),
    "_solve_grad_A": (("_unbroadcast", "_mT"), '''
def _solve_grad_A(w, x, a):
    """Minus the adjoint of a in x = np.linalg.solve(a, b): w @ x.T, w = solve(a.T, g)."""
    if np.ndim(x) < np.ndim(a):
        return _unbroadcast(w[..., :, None] * x[..., None, :], a)
    return _unbroadcast(w @ _mT(x), a)
'''),
}

# The helpers also live in this module, so they can be imported and tested.
for _name, (_deps, _src) in HELPERS.items():
    exec(compile(_src, f"<npdiff helper {_name}>", "exec"), globals())
del _name, _deps, _src


def _helper_closure(names) -> list[str]:
    """Return the helpers in names plus their dependencies, in definition order."""
    need = set()

    def visit(n):
        if n not in need:
            need.add(n)
            for d in HELPERS[n][0]:
                visit(d)

    for n in names:
        visit(n)
    return [n for n in HELPERS if n in need]


def helper_source(names=None) -> str:
    """Return the source of the named run-time helpers (all by default) and their dependencies."""
    names = list(HELPERS) if names is None else _helper_closure(names)
    return "\n\n\n".join(HELPERS[n][1].strip() for n in names) + "\n"

