"""Independent references for derivative tests: central finite differences."""
from __future__ import annotations

import numpy as np

import npdiff
from npdiff.check import fd_jacobian
from npdiff.ir.pytree import tree_flatten


def flat(out):
    leaves, _ = tree_flatten(out)
    return np.concatenate([np.ravel(np.asarray(l, dtype=np.float64)) for l in leaves])


def fd_jac(f, args, i, eps=1e-6):
    """Central-difference Jacobian (flat outputs x flat args[i]), computed in float64."""
    return fd_jacobian(f, [np.asarray(a, dtype=np.float64) for a in args], i, eps)


def fd_vjp(f, args, i, ct, eps=1e-6, retype=None):
    """Central differences of <ct, f(args)> with respect to args[i] (shaped like args[i]).

    ``retype(original, perturbed)`` turns a perturbed argument back into the caller's kind (a Python
    float for a Python float), for functions that treat the two differently.
    """
    x = np.asarray(args[i], dtype=np.float64)
    g = lambda *a: np.sum(np.asarray(ct, dtype=np.float64) * np.asarray(f(*a), dtype=np.float64))
    if retype is not None:
        g0 = g
        g = lambda *a: g0(*a[:i], retype(args[i], a[i]), *a[i + 1:])
    full = [np.asarray(a, dtype=np.float64) if k == i else a for k, a in enumerate(args)]
    return fd_jacobian(g, full, i, eps).reshape(x.shape)


def fd_complex_grad(f, z, eps=1e-6):
    """Return df/dx - i df/dy of a real-valued f by central differences (npdiff's, JAX's, convention)."""
    z = np.asarray(z, dtype=complex)
    out = np.zeros(z.shape, complex)
    for k in np.ndindex(z.shape):
        e = np.zeros(z.shape, complex)
        e[k] = eps
        out[k] = (f(z + e) - f(z - e)) / (2 * eps) - 1j * (f(z + 1j * e) - f(z - 1j * e)) / (2 * eps)
    return out


def assert_close(a, b, rtol=1e-5, atol=1e-6, what=""):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    bad = np.isnan(a) != np.isnan(b)
    assert not bad.any(), f"{what}: NaN mismatch at {np.argwhere(bad)[0].tolist()}"
    err = np.abs(a - b) - (atol + rtol * np.abs(b))
    err = np.where(np.isnan(a) & np.isnan(b), -1.0, err)
    if err.size and err.max() > 0:
        k = np.unravel_index(np.argmax(err), err.shape)
        raise AssertionError(f"{what}: worst mismatch at {k}: {a[k]} vs {b[k]}")


def check_derivatives(f, args, order=2, rtol=1e-5, atol=1e-6):
    """Check jacfwd/jacrev (and second derivatives) of f against finite differences.

    Second derivatives are compared with finite differences of the (already
    checked) first derivative.
    """
    args = [np.asarray(a) for a in args]
    for i in range(len(args)):
        fd = fd_jac(f, args, i)
        for op in (npdiff.jacfwd, npdiff.jacrev):
            J = op(f, argnums=i)(*args)
            assert_close(flat(J).reshape(fd.shape), fd, rtol, atol, f"{op.__name__} arg {i}")
        if order >= 2:
            J1 = npdiff.jacrev(f, argnums=i)
            fd2 = fd_jac(J1, args, i)
            for outer in (npdiff.jacfwd, npdiff.jacrev):
                H = outer(J1, argnums=i)(*args)
                assert_close(flat(H).reshape(fd2.shape), fd2, 1e-4, 1e-5, f"{outer.__name__}(jacrev) arg {i}")
