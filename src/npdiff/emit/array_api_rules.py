"""The array-API renderings of the primitives (``backend="array_api"``), keyed by primitive name.

``rendering(prim)`` is what ``emit/array_api.py`` prints a node with: the entry
of ``RULES`` named like the primitive, ``NOT_XP`` for a name in ``REFUSED`` (no
standard equivalent: generation refuses with UnsupportedOperationError), or,
for an elementwise primitive named in neither, its NumPy print (the record's
``emit``) translated through the standard's function names (``from_numpy``;
NOT_XP when a function has no standard name). ``tests/test_backends_coverage.py``
checks that every primitive is rendered or refused, and that a primitive that
is not elementwise is named here.

A rendering is a format string over the argument names (and params by name)
calling only the namespace ``xp``, or ``callable(em, names, node) -> str |
list[str]`` (statements using ``{out}``) where ``em`` is the
``array_api.XpEmitter``: ``em.const(numpy_array)`` names a constant converted to
the arguments' namespace, ``em.dtype(dt)`` gives ``xp.<dtype>``, ``em.refuse(what)``
raises UnsupportedOperationError. Renderings never update an array in place:
scatters are built from constant gathers (``xp.take``) and ``xp.where``.
"""
from __future__ import annotations

import re

import numpy as np

from ..ir.specs import build_index, format_index, full_stop, parse
from ..primitives.registry import PRIMS, Primitive


class _NotXp:
    """The type of ``NOT_XP``."""

    def __repr__(self) -> str:
        return "NOT_XP"


NOT_XP = _NotXp()  # a rendering: the array API standard has no equivalent (backend="array_api" refuses)

# NumPy elementwise function -> array API standard name (identical names need no entry)
_RENAME = {"absolute": "abs", "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
           "arccosh": "acosh", "arctanh": "atanh", "arctan2": "atan2", "mod": "remainder", "rint": "round"}
_STANDARD = {"abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "conj", "cos",
             "cosh", "divide", "exp", "expm1", "floor", "floor_divide", "hypot", "imag", "isfinite", "isinf",
             "isnan", "log", "log1p", "log2", "log10", "logaddexp", "logical_and", "logical_not", "logical_or",
             "logical_xor", "maximum", "minimum", "multiply", "negative", "real", "remainder", "round", "sign",
             "signbit", "sin", "sinh", "sqrt", "square", "subtract", "tan", "tanh", "trunc"}


def from_numpy(emit):
    """Return the array-API template of an elementwise NumPy template, or NOT_XP."""
    if not isinstance(emit, str) or "scipy." in emit:
        return NOT_XP
    names = re.findall(r"np\.(\w+)\(", emit)
    if len(names) != emit.count("np."):
        return NOT_XP
    out = emit
    for n in names:
        std = _RENAME.get(n, n)
        if std not in _STANDARD:
            return NOT_XP
        out = out.replace(f"np.{n}(", f"xp.{std}(")
    return out


def _axes(axes):
    return str(axes[0]) if len(axes) == 1 else str(tuple(axes))


def _arr(em, node, i, names):
    """Return names[i], made an array of the node's dtype if it is a Python literal."""
    a = node.args[i]
    if a.op == "const" and a.weak:
        return em.const(np.asarray(a.value, dtype=node.dtype))
    return names[i]


def reduction(fn):
    """Return the template of a reduction ``xp.<fn>(x, axis=...)``."""
    def emit(em, names, node):
        axes = node.p["axes"]
        if len(axes) == node.args[0].ndim:
            return f"xp.{fn}({names[0]})"
        return f"xp.{fn}({names[0]}, axis={_axes(axes)})"
    return emit


def broadcast_to(em, names, node):
    x = node.args[0]
    dt = em.dtype(node.dtype)
    if x.op == "const" and x.ndim == 0:
        v = np.asarray(x.value)
        if not v.any():
            return f"xp.zeros({node.shape}, dtype={dt}, device=_dev)"
        if np.all(v == 1):
            return f"xp.ones({node.shape}, dtype={dt}, device=_dev)"
        if x.weak:
            return f"xp.full({node.shape}, {names[0]}, dtype={dt}, device=_dev)"
    return f"xp.broadcast_to({names[0]}, {node.shape})"


def transpose(em, names, node):
    return f"xp.permute_dims({names[0]}, {node.p['perm']})"


def joined(fn):
    def emit(em, names, node):
        parts = [_arr(em, node, i, names) for i in range(len(names))]
        return f"xp.{fn}([{', '.join(parts)}], axis={node.p['axis']})"
    return emit


# -- indexing ------------------------------------------------------------------------------------

def gather(em, names, node):
    x, index = node.args[0], node.p["index"]
    arrays = [i for i, e in enumerate(index) if e[0] == "a"]
    if len(arrays) == 1 and node.args[1].ndim == 1 and all(
            e[0] == "s" and e[1:] == (0, d, 1) for e, d in zip(index, x.shape) if e[0] != "a") \
            and len(index) == x.ndim:
        return f"xp.take({names[0]}, {names[1]}, axis={arrays[0]})"
    negative = any(e[0] == "s" and e[3] < 0 for e in index)  # PyTorch has no negative-step slices
    if (len(arrays) > 1 or negative) and all(a.op == "const" for a in node.args[1:]):  # one flat take
        pos = _positions(em, node, x.shape, index, node.args[1:], "a gather")
        return f"xp.reshape(xp.take(xp.reshape({names[0]}, (-1,)), {em.const(pos.reshape(-1))}), {node.shape})"
    idx = format_index(full_stop(index, x.shape), names[1:])
    if not arrays and idx != "...":
        idx += ", ..."  # the standard wants every axis indexed, or an ellipsis for the rest
    return f"{names[0]}[{idx}]"


def _positions(em, node, shape, index, arrays, what):
    """Return the flat positions (in an array of ``shape``) written by ``index``, as a NumPy array."""
    if any(a.op != "const" for a in arrays):
        em.refuse(f"{what} at indices computed inside the function")
    return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)[
        build_index(index, [a.value for a in arrays])]


def _flat_v(em, name, v, tshape, dtype):
    """Return source for v broadcast to tshape and flattened, with a trailing zero appended."""
    src = name if v.shape == tuple(tshape) else f"xp.broadcast_to({name}, {tuple(tshape)})"
    return (f"xp.concat([xp.reshape({src}, (-1,)), xp.zeros((1,), dtype={em.dtype(dtype)}, device=_dev)])")


def _scatter_lines(em, vname, v, pos, shape, dtype, last_only):
    """Return (statements, result name) placing flat v at positions pos of a zero array of shape.

    Repeated positions are summed (each round takes one occurrence of every position), or with
    ``last_only`` only the last write counts, as in NumPy's ``y[i] = v``.
    """
    flat = pos.reshape(-1)
    n, size = flat.size, int(np.prod(shape))
    order = np.argsort(flat, kind="stable")
    sf = flat[order]
    starts = np.r_[0, np.nonzero(np.diff(sf))[0] + 1] if n else np.zeros(0, np.int64)
    rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n])) if n else np.zeros(0, np.int64)
    rounds = []
    if last_only and n:  # the last occurrence of each position: the end of its run
        last = np.r_[starts[1:], n] - 1
        take = np.full(size, n, dtype=np.int64)
        take[sf[last]] = order[last]
        rounds = [take]
    elif n:
        for r in range(int(rank.max()) + 1):  # round r places the r-th occurrence of every position
            take = np.full(size, n, dtype=np.int64)  # n: the appended zero
            sel = rank == r
            take[sf[sel]] = order[sel]
            rounds.append(take)
    fv = em.fresh("fv")
    lines = [f"{fv} = {vname}"]
    terms = [f"xp.take({fv}, {em.const(t)})" for t in rounds] or [f"xp.zeros(({size},), dtype={em.dtype(dtype)}, "
                                                                  "device=_dev)"]
    lines.append(f"{{out}} = xp.reshape({' + '.join(terms)}, {tuple(shape)})")
    return lines


def _padded(em, name, v, index, shape, tshape, dtype):
    """Return statements writing v into a zero array of ``shape`` at a basic index of unit-step
    slices and integers, by concatenating zero blocks around it; None for other indices."""
    if len(index) > len(shape) or any(e[0] not in "si" or (e[0] == "s" and e[3] != 1) for e in index):
        return None
    ranges = []
    for e, n in zip(index, shape):
        a, b = (e[1] % n, e[1] % n + 1) if e[0] == "i" else (e[1], min(e[2], n))
        if not 0 <= a < b <= n:
            return None
        ranges.append((a, b))
    ranges += [(0, n) for n in shape[len(index):]]
    block = [b - a for a, b in ranges]
    src = name if v.shape == tuple(tshape) else f"xp.broadcast_to({name}, {tuple(tshape)})"
    lines = [f"{{out}} = xp.reshape({src}, {tuple(block)})" if tuple(block) != tuple(tshape) else f"{{out}} = {src}"]
    dt = em.dtype(dtype)
    for ax, ((a, b), n) in enumerate(zip(ranges, shape)):
        if (a, b) == (0, n):
            continue
        parts = []
        for size in (a, None, n - b):
            if size is None:
                parts.append("{out}")
            elif size:
                zshape = tuple(block[:ax]) + (size,) + tuple(block[ax + 1:])
                parts.append(f"xp.zeros({zshape}, dtype={dt}, device=_dev)")
        lines.append(f"{{out}} = xp.concat([{', '.join(parts)}], axis={ax})")
        block[ax] = n
    return lines


def scatter_add(em, names, node):
    v, arrays = node.args[0], node.args[1:]
    pos = _positions(em, node, node.shape, node.p["index"], arrays, "a scatter-add")
    padded = _padded(em, _arr(em, node, 0, names), v, node.p["index"], node.shape, pos.shape, node.dtype)
    if padded is not None:
        return padded
    vname = _flat_v(em, _arr(em, node, 0, names), v, pos.shape, node.dtype)
    return _scatter_lines(em, vname, v, pos, node.shape, node.dtype, False)


def index_add(em, names, node):
    v, arrays = node.args[1], node.args[2:]
    pos = _positions(em, node, node.shape, node.p["index"], arrays, "an indexed add")
    padded = _padded(em, _arr(em, node, 1, names), v, node.p["index"], node.shape, pos.shape, node.dtype)
    if padded is not None:
        return padded + [f"{{out}} = {names[0]} + {{out}}"]
    vname = _flat_v(em, _arr(em, node, 1, names), v, pos.shape, node.dtype)
    lines = _scatter_lines(em, vname, v, pos, node.shape, node.dtype, False)
    return lines + [f"{{out}} = {names[0]} + {{out}}"]


def set_index(em, names, node):
    v, arrays = node.args[1], node.args[2:]
    pos = _positions(em, node, node.shape, node.p["index"], arrays, "an indexed assignment")
    lines = _padded(em, _arr(em, node, 1, names), v, node.p["index"], node.shape, pos.shape, node.dtype)
    if lines is None:
        vname = _flat_v(em, _arr(em, node, 1, names), v, pos.shape, node.dtype)
        lines = _scatter_lines(em, vname, v, pos, node.shape, node.dtype, True)
    mask = np.zeros(node.shape, dtype=bool)
    mask.reshape(-1)[pos.reshape(-1)] = True
    return lines + [f"{{out}} = xp.where({em.const(mask)}, {{out}}, {names[0]})"]


# -- einsum --------------------------------------------------------------------------------------

def einsum(em, names, node):
    """Return statements computing an einsum with permute_dims, reshape, sum and matmul."""
    ins, out = parse(node.p["spec"])
    sizes = {c: d for sub, x in zip(ins, node.args) for c, d in zip(sub, x.shape)}
    lines = []
    ops = []
    for k, (sub, name) in enumerate(zip(ins, names)):
        name = _arr(em, node, k, names)
        while len(set(sub)) != len(sub):  # a repeated letter: take the diagonal
            c = next(c for c in sub if sub.count(c) > 1)
            i, j = sub.index(c), sub.index(c, sub.index(c) + 1)
            rest = [p for p in range(len(sub)) if p not in (i, j)]
            n = sizes[c]
            t = em.fresh("dg")
            lines.append(f"{t} = xp.reshape(xp.permute_dims({name}, {tuple(rest + [i, j])}), "
                         f"{tuple(sizes[sub[p]] for p in rest) + (n * n,)})[..., ::{n + 1}]")
            name, sub = t, "".join(sub[p] for p in rest) + c
        ops.append((sub, name))
    for k, (sub, name) in enumerate(ops):  # letters no one else needs are summed first
        others = set(out).union(*[set(s) for j, (s, _) in enumerate(ops) if j != k])
        drop = [p for p, c in enumerate(sub) if c not in others]
        if drop:
            t = em.fresh("sm")
            lines.append(f"{t} = xp.sum({name}, axis={_axes(drop)})")
            ops[k] = ("".join(c for c in sub if c in others), t)
    sub, name = ops[0]
    for k in range(1, len(ops)):
        bsub, bname = ops[k]
        keep = set(out).union(*[set(s) for s, _ in ops[k + 1:]])
        batch = [c for c in sub if c in bsub and c in keep]
        contr = [c for c in sub if c in bsub and c not in keep]
        lf = [c for c in sub if c not in bsub]
        rf = [c for c in bsub if c not in sub]
        size = lambda cs: int(np.prod([sizes[c] for c in cs]))
        a = _perm(name, sub, batch + lf + contr)
        b = _perm(bname, bsub, batch + contr + rf)
        t = em.fresh("mm")
        lines.append(f"{t} = xp.matmul(xp.reshape({a}, {(size(batch), size(lf), size(contr))}), "
                     f"xp.reshape({b}, {(size(batch), size(contr), size(rf))}))")
        sub = "".join(batch + lf + rf)
        lines.append(f"{t} = xp.reshape({t}, {tuple(sizes[c] for c in sub)})")
        name = t
    lines.append(f"{{out}} = {_perm(name, sub, list(out))}")
    return lines


def _perm(name, sub, order):
    perm = tuple(sub.index(c) for c in order)
    return name if perm == tuple(range(len(sub))) else f"xp.permute_dims({name}, {perm})"


# -- linalg ----------------------------------------------------------------------------------------

def triangular_solve(em, names, node):
    p = node.p
    a, b = names
    n = node.args[0].shape[-1]
    k = (-1 if p["lower"] else 1) if p["unit"] else 0
    m = f"xp.{'tril' if p['lower'] else 'triu'}({a}, k={k})"
    if p["unit"]:
        m += f" + xp.eye({n}, dtype={em.dtype(node.args[0].dtype)}, device=_dev)"
    if p["trans"]:
        m = f"xp.linalg.matrix_transpose({m})"
    return f"xp.linalg.solve({m}, {b})"


def cholesky(em, names, node):
    """The lower factor, also from libraries whose wrapper returns the upper one (Dask via array_api_compat 1.x)."""
    c = "{out}_c"
    upper = f"xp.linalg.matrix_transpose(xp.triu({c}, k=1))"
    if node.dtype.kind == "c":
        upper = f"xp.conj({upper})"
    return [f"{c} = xp.linalg.cholesky({names[0]})",
            f"{{out}} = xp.tril({c}) + {upper}  # L from L or from L^H"]


def spd_solve(em, names, node):
    """K^-1 b from L = cholesky(K): two solves with L and L^T (the standard has no triangular solve)."""
    _, L, b = names
    return f"xp.linalg.solve(xp.linalg.matrix_transpose({L}), xp.linalg.solve({L}, {b}))"


def eigh(em, names, node):
    if not node.p["lower"]:
        em.refuse("eigh with UPLO='U'")
    w = "xp.astype({out}_w, {out}_V.dtype)" if node.dtype.kind == "c" else "{out}_w"
    return ["{out}_w, {out}_V = xp.linalg.eigh(" + names[0] + ")",
            "{out} = xp.concat([" + w + "[..., None, :], {out}_V], axis=-2)  # [w; V]"]


def eigvalsh(em, names, node):
    if not node.p["lower"]:
        em.refuse("eigvalsh with UPLO='U'")
    return f"xp.linalg.eigvalsh({names[0]})"


def svd(em, names, node):
    v, s = "xp.linalg.matrix_transpose({out}_Vh)", "{out}_s"
    if node.dtype.kind == "c":
        v, s = f"xp.conj({v})", f"xp.astype({s}, {{out}}_U.dtype)"  # V = Vh^H; s packs as complex
    return ["{out}_U, {out}_s, {out}_Vh = xp.linalg.svd(" + names[0] + ", full_matrices=False)",
            "{out} = xp.concat([{out}_U, " + s + "[..., None, :], " + v + "], axis=-2)  # [U; s; V]"]


def qr(em, names, node):
    return ["{out}_Q, {out}_R = xp.linalg.qr(" + names[0] + ")",
            "{out} = xp.concat([{out}_Q, {out}_R], axis=-2)  # [Q; R]"]


def pinv(em, names, node):
    if node.p["rcond"] is not None:
        em.refuse("pinv with rcond= (use rtol=)")
    return f"xp.linalg.pinv({names[0]}" + ("" if node.p["rtol"] is None else f", rtol={node.p['rtol']!r}") + ")"


def convert(em, names, node):
    return f"xp.astype({names[0]}, {em.dtype(node.dtype)})"


def round_(em, names, node):
    if node.p["decimals"] != 0:
        em.refuse("np.round with decimals != 0")
    return f"xp.round({names[0]})"


def _axis_call(fn, extra=""):
    """Return the rendering ``xp.<fn>(x, axis=<axis param>)`` (``extra``: more keywords)."""
    return lambda em, names, node: f"xp.{fn}({names[0]}, axis={node.p['axis']}{extra})"


def _numpy_fft(em, names, node):
    """numpy.fft and the standard's fft extension share their spelling: the record's NumPy print on ``xp``."""
    return PRIMS[node.op].emit(names, node).replace("np.fft.", "xp.fft.", 1)


def searchsorted(em, names, node):
    return f"xp.searchsorted({names[0]}, {names[1]}, side='{node.p['side']}')"


RULES = {
    # elementwise, where the NumPy print does not translate by name
    "exp2": "2.0 ** {0}", "round": round_, "where": "xp.where({0}, {1}, {2})", "convert": convert,
    "expit": "1.0 / (1.0 + xp.exp(-{0}))",  # the logaddexp derivative uses it
    "no_derivative": "{0}", "custom_jvp_out": "{0}", "custom_vjp_out": "{0}",
    # reductions, scans, sorting
    "reduce_sum": reduction("sum"), "reduce_prod": reduction("prod"), "reduce_max": reduction("max"),
    "reduce_min": reduction("min"), "argmax": _axis_call("argmax"), "argmin": _axis_call("argmin"),
    "cumsum": _axis_call("cumulative_sum"), "cumprod": _axis_call("cumulative_prod"),
    "sort": _axis_call("sort", ", stable=True"), "argsort": _axis_call("argsort", ", stable=True"),
    "searchsorted": searchsorted,
    # shape
    "broadcast_to": broadcast_to, "reshape": lambda em, names, node: f"xp.reshape({names[0]}, {node.shape})",
    "transpose": transpose, "concatenate": joined("concat"), "stack": joined("stack"),
    # indexing, contraction
    "gather": gather, "scatter_add": scatter_add, "set_index": set_index, "index_add": index_add, "einsum": einsum,
    # linalg (the standard's linalg extension)
    "solve": "xp.linalg.solve({0}, {1})", "inv": "xp.linalg.inv({0})", "det": "xp.linalg.det({0})",
    "logabsdet": "xp.linalg.slogdet({0})[1]", "slogdet_sign": "xp.linalg.slogdet({0})[0]",
    "triangular_solve": triangular_solve, "cholesky": cholesky, "spd_solve": spd_solve,
    "chol_logdiag": "xp.log(xp.linalg.diagonal({1}))", "eigh": eigh, "eigvalsh": eigvalsh, "svd": svd,
    "svdvals": "xp.linalg.svdvals({0})", "qr": qr, "pinv": pinv,
    # fft (the standard's fft extension)
    "fft": _numpy_fft, "rfft": _numpy_fft, "irfft": _numpy_fft,
}

REFUSED = {  # primitive name -> why the standard cannot express it
    "eig": "no general eigendecomposition", "expm": "no matrix exponential",
    "expm_frechet": "no matrix exponential", "lu_factor": "no LU factorisation", "lu_solve": "no LU factorisation",
    "sylvester": "no Sylvester solver", "sqrtm": "no matrix square root", "sqrtm_real": "no matrix square root",
    "banded_solve": "no banded solver", "custom_vjp_lin": "a custom rule's pullback runs Python",
    "to_csr": "no sparse arrays", "csr_matmul": "no sparse arrays", "draw": "no random numbers", "rng_new": "no random numbers",
    "guard": "guards need NumPy values (give shapes)",
    "solver_call": "a SciPy solver runs on NumPy arrays", "solver_lin": "a SciPy solver runs on NumPy arrays",
    "dynamic_slice": "a slice whose start is a run-time value (not rendered yet)",
    "dynamic_pad": "a slice whose start is a run-time value (not rendered yet)",
    **dict.fromkeys(("loop_scan", "loop_final", "loop_pad", "loop_lin", "loop_rev"),
                    "Python loops are rolled for the NumPy backend only (transforms/loops.py)"),
}


def rendering(prim: Primitive):
    """Return the array-API rendering of a primitive (a template or callable), or NOT_XP."""
    rule = RULES.get(prim.name)
    if rule is not None:
        return rule
    if prim.name in REFUSED or not prim.elementwise:
        return NOT_XP
    return from_numpy(prim.emit)
