"""numpy.fft: the transforms onto the ``fft`` / ``rfft`` / ``irfft`` primitives, the shifts as rolls.

Each function follows NumPy's own composition (``numpy/fft/_pocketfft.py``): ``n`` truncates or
zero-pads the input along the axis (for irfft/hfft: to ``n // 2 + 1`` bins), the n-D forms apply the
1-D transforms axis by axis in NumPy's order (merged into one ``fft`` node when the axes are distinct),
hfft is irfft of the conjugate with the swapped norm and ihfft the conjugate of rfft with the swapped
norm. ``out=`` is refused (not honoured). fftfreq/rfftfreq need no lowering (their arguments are sizes).
"""
from __future__ import annotations

from functools import cache

import numpy as np

from ..ir.graph import const
from ..primitives import apply
from ..primitives.fft import SWAP
from ..tracing.tracer import implements
from ._common import N, W, slice_along
from .shape import roll


def _norm(norm) -> str:
    """Return the norm name NumPy uses (None is "backward"); raise NumPy's ValueError for others."""
    if norm is None:
        return "backward"
    if not isinstance(norm, str) or norm not in SWAP:
        raise ValueError(f'Invalid norm value {norm}; should be "backward","ortho" or "forward".')
    return norm


def _axis(axis, ndim) -> int:
    return int(np.lib.array_utils.normalize_axis_index(int(axis), ndim))


def _check_n(n) -> int:
    n = int(n)
    if n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    return n


@cache
def _dtypes(dt: np.dtype) -> tuple:
    """Return (complex, real) working dtypes NumPy's FFTs use for inputs of dtype dt."""
    c = np.fft.fft(np.zeros(1, dt)).dtype
    return c, np.empty(0, c).real.dtype


def _complex(x):
    c = _dtypes(x.dtype)[0]
    return x if x.dtype == c else apply("convert", x, dtype=c)


def _real(x):
    if x.dtype.kind == "c":
        raise TypeError("ufunc 'rfft' not supported for complex input: numpy.fft.rfft takes a real array")
    r = _dtypes(x.dtype)[1]
    return x if x.dtype == r else apply("convert", x, dtype=r)


def _resize(x, axis: int, n: int):
    """Return x truncated or zero-padded to length n along axis."""
    m = x.shape[axis]
    if n < m:
        return slice_along(x, axis, 0, n)
    if n > m:
        pad = np.zeros(x.shape[:axis] + (n - m,) + x.shape[axis + 1:], x.dtype)
        return apply("concatenate", x, const(pad), axis=axis)
    return x


def _c2c(x, n, axis, norm, inverse):
    """Return the node of the 1-D complex (i)fft of x with NumPy's n/axis/norm."""
    x = _complex(N(x))
    axis = _axis(axis, x.ndim)
    n = _check_n(x.shape[axis] if n is None else n)
    return apply("fft", _resize(x, axis, n), axes=(axis,), inverse=inverse, norm=_norm(norm))


def _r2c(x, n, axis, norm):
    x = _real(N(x))
    axis = _axis(axis, x.ndim)
    n = _check_n(x.shape[axis] if n is None else n)
    return apply("rfft", _resize(x, axis, n), axis=axis, norm=_norm(norm))


def _c2r(x, n, axis, norm):
    x = N(x)
    out_dt = np.result_type(np.empty(0, x.dtype).real.dtype, 1.0)  # NumPy's: float16 stays float16
    x = _complex(x)
    axis = _axis(axis, x.ndim)
    n = _check_n((x.shape[axis] - 1) * 2 if n is None else n)
    y = apply("irfft", _resize(x, axis, n // 2 + 1), axis=axis, n=n, norm=_norm(norm))
    return y if y.dtype == out_dt else apply("convert", y, dtype=out_dt)


@implements(np.fft.fft, honours=("n", "axis", "norm"))
def fft(a, n=None, axis=-1, norm=None, out=None):
    return W(_c2c(a, n, axis, norm, False))


@implements(np.fft.ifft, honours=("n", "axis", "norm"))
def ifft(a, n=None, axis=-1, norm=None, out=None):
    return W(_c2c(a, n, axis, norm, True))


@implements(np.fft.rfft, honours=("n", "axis", "norm"))
def rfft(a, n=None, axis=-1, norm=None, out=None):
    return W(_r2c(a, n, axis, norm))


@implements(np.fft.irfft, honours=("n", "axis", "norm"))
def irfft(a, n=None, axis=-1, norm=None, out=None):
    return W(_c2r(a, n, axis, norm))


@implements(np.fft.hfft, honours=("n", "axis", "norm"))
def hfft(a, n=None, axis=-1, norm=None, out=None):
    x = N(a)
    if n is None:
        n = (x.shape[_axis(axis, x.ndim)] - 1) * 2
    return W(_c2r(apply("conj", x) if x.dtype.kind == "c" else x, n, axis, SWAP[_norm(norm)]))


@implements(np.fft.ihfft, honours=("n", "axis", "norm"))
def ihfft(a, n=None, axis=-1, norm=None, out=None):
    return W(apply("conj", _r2c(a, n, axis, SWAP[_norm(norm)])))


# -- n-dimensional forms ----------------------------------------------------------------------

def _cook(x, s, axes, invreal=False):
    """Return NumPy's (s, axes) for an n-D transform of node x (``_cook_nd_args``)."""
    shapeless = s is None
    if s is None:
        s = list(x.shape) if axes is None else [x.shape[_axis(a, x.ndim)] for a in axes]
    s = list(s)
    if axes is None:
        if not shapeless:
            import warnings
            warnings.warn("`axes` should not be `None` if `s` is not `None` (Deprecated in NumPy 2.0).",
                          DeprecationWarning, stacklevel=4)
        axes = list(range(-len(s), 0))
    axes = [_axis(a, x.ndim) for a in axes]
    if len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    if invreal and shapeless:
        s[-1] = (x.shape[axes[-1]] - 1) * 2
    if any(v is None for v in s):
        import warnings
        warnings.warn("Passing an array containing `None` values to `s` is deprecated in NumPy 2.0",
                      DeprecationWarning, stacklevel=4)
    # -1: the whole input axis; None: the 1-D transform's default n (resolved by _c2c / _c2r)
    s = [v if v is None else x.shape[a] if v == -1 else _check_n(v) for v, a in zip(s, axes)]
    return s, axes


def _c2c_nd(x, s, axes, norm, inverse):
    """Return the node of NumPy's n-D complex transform: the 1-D ones from the last axis to the first."""
    if not axes:  # NumPy returns the input unchanged (not even converted)
        return x
    if len(set(axes)) == len(axes):  # distinct axes: resize each, then one transform
        x = _complex(x)
        for n, a in zip(s, axes):
            x = x if n is None else _resize(x, a, n)
        return apply("fft", x, axes=tuple(sorted(axes)), inverse=inverse, norm=_norm(norm))
    for n, a in reversed(list(zip(s, axes))):
        x = _c2c(x, n, a, norm, inverse)
    return x


def _fftn(a, s, axes, norm, inverse):
    x = N(a)
    s, axes = _cook(x, s, axes)
    return W(_c2c_nd(x, s, axes, norm, inverse))


@implements(np.fft.fftn, honours=("s", "axes", "norm"))
def fftn(a, s=None, axes=None, norm=None, out=None):
    return _fftn(a, s, axes, norm, False)


@implements(np.fft.ifftn, honours=("s", "axes", "norm"))
def ifftn(a, s=None, axes=None, norm=None, out=None):
    return _fftn(a, s, axes, norm, True)


@implements(np.fft.fft2, honours=("s", "axes", "norm"))
def fft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return _fftn(a, s, axes, norm, False)


@implements(np.fft.ifft2, honours=("s", "axes", "norm"))
def ifft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return _fftn(a, s, axes, norm, True)


@implements(np.fft.rfftn, honours=("s", "axes", "norm"))
def rfftn(a, s=None, axes=None, norm=None, out=None):
    x = N(a)
    s, axes = _cook(x, s, axes)
    if not axes:
        raise IndexError("list index out of range")  # NumPy's error for an empty axes=
    y = _r2c(x, s[-1], axes[-1], norm)
    return W(_c2c_nd(y, s[:-1], axes[:-1], norm, False))


@implements(np.fft.irfftn, honours=("s", "axes", "norm"))
def irfftn(a, s=None, axes=None, norm=None, out=None):
    x = N(a)
    s, axes = _cook(x, s, axes, invreal=True)
    if not axes:
        raise IndexError("list index out of range")
    y = x
    for n, ax in zip(s[:-1], axes[:-1]):  # NumPy's order: first axis first
        y = _c2c(y, n, ax, norm, True)
    return W(_c2r(y, s[-1], axes[-1], norm))


@implements(np.fft.rfft2, honours=("s", "axes", "norm"))
def rfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return rfftn(a, s, axes, norm)


@implements(np.fft.irfft2, honours=("s", "axes", "norm"))
def irfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return irfftn(a, s, axes, norm)


# -- shifts: rolls by half the length --------------------------------------------------------

def _shift(x, axes, sign):
    x = N(x)
    if axes is None:
        axes = tuple(range(x.ndim))
        shift = [sign * (d // 2) for d in x.shape]
    elif isinstance(axes, (int, np.integer)):
        shift = sign * (x.shape[axes] // 2)
    else:
        shift = [sign * (x.shape[ax] // 2) for ax in axes]
    return roll(W(x), shift, axes)


@implements(np.fft.fftshift, honours=("axes",))
def fftshift(x, axes=None):
    return _shift(x, axes, 1)


@implements(np.fft.ifftshift, honours=("axes",))
def ifftshift(x, axes=None):
    return _shift(x, axes, -1)
