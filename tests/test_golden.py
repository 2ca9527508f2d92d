"""Golden-source tests: a code-generation change shows up as a readable diff.

If a change to the emitter is intended, regenerate the files with
``python tests/test_golden.py`` and review the diff.
"""
import difflib
import pathlib

import numpy as np
import pytest

import npdiff

HERE = pathlib.Path(__file__).parent / "golden"
X = np.linspace(-1, 1, 150).reshape(50, 3)
Y = (np.arange(50) % 2).astype(float)


def logistic_loss(w):
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - Y * z)


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


CASES = {
    "grad_logistic_loss.py.txt": lambda: npdiff.grad(logistic_loss).specialize((3,)).source,
    "hessian_rosen.py.txt": lambda: npdiff.hessian(rosen).specialize((20,)).source,
}


def _check(name):
    got = CASES[name]()
    want = (HERE / name).read_text()
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "golden", "generated"))
        raise AssertionError(f"generated source changed for {name}:\n{diff}")


def test_grad_logistic_loss_source():
    pytest.importorskip("scipy.special")  # without SciPy the sigmoid is written exp(z - logaddexp(0, z))
    _check("grad_logistic_loss.py.txt")


def test_hessian_rosen_source():
    _check("hessian_rosen.py.txt")


def test_golden_functions_are_correct():
    w = np.array([0.3, -0.2, 0.5])
    z = X @ w
    expect = X.T @ (1.0 / (1.0 + np.exp(-z)) - Y)
    assert np.allclose(npdiff.grad(logistic_loss)(w), expect)


if __name__ == "__main__":
    for name, make in CASES.items():
        (HERE / name).write_text(make())
