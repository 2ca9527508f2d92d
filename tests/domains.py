"""Input ranges of the systematic tests of the elementwise primitives: test metadata, never read by npdiff.

``tests/test_primitives.py``, ``tests/test_registry.py`` and ``tests/fuzz.py``
draw each elementwise primitive's arguments from ``domain(name)``: the range
in ``DOMAINS``, else ``DEFAULT``. A new elementwise primitive whose function is
not defined (or not smooth) on (-2, 2) adds its range here.
"""
from __future__ import annotations

DEFAULT = (-2.0, 2.0)
# elementwise primitives that are not functions of float arguments with partials: no domain
NOT_FUNCTIONS = frozenset({"where", "convert", "no_derivative"})

DOMAINS = {
    "absolute": (0.2, 2.0), "arccos": (-0.9, 0.9), "arccosh": (1.2, 3.0), "arcsin": (-0.9, 0.9),
    "arctan2": (0.5, 2.0), "arctanh": (-0.9, 0.9), "beta": (0.5, 3.0), "betainc": (0.1, 0.9),
    "betaincc": (0.1, 0.9), "betaincinv": (0.1, 0.9), "betaln": (0.5, 3.0), "cbrt": (0.5, 2.0),
    "digamma": (0.5, 3.0), "divide": (0.5, 2.0), "entr": (0.2, 2.0), "erfcinv": (0.1, 1.9), "erfi": (-1.5, 1.5),
    "erfinv": (-0.9, 0.9), "exp1": (0.5, 2.0), "expi": (0.5, 2.0), "expit": (-3.0, 3.0), "expn": (0.5, 2.0),
    "fmod": (0.3, 2.0), "gamma": (0.5, 3.0), "gammainc": (0.5, 3.0), "gammaincc": (0.5, 3.0),
    "gammainccinv": (0.1, 0.9), "gammaincinv": (0.1, 0.9), "gammaln": (0.5, 3.0), "gammasgn": (0.3, 3.0),
    "huber": (0.2, 2.0), "hypot": (0.5, 2.0), "iv": (0.5, 3.0), "ive": (0.5, 3.0), "jv": (0.5, 3.0),
    "jve": (0.5, 3.0), "k0": (0.5, 3.0), "k0e": (0.5, 3.0), "k1": (0.5, 3.0), "k1e": (0.5, 3.0),
    "kl_div": (0.5, 2.0), "kv": (0.5, 3.0), "kve": (0.5, 3.0), "log": (0.5, 2.0), "log10": (0.5, 2.0),
    "log1p": (-0.5, 2.0), "log2": (0.5, 2.0), "log_expit": (-3.0, 3.0), "log_ndtr": (-4.0, 3.0),
    "logit": (0.1, 0.9), "ndtri": (0.05, 0.95), "poch": (0.5, 3.0), "polygamma": (0.5, 3.0), "power": (0.5, 2.0),
    "powm1": (0.5, 2.0), "pseudo_huber": (0.2, 2.0), "reciprocal": (0.5, 2.0), "rel_entr": (0.5, 2.0),
    "remainder": (0.3, 2.0), "rgamma": (0.5, 3.0), "spence": (1.5, 3.0), "sqrt": (0.5, 2.0), "tan": (-1.2, 1.2),
    "xlog1py": (0.2, 2.0), "xlogy": (0.5, 2.0), "y0": (0.5, 3.0), "y1": (0.5, 3.0), "yn": (0.5, 3.0),
    "yv": (0.5, 3.0), "yve": (0.5, 3.0),
    # scipy.special functions of primitives/special_hyper.py
    "zeta": (1.5, 3.0), "hyp1f1": (0.2, 0.9), "hyp2f1": (0.1, 0.5), "wright_bessel": (0.2, 1.0), "log_wright_bessel": (0.2, 1.0),
}


def domain(name: str) -> tuple[float, float]:
    """Return the (low, high) range the tests draw primitive ``name``'s arguments from."""
    return DOMAINS.get(name, DEFAULT)


def has_domain(prim) -> bool:
    """Return True for an elementwise primitive that is a function of float arguments (the defew ones)."""
    return bool(prim.elementwise) and prim.name not in NOT_FUNCTIONS
