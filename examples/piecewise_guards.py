"""Python control flow on values, differentiated unchanged (guarded specialisation).

JAX refuses `if` on a traced value; autograd re-traces on every call. npdiff
traces each path once, with the values of the first call that takes it, checks
the decision in the generated code, and caches one function per path. The
derivative is that of the path taken.
"""
import os

import numpy as np

import npdiff

SMALL = os.environ.get("NPDIFF_EXAMPLE_SMALL") == "1"


def huber(r, delta=1.0):
    """Huber loss written the way people write it: a Python `if` per residual."""
    total = 0.0
    for ri in r:
        if abs(ri) <= delta:
            total = total + 0.5 * ri ** 2
        else:
            total = total + delta * (abs(ri) - 0.5 * delta)
    return total


def newton_sqrt(a, tol=1e-12):
    """sqrt(a) by Newton's method: a `while` loop with a tolerance (derivative of the unrolled path)."""
    x = a
    while np.abs(x * x - a) > tol * a:
        x = 0.5 * (x + a / x)
    return x


def fd_grad(f, x, eps=1e-6):
    """Central finite differences, the independent check."""
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


def main():
    g = npdiff.grad(huber)
    for r in (np.array([0.3, -2.0, 1.5]), np.array([-0.2, 0.1, 0.4]), np.array([3.0, -0.5, 0.9])):
        got = g(r)
        print(f"r = {r}: grad = {got}, finite differences agree: {np.allclose(got, fd_grad(huber, r))}")
    info = g.cache_info()
    print(f"cache: {info.specializations[0]} -> {info.paths[0]} paths traced (one per branch pattern)")
    print("\nThe generated code checks each decision where it is computed:\n")
    print(g.specialize(np.array([0.3, -2.0, 1.5])).source)

    ds = npdiff.grad(newton_sqrt)
    for a in (np.array(2.0), np.array(9.0)) if SMALL else (np.array(2.0), np.array(9.0), np.array(1e4)):
        print(f"d sqrt(a)/da at a = {float(a)}: {float(ds(a)):.12f} (exact {0.5 / np.sqrt(float(a)):.12f})")


if __name__ == "__main__":
    main()
