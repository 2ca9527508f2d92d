"""Every example in examples/ runs to completion at its default size, in a subprocess, as a user runs it.

test_mici_integration.py and test_dask.py also call the Mici and Dask examples' functions on small data.
"""
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_example(name: str, timeout: float = 240) -> str:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")  # each example at its default size
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT / "src"), env.get("PYTHONPATH", "")] if p)
    proc = subprocess.run([sys.executable, str(EXAMPLES / name)], cwd=str(ROOT), env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_every_example_is_tested():
    tests = "".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    for path in EXAMPLES.glob("*.py"):
        assert path.name in tests or path.stem in tests, f"{path.name} is not run by any test"


def test_quickstart():
    out = run_example("quickstart.py")
    assert "def grad_rosenbrock(x):" in out


def test_optimize_rosenbrock():
    pytest.importorskip("scipy")
    out = run_example("optimize_rosenbrock.py")
    npdiff_runs = [line for line in out.splitlines() if "npdiff" in line]
    assert len(npdiff_runs) == 3
    for line in npdiff_runs:
        assert "success=True" in line, line
        assert float(re.search(r"max\|x - 1\| = (\S+)", line).group(1)) < 1e-3, line


def test_optimize_sparse():
    pytest.importorskip("scipy")
    out = run_example("optimize_sparse.py")
    cost = float(re.search(r"npdiff: nfev=\d+ njev=\d+ cost=(\S+);", out).group(1))
    assert cost < 1e-12
    assert float(re.search(r"max constraint=(\S+)", out).group(1)) <= 0.4 + 1e-6


def test_solvers_inside():
    pytest.importorskip("scipy")
    out = run_example("solvers_inside.py")
    lines = [line for line in out.splitlines() if "max |npdiff - reference|" in line]
    assert len(lines) == 4, out
    for line in lines:
        assert float(line.rsplit("=", 1)[1]) < 1e-6, line


def test_max_likelihood():
    pytest.importorskip("scipy")
    out = run_example("max_likelihood.py")
    assert float(re.search(r"\|grad\|=(\S+)", out).group(1)) < 1e-4
    noise = float(re.search(r"noise=(\S+)", out).group(1))
    assert 0.03 < noise < 0.4  # the data were made with noise 0.1


def test_parallel_gradients():
    out = run_example("parallel_gradients.py")
    assert float(re.search(r"closed form (\S+)", out).group(1)) < 1e-12


def test_export_module():
    out = run_example("export_module.py")
    assert out.startswith("exported module, run without npdiff: 0.05005 ")


def test_piecewise_guards():
    out = run_example("piecewise_guards.py")
    assert out.count("finite differences agree: True") == 3
    assert "-> 3 paths traced" in out
    assert "_path_changed(" in out
    for line in out.splitlines():
        if line.startswith("d sqrt(a)/da"):
            got, exact = re.findall(r"(-?\d+\.\d+)", line.split(":")[1])
            assert abs(float(got) - float(exact)) < 1e-9, line


@pytest.mark.parametrize("name, needs", [
    ("mici_hmc_banana.py", "mici"), ("mici_constrained_manifold.py", "mici"), ("mici_softabs.py", "mici"),
    ("dask_logistic.py", "distributed"), ("dask_sweep.py", "distributed"), ("dask_minimize.py", "distributed"),
])
def test_examples_run_to_completion_at_their_default_size(name, needs):
    # the other test modules import these examples and call them on small data; here each runs as a user
    # runs it, at its default size (each finishes in seconds)
    pytest.importorskip(needs)
    if name.startswith("dask"):
        pytest.importorskip("array_api_compat")
    out = run_example(name, timeout=300)
    assert out.strip(), f"{name} printed nothing"
