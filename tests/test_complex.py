"""Complex inputs follow JAX's convention: for real-valued f of complex z,
grad(f)(z) = df/dx - i df/dy (the conjugate of the Wirtinger-style gradient)."""
import numpy as np
import pytest

import npdiff
from util import fd_complex_grad as _fd_complex_grad


def test_jax_cookbook_example():
    def f(z):
        x, y = np.real(z), np.imag(z)
        return x ** 2 + y ** 2
    assert np.isclose(npdiff.grad(f)(np.array(3.0 + 4.0j)), 6.0 - 8.0j)


def test_real_valued_functions_of_complex_arrays():
    fs = [lambda z: np.sum(np.abs(np.exp(z) * np.conj(z)) ** 2 + np.real(z * z)),
          lambda z: np.sum(np.imag(np.sin(z)) * np.real(z) ** 2),
          lambda z: np.real(np.sum(z * np.conj(z[::-1])))]
    z = np.array([0.3 + 0.2j, -0.5 + 1.1j, 0.7 - 0.4j])
    for f in fs:
        assert np.allclose(npdiff.grad(f)(z), _fd_complex_grad(f, z), atol=1e-6)


def test_complex_intermediates_of_real_functions():
    f = lambda x: np.sum(np.real(np.exp(1j * x) * x))
    x = np.array([0.3, -0.8, 1.2])
    assert np.allclose(npdiff.grad(f)(x), np.cos(x) - x * np.sin(x))
    assert npdiff.grad(f)(x).dtype == np.float64


def test_abs_of_complex_zero_has_a_zero_derivative():
    """|z| at z = 0: derivative 0 (JAX's choice), so |z|**2 and |fft(x)|**2 stay finite and exact there."""
    z = np.array([0j, 1 + 1j])
    np.testing.assert_allclose(npdiff.grad(lambda z: np.sum(np.abs(z)))(z), [0, np.conj(z[1]) / abs(z[1])])
    np.testing.assert_allclose(npdiff.grad(lambda z: np.sum(np.abs(z) ** 2))(z), 2 * np.conj(z))
    x = np.array([1.0, -1.0, 2.0, -2.0])  # zero mean: the DC bin of rfft(x) is exactly 0
    f = lambda x: np.sum(np.abs(np.fft.rfft(x)) ** 2)
    fd = np.array([(f(x + e) - f(x - e)) / 2e-6 for e in np.eye(4) * 1e-6])
    np.testing.assert_allclose(npdiff.grad(f)(x), fd, rtol=1e-6)


@pytest.mark.parametrize("c", [complex(0.0, np.inf), complex(np.nan, 1.0), complex(-np.inf, -0.0),
                               np.array([1 + np.inf * 1j, np.nan, complex(-np.inf, 0.0)]),
                               np.array(complex(np.nan, -0.0)),
                               np.array([[complex(np.inf, np.nan), 1j], [2, -0.0j]], np.complex64)])
def test_complex_constants_with_infinities_and_nans_are_written_as_python_source(c):
    """repr(complex(0, inf)) is 'infj': the generated code spells such constants with complex(...)."""
    x = np.array([1.0, -2.0, 0.5])
    f = lambda x: x[0] * c + x[1]
    with np.errstate(invalid="ignore"):
        want = f(x)
        got = npdiff.numpify(f, x)(x)
        got_big = npdiff.numpify(lambda x: x * np.ravel(c)[0] - 1.0, np.ones(40))(np.ones(40))
        want_big = np.ones(40) * np.ravel(c)[0] - 1.0
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_big, want_big)
