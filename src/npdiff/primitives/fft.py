"""FFT primitives: complex ``fft`` (any axes, forward or inverse), ``rfft`` and ``irfft`` (one axis).

All three are linear; ``lower/fft.py`` does the resizing (truncation / zero padding to ``n``), the
dtype conversions and the composite functions (fft2, rfftn, hfft...). ``norm`` is one of
"backward", "ortho", "forward" (None is lowered to "backward").

Transposes (JAX's convention: the pairing of a cotangent u with a tangent v is Re(sum(u * v)), no
conjugation), with m = n // 2 + 1 bins and w the bin weights (1 at DC and, for even n, at the
Nyquist bin, 2 at the interior bins):
- ``fft``: the DFT matrix is symmetric, so the transpose is the same transform with the same norm;
- ``rfft`` (real x of length n -> m bins): ``irfft(conj(ct) / w, n, norm=swap(norm))``, i.e.
  Re(sum_j ct_j exp(-2 pi i j k / n)) with the scale of rfft;
- ``irfft`` (m bins -> real length n): ``w * conj(rfft(ct, norm=swap(norm)))``, whose DC and Nyquist
  entries are real (irfft discards the imaginary parts of those bins);
where swap exchanges "backward" and "forward" (the scale of rfft with a norm is the scale of irfft
with the swapped norm). The transposes are again FFT primitives, so derivatives of any order close.
"""
from __future__ import annotations

import numpy as np

from ..ir.graph import const
from ..ir.indexsets import DENSE
from . import ops
from .helpers import shift_axes
from .registry import NOT_SCALAR, Primitive, apply, register

SWAP = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


def _weights(n: int, axis_from_end: int, dtype, inverse: bool) -> object:
    """Return the constant bin weights (1 at DC/Nyquist, 2 inside; or their reciprocals) shaped to broadcast."""
    m = n // 2 + 1
    w = np.full(m, 0.5 if inverse else 2.0, dtype=dtype)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return const(w.reshape((m,) + (1,) * axis_from_end))


def _real_dtype(dt) -> np.dtype:
    return np.empty(0, dt).real.dtype


def _as_complex(ct, dtype):
    return ct if ct.dtype == dtype else ops.convert(ct, dtype=np.dtype(dtype))


def _as_real(ct, dtype):
    if ct.dtype.kind == "c":
        ct = ops.real(ct)
    return ct if ct.dtype == dtype else ops.convert(ct, dtype=np.dtype(dtype))


# -- complex fft over axes ---------------------------------------------------------------------

def _fft_impl(x, axes, inverse, norm):
    f = np.fft.ifftn if inverse else np.fft.fftn
    return f(x, axes=axes, norm=norm)


def _fft_emit(names, node, prefix="np"):
    p = node.p
    i = "i" if p["inverse"] else ""
    if len(p["axes"]) == 1:
        return f"{prefix}.fft.{i}fft({names[0]}, axis={p['axes'][0]}, norm={p['norm']!r})"
    return f"{prefix}.fft.{i}fftn({names[0]}, axes={p['axes']}, norm={p['norm']!r})"


def _fft_jvp(ts, x, out, nb, axes, inverse, norm):
    return apply("fft", _as_complex(ts[0], x.dtype), axes=shift_axes(axes, nb), inverse=inverse, norm=norm)


def _fft_t(ct, x, lin, nb, axes, inverse, norm):
    return [apply("fft", _as_complex(ct, x.dtype), axes=shift_axes(axes, nb), inverse=inverse, norm=norm)]


register(Primitive(
    "fft", lambda x, axes, inverse, norm: (x.shape, x.dtype), _fft_impl, _fft_emit,
    jvp=_fft_jvp, transpose=_fft_t, linear=True, owns=True, elementwise=False, sparsity=DENSE,
    scalar=NOT_SCALAR))


# -- rfft: real length n -> n // 2 + 1 complex bins ------------------------------------------------

def _rfft_rule(x, axis, norm):
    shape = x.shape[:axis] + (x.shape[axis] // 2 + 1,) + x.shape[axis + 1:]
    return shape, np.result_type(x.dtype, 1j)


def _rfft_emit(names, node, prefix="np"):
    return f"{prefix}.fft.rfft({names[0]}, axis={node.p['axis']}, norm={node.p['norm']!r})"


def _rfft_t(ct, x, lin, nb, axis, norm):
    n = x.shape[axis]
    cdt = np.result_type(x.dtype, 1j)
    z = ops.mul(ops.conj(_as_complex(ct, cdt)), _weights(n, x.ndim - 1 - axis, x.dtype, True))
    return [apply("irfft", z, axis=axis + nb, n=n, norm=SWAP[norm])]


register(Primitive(
    "rfft", _rfft_rule, lambda x, axis, norm: np.fft.rfft(x, axis=axis, norm=norm), _rfft_emit,
    jvp=lambda ts, x, out, nb, axis, norm: apply("rfft", _as_real(ts[0], x.dtype), axis=axis + nb, norm=norm),
    transpose=_rfft_t, linear=True, owns=True, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


# -- irfft: n // 2 + 1 complex bins -> real length n ------------------------------------------------

def _irfft_rule(x, axis, n, norm):
    if x.shape[axis] != n // 2 + 1:
        raise ValueError(f"irfft primitive: axis {axis} has {x.shape[axis]} bins, expected {n // 2 + 1}")
    return x.shape[:axis] + (n,) + x.shape[axis + 1:], _real_dtype(x.dtype)


def _irfft_emit(names, node, prefix="np"):
    p = node.p
    return f"{prefix}.fft.irfft({names[0]}, n={p['n']}, axis={p['axis']}, norm={p['norm']!r})"


def _irfft_t(ct, x, lin, nb, axis, n, norm):
    rdt = _real_dtype(x.dtype)
    y = ops.conj(apply("rfft", _as_real(ct, rdt), axis=axis + nb, norm=SWAP[norm]))
    return [ops.mul(y, _weights(n, x.ndim - 1 - axis, rdt, False))]


register(Primitive(
    "irfft", _irfft_rule, lambda x, axis, n, norm: np.fft.irfft(x, n=n, axis=axis, norm=norm), _irfft_emit,
    jvp=lambda ts, x, out, nb, axis, n, norm: apply("irfft", _as_complex(ts[0], x.dtype), axis=axis + nb, n=n,
                                                   norm=norm),
    transpose=_irfft_t, linear=True, owns=True, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))
