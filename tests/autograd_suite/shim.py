"""The module swap: ``autograd`` and its submodules in sys.modules are ``npdiff.compat.autograd``'s.

Nothing else: autograd's tests then run unchanged on npdiff's public compat module.
"""
from __future__ import annotations

import importlib
import sys

SUBMODULES = ["numpy", "scipy", "scipy.stats", "scipy.misc", "misc", "misc.flatten", "misc.optimizers", "extend",
              "test_util", "core", "tracer", "builtins", "differential_operators"]
PREFIX = "npdiff.compat.autograd"


def install() -> dict:
    """Point ``autograd`` and ``autograd.*`` in sys.modules at npdiff.compat.autograd's modules; return them by name."""
    for sub in SUBMODULES:
        try:
            importlib.import_module(f"{PREFIX}.{sub}")
        except ImportError:  # pragma: no cover - without SciPy, autograd.scipy is absent (test_scipy skips itself)
            pass
    for name in [k for k in sys.modules if k == "autograd" or k.startswith("autograd.")]:
        del sys.modules[name]
    mods = {"autograd" + k[len(PREFIX):]: m for k, m in list(sys.modules.items())
            if k == PREFIX or k.startswith(PREFIX + ".")}
    sys.modules.update(mods)
    return mods
