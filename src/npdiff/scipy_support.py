"""What npdiff differentiates in scipy.stats and scipy.special, enumerated from SciPy itself.

``stats_rows()`` walks SciPy's own list of distributions with example parameters
(``scipy.stats._distr_params``: every univariate continuous and discrete distribution it tests) and each
public method (pdf, logpdf, cdf, logcdf, sf, logsf, ppf, isf; pmf, logpmf, cdf, logcdf, sf, logsf); for
each it traces the method on its parameters, compares the value with SciPy's and the gradient with
central finite differences, and reports ``yes``, ``partial`` (the value and the derivative in some
parameters; the others refused by name), ``refused`` (with npdiff's message) or ``mismatch`` (a bug: the
tests fail on it). ``special_rows()`` does the same for every ufunc of scipy.special, argument by
argument. ``scripts/scipy_support_doc.py`` writes ``docs/scipy-support.md`` from both;
``tests/test_scipy_support.py`` checks that page is current and that nothing mismatches.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np

from .api.jax_style import grad, numpify
from .errors import TracingError, UnsupportedOperationError

CONTINUOUS_METHODS = ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf")
DISCRETE_METHODS = ("pmf", "logpmf", "cdf", "logcdf", "sf", "logsf")


# The example functions are compiled in a namespace of their own: npdiff intercepts calls from user code
# only (a module whose name starts with npdiff is library code to it), and these stand for user code.
_EXAMPLES: dict = {"__name__": "support_examples"}  # not a library name (numpy, scipy, npdiff...)
exec(compile("""
def continuous(fn, ns):
    return lambda q: fn(q[0], *[q[1 + i] for i in range(ns)], loc=q[-2], scale=q[-1])

def discrete(fn, k, ns):
    return lambda q: fn(k, *[q[i] for i in range(ns)])

def constant(fn, k):
    return lambda q: fn(k) + 0.0 * q[0]

def pick(f, p, free):
    def g(q):
        full = list(p)
        for k, i in enumerate(free):
            full[i] = q[k]
        return f(full)
    return g

def ufunc(uf):
    return (lambda q: uf(*q)) if uf.nout == 1 else (lambda q: sum(uf(*q)))
""", "<support_examples>", "exec"), _EXAMPLES)


@dataclass(frozen=True)
class Row:
    """One function or method: its status, the parameters without a derivative, and npdiff's reason."""

    name: str
    method: str
    status: str  # "yes", "partial", "refused", "mismatch"
    no_derivative: tuple = ()
    reason: str = ""


def _reason(e: BaseException) -> str:
    """Return the first line of an error message without its source location (stable across runs)."""
    text = str(e).split("\n", 1)[0]
    text = re.sub(r" \(at [^)]*\)?.*$", "", text)
    text = re.sub(r"\(\S+\.py:\d+[^)]*\)", "", text)
    text = re.sub(r"scipy\.stats\.\w+\.\w+( is| in|:)", r"scipy.stats.<distribution>.<method>\1", text)
    return f"{type(e).__name__}: {text.strip()}"[:220]


def _fd(f, p, eps=1e-6):
    out = np.zeros(p.size)
    for i in range(p.size):
        d = np.zeros(p.size)
        d[i] = eps * max(1.0, abs(p[i]))
        out[i] = (f(p + d) - f(p - d)) / (2 * d[i])
    return out


def _close(a, b, rtol, atol) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return bool(np.all((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= atol + rtol * np.abs(b))))


def check(name: str, method: str, f, p: np.ndarray, labels: list[str]) -> Row:
    """Return the Row for scalar f(p): value against f itself, gradient against finite differences."""
    refused = (UnsupportedOperationError, TracingError)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            ref = float(f(p))
        except Exception as e:  # noqa: BLE001 - SciPy itself fails on the example: not ours to report
            return Row(name, method, "refused", (), f"SciPy raises on the example parameters ({type(e).__name__})")
        try:
            val = float(numpify(f, p)(p))
        except refused as e:
            return Row(name, method, "refused", (), _reason(e))
        if not _close(val, ref, 1e-7, 1e-12):
            return Row(name, method, "mismatch", (), f"value {val!r} != SciPy's {ref!r}")
        fd = _fd(f, p)
        usable = np.isfinite(fd)
        free, without, reasons = list(range(p.size)), [], []
        while free:
            try:
                g = np.asarray(grad(_EXAMPLES["pick"](f, p, tuple(free)))(p[free]))
                break
            except refused as e:
                bad = [i for i in free if _single_refused(f, p, i)]
                if not bad:
                    return Row(name, method, "refused", (), _reason(e))
                without += [labels[i] for i in bad]
                reasons.append(_reason(e))
                free = [i for i in free if i not in bad]
        else:
            return Row(name, method, "partial", tuple(without), reasons[0] if reasons else "")
        ok = [k for k, i in enumerate(free) if usable[i]]
        if not _close(g[ok], fd[[free[k] for k in ok]], 2e-4, 1e-6):
            return Row(name, method, "mismatch", tuple(without), f"gradient {g} != finite differences {fd[free]}")
        return Row(name, method, "partial" if without else "yes", tuple(without), reasons[0] if reasons else "")


def _single_refused(f, p, i) -> bool:
    try:
        grad(_EXAMPLES["pick"](f, p, (i,)))(p[[i]])
        return False
    except (UnsupportedOperationError, TracingError):
        return True


def stats_rows(names=None) -> list[Row]:
    """Return a Row per (distribution, method) of SciPy's univariate distributions."""
    import scipy.stats as st
    from scipy.stats._distr_params import distcont, distdiscrete
    rows, seen = [], set()
    for kind, table, methods in (("continuous", distcont, CONTINUOUS_METHODS),
                                 ("discrete", distdiscrete, DISCRETE_METHODS)):
        for name, shapes in table:
            if not isinstance(name, str) or name in seen or (names and name not in names):
                continue
            seen.add(name)
            dist = getattr(st, name)
            labels = [s.strip() for s in dist.shapes.split(",")] if dist.shapes else []
            for method in methods:
                rows.append(_stats_row(dist, kind, method, list(shapes), labels))
    return rows


def _stats_row(dist, kind, method, shapes, labels) -> Row:
    ns = len(shapes)
    fn = getattr(dist, method)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if kind == "continuous":
            loc, scale = 0.1, 1.3
            x = 0.4 if method in ("ppf", "isf") else float(dist.ppf(0.4, *shapes, loc=loc, scale=scale))
            p = np.array([x, *shapes, loc, scale], float)
            f = _EXAMPLES["continuous"](fn, ns)
            return check(dist.name, method, f, p, ["x", *labels, "loc", "scale"])
        k = float(dist.ppf(0.4, *shapes))
        p = np.array(shapes, float)
        f = _EXAMPLES["discrete"](fn, k, ns)
        if ns == 0:
            return check(dist.name, method, _EXAMPLES["constant"](fn, k), np.array([0.0]), ["(none)"])
        return check(dist.name, method, f, p, labels)


# example ranges of the scipy.special functions npdiff differentiates (where (-2, 2) is outside their
# domain or not smooth); other primitives are sampled in (-2, 2), functions without a primitive in (0.5, 1.5)
SPECIAL_RANGES = {
    "beta": (0.5, 3.0), "betainc": (0.1, 0.9), "betaincc": (0.1, 0.9), "betaincinv": (0.1, 0.9),
    "betaln": (0.5, 3.0), "cbrt": (0.5, 2.0), "digamma": (0.5, 3.0), "entr": (0.2, 2.0), "erfcinv": (0.1, 1.9),
    "erfi": (-1.5, 1.5), "erfinv": (-0.9, 0.9), "exp1": (0.5, 2.0), "expi": (0.5, 2.0), "expit": (-3.0, 3.0),
    "expn": (0.5, 2.0), "gamma": (0.5, 3.0), "gammainc": (0.5, 3.0), "gammaincc": (0.5, 3.0),
    "gammainccinv": (0.1, 0.9), "gammaincinv": (0.1, 0.9), "gammaln": (0.5, 3.0), "gammasgn": (0.3, 3.0),
    "huber": (0.2, 2.0), "hyp1f1": (0.2, 0.9), "hyp2f1": (0.1, 0.5), "iv": (0.5, 3.0), "ive": (0.5, 3.0),
    "jv": (0.5, 3.0), "jve": (0.5, 3.0), "k0": (0.5, 3.0), "k0e": (0.5, 3.0), "k1": (0.5, 3.0),
    "k1e": (0.5, 3.0), "kl_div": (0.5, 2.0), "kv": (0.5, 3.0), "kve": (0.5, 3.0), "log1p": (-0.5, 2.0),
    "log_expit": (-3.0, 3.0), "log_ndtr": (-4.0, 3.0), "log_wright_bessel": (0.2, 1.0), "logit": (0.1, 0.9),
    "ndtri": (0.05, 0.95), "poch": (0.5, 3.0), "powm1": (0.5, 2.0), "pseudo_huber": (0.2, 2.0),
    "rel_entr": (0.5, 2.0), "rgamma": (0.5, 3.0), "spence": (1.5, 3.0), "wright_bessel": (0.2, 1.0),
    "xlog1py": (0.2, 2.0), "xlogy": (0.5, 2.0), "y0": (0.5, 3.0), "y1": (0.5, 3.0), "yn": (0.5, 3.0),
    "yv": (0.5, 3.0), "yve": (0.5, 3.0),
}


def special_rows() -> list[Row]:
    """Return a Row per scipy.special ufunc: traced and differentiated argument by argument."""
    import scipy.special as sc

    from .primitives import PRIMS
    from .tracing.dispatch import UFUNCS
    rows = []
    for name in sorted(n for n in dir(sc) if isinstance(getattr(sc, n), np.ufunc) and not n.startswith("_")):
        uf = getattr(sc, name)
        if uf not in UFUNCS:
            rows.append(Row(name, "", "refused", (), "no lowering: UnsupportedOperationError (npdiff has no "
                                                          "derivative rule for it)"))
            continue
        prim = PRIMS.get(name)
        lo, hi = SPECIAL_RANGES.get(name) or ((-2.0, 2.0) if prim is not None and prim.elementwise else (0.5, 1.5))
        p = np.array([lo + (hi - lo) * (0.35 + 0.15 * i) for i in range(uf.nin)])
        rows.append(check(name, "", _EXAMPLES["ufunc"](uf), p, [f"argument {i + 1}" for i in range(uf.nin)]))
    return rows
