"""numpy.fft: values, shapes and dtypes equal NumPy's; derivatives (jvp, vjp, grad, Hessian) against
central finite differences along real and imaginary directions, for every keyword.

Complex inputs are parametrised by real arrays p (z = p[0] + 1j * p[1]) and complex outputs split into
stacked real and imaginary parts, so the generic finite-difference checks of tests/util.py see real
maps; the direct jvp/vjp tests check JAX's convention on complex arrays (the pairing of a cotangent u
with a tangent v is Re(sum(u * v))).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import npdiff
from util import assert_close, check_derivatives
from util import fd_complex_grad as _fd_complex_grad

F = np.fft
NORMS = [None, "backward", "ortho", "forward"]


def _ri(z):
    return np.stack([np.real(z), np.imag(z)])


def _z(p):
    return p[0] + 1j * p[1]


def _quiet(f, *args, **kw):
    """Return f(*args, **kw) without its DeprecationWarning (None entries in s=, deprecated in NumPy 2.0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return f(*args, **kw)


def _rng(seed=0):
    return np.random.default_rng(seed)


# (id, function of a real array x or of z = x[0] + 1j x[1], complex input?, input shape)
CASES = []
for _norm in NORMS:
    CASES += [
        (f"fft-{_norm}", lambda z, nm=_norm: F.fft(z, norm=nm), True, (5,)),
        (f"fft-real-{_norm}", lambda x, nm=_norm: F.fft(x, norm=nm), False, (4,)),
        (f"ifft-{_norm}", lambda z, nm=_norm: F.ifft(z, n=3, norm=nm), True, (6,)),
        (f"rfft-odd-{_norm}", lambda x, nm=_norm: F.rfft(x, norm=nm), False, (5,)),
        (f"rfft-even-{_norm}", lambda x, nm=_norm: F.rfft(x, norm=nm), False, (6,)),
        (f"irfft-even-{_norm}", lambda z, nm=_norm: F.irfft(z, norm=nm), True, (4,)),
        (f"irfft-odd-{_norm}", lambda z, nm=_norm: F.irfft(z, n=7, norm=nm), True, (4,)),
        (f"hfft-{_norm}", lambda z, nm=_norm: F.hfft(z, n=5, norm=nm), True, (3,)),
        (f"ihfft-{_norm}", lambda x, nm=_norm: F.ihfft(x, norm=nm), False, (6,)),
        (f"fft2-{_norm}", lambda z, nm=_norm: F.fft2(z, norm=nm), True, (3, 4)),
        (f"rfftn-{_norm}", lambda x, nm=_norm: F.rfftn(x, norm=nm), False, (2, 3, 5)),
        (f"irfftn-{_norm}", lambda z, nm=_norm: F.irfftn(z, norm=nm), True, (3, 3)),
    ]
CASES += [
    # n smaller (truncation) and larger (zero padding), odd and even, along other axes
    ("fft-n-smaller", lambda z: F.fft(z, n=3), True, (5,)),
    ("fft-n-larger", lambda z: F.fft(z, n=8), True, (5,)),
    ("fft-axis0", lambda z: F.fft(z, n=4, axis=0), True, (3, 2)),
    ("ifft-n-larger-real", lambda x: F.ifft(x, n=7, axis=-2), False, (4, 2)),
    ("rfft-n-smaller", lambda x: F.rfft(x, n=3), False, (6,)),
    ("rfft-n-larger-even", lambda x: F.rfft(x, n=8), False, (5,)),
    ("rfft-n-larger-odd", lambda x: F.rfft(x, n=9, axis=0), False, (5, 2)),
    ("rfft-n1", lambda x: F.rfft(x, n=1), False, (3,)),
    ("rfft-n2", lambda x: F.rfft(x, n=2), False, (3,)),
    ("irfft-n-smaller", lambda z: F.irfft(z, n=3), True, (5,)),
    ("irfft-n-larger", lambda z: F.irfft(z, n=10), True, (3,)),
    ("irfft-n-even-exact", lambda z: F.irfft(z, n=4), True, (3,)),
    ("irfft-n1", lambda z: F.irfft(z, n=1), True, (2,)),
    ("irfft-axis0", lambda z: F.irfft(z, n=5, axis=0, norm="ortho"), True, (3, 2)),
    ("irfft-real-input", lambda x: F.irfft(x, n=6), False, (4,)),
    ("hfft-default", lambda z: F.hfft(z, norm="ortho"), True, (4,)),
    ("hfft-n-larger", lambda z: F.hfft(z, n=9, norm="forward"), True, (3,)),
    ("ihfft-n", lambda x: F.ihfft(x, n=4, norm="forward"), False, (5,)),
    # n-D forms: s, axes (reordered, repeated), 3-D
    ("fftn-s", lambda z: F.fftn(z, s=(2, 5), axes=(0, 1)), True, (3, 4)),
    ("fftn-axes-reversed", lambda z: F.fftn(z, s=(5, 2), axes=(1, 0), norm="ortho"), True, (3, 4)),
    ("fftn-axes-repeated", lambda z: F.fftn(z, s=(3, 2), axes=(0, 0)), True, (4, 2)),
    ("fftn-3d", lambda z: F.fftn(z, axes=(0, 2)), True, (2, 2, 3)),
    ("fftn-s-none-and-minus-one", lambda z: _quiet(F.fftn, z, s=(None, 6, -1), axes=(0, 1, 2)), True, (2, 3, 2)),
    ("irfftn-s-none", lambda z: _quiet(F.irfftn, z, s=(2, None), axes=(0, 1)), True, (3, 3)),
    ("irfftn-s-none-repeated", lambda z: _quiet(F.irfftn, z, s=(None, None), axes=(1, 1)), True, (2, 4)),
    ("ifftn-real", lambda x: F.ifftn(x, norm="forward"), False, (2, 3)),
    ("ifft2-s", lambda z: F.ifft2(z, s=(4, 3)), True, (3, 2)),
    ("rfft2", lambda x: F.rfft2(x, s=(2, 5)), False, (3, 4)),
    ("rfftn-axes", lambda x: F.rfftn(x, axes=(1, 0), norm="ortho"), False, (3, 4)),
    ("rfftn-odd", lambda x: F.rfftn(x), False, (3, 3, 3)),
    ("irfft2", lambda z: F.irfft2(z, s=(3, 5)), True, (2, 3)),
    ("irfftn-axes", lambda z: F.irfftn(z, s=(4, 3), axes=(1, 0), norm="forward"), True, (3, 3)),
    ("irfftn-3d", lambda z: F.irfftn(z, axes=(0, 2)), True, (2, 2, 3)),
    # shifts
    ("fftshift", lambda x: F.fftshift(x), False, (3, 4)),
    ("fftshift-axes", lambda x: F.fftshift(x, axes=(1,)), False, (3, 5)),
    ("ifftshift", lambda x: F.ifftshift(x, axes=0), False, (5, 2)),
    ("ifftshift-complex", lambda z: F.ifftshift(z), True, (3, 4)),
]
IDS = [c[0] for c in CASES]


def _real_map(fn, is_complex):
    """Return a real-to-real map of a real array p (z = p[0] + 1j p[1] for complex inputs)."""
    def g(p):
        out = fn(_z(p) if is_complex else p)
        return _ri(out) if np.iscomplexobj(out) else out
    return g


def _input(shape, is_complex, seed=0):
    return _rng(seed).normal(size=((2,) + shape if is_complex else shape))


@pytest.mark.parametrize("name, fn, is_complex, shape", CASES, ids=IDS)
def test_value_shape_dtype(name, fn, is_complex, shape):
    p = _input(shape, is_complex)
    x = _z(p) if is_complex else p
    expect = fn(x)
    got = npdiff.numpify(fn, x)(x)
    assert got.shape == expect.shape and got.dtype == expect.dtype, (got.shape, got.dtype, expect.shape, expect.dtype)
    assert_close(_ri(got), _ri(expect), 1e-12, 1e-12, "value")


@pytest.mark.parametrize("name, fn, is_complex, shape", CASES, ids=IDS)
def test_first_derivatives_match_finite_differences(name, fn, is_complex, shape):
    # a linear map: jacfwd and jacrev against central differences along every real and imaginary direction
    check_derivatives(_real_map(fn, is_complex), [_input(shape, is_complex)], order=1)


SECOND = ["fft-None", "ifft-ortho", "rfft-odd-forward", "rfft-even-backward", "irfft-even-ortho",
          "irfft-odd-None", "hfft-forward", "ihfft-ortho", "fft2-backward", "rfftn-ortho", "irfftn-forward",
          "fft-n-smaller", "rfft-n-larger-odd", "irfft-n-smaller", "irfft-n-larger", "fftn-axes-repeated",
          "rfft2", "irfft2", "fftshift-axes"]


@pytest.mark.parametrize("name, fn, is_complex, shape", [c for c in CASES if c[0] in SECOND],
                         ids=[c for c in IDS if c in SECOND])
def test_second_derivatives_of_nonlinear_compositions(name, fn, is_complex, shape):
    g = _real_map(fn, is_complex)
    h = lambda p: np.sin(g(p ** 2 * 0.5 + p)) * g(p)
    check_derivatives(h, [_input(shape, is_complex, seed=1) * 0.7], order=2, rtol=1e-5, atol=1e-5)


# -- JAX's convention on complex arrays, directly ----------------------------------------------

def _fd_dir(f, x, v, eps=1e-6):
    return (f(x + eps * v) - f(x - eps * v)) / (2 * eps)


@pytest.mark.parametrize("name, fn, is_complex, shape", CASES, ids=IDS)
def test_jvp_and_vjp_on_complex_arrays(name, fn, is_complex, shape):
    rng = _rng(2)
    x = _z(_input(shape, True)) if is_complex else _input(shape, False)
    out = fn(x)
    for v in ([rng.normal(size=shape) + 1j * rng.normal(size=shape), rng.normal(size=shape)] if is_complex
              else [rng.normal(size=shape)]):
        primal, tangent = npdiff.jvp(fn, (x,), (v,))
        assert_close(_ri(primal), _ri(out), 1e-12, 1e-12, "jvp primal")
        assert_close(_ri(tangent), _ri(_fd_dir(fn, x, v)), 1e-6, 1e-8, "jvp tangent")
    u = rng.normal(size=out.shape) + (1j * rng.normal(size=out.shape) if np.iscomplexobj(out) else 0.0)
    _, pull = npdiff.vjp(fn, x)
    (ct,) = pull(u)
    assert ct.shape == x.shape and ct.dtype == x.dtype
    for v in ([rng.normal(size=shape), 1j * rng.normal(size=shape)] if is_complex else [rng.normal(size=shape)]):
        lhs = np.real(np.sum(ct * v))
        rhs = np.real(np.sum(u * _fd_dir(fn, x, v)))
        assert abs(lhs - rhs) <= 1e-6 * (1 + abs(rhs)), (lhs, rhs)


@pytest.mark.parametrize("norm", NORMS)
def test_grad_of_power_spectrum(norm):
    x = _input((6,), False)
    w = np.linspace(0.5, 2.0, 4)
    f = lambda x: np.sum(w * np.abs(F.rfft(x, norm=norm)) ** 2)
    eps = 1e-6
    fd = np.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(6)])
    assert_close(npdiff.grad(f)(x), fd, 1e-6, 1e-8, "grad")
    # the Hessian of a quadratic form is constant: its columns are finite differences of the gradient
    H = npdiff.hessian(f)(x)
    g = npdiff.grad(f)
    assert_close(H, np.stack([(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(6)], 1), 1e-5, 1e-7,
                 "hessian")


@pytest.mark.parametrize("fn", [lambda z: np.sum(np.abs(F.fft(z, n=6)) ** 3),
                                lambda z: np.real(np.sum(F.irfft(z, n=5) ** 2 * np.arange(5.0))),
                                lambda z: np.sum(np.imag(F.hfft(z) * 1j) ** 2),
                                lambda z: np.real(np.sum(F.ifft2(z, s=(3, 2))[0] ** 2 * (1 + 2j)))],
                         ids=["fft", "irfft", "hfft", "ifft2"])
def test_grad_of_real_function_of_complex_input(fn):
    z = _z(_input((3, 4), True))
    assert_close(_ri(npdiff.grad(fn)(z)), _ri(_fd_complex_grad(fn, z)), 1e-6, 1e-7, "complex grad")


def test_irfft_ignores_imaginary_dc_and_nyquist():
    # the derivative with respect to Im of the DC and Nyquist bins is zero (irfft discards them)
    f = lambda z: np.sum(F.irfft(z, n=6) * np.arange(1.0, 7.0))
    g = npdiff.grad(f)(np.array([1.0 + 2.0j, 0.5 - 1j, 0.3 + 0.2j, -1.0 + 3.0j]))
    assert g[0].imag == 0.0 and g[3].imag == 0.0 and g[1].imag != 0.0
    assert_close(_ri(g), _ri(_fd_complex_grad(f, np.array([1.0 + 2.0j, 0.5 - 1j, 0.3 + 0.2j, -1.0 + 3.0j]))), 1e-6, 1e-8)


def test_third_order():
    f = lambda x: np.sum(np.abs(F.rfft(np.sin(x), n=7)) ** 2)
    x = _input((5,), False)
    H = npdiff.hessian(f)
    eps = 1e-5
    d3 = npdiff.jacfwd(npdiff.hessian(f))(x)
    fd3 = np.stack([(H(x + eps * e) - H(x - eps * e)) / (2 * eps) for e in np.eye(5)], -1)
    assert_close(d3, fd3, 1e-5, 1e-6, "third derivative")


# -- dtypes, constants, refusals ----------------------------------------------------------------

@pytest.mark.parametrize("fn", [F.fft, F.rfft, F.ihfft, F.fft2, F.rfftn, F.fftshift,
                                lambda x: F.irfft(x * (1 + 1j)), lambda x: F.hfft(x * 1j), lambda x: F.ifftn(x),
                                F.irfft, F.hfft, lambda x: F.fftn(x, axes=()), lambda x: F.irfftn(x, s=(3, 3), axes=(0, 1))])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64, np.complex64])
def test_dtypes_follow_numpy(fn, dtype):
    x = (np.arange(12).reshape(3, 4) % 5).astype(dtype)
    try:
        expect = fn(x)
    except TypeError:  # rfft of a complex array
        with pytest.raises(TypeError):
            npdiff.numpify(fn, x)
        return
    got = npdiff.numpify(fn, x)(x)
    assert got.dtype == expect.dtype and got.shape == expect.shape
    tol = 3e-3 if dtype == np.float16 else 1e-5  # NumPy scales float16 transforms in float16
    assert_close(_ri(got), _ri(expect), tol, tol)


def test_float32_gradient_stays_float32():
    f = lambda x: np.sum(np.abs(F.rfft(x)) ** 2)
    x = np.linspace(-1, 1.5, 6).astype(np.float32)
    g = npdiff.grad(f)(x)
    assert g.dtype == np.float32 and np.isfinite(g).all()
    assert_close(g, npdiff.grad(f)(x.astype(np.float64)), 1e-4, 1e-4)


def test_frequencies_are_constants():
    f = lambda x: np.sum(F.fftfreq(5, d=0.1) * x ** 2) + np.sum(F.rfftfreq(8) * np.abs(F.rfft(x, n=8)) ** 2)
    x = _input((5,), False)
    eps = 1e-6
    fd = np.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(5)])
    assert_close(npdiff.grad(f)(x), fd, 1e-6, 1e-8)


def test_refusals_and_numpy_errors():
    x = _input((4,), False)
    with pytest.raises(npdiff.UnsupportedOperationError, match="out="):
        npdiff.numpify(lambda x: F.fft(x, out=np.empty(4, complex)), x)
    with pytest.raises(TypeError):
        npdiff.numpify(lambda x: F.rfft(x * 1j), x)
    with pytest.raises(ValueError, match="norm"):
        npdiff.numpify(lambda x: F.fft(x, norm="bogus"), x)
    with pytest.raises(ValueError, match="Invalid number of FFT data points"):
        npdiff.numpify(lambda x: F.fft(x, n=0), x)
    with pytest.raises(ValueError, match="Invalid number of FFT data points"):
        npdiff.numpify(lambda x: F.irfft(x[:1]), x)
    with pytest.raises(ValueError, match="different lengths"):
        npdiff.numpify(lambda x: F.fftn(x, s=(2, 2), axes=(0,)), x)


def test_generated_code_calls_numpy_fft():
    src = npdiff.numpify(lambda x: F.irfft(F.rfft(x) * 2.0), np.ones(5)).source
    assert "np.fft.rfft(" in src and "np.fft.irfft(" in src


def test_array_api_backend():
    xs = pytest.importorskip("array_api_strict")
    f = lambda x: np.sum(np.abs(F.fft(x, n=6, norm="ortho")) ** 3) + np.sum(F.irfft(F.rfft(x ** 2) * 1j, n=5))
    x = _input((5,), False)
    g = npdiff.grad(f, backend="array_api")(xs.asarray(x))
    assert_close(np.asarray(g), npdiff.grad(f)(x), 1e-12, 1e-12, "array API gradient")
