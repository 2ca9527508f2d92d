"""NumPy functions, ufuncs and ndarray methods lowered onto primitives."""
from __future__ import annotations

import string

import numpy as np

from ..errors import TracingError, UnsupportedOperationError, user_frame_description
from ..graph import Node, const
from ..primitives import PRIMS, apply
from ..primitives.contract import fresh, parse
from ..trace import FUNCTIONS, METHODS, UFUNCS, Tracer, implements, node_of, refuses

W = Tracer  # wrap a node


def N(x) -> Node:
    return node_of(x)


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(sorted(int(a) % ndim if ndim else 0 for a in axis))
    return (int(axis) % ndim,) if ndim else ()


def _keep(node, axes, keepdims, shape):
    if keepdims:
        return apply("reshape", node, shape=tuple(1 if i in axes else s for i, s in enumerate(shape)))
    return node


# -- ufuncs ---------------------------------------------------------------------------

def _ufunc_lowering(name):
    def fn(*args, **kwargs):
        where = kwargs.pop("where", True)
        dtype = kwargs.pop("dtype", None)
        kwargs.pop("casting", None), kwargs.pop("order", None), kwargs.pop("subok", None)
        if where is not True or kwargs:
            raise UnsupportedOperationError(f"npdiff does not support the arguments {sorted(kwargs) or ['where']} "
                                            f"of numpy.{name}")
        out = apply(name, *[N(a) for a in args])
        if dtype is not None:
            out = apply("convert", out, dtype=np.dtype(dtype))
        return W(out)
    return fn


for _name, _prim in PRIMS.items():
    _uf = getattr(np, _name, None)
    if isinstance(_uf, np.ufunc):
        UFUNCS[_uf] = _ufunc_lowering(_name)
UFUNCS[np.true_divide] = _ufunc_lowering("divide")
UFUNCS[np.positive] = lambda x: W(N(x))
UFUNCS[np.conjugate] = lambda x: W(apply("conj", N(x))) if N(x).dtype.kind == "c" else W(N(x))
UFUNCS[np.deg2rad] = UFUNCS[np.radians] = lambda x: W(apply("multiply", N(x), np.pi / 180))
UFUNCS[np.rad2deg] = UFUNCS[np.degrees] = lambda x: W(apply("multiply", N(x), 180 / np.pi))
UFUNCS[np.float_power] = lambda a, b: W(apply("power", apply("convert", N(a), dtype=np.float64), N(b)))
UFUNCS[np.copysign] = lambda a, b: W(apply("multiply", apply("absolute", N(a)),
                                           apply("where", apply("signbit", N(b)), -1.0, 1.0)))
UFUNCS[np.matmul] = lambda a, b, **kw: matmul(a, b)
UFUNCS[np.mod] = _ufunc_lowering("remainder")


def _no(name):
    raise UnsupportedOperationError(f"npdiff has no derivative rule for numpy.{name}")


# -- reductions -------------------------------------------------------------------------

def _reduce(prim):
    def fn(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
        if out is not None or where is not True or initial is not None:
            raise UnsupportedOperationError(f"npdiff does not support out=/where=/initial= in {prim}")
        x = N(a)
        if dtype is not None:
            x = apply("convert", x, dtype=np.dtype(dtype))
        axes = _axes(axis, x.ndim)
        if prim == "reduce_sum" and x.dtype == np.bool_:
            x = apply("convert", x, dtype=np.dtype(np.intp))
        return W(_keep(apply(prim, x, axes=axes), axes, keepdims, x.shape))
    return fn


FUNCTIONS[np.sum] = METHODS["sum"] = _reduce("reduce_sum")
FUNCTIONS[np.max] = FUNCTIONS[np.amax] = METHODS["max"] = _reduce("reduce_max")
FUNCTIONS[np.min] = FUNCTIONS[np.amin] = METHODS["min"] = _reduce("reduce_min")
UFUNCS[(np.add, "reduce")] = lambda a, axis=0, **kw: FUNCTIONS[np.sum](a, axis=axis, **kw)
UFUNCS[(np.maximum, "reduce")] = lambda a, axis=0, **kw: FUNCTIONS[np.max](a, axis=axis, **kw)
UFUNCS[(np.minimum, "reduce")] = lambda a, axis=0, **kw: FUNCTIONS[np.min](a, axis=axis, **kw)
UFUNCS[(np.add, "accumulate")] = lambda a, axis=0, **kw: cumsum(a, axis=axis)
UFUNCS[(np.multiply, "outer")] = lambda a, b, **kw: _outer_full(a, b)
UFUNCS[(np.subtract, "outer")] = lambda a, b, **kw: _outer_op(a, b, np.subtract)
UFUNCS[(np.add, "outer")] = lambda a, b, **kw: _outer_op(a, b, np.add)


def _outer_op(a, b, ufunc):
    a, b = N(a), N(b)
    a2 = apply("reshape", a, shape=a.shape + (1,) * b.ndim)
    return ufunc(W(a2), W(b))


def _outer_full(a, b):
    return _outer_op(a, b, np.multiply)


@implements(np.mean)
def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=True):
    x = N(a)
    if not np.issubdtype(x.dtype, np.inexact):
        x = apply("convert", x, dtype=np.dtype(np.float64))
    axes = _axes(axis, x.ndim)
    n = int(np.prod([x.shape[i] for i in axes]))
    s = FUNCTIONS[np.sum](W(x), axis=axis, dtype=dtype, out=out, keepdims=keepdims, where=where)
    return W(apply("divide", s.node, float(n)))


METHODS["mean"] = mean


@implements(np.var)
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None, correction=None):
    x = N(a)
    if not np.issubdtype(x.dtype, np.inexact):
        x = apply("convert", x, dtype=np.dtype(np.float64))
    if correction is not None:
        ddof = correction
    axes = _axes(axis, x.ndim)
    n = int(np.prod([x.shape[i] for i in axes]))
    m = FUNCTIONS[np.mean](W(x), axis=axis, keepdims=True)
    d = W(x) - m
    s = FUNCTIONS[np.sum](d * d, axis=axis, keepdims=keepdims)
    return s / float(n - ddof)


@implements(np.std)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None, correction=None):
    return np.sqrt(var(a, axis=axis, ddof=ddof, keepdims=keepdims, correction=correction))


METHODS["var"], METHODS["std"] = var, std


@implements(np.prod)
def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    x = N(a)
    if dtype is not None:
        x = apply("convert", x, dtype=np.dtype(dtype))
    axes = _axes(axis, x.ndim)
    return W(_keep(apply("reduce_prod", x, axes=axes), axes, keepdims, x.shape))


METHODS["prod"] = prod


@implements(np.argmax)
def argmax(a, axis=None, out=None, keepdims=False):
    x = N(a)
    if axis is None:
        x, axis = apply("reshape", x, shape=(x.size,)), 0
    return W(apply("argmax", x, axis=int(axis) % x.ndim))


@implements(np.argmin)
def argmin(a, axis=None, out=None, keepdims=False):
    x = N(a)
    if axis is None:
        x, axis = apply("reshape", x, shape=(x.size,)), 0
    return W(apply("argmin", x, axis=int(axis) % x.ndim))


METHODS["argmax"], METHODS["argmin"] = argmax, argmin


@implements(np.all)
def all_(a, axis=None, out=None, keepdims=False, where=True):
    x = apply("logical_not", N(a))
    axes = _axes(axis, x.ndim)
    return W(apply("logical_not", _keep(apply("reduce_max", x, axes=axes), axes, keepdims, x.shape)))


@implements(np.any)
def any_(a, axis=None, out=None, keepdims=False, where=True):
    x = apply("convert", N(a), dtype=np.dtype(bool))
    axes = _axes(axis, x.ndim)
    return W(_keep(apply("reduce_max", x, axes=axes), axes, keepdims, x.shape))


METHODS["all"], METHODS["any"] = all_, any_


# -- contractions ---------------------------------------------------------------------------

L = string.ascii_lowercase


def matmul(a, b):
    a, b = N(a), N(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    if a.ndim == 1 and b.ndim == 1:
        return W(apply("einsum", a, b, spec="i,i->"))
    if b.ndim == 1:
        sa = L[: a.ndim]
        return W(apply("einsum", a, b, spec=f"{sa},{sa[-1]}->{sa[:-1]}"))
    if a.ndim == 1:
        sb = L[: b.ndim]
        return W(apply("einsum", a, b, spec=f"{sb[-2]},{sb}->{sb[:-2]}{sb[-1]}"))
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    nbt = len(batch)
    if a.ndim > 2 and a.shape[:-2] != batch:
        a = apply("broadcast_to", a, shape=batch + a.shape[-2:])
    if b.ndim > 2 and b.shape[:-2] != batch:
        b = apply("broadcast_to", b, shape=batch + b.shape[-2:])
    bl = L[:nbt]
    i, k, j = L[nbt: nbt + 3]
    sa = (bl if a.ndim > 2 else "") + i + k
    sb = (bl if b.ndim > 2 else "") + k + j
    return W(apply("einsum", a, b, spec=f"{sa},{sb}->{bl}{i}{j}"))


@implements(np.dot)
def dot(a, b, out=None):
    a, b = N(a), N(b)
    if a.ndim == 0 or b.ndim == 0:
        return W(apply("multiply", a, b))
    if b.ndim == 1 or a.ndim == 1 or (a.ndim == 2 and b.ndim == 2):
        return matmul(a, b)
    sa = L[: a.ndim]
    rest = L[a.ndim: a.ndim + b.ndim - 1]
    sb = rest[:-1] + sa[-1] + rest[-1]
    return W(apply("einsum", a, b, spec=f"{sa},{sb}->{sa[:-1]}{rest}"))


METHODS["dot"] = lambda self, b, out=None: dot(self, b)


@implements(np.vdot)
def vdot(a, b):
    a, b = N(a), N(b)
    return W(apply("einsum", apply("reshape", a, shape=(a.size,)), apply("reshape", b, shape=(b.size,)),
                   spec="i,i->"))


@implements(np.inner)
def inner(a, b):
    a, b = N(a), N(b)
    if a.ndim == 0 or b.ndim == 0:
        return W(apply("multiply", a, b))
    sa = L[: a.ndim]
    sb = L[a.ndim: a.ndim + b.ndim - 1] + sa[-1]
    return W(apply("einsum", a, b, spec=f"{sa},{sb}->{sa[:-1]}{sb[:-1]}"))


@implements(np.outer)
def outer(a, b, out=None):
    a, b = N(a), N(b)
    return W(apply("einsum", apply("reshape", a, shape=(a.size,)), apply("reshape", b, shape=(b.size,)),
                   spec="i,j->ij"))


@implements(np.tensordot)
def tensordot(a, b, axes=2):
    a, b = N(a), N(b)
    if isinstance(axes, (int, np.integer)):
        ax_a = list(range(a.ndim - axes, a.ndim))
        ax_b = list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
        ax_a = [x % a.ndim for x in ax_a]
        ax_b = [x % b.ndim for x in ax_b]
    sa = L[: a.ndim]
    sb = list(L[a.ndim: a.ndim + b.ndim])
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    sb = "".join(sb)
    out = "".join(c for i, c in enumerate(sa) if i not in ax_a) + "".join(
        c for j, c in enumerate(sb) if j not in ax_b)
    return W(apply("einsum", a, b, spec=f"{sa},{sb}->{out}"))


@implements(np.einsum)
def einsum(subscripts, *operands, out=None, optimize=False, **kw):
    if not isinstance(subscripts, str):
        raise UnsupportedOperationError("npdiff supports np.einsum with a subscripts string only")
    nodes = [N(o) for o in operands]
    spec = subscripts.replace(" ", "")
    if "->" in spec:
        ins, o = spec.split("->")
    else:
        ins, o = spec, None
    ins = ins.split(",")
    used = set(spec)
    if "..." in spec:
        nell = max(n.ndim - (len(s) - 3) for s, n in zip(ins, nodes) if "..." in s)
        ell = fresh(used, nell)
        bshape = np.broadcast_shapes(*[n.shape[s.index("..."): n.ndim - (len(s) - s.index("...") - 3)]
                                       for s, n in zip(ins, nodes) if "..." in s])
        new_ins = []
        for k, (s, n) in enumerate(zip(ins, nodes)):
            if "..." in s:
                m = n.ndim - (len(s) - 3)
                pre, post = s.split("...")
                full = pre + ell[nell - m:] + post
                target = n.shape[:len(pre)] + bshape[len(bshape) - m:] + n.shape[len(pre) + m:]
                if target != n.shape:
                    nodes[k] = apply("broadcast_to", n, shape=target)
                new_ins.append(full)
            else:
                new_ins.append(s)
        ins = new_ins
        if o is not None:
            o = o.replace("...", ell)
    if o is None:
        counts = {}
        for s in ins:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        o = "".join(sorted(c for c, k in counts.items() if k == 1))
    return W(apply("einsum", *nodes, spec=",".join(ins) + "->" + o))


@implements(np.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    d = diagonal(a, offset=offset, axis1=axis1, axis2=axis2)
    return FUNCTIONS[np.sum](d, axis=-1)


@implements(np.diagonal)
def diagonal(a, offset=0, axis1=0, axis2=1):
    x = N(a)
    axis1, axis2 = axis1 % x.ndim, axis2 % x.ndim
    rest = [i for i in range(x.ndim) if i not in (axis1, axis2)]
    x = apply("transpose", x, perm=tuple(rest) + (axis1, axis2))
    n, m = x.shape[-2:]
    lead = tuple(("s", 0, d, 1) for d in x.shape[:-2])
    if offset > 0:
        x = apply("gather", x, index=lead + (("s", 0, n, 1), ("s", min(offset, m), m, 1)))
    elif offset < 0:
        x = apply("gather", x, index=lead + (("s", min(-offset, n), n, 1),))
    k = min(x.shape[-2:])
    x = apply("gather", x, index=lead + (("s", 0, k, 1), ("s", 0, k, 1)))
    s = L[: x.ndim - 2]
    return W(apply("einsum", x, spec=f"{s}yy->{s}y"))


METHODS["trace"] = lambda self, *a, **k: trace(self, *a, **k)
METHODS["diagonal"] = lambda self, *a, **k: diagonal(self, *a, **k)


@implements(np.diag)
def diag(v, k=0):
    x = N(v)
    if x.ndim == 2:
        return diagonal(W(x), offset=k)
    if x.ndim != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n = x.shape[0] + abs(k)
    if k == 0:
        return W(apply("einsum", x, const(np.eye(n, dtype=x.dtype)), spec="i,ij->ij"))
    rows = np.arange(x.shape[0]) + max(-k, 0)
    cols = np.arange(x.shape[0]) + max(k, 0)
    from ..primitives.helpers import zeros
    return W(apply("set_index", zeros((n, n), x.dtype), x, const(rows), const(cols),
                   index=(("a", 0), ("a", 1))))


@implements(np.triu)
def triu(m, k=0):
    x = N(m)
    mask = np.triu(np.ones(x.shape[-2:], dtype=bool), k)
    return W(apply("where", const(mask), x, 0.0))


@implements(np.tril)
def tril(m, k=0):
    x = N(m)
    mask = np.tril(np.ones(x.shape[-2:], dtype=bool), k)
    return W(apply("where", const(mask), x, 0.0))


# -- shape manipulation --------------------------------------------------------------------------

def _shape_arg(shape, size):
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = [int(s) for s in shape]
    if -1 in shape:
        known = int(np.prod([s for s in shape if s != -1]))
        shape[shape.index(-1)] = size // known if known else 0
    return tuple(shape)


@implements(np.reshape)
def reshape(a, *args, order="C", newshape=None, shape=None, copy=None):
    x = N(a)
    if order != "C":
        raise UnsupportedOperationError("npdiff supports reshape with order='C' only")
    s = shape if shape is not None else newshape if newshape is not None else args[0] if len(args) == 1 else args
    return W(apply("reshape", x, shape=_shape_arg(s, x.size)))


METHODS["reshape"] = lambda self, *shape, order="C": reshape(self, shape[0] if len(shape) == 1 else shape,
                                                               order=order)


@implements(np.transpose)
def transpose(a, axes=None):
    x = N(a)
    perm = tuple(reversed(range(x.ndim))) if axes is None else tuple(int(p) % x.ndim for p in axes)
    return W(apply("transpose", x, perm=perm))


METHODS["transpose"] = lambda self, *axes: transpose(
    self, None if not axes or axes == (None,) else axes[0] if len(axes) == 1 and not isinstance(axes[0], int)
    else axes)


@implements(np.swapaxes)
def swapaxes(a, axis1, axis2):
    x = N(a)
    perm = list(range(x.ndim))
    i, j = axis1 % x.ndim, axis2 % x.ndim
    perm[i], perm[j] = perm[j], perm[i]
    return W(apply("transpose", x, perm=tuple(perm)))


METHODS["swapaxes"] = swapaxes


@implements(np.moveaxis)
def moveaxis(a, source, destination):
    x = N(a)
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src = [s % x.ndim for s in src]
    dst = [d % x.ndim for d in dst]
    order = [n for n in range(x.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return W(apply("transpose", x, perm=tuple(order)))


@implements(np.expand_dims)
def expand_dims(a, axis):
    x = N(a)
    axes = [axis] if isinstance(axis, int) else list(axis)
    nd = x.ndim + len(axes)
    axes = [ax % nd for ax in axes]
    it = iter(x.shape)
    shape = tuple(1 if i in axes else next(it) for i in range(nd))
    return W(apply("reshape", x, shape=shape))


@implements(np.squeeze)
def squeeze(a, axis=None):
    x = N(a)
    if axis is None:
        axes = [i for i, s in enumerate(x.shape) if s == 1]
    else:
        axes = [ax % x.ndim for ax in ([axis] if isinstance(axis, int) else axis)]
        if any(x.shape[i] != 1 for i in axes):
            raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return W(apply("reshape", x, shape=tuple(s for i, s in enumerate(x.shape) if i not in axes)))


METHODS["squeeze"] = squeeze


@implements(np.ravel)
def ravel(a, order="C"):
    x = N(a)
    return W(apply("reshape", x, shape=(x.size,)))


METHODS["ravel"] = METHODS["flatten"] = ravel


@implements(np.broadcast_to)
def broadcast_to(array, shape, subok=False):
    x = N(array)
    return W(apply("broadcast_to", x, shape=_shape_arg(shape, x.size)))


@implements(np.broadcast_arrays)
def broadcast_arrays(*args, subok=False):
    shape = np.broadcast_shapes(*[N(a).shape for a in args])
    return tuple(broadcast_to(a, shape) for a in args)


@implements(np.concatenate)
def concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    xs = [N(a) for a in arrays]
    if axis is None:
        xs = [apply("reshape", x, shape=(x.size,)) for x in xs]
        axis = 0
    dt = np.result_type(*[x.value if x.weak else x.dtype for x in xs])
    xs = [apply("convert", x, dtype=dt) if x.dtype != dt else x for x in xs]
    return W(apply("concatenate", *xs, axis=axis % xs[0].ndim))


def stack_nodes(parts, axis=0):
    """Return a node stacking equal-shape nodes along a new axis."""
    shape = np.broadcast_shapes(*[p.shape for p in parts])
    parts = [p if p.shape == shape else apply("broadcast_to", p, shape=shape) for p in parts]
    return apply("stack", *parts, axis=axis)


@implements(np.stack)
def stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    xs = [N(a) for a in arrays]
    nd = xs[0].ndim + 1
    out_ = stack_nodes(xs, axis=axis % nd)
    if dtype is not None:
        out_ = apply("convert", out_, dtype=np.dtype(dtype))
    return W(out_)


@implements(np.hstack)
def hstack(tup, dtype=None, casting="same_kind"):
    xs = [N(a) for a in tup]
    xs = [apply("reshape", x, shape=(1,)) if x.ndim == 0 else x for x in xs]
    return concatenate(xs, axis=0 if xs[0].ndim == 1 else 1)


@implements(np.vstack, getattr(np, "row_stack", None))
def vstack(tup, dtype=None, casting="same_kind"):
    xs = [N(a) for a in tup]
    xs = [apply("reshape", x, shape=(1, x.size)) if x.ndim < 2 else x for x in xs]
    return concatenate(xs, axis=0)


@implements(np.split, np.array_split)
def split(ary, indices_or_sections, axis=0):
    x = N(ary)
    axis %= x.ndim
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        base, extra = divmod(n, k)
        sizes = [base + (1 if i < extra else 0) for i in range(k)]
        bounds = np.cumsum([0] + sizes)
    else:
        bounds = [0] + [min(int(i), n) for i in indices_or_sections] + [n]
    lead = tuple(("s", 0, d, 1) for d in x.shape[:axis])
    return [W(apply("gather", x, index=lead + (("s", int(s), max(int(s), int(e)), 1),)))
            for s, e in zip(bounds[:-1], bounds[1:])]


@implements(np.where)
def where(condition, x=None, y=None):
    if x is None and y is None:
        raise TracingError("np.where(cond) with one argument returns value-dependent indices, which "
                           "npdiff cannot trace; use np.where(cond, a, b).\n  at " + user_frame_description())
    c = N(condition)
    if c.dtype != np.bool_:
        c = apply("not_equal", c, 0)
    return W(apply("where", c, N(x), N(y)))


@implements(np.clip)
def clip(a, a_min=None, a_max=None, out=None, min=None, max=None, **kw):
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    x = N(a)
    if lo is not None:
        lo = N(lo)
        x = apply("where", apply("less", x, lo), apply("broadcast_to", lo, shape=np.broadcast_shapes(
            x.shape, lo.shape)) if lo.shape != x.shape and lo.ndim > x.ndim else lo, x)
    if hi is not None:
        hi = N(hi)
        x = apply("where", apply("greater", x, hi), hi, x)
    return W(x)


METHODS["clip"] = lambda self, a_min=None, a_max=None, **kw: clip(self, a_min, a_max, **kw)


def cumulative(prim):
    """Return the lowering of np.cumsum-like functions onto primitive ``prim`` (flattening for axis=None)."""
    def lowering(a, axis=None, dtype=None, out=None):
        x = N(a)
        if axis is None:
            x, axis = apply("reshape", x, shape=(x.size,)), 0
        if dtype is not None:
            x = apply("convert", x, dtype=np.dtype(dtype))
        return W(apply(prim, x, axis=int(axis) % x.ndim))
    lowering.__name__ = prim
    return lowering


cumsum = FUNCTIONS[np.cumsum] = METHODS["cumsum"] = cumulative("cumsum")


@implements(np.flip)
def flip(m, axis=None):
    x = N(m)
    axes = _axes(axis, x.ndim)
    idx = tuple(("s", d - 1, -1, -1) if i in axes else ("s", 0, d, 1) for i, d in enumerate(x.shape))
    return W(apply("gather", x, index=idx))


@implements(np.fliplr)
def fliplr(m):
    return flip(m, 1)


@implements(np.flipud)
def flipud(m):
    return flip(m, 0)


@implements(np.copy)
def copy(a, order="K", subok=False):
    return W(N(a))


METHODS["copy"] = lambda self, order="C": W(N(self))


def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
    return W(apply("convert", N(self), dtype=np.dtype(dtype)))


METHODS["astype"] = astype


@implements(np.round, getattr(np, "around", None))
def round_(a, decimals=0, out=None):
    return W(apply("round", N(a), decimals=int(decimals)))


METHODS["round"] = round_


@implements(np.shape)
def shape(a):
    return N(a).shape


@implements(np.ndim)
def ndim(a):
    return N(a).ndim


@implements(np.size)
def size(a, axis=None):
    x = N(a)
    return x.size if axis is None else x.shape[axis]


@implements(np.result_type)
def result_type(*args):
    return np.result_type(*[N(a).dtype if isinstance(a, Tracer) else a for a in args])


@implements(np.iscomplexobj)
def iscomplexobj(x):
    return np.issubdtype(N(x).dtype, np.complexfloating)


@implements(np.isrealobj)
def isrealobj(x):
    return not iscomplexobj(x)


@implements(np.real)
def real(val):
    x = N(val)
    return W(apply("real", x)) if x.dtype.kind == "c" else W(x)


@implements(np.imag)
def imag(val):
    from ..primitives.helpers import zeros
    x = N(val)
    return W(apply("imag", x)) if x.dtype.kind == "c" else W(zeros(x.shape, x.dtype))


@implements(np.conj, np.conjugate)
def conj(x):
    return UFUNCS[np.conjugate](x)


METHODS["real"], METHODS["imag"] = real, imag
METHODS["conj"] = METHODS["conjugate"] = conj


@implements(np.abs)
def abs_(x):
    return np.absolute(x)


@implements(np.atleast_1d)
def atleast_1d(*arys):
    res = [W(apply("reshape", N(a), shape=(1,))) if N(a).ndim == 0 else W(N(a)) for a in arys]
    return res[0] if len(res) == 1 else res


@implements(np.atleast_2d)
def atleast_2d(*arys):
    def one(a):
        x = N(a)
        return W(apply("reshape", x, shape=(1,) * (2 - x.ndim) + x.shape)) if x.ndim < 2 else W(x)
    res = [one(a) for a in arys]
    return res[0] if len(res) == 1 else res


@implements(np.allclose, np.isclose, np.array_equal)
@refuses
def _value_comparison(*args, **kwargs):
    raise TracingError("comparing traced values (np.allclose/np.isclose/np.array_equal) depends on "
                       "their values, which are not known while tracing.\n  at " + user_frame_description())
