"""Every primitive record decides the facts the emitters rely on.

One primitive, one record: what the array emitter may assume about a result
(``owns``), whether it is elementwise and how it unrolls to Python floats
(``scalar``) are declared on the record (``NOT_SCALAR`` is a decision too),
so a new primitive cannot silently fall back to array-only emission or to a
guess. The templates are also checked against the NumPy implementation.
"""
from __future__ import annotations

import importlib.util
import math
import string

import numpy as np
import pytest

from domains import DOMAINS, domain, has_domain
from npdiff.primitives import NOT_SCALAR, PRIMS, Primitive, short_name

AUGMENTED = {"+=", "-=", "*=", "/=", "**=", "//=", "%="}


def missing_facts(prim: Primitive) -> list[str]:
    """Return the facts prim leaves undecided or declares with a value of the wrong kind."""
    bad = []
    if not isinstance(prim.elementwise, bool):
        bad.append("elementwise")
    if not (isinstance(prim.owns, bool) or callable(prim.owns)):
        bad.append("owns")
    if not (prim.scalar is NOT_SCALAR or isinstance(prim.scalar, str) or callable(prim.scalar)):
        bad.append("scalar")
    if isinstance(prim.scalar, str) and not prim.elementwise:
        bad.append("scalar (a template is applied element by element: only for elementwise primitives)")
    if prim.short is not None and not prim.short.isidentifier():
        bad.append("short")
    if prim.augmented is not None and prim.augmented not in AUGMENTED:
        bad.append("augmented")
    if prim.commutative and prim.augmented is None:
        bad.append("commutative (only means something with augmented)")
    if not (prim.nondiff or callable(prim.sparsity)):
        bad.append("sparsity (a rule from npdiff.ir.indexsets, or DENSE to opt out)")
    return bad


@pytest.mark.parametrize("name", sorted(PRIMS))
def test_every_primitive_decides_its_facts(name):
    prim = PRIMS[name]
    assert prim.name == name
    assert missing_facts(prim) == [], f"primitive {name!r} must decide: {missing_facts(prim)}"
    assert short_name(name).isidentifier()


def test_the_check_catches_an_undecided_primitive():
    bare = Primitive("bare", lambda x: (x.shape, x.dtype), lambda x: x, "{0}")
    assert {f.split(" ")[0] for f in missing_facts(bare)} == {"elementwise", "owns", "scalar", "sparsity"}
    assert short_name("bare") == "bare"  # the short name defaults to the op name


def test_record_has_no_unused_fields():
    fields = Primitive.__dataclass_fields__
    assert "examples" not in fields and "math_emit" not in fields
    assert "xp_emit" not in fields  # other backends keep their renderings in emit/ (tests/test_backends_coverage.py)


def _template_fields(tmpl: str) -> set:
    return {f for _, f, _, _ in string.Formatter().parse(tmpl) if f is not None}


def _scalar_template_cases():
    for name, prim in sorted(PRIMS.items()):
        if isinstance(prim.scalar, str) and all(f.isdigit() for f in _template_fields(prim.scalar)):
            yield name


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # expn truncates its order to an integer
@pytest.mark.parametrize("name", list(_scalar_template_cases()))
def test_scalar_template_matches_numpy(name):
    """A scalar template on Python floats gives the NumPy implementation's value."""
    prim = PRIMS[name]
    nin = max((int(f) for f in _template_fields(prim.scalar)), default=-1) + 1
    nin = max(nin, len(prim.partials), getattr(prim.impl, "nin", 0))
    lo, hi = domain(name)
    ns = {"math": math, "np": np}
    if "scipy." in prim.scalar:  # registered only when SciPy imports
        import scipy.special
        ns["scipy"] = scipy
    for xs in ([lo + (hi - lo) * (0.31 + 0.22 * k) for k in range(nin)],
               [lo + (hi - lo) * (0.77 - 0.17 * k) for k in range(nin)]):
        got = eval(prim.scalar.format(*[repr(x) for x in xs]), ns)  # noqa: S307 - our own templates
        want = prim.impl(*[np.float64(x) for x in xs])
        np.testing.assert_allclose(float(got), float(want), rtol=1e-12, atol=1e-14, err_msg=name)


def test_test_domains_are_test_metadata_only():
    """The tests' input ranges live in tests/domains.py; no record carries test metadata."""
    assert "domain" not in Primitive.__dataclass_fields__
    if importlib.util.find_spec("scipy") is not None:  # the scipy.special primitives are registered
        assert set(DOMAINS) <= set(PRIMS), "ranges of primitives that do not exist"
    for name in DOMAINS:
        if name in PRIMS:
            assert has_domain(PRIMS[name]), name
    assert PRIMS["where"].elementwise and not has_domain(PRIMS["where"])
    assert not PRIMS["einsum"].elementwise


def test_generated_source_does_not_depend_on_the_hash_seed():
    """Contractions print their summed axes in a fixed order (not a set's, which varies per process)."""
    import os
    import pathlib
    import subprocess
    import sys
    src = pathlib.Path(__file__).resolve().parents[1] / "src"
    code = ("import numpy as np, npdiff\n"
            "f = lambda a, b: np.einsum('ijk,kjl->il', a, b)\n"
            "print(npdiff.numpify(f, npdiff.ShapeDtype((20, 30, 40)), npdiff.ShapeDtype((40, 30, 5))).source)\n")
    outs = set()
    for seed in ("1", "2"):  # set(["j", "k"]) iterates in different orders under these two seeds
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(src))
        p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        outs.add(p.stdout)
    assert len(outs) == 1, outs
    assert "tensordot" in outs.pop()


def test_sparsity_rules_are_the_generic_kinds_where_they_apply():
    """Elementwise primitives use the elementwise rule; shape primitives the index-map rule."""
    from npdiff.ir.indexsets import DENSE, ELEMENTWISE
    for name, prim in PRIMS.items():
        if prim.elementwise and name != "where":
            assert prim.sparsity is ELEMENTWISE, name
    for name in ("reshape", "transpose", "broadcast_to", "concatenate", "stack", "gather", "set_index"):
        assert "index_map" in PRIMS[name].sparsity.__name__.lower(), name
    assert PRIMS["solve"].sparsity is DENSE  # an explicit opt-out
