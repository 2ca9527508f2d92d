"""Gaps found by running autograd's NumPy-level tests on npdiff, each fixed and checked here.

Derivatives are compared with central finite differences (complex inputs: along
the real and imaginary directions). The last test runs autograd's own test files
through ``npdiff.compat.autograd`` (``python -m tests.autograd_suite``: a module swap only) when
autograd's tests are available (``NPDIFF_AUTOGRAD_TESTS=dir``) and skips otherwise.
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import npdiff
from util import assert_close, fd_jac
from util import fd_complex_grad as _fd_complex_grad

ROOT = pathlib.Path(__file__).resolve().parents[1]


def assert_complex_close(a, b, rtol, atol, what=""):
    """Compare real and imaginary parts (util.assert_close compares real values only)."""
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol, err_msg=what)


# -- predicates on complex arrays: iscomplex / isreal look at the imaginary part ------------------

def test_iscomplex_of_a_complex_array_is_per_element():
    z = np.array([1.0 + 0.0j, 2.0 + 0.5j, -1.0 - 2.0j])
    got = npdiff.numpify(lambda z: [np.iscomplex(z), np.isreal(z)], npdiff.ShapeDtype((3,), complex))(z)
    np.testing.assert_array_equal(got[0], [False, True, True])
    np.testing.assert_array_equal(got[1], [True, False, False])


def test_branch_on_iscomplex_takes_numpys_path():
    """x**2 if np.iscomplex(x) else x: the branch follows the value (a guard), not the dtype."""
    f = lambda z: np.real(z ** 2 if np.iscomplex(z) else np.sum(z))
    z = 2.0 + 1.0j
    assert_complex_close(npdiff.grad(f)(z), _fd_complex_grad(f, z), 1e-6, 1e-6, "complex value")
    assert_complex_close(npdiff.grad(f)(2.0 + 0.0j), _fd_complex_grad(f, 2.0 + 0.0j), 1e-6, 1e-6, "real value")


# -- np.angle of complex arrays -------------------------------------------------------------------

@pytest.mark.parametrize("deg", [False, True])
def test_angle_of_complex_values(deg):
    z = np.array([1.0 + 1.0j, -2.0 + 0.5j, 0.3 - 1.7j, -1.0 - 0.1j])
    f = lambda z: np.sum(np.angle(z, deg=deg) * np.array([1.0, -2.0, 0.5, 3.0]))
    assert_close(npdiff.numpify(f, npdiff.ShapeDtype((4,), complex))(z), f(z), 1e-14, 1e-14, "value")
    assert_complex_close(npdiff.grad(f)(z), _fd_complex_grad(f, z), 1e-6, 1e-6, "gradient")
    g = lambda z: np.sum(np.imag(npdiff.grad(f)(z)) * np.array([0.5, 1.0, -1.0, 2.0]))  # second derivative
    assert_complex_close(npdiff.grad(g)(z), _fd_complex_grad(g, z), 1e-5, 1e-5, "second derivative")


# -- value comparisons in traced code --------------------------------------------------------------

def test_allclose_in_an_assert_becomes_a_checked_decision():
    def f(x):
        assert np.allclose(x, (x * 3.0) / 3.0)
        return np.sum(x * x)

    x = np.array([1.0, 2.0, 3.0])
    assert_close(npdiff.grad(f)(x), 2 * x, 1e-12, 1e-12)


@pytest.mark.parametrize("kw", [{}, {"rtol": 0.0, "atol": 0.2}, {"equal_nan": True}])
def test_isclose_matches_numpy_including_infinities(kw):
    a = np.array([1.0, np.inf, -np.inf, np.nan, 2.0, 1e-9])
    b = np.array([1.0 + 1e-7, np.inf, np.inf, np.nan, 2.1, 0.0])
    got = npdiff.numpify(lambda a, b: np.isclose(a, b, **kw), (6,), (6,))(a, b)
    np.testing.assert_array_equal(got, np.isclose(a, b, **kw))
    both = npdiff.numpify(lambda a, b: [np.allclose(a, b, **kw), np.array_equal(a, b, equal_nan=True)],
                          (6,), (6,))(a, b)
    assert bool(both[0]) == np.allclose(a, b, **kw) and bool(both[1]) == np.array_equal(a, b, equal_nan=True)


def test_allclose_selects_a_branch_with_the_right_derivative():
    def f(x, y):
        return np.sum(x * y) if np.allclose(x, y, atol=0.5) else np.sum(x - y)

    x, y = np.array([1.0, 2.0]), np.array([1.2, 2.1])
    for i in (0, 1):
        assert_close(npdiff.grad(f, argnums=i)(x, y), fd_jac(f, [x, y], i).ravel(), 1e-6, 1e-6, f"near, arg {i}")
    y2 = y + 3.0
    assert_close(npdiff.grad(f)(x, y2), fd_jac(f, [x, y2], 0).ravel(), 1e-6, 1e-6, "far")


# -- powers with a zero exponent or a zero base ---------------------------------------------------

def test_zeroth_power_has_zero_derivative_at_zero():
    x = np.array([0.0, 1.5, -2.0])
    for jac in (npdiff.jacfwd, npdiff.jacrev):
        assert_close(jac(lambda x: x ** 0.0)(x), np.zeros((3, 3)), 0, 0, jac.__name__)
    y = np.array([0.0, 2.0, 1.0])  # traced exponents, one of them zero
    f = lambda x, y: np.sum(x ** y)
    g = npdiff.grad(f, argnums=0)(np.array([0.0, 0.5, 1.5]), y)
    assert np.all(np.isfinite(g)) and g[0] == 0.0
    assert_close(g[1:], y[1:] * np.array([0.5, 1.5]) ** (y[1:] - 1), 1e-12, 1e-12)


def test_zero_base_power_derivative_in_the_exponent():
    """0 ** y is 0 for every y > 0, so its derivative in y is 0 (not log(0) * 0)."""
    b = np.array([0.0, 2.0, 0.5])
    f = lambda y: np.sum(b ** y)
    y = np.array([1.5, 0.7, 2.0])
    assert_close(npdiff.grad(f)(y), fd_jac(f, [y], 0).ravel(), 1e-6, 1e-6, "gradient")
    assert_close(npdiff.hessian(f)(y), fd_jac(npdiff.grad(f), [y], 0), 1e-5, 1e-5, "hessian")
    g = lambda x, y: np.sum(x ** y)  # both traced, base zero
    x = np.array([0.0, 1.2, 0.4])
    assert_close(npdiff.grad(g, argnums=1)(x, y), fd_jac(g, [x, y], 1).ravel(), 1e-6, 1e-6, "traced base")


# -- reductions of a Python list of traced arrays ------------------------------------------------

@pytest.mark.parametrize("name,f", [
    ("mean", lambda x: np.mean([x, x ** 2, np.sin(x)])),
    ("mean-axis", lambda x: np.mean([x, 2.0 * x], axis=0)),
    ("var", lambda x: np.var([x, x ** 2], axis=1)),
    ("std", lambda x: np.std([x, np.exp(x)])),
    ("sum-tuple", lambda x: np.sum((x, x[::-1] * 3.0), axis=0)),
    ("prod", lambda x: np.prod([x, x + 1.0], axis=0)),
    ("max", lambda x: np.max([x, -x], axis=0)),
])
def test_reduction_of_a_list_of_traced_arrays(name, f):
    x = np.array([0.4, -1.3, 0.9])
    assert_close(npdiff.numpify(f, (3,))(x), f(x), 1e-12, 1e-12, "value")
    for jac in (npdiff.jacfwd, npdiff.jacrev):
        J = jac(f)(x)
        assert_close(J, fd_jac(f, [x], 0).reshape(np.shape(J)), 1e-6, 1e-6, f"{name} {jac.__name__}")


# -- autograd's suite through npdiff.compat.autograd ----------------------------------------------------

def test_autograd_suite_pass_rate(tmp_path):
    """autograd's applicable tests pass through npdiff.compat.autograd (module swap only) at a rate of at least 98%."""
    directory = os.environ.get("NPDIFF_AUTOGRAD_TESTS")
    if not directory:
        pytest.skip("set NPDIFF_AUTOGRAD_TESTS to a directory holding autograd's tests/*.py")
    pytest.importorskip("scipy")
    out = tmp_path / "results.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    subprocess.run([sys.executable, "-m", "tests.autograd_suite", "--autograd-tests", directory, "--json", str(out)],
                   cwd=ROOT, env=env, check=False, timeout=7200)
    report = json.loads(out.read_text())
    summary = report["summary"]
    failed = "\n".join(f"{name}: {reason}" for name, (outcome, reason) in sorted(report["results"].items())
                        if outcome == "failed")
    assert summary["passed"] + summary["failed"] > 100, summary
    assert summary["rate"] >= 0.98, f"{summary}\nfailed:\n{failed}"
