"""examples/autograd_style: each program runs on npdiff.compat.autograd and, with its import lines changed to
``autograd``, on autograd itself; values, gradients and the printed optimisation traces must agree.

The autograd runs skip without autograd; the npdiff runs always happen.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import pathlib
import re
import sys
import types

import numpy as onp
import pytest

import npdiff.compat.autograd as ag
from npdiff.tree_util import tree_flatten

ROOT = pathlib.Path(__file__).resolve().parents[1]
DIR = ROOT / "examples" / "autograd_style"
EXAMPLES = ["mlp", "logistic_regression", "gaussian_process", "gmm", "rnn"]
SHORT = {"mlp": {"num_iters": 30}, "logistic_regression": {"num_iters": 30}, "gmm": {"num_iters": 30},
         "rnn": {"num_iters": 20}, "gaussian_process": {}}


def load(name: str, on: str) -> types.ModuleType:
    """Return the example module with its import lines naming ``on`` ('npdiff.compat.autograd' or 'autograd')."""
    source = (DIR / f"{name}.py").read_text()
    assert source.count("npdiff.compat.autograd") == len(re.findall(r"^(import|from) npdiff\.compat\.autograd", source,
                                                                       re.M)), "npdiff named outside the imports"
    if on == "autograd":
        source = source.replace("npdiff.compat.autograd", "autograd")
    module = types.ModuleType(f"{name}_on_{on.replace('.', '_')}")
    module.__file__ = str(DIR / f"{name}.py")
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d+", text)]


@pytest.fixture(scope="module")
def autograd():
    pytest.importorskip("autograd")
    pytest.importorskip("scipy")
    import autograd
    return autograd


def _leaves(tree):
    return [onp.asarray(l, dtype=float) for l in tree_flatten(tree)[0]]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_values_and_gradients_match_autograd(name, autograd):
    ours, theirs = load(name, "npdiff.compat.autograd"), load(name, "autograd")
    objective, params = ours.problem()
    r_objective, r_params = theirs.problem()
    for step in range(2):  # the first point and a perturbed one (the cached generated code on new values)
        value, g = ag.value_and_grad(objective)(params)
        r_value, r_g = autograd.value_and_grad(r_objective)(r_params)
        onp.testing.assert_allclose(value, r_value, rtol=1e-10, err_msg=f"{name}: value")
        assert tree_flatten(g)[1] == tree_flatten(params)[1], f"{name}: gradient structure"
        for a, b in zip(_leaves(g), _leaves(r_g)):
            onp.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg=f"{name}: gradient")
        params = ag.misc.flatten(params)[1](ag.misc.flatten(params)[0] + 0.05 * (step + 1))
        r_params = ag.misc.flatten(r_params)[1](ag.misc.flatten(r_params)[0] + 0.05 * (step + 1))


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_and_prints_autograds_trace(name, autograd):
    outs = []
    for on in ("npdiff.compat.autograd", "autograd"):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            load(name, on).main(**SHORT[name])
        outs.append(buf.getvalue())
    a, b = numbers(outs[0]), numbers(outs[1])
    assert len(a) == len(b) > 0, outs
    onp.testing.assert_allclose(a, b, rtol=1e-6, atol=2e-4, err_msg=f"{name}:\n{outs[0]}\n{outs[1]}")


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_on_npdiff_alone(name):
    pytest.importorskip("scipy")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        load(name, "npdiff.compat.autograd").main(**SHORT[name])
    assert "final" in buf.getvalue() or "->" in buf.getvalue()


def test_every_example_is_listed():
    assert sorted(p.stem for p in DIR.glob("*.py")) == sorted(EXAMPLES)
    assert "autograd" not in sys.modules or importlib.util.find_spec("autograd") is not None
