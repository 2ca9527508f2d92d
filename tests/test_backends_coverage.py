"""Every backend renders or refuses every primitive, by name: one test per backend.

A backend keeps its renderings in its own module of ``emit/`` (keyed by
primitive name), never on the primitive records; the record keeps only the
canonical NumPy print (``emit``, and ``scalar`` for the unrolled code). So a
primitive added without a decision for some backend, or a rendering left for a
primitive that no longer exists, fails here.
"""
from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import npdiff  # noqa: F401  (registers every primitive)
from npdiff.emit import array_api, array_api_rules, backends, codegen, fused
from npdiff.ir.graph import make_input
from npdiff.primitives import NOT_SCALAR, PRIMS, apply


def _float_node(name):
    """Return a node of elementwise primitive ``name`` on float inputs, or None when it takes params."""
    prim = PRIMS[name]
    nin = getattr(prim.impl, "nin", None)
    if nin is None:
        nin = len([p for p in inspect.signature(prim.impl).parameters.values() if p.default is p.empty])
    xs = [make_input(f"x{i}", (3,), np.dtype(np.float64)) for i in range(nin)]
    try:
        node = apply(name, *xs)
    except Exception:  # noqa: BLE001 - needs params, or not a float operation
        return None
    return node if node.op == name and not node.params else None


def test_the_backend_table_names_modules_with_the_backend_interface():
    assert {"numpy", "array_api", "numba"} <= set(backends.BACKENDS)  # docs/adding-a-backend.md adds one
    assert backends.BACKENDS["numpy"] is codegen and backends.BACKENDS["array_api"] is array_api
    assert backends.BACKENDS["numba"] is fused
    for name, module in backends.BACKENDS.items():
        assert callable(module.require) and callable(module.emit_function), name
        params = inspect.signature(module.emit_function).parameters
        assert {"closures", "doc", "checks", "scalar"} <= set(params), name
    with pytest.raises(ValueError, match="unknown backend 'fortran'"):
        backends.check_backend("fortran")


@pytest.mark.parametrize("name", sorted(PRIMS))
def test_numpy_backend_renders_every_primitive(name):
    """The NumPy backend prints the record's canonical print; the unrolled version is decided too."""
    prim = PRIMS[name]
    assert isinstance(prim.emit, str) or callable(prim.emit)
    assert prim.scalar is NOT_SCALAR or isinstance(prim.scalar, str) or callable(prim.scalar)


def test_array_api_backend_renders_or_refuses_every_primitive_by_name():
    rules, refused = array_api_rules.RULES, array_api_rules.REFUSED
    assert not set(rules) & set(refused)
    assert set(rules) | set(refused) <= set(PRIMS), "renderings of primitives that do not exist"
    undecided = sorted(n for n, p in PRIMS.items() if not p.elementwise and n not in rules and n not in refused)
    assert not undecided, f"name these in emit/array_api_rules.py (RULES or REFUSED): {undecided}"
    for name, prim in PRIMS.items():
        r = array_api_rules.rendering(prim)
        assert r is array_api_rules.NOT_XP or isinstance(r, str) or callable(r), name
        if isinstance(r, str):  # calls only the namespace xp
            assert not re.search(r"(?<![\w.])(np|scipy|math)\.", r), (name, r)
        if name in refused:
            assert r is array_api_rules.NOT_XP and refused[name]


def test_array_api_renderings_of_elementwise_primitives_print():
    em = array_api.XpEmitter()
    printed = 0
    for name, prim in sorted(PRIMS.items()):
        node = _float_node(name) if prim.elementwise else None
        r = array_api_rules.rendering(prim)
        if node is None or r is array_api_rules.NOT_XP or callable(r):  # callables: tests/test_array_api.py
            continue
        names = ["a0", "a1", "a2"][:len(node.args)]
        src = em.code(prim, names, node)
        assert isinstance(src, str) and "{" not in src and all(a in src for a in names), (name, src)
        printed += 1
    assert printed > 40


def test_numba_backend_renders_or_refuses_every_primitive_by_name():
    """Elementwise primitives get a kernel template or are refused by name; the rest stay NumPy calls."""
    assert fused.REFUSED | set(fused.OVERRIDE) | set(fused._REDUCE) <= set(PRIMS)
    assert not fused.REFUSED & set(fused.OVERRIDE)
    undecided = []
    for name, prim in sorted(PRIMS.items()):
        if not prim.elementwise or name == "convert":  # convert: a template per float dtype (template(node))
            continue
        scipy = "scipy." in str(prim.emit) or "scipy." in str(prim.scalar)  # numba does not compile SciPy
        if fused.element_template(prim) is None and name not in fused.REFUSED and not scipy:
            undecided.append(name)
    assert not undecided, f"give these a kernel template (emit/fused.py OVERRIDE) or refuse them (REFUSED): {undecided}"
    for name in fused.REFUSED:
        assert fused.element_template(PRIMS[name]) is None
