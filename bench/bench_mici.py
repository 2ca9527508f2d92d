"""Mici-style derivative bundles: per-call time of npdiff vs hand-written NumPy,
SymNum's generated functions (through Mici's symnum wrapper) and JAX (jax.jit,
NumPy arrays out), for

* a small constraint R^3 -> R^2 with trigonometric terms (jacobian_and_value,
  vjp_and_value, mhp_jacobian_and_value), and
* a chained-banana density on R^n, n = 10 and 100 (grad_and_value,
  hessian_grad_and_value, mtp_hessian_grad_and_value).

For the operators returning a product function (vjp, mhp, mtp) a call is
"compute the bundle at x, then apply the product once", which is how Mici uses
them. The hand-written versions compute the value with the function's own
expression (reusing intermediates) and the derivatives by hand. Every peer is optional and skipped when it cannot be imported; every
peer's output is checked against the hand-written derivatives before timing.

Rows:
  hand-written NumPy         derivatives written by hand (the reference)
  npdiff bundle              npdiff.<op>(f), the lazy bundle (specialises on first call)
  npdiff Mici backend        what Mici gets with backend="npdiff" (npdiff.mici.<op>(f))
  symnum (Mici wrapper)      symnum.<op>(f, return_aux=True) of the same function written
                             with symnum.numpy; generation is skipped for n = 100 (it takes
                             over 40 s per operator there, and minutes for the MTP)
  jax (Mici backend)         mici.autodiff's jax backend: jax.jit of the bundle, NumPy out;
                             its product functions are jax.vjp closures, applied un-jitted
  jax.jit, NumPy out         jax.jit of the bundle and a separately jitted product (x, m) ->
                             NumPy, the fastest plain wrapper
"""
from __future__ import annotations

import time

import numpy as np
from common import fmt, per_call, table

import npdiff

REF = "hand-written NumPy"
ROUNDS = 2
SYMNUM_MAX_N = 10
DENSITY_SIZES = (10, 100)


# --- the functions, in plain NumPy ------------------------------------------------------

def constr(q):
    return np.array([np.sin(q[0]) * np.cos(q[1]) + q[2] ** 2 - 0.5,
                     q[0] * q[1] + np.cos(q[1] + q[2])])


def neg_log_dens(q):
    return 0.5 * (q ** 2).sum() + 0.5 * ((q[1:] - q[:-1] ** 2) ** 2).sum()


# --- hand-written derivatives with Mici's return orders --------------------------------

def _constr_jac(q):
    s0, c0, s1, c1 = np.sin(q[0]), np.cos(q[0]), np.sin(q[1]), np.cos(q[1])
    s12, c12 = np.sin(q[1] + q[2]), np.cos(q[1] + q[2])
    val = np.array([s0 * c1 + q[2] ** 2 - 0.5, q[0] * q[1] + c12])
    jac = np.array([[c0 * c1, -s0 * s1, 2 * q[2]], [q[1], q[0] - s12, -s12]])
    return jac, val, (s0, c0, s1, c1, c12)


def hand_jacobian_and_value(q):
    jac, val, _ = _constr_jac(q)
    return jac, val


def hand_vjp_and_value(q):
    jac, val, _ = _constr_jac(q)
    return (lambda v: v @ jac), val


def hand_mhp_jacobian_and_value(q):
    jac, val, (s0, c0, s1, c1, c12) = _constr_jac(q)

    def mhp(m):  # sum_ij m[i, j] h[i, j, :], h[0] and h[1] the Hessians of the components
        a, b = m[0], m[1]
        return np.array([-s0 * c1 * a[0] - c0 * s1 * a[1] + b[1],
                         -c0 * s1 * a[0] - s0 * c1 * a[1] + b[0] - c12 * (b[1] + b[2]),
                         2 * a[2] - c12 * (b[1] + b[2])])
    return mhp, jac, val


def hand_grad_and_value(q):
    r = q[1:] - q[:-1] ** 2
    g = q.copy()
    g[:-1] -= 2 * q[:-1] * r
    g[1:] += r
    return g, 0.5 * (q ** 2).sum() + 0.5 * (r ** 2).sum()


def hand_hessian_grad_and_value(q):
    n = q.shape[0]
    r = q[1:] - q[:-1] ** 2
    g = q.copy()
    g[:-1] -= 2 * q[:-1] * r
    g[1:] += r
    h = np.zeros((n, n))
    d = np.ones(n)
    d[:-1] += 4 * q[:-1] ** 2 - 2 * r
    d[1:] += 1.0
    i = np.arange(n)
    h[i, i] = d
    h[i[:-1], i[1:]] = h[i[1:], i[:-1]] = -2 * q[:-1]
    return h, g, 0.5 * (q ** 2).sum() + 0.5 * (r ** 2).sum()


def hand_mtp_hessian_grad_and_value(q):
    h, g, v = hand_hessian_grad_and_value(q)

    def mtp(m):  # sum(m * t, axis=(-1, -2)): t[i,i,i] = 12 q_i, t[i,i,i+1] (and perms) = -2
        d = np.diagonal(m)[:-1]
        out = np.zeros(q.shape[0])
        out[:-1] = 12 * q[:-1] * d - 2 * (np.diagonal(m, 1) + np.diagonal(m, -1))
        out[1:] -= 2 * d
        return out
    return mtp, h, g, v


HAND = {name: globals()[f"hand_{name}"] for name in (
    "jacobian_and_value", "vjp_and_value", "mhp_jacobian_and_value",
    "grad_and_value", "hessian_grad_and_value", "mtp_hessian_grad_and_value")}


# --- peers -------------------------------------------------------------------------------

def _symnum_funcs(n):
    """(constr, neg_log_dens) written with symnum.numpy and numpified; None if unavailable."""
    try:
        import symnum
        import symnum.numpy as snp
    except Exception:
        return None

    @symnum.numpify(3)
    def s_constr(q):
        return snp.array([snp.sin(q[0]) * snp.cos(q[1]) + q[2] ** 2 - 0.5,
                          q[0] * q[1] + snp.cos(q[1] + q[2])])

    @symnum.numpify(n)
    def s_neg_log_dens(q):
        return 0.5 * (q ** 2).sum() + 0.5 * ((q[1:] - q[:-1] ** 2) ** 2).sum()
    return s_constr, s_neg_log_dens


def _jax():
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
    except Exception:
        return None

    def j_constr(q):
        return jnp.stack([jnp.sin(q[0]) * jnp.cos(q[1]) + q[2] ** 2 - 0.5,
                          q[0] * q[1] + jnp.cos(q[1] + q[2])])

    def j_neg_log_dens(q):
        return 0.5 * (q ** 2).sum() + 0.5 * ((q[1:] - q[:-1] ** 2) ** 2).sum()
    return jax, jnp, j_constr, j_neg_log_dens


def _jax_plain(op_name, f):
    """jax.jit wrappers returning NumPy arrays, products jitted as (x, arg) -> NumPy."""
    jax, jnp = _jax()[:2]

    def value_jac(x):
        return f(x), jax.jacfwd(f)(x)

    if op_name == "grad_and_value":
        jf = jax.jit(jax.value_and_grad(f))

        def op(x):
            v, g = jf(x)
            return np.asarray(g), float(v)
        return op
    if op_name == "jacobian_and_value":
        jf = jax.jit(value_jac)

        def op(x):
            v, j = jf(x)
            return np.asarray(j), np.asarray(v)
        return op
    if op_name == "vjp_and_value":
        jv = jax.jit(f)
        jp = jax.jit(lambda x, v: jax.vjp(f, x)[1](v)[0])

        def op(x):
            return (lambda v: np.asarray(jp(x, v))), np.asarray(jv(x))
        return op
    if op_name == "mhp_jacobian_and_value":
        jf = jax.jit(value_jac)
        jp = jax.jit(lambda x, m: jax.grad(lambda y: jnp.sum(m * jax.jacfwd(f)(y)))(x))

        def op(x):
            v, j = jf(x)
            return (lambda m: np.asarray(jp(x, m))), np.asarray(j), np.asarray(v)
        return op
    hgv = jax.jit(lambda x: (jax.hessian(f)(x), jax.grad(f)(x), f(x)))
    if op_name == "hessian_grad_and_value":
        def op(x):
            h, g, v = hgv(x)
            return np.asarray(h), np.asarray(g), float(v)
        return op
    jp = jax.jit(lambda x, m: jax.grad(lambda y: jnp.sum(m * jax.hessian(f)(y)))(x))

    def op(x):
        h, g, v = hgv(x)
        return (lambda m: np.asarray(jp(x, m))), np.asarray(h), np.asarray(g), float(v)
    return op


def peers(op_name, kind, n):
    """Yield (label, bundle function) for every peer that is available."""
    f = constr if kind == "constr" else neg_log_dens
    yield "npdiff bundle", getattr(npdiff, op_name)(f)
    yield "npdiff Mici backend", getattr(npdiff.mici, op_name)(f)
    try:
        from mici.autodiff import autodiff_fallback
    except Exception:
        autodiff_fallback = None
    sym = _symnum_funcs(n) if (kind == "constr" or n <= SYMNUM_MAX_N) else None
    if sym is not None:
        sf = sym[0] if kind == "constr" else sym[1]
        try:
            if autodiff_fallback is not None:
                yield "symnum (Mici wrapper)", autodiff_fallback(None, sf, op_name, op_name, "symnum")
            else:
                import symnum
                sym_op = {"grad_and_value": symnum.grad, "jacobian_and_value": symnum.jacobian,
                          "vjp_and_value": symnum.vector_jacobian_product,
                          "mhp_jacobian_and_value": symnum.matrix_hessian_product,
                          "hessian_grad_and_value": symnum.hessian,
                          "mtp_hessian_grad_and_value": symnum.matrix_tressian_product}[op_name]
                yield "symnum", sym_op(sf, return_aux=True)
        except Exception as e:  # pragma: no cover - depends on the installed SymNum
            print(f"  (symnum skipped for {op_name}: {type(e).__name__}: {e})")
    jx = _jax()
    if jx is not None:
        jf = jx[2] if kind == "constr" else jx[3]
        if autodiff_fallback is not None:
            yield "jax (Mici backend)", autodiff_fallback(None, jf, op_name, op_name, "jax")
        yield "jax.jit, NumPy out", _jax_plain(op_name, jf)


# --- timing --------------------------------------------------------------------------------

def _product_arg(op_name, n, rng):
    """The argument of the product function (None for operators without one)."""
    shape = {"vjp_and_value": (2,), "mhp_jacobian_and_value": (2, 3),
             "mtp_hessian_grad_and_value": (n, n)}.get(op_name)
    return None if shape is None else rng.standard_normal(shape)


def _evaluate(fn, x, arg):
    """Outputs of a bundle at x with the product function applied to arg."""
    out = fn(x)
    return [np.asarray(o(arg)) if callable(o) else np.asarray(o) for o in out]


def _call(fn, x, arg):
    if arg is None:
        return lambda: fn(x)
    return lambda: fn(x)[0](arg)


def run_case(op_name, kind, n, x, arg, summary):
    hand = HAND[op_name]
    expected = _evaluate(hand, x, arg)
    fns = {REF: hand}
    setup = {}
    for label, fn in peers(op_name, kind, n):
        t0 = time.perf_counter()
        got = _evaluate(fn, x, arg)  # first call: specialisation / tracing / jit compilation
        setup[label] = time.perf_counter() - t0
        assert len(got) == len(expected), label
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=f"{label} {op_name}")
        fns[label] = fn
    # interleaved rounds, best of each: robust to bursts of load on a shared machine
    best = {label: per_call(_call(fn, x, arg)) for label, fn in fns.items()}
    for _ in range(ROUNDS - 1):
        for label, fn in fns.items():
            best[label] = min(best[label], per_call(_call(fn, x, arg)))
    rows = list(best.items())
    what = "R^3 -> R^2 constraint" if kind == "constr" else f"banana density, n = {n}"
    product = " (bundle at x + one product)" if arg is not None else ""
    table(f"{op_name}{product}, {what}", rows, REF)
    print("  first call (generate / compile): "
          + ", ".join(f"{k} {fmt(v).strip()}" for k, v in setup.items()))
    base = dict(rows)[REF]
    summary.append((f"{op_name} [{'constr' if kind == 'constr' else f'n={n}'}]",
                    {label: t / base for label, t in rows}))


def main():
    rng = np.random.default_rng(0)
    summary: list = []
    x3 = np.array([0.3, -0.7, 0.4])
    for op_name in ("jacobian_and_value", "vjp_and_value", "mhp_jacobian_and_value"):
        run_case(op_name, "constr", 3, x3, _product_arg(op_name, 3, rng), summary)
    for n in DENSITY_SIZES:
        x = np.linspace(-1.0, 1.2, n)
        for op_name in ("grad_and_value", "hessian_grad_and_value", "mtp_hessian_grad_and_value"):
            run_case(op_name, "density", n, x, _product_arg(op_name, n, rng), summary)
    labels = [REF]
    for _, ratios in summary:
        labels += [k for k in ratios if k not in labels]
    width = max(len(name) for name, _ in summary)
    short = {REF: "hand", "npdiff bundle": "npdiff", "npdiff Mici backend": "npdiff-mici",
             "symnum (Mici wrapper)": "symnum", "symnum": "symnum",
             "jax (Mici backend)": "jax-mici", "jax.jit, NumPy out": "jax.jit"}
    print("\nSummary: per-call time / hand-written NumPy (lower is better; - = not run)")
    print(f"  {'':<{width}} " + " ".join(f"{short.get(lb, lb):>11}" for lb in labels))
    for name, ratios in summary:
        cells = [f"{ratios[lb]:>10.2f}x" if lb in ratios else f"{'-':>11}" for lb in labels]
        print(f"  {name:<{width}} " + " ".join(cells))


if __name__ == "__main__":
    main()
