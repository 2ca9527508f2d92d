"""Export and the command line tell the truth: the module's docstring lists what it imports (NumPy, SciPy
when used) and the .npz it loads; constants="inline" writes one self-contained file; the CLI's "wrote"
message names every file; `--shape 4x` is refused; source printed without -o is complete. Exported and
printed files are executed in a virtualenv that has NumPy and nothing else (no SciPy, no npdiff)."""
import glob
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import npdiff

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
W = np.linspace(0.0, 1.0, 3000)  # more elements than the source prints: a large constant


def weighted(x):
    return np.sum(W * np.sin(x) ** 2)


@pytest.fixture(scope="module")
def numpy_only_python(tmp_path_factory):
    """Return the interpreter of a fresh virtualenv holding NumPy only (linked from this environment)."""
    d = tmp_path_factory.mktemp("numpy-only-venv")
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(d)], check=True,
                       capture_output=True, timeout=120)
    except (subprocess.SubprocessError, OSError) as e:
        pytest.skip(f"cannot create a virtualenv: {e}")
    site = glob.glob(str(d / "lib" / "python*" / "site-packages"))[0]
    here = os.path.dirname(os.path.dirname(np.__file__))
    for name in os.listdir(here):
        if name == "numpy" or name.startswith(("numpy-", "numpy.libs")):
            os.symlink(os.path.join(here, name), os.path.join(site, name))
    py = str(d / "bin" / "python")
    probe = subprocess.run([py, "-c", "import numpy\ntry:\n import scipy\nexcept ImportError:\n print('ok')"],
                           capture_output=True, text=True, timeout=60, cwd=str(d),
                           env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")})
    assert probe.stdout.strip() == "ok", probe.stderr
    return py


def run_in(py, cwd, code: str):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    return subprocess.run([py, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def _values(res):
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


X = np.linspace(-1.0, 2.0, 3000)
CHECK = """
    import json, sys
    import numpy as np
    sys.path.insert(0, {where!r})
    import {mod} as m
    x = np.linspace(-1.0, 2.0, 3000)
    print(json.dumps({{"g": m.{fn}(x)[[0, 1, 1000, -1]].tolist()}}))
"""


def _expected():
    return (2 * W * np.sin(X) * np.cos(X))[[0, 1, 1000, -1]]


def test_npz_export_lists_numpy_and_its_npz_and_runs_with_numpy_only(numpy_only_python, tmp_path):
    g = npdiff.grad(weighted).specialize((3000,))
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    written = npdiff.export({"grad_weighted": g}, pkg / "wmod.py")
    assert written == [str(pkg / "wmod.py"), str(pkg / "wmod.npz")]
    text = (pkg / "wmod.py").read_text()
    doc = text.split('"""')[1]
    assert "Needs NumPy at run time." in doc and "SciPy" not in doc
    assert "wmod.npz, which must stay next to this file" in doc
    assert "import scipy" not in text
    res = run_in(numpy_only_python, str(tmp_path), CHECK.format(where="pkg", mod="wmod", fn="grad_weighted"))
    np.testing.assert_allclose(_values(res)["g"], _expected())


def test_inline_export_is_one_self_contained_file(numpy_only_python, tmp_path):
    g = npdiff.grad(weighted).specialize((3000,))
    written = npdiff.export({"grad_weighted": g, "f": npdiff.numpify(weighted, (3000,))}, tmp_path / "one.py",
                            constants="inline")
    assert written == [str(tmp_path / "one.py")]
    assert sorted(os.listdir(tmp_path)) == ["one.py"]
    doc = (tmp_path / "one.py").read_text().split('"""')[1]
    assert ".npz" not in doc
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "one.py").write_text((tmp_path / "one.py").read_text())  # moved alone: still complete
    res = run_in(numpy_only_python, str(tmp_path), CHECK.format(where="elsewhere", mod="one", fn="grad_weighted"))
    np.testing.assert_allclose(_values(res)["g"], _expected())


def test_export_names_scipy_when_the_code_uses_it(numpy_only_python, tmp_path):
    special = pytest.importorskip("scipy.special")
    g = npdiff.grad(lambda x: np.sum(special.gammaln(x))).specialize((3,))
    npdiff.export({"g": g}, tmp_path / "sp.py")
    text = (tmp_path / "sp.py").read_text()
    assert "Needs NumPy and SciPy (scipy.special) at run time." in text.split('"""')[1]
    assert "import scipy.special" in text
    res = run_in(numpy_only_python, str(tmp_path), "import sp")
    assert res.returncode != 0 and "No module named 'scipy'" in res.stderr  # as the docstring says


def test_export_refuses_an_unknown_constants_mode(tmp_path):
    with pytest.raises(ValueError, match="constants='bogus'"):
        npdiff.export({"f": npdiff.numpify(np.sin, (3,))}, tmp_path / "m.py", constants="bogus")


# -- the command line ---------------------------------------------------------------------------

MODEL = textwrap.dedent("""
    import numpy as np

    W = np.linspace(0.0, 1.0, 3000)


    def energy(x):
        return np.sum(W * np.sin(x) ** 2)


    def small(x):
        return np.sum(x ** 2)
""")


def cli(cwd, *args):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    return subprocess.run([sys.executable, "-m", "npdiff", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def model_dir(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    return tmp_path


@pytest.mark.parametrize("shape", ["4x", "4x3x", "x4", "4,,", "4,x"])
def test_cli_refuses_a_malformed_shape(model_dir, shape):
    p = cli(model_dir, "numpify", "model.py:energy", "--shape", shape)
    assert p.returncode == 2 and "bad shape" in p.stderr and p.stdout == ""


def test_cli_still_reads_the_shapes_it_documents(model_dir):
    from npdiff.cli import parse_shape
    assert parse_shape("4,") == (4,) and parse_shape("3x4") == (3, 4) and parse_shape("(3, 4)") == (3, 4)
    assert parse_shape("scalar") == () and parse_shape("3,3") == (3, 3)


def test_cli_names_every_file_it_writes(model_dir):
    p = cli(model_dir, "grad", "model.py:energy", "--shape", "3000", "-o", "energy_grad.py")
    assert p.returncode == 0, p.stderr
    assert p.stderr.strip() == "npdiff: wrote energy_grad.py and energy_grad.npz (defines grad_energy)"
    assert (model_dir / "energy_grad.npz").exists()
    p = cli(model_dir, "grad", "model.py:small", "--shape", "3", "-o", "small.py")
    assert p.stderr.strip() == "npdiff: wrote small.py (defines grad_small)"
    assert not (model_dir / "small.npz").exists()


def test_cli_source_without_o_is_complete_and_runs_with_numpy_only(model_dir, numpy_only_python):
    p = cli(model_dir, "grad", "model.py:energy", "--shape", "3000")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith('"""Generated by npdiff.') and "import numpy as np" in p.stdout
    assert "def grad_energy(x):" in p.stdout
    printed = model_dir / "printed"
    printed.mkdir()
    (printed / "printed_grad.py").write_text(p.stdout)
    res = run_in(numpy_only_python, str(model_dir), CHECK.format(where="printed", mod="printed_grad",
                                                                 fn="grad_energy"))
    np.testing.assert_allclose(_values(res)["g"], _expected())
    # executed as a script too: exec of the printed text defines the function
    ns: dict = {}
    exec(compile(p.stdout, "printed", "exec"), ns)
    np.testing.assert_allclose(ns["grad_energy"](X)[[0, 1, 1000, -1]], _expected())
