"""check_grads: compare npdiff's derivatives with central finite differences."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .ir.pytree import tree_flatten


def _flat_out(f, args):
    leaves, _ = tree_flatten(f(*args))
    return np.concatenate([np.ravel(np.asarray(l, dtype=np.float64)) for l in leaves]) if leaves else np.zeros(0)


def fd_jacobian(f: Callable, args: Sequence, argnum: int, eps: float) -> np.ndarray:
    """Return the central-difference Jacobian of f's flattened outputs w.r.t. args[argnum]."""
    x = np.asarray(args[argnum], dtype=np.float64)
    cols = []
    for k in range(x.size):
        d = np.zeros(x.size)
        d[k] = eps
        xp = (x.ravel() + d).reshape(x.shape).astype(np.asarray(args[argnum]).dtype)
        xm = (x.ravel() - d).reshape(x.shape).astype(np.asarray(args[argnum]).dtype)
        ap = list(args); ap[argnum] = xp
        am = list(args); am[argnum] = xm
        cols.append((_flat_out(f, ap) - _flat_out(f, am)) / (2 * eps))
    return np.stack(cols, axis=-1) if cols else np.zeros((0, 0))


def check_grads(f: Callable, args: Sequence, order: int = 2, modes=("fwd", "rev"), eps: float = 1e-5,
                rtol: float = 1e-4, atol: float = 1e-6) -> None:
    """Check derivatives of f up to ``order`` against finite differences; raise AssertionError if off.

    Pytree arguments (dicts, lists/tuples of arrays) are checked leaf by leaf
    ("argument i" in a message then counts the leaves of all arguments in order).
    """
    from .api.argtrees import OnTrees, flatten_args, is_tree_call
    if is_tree_call(args):
        leaves, defs = flatten_args(args)
        return check_grads(OnTrees(f, defs), leaves, order, modes, eps, rtol, atol)
    from .api.jax_style import jacfwd, jacrev
    args = tuple(np.asarray(a, dtype=float) if not isinstance(a, np.ndarray) else a for a in args)
    worst = (0.0, "")

    def compare(fn, label, eps_):
        nonlocal worst
        for i in range(len(args)):
            fd = fd_jacobian(fn, args, i, eps_)
            for mode in modes:
                op = jacfwd if mode == "fwd" else jacrev
                J = op(fn, argnums=i)
                leaves, _ = tree_flatten(J(*args))
                ad = np.concatenate([np.asarray(l, dtype=float).reshape(-1, args[i].size) for l in leaves]) \
                    if leaves else np.zeros((0, args[i].size))
                err = np.abs(ad - fd) - (atol + rtol * np.abs(fd))
                if err.size and err.max() > worst[0]:
                    k = np.unravel_index(np.argmax(err), err.shape)
                    worst = (err.max(), f"{label} ({mode}) w.r.t. argument {i}: entry {k}: "
                                         f"npdiff {ad[k]:.8g}, finite differences {fd[k]:.8g}")
        return worst

    compare(f, "first derivative", eps)
    if order >= 2:
        for mode in modes:
            op = jacfwd if mode == "fwd" else jacrev
            for i in range(len(args)):
                compare(op(f, argnums=i), f"second derivative (outer {mode})", eps)
    if worst[0] > 0:
        raise AssertionError("derivative mismatch: " + worst[1])
