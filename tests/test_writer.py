"""writer.ModuleWriter: one constants policy, recorded imports, one shape-check prelude for every output."""
import importlib.util
import pickle

import numpy as np
import pytest

import npdiff
from npdiff import export
from npdiff.emit.writer import LITERAL_MAX, TEXT_MAX, ModuleWriter, bad_shape

SMALL = np.arange(1.0, LITERAL_MAX + 1.0)  # exactly at the threshold: printed
LARGE = np.arange(1.0, LITERAL_MAX + 2.0) / 7  # one element more: stored
N_SMALL, N_LARGE = SMALL.size, LARGE.size
BIG = np.arange(1.0, 301.0) / 7  # large enough that the function is not unrolled into Python floats


def big_f(x):
    return np.sum(np.sin(x) * BIG)


def small_f(x):
    return np.sum(np.sin(x) * SMALL)


def large_f(x):
    return np.sum(np.sin(x) * LARGE)


def _import(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# -- the builder itself --------------------------------------------------------------------------------

def test_constant_policy_threshold():
    w = ModuleWriter()
    w.constant("_a", np.arange(float(LITERAL_MAX)))
    w.constant("_b", np.arange(LITERAL_MAX + 1.0))
    w.constant("_s", np.array(["x", "y"]))  # not numeric: never printed
    assert [h.split(" = ")[0] for h in w.header] == ["_a"]
    assert set(w.consts) == {"_b", "_s"}
    ns = {"np": np}
    exec(w.header[0], ns)
    np.testing.assert_array_equal(ns["_a"], np.arange(float(LITERAL_MAX)))


def test_imports_are_recorded_from_statements():
    w = ModuleWriter()
    assert w.import_lines() == ["import numpy as np"]
    lines = ["a = scipy.special.gammaln(x)", "b = math.sin(y)", "c = scipy.linalg.expm(m)", "d = np.sin(my.math.x)"]
    assert w.statements(lines) == lines
    assert w.import_lines() == ["import math", "import numpy as np", "import scipy.linalg", "import scipy.special"]


def test_text_header_prints_up_to_text_max_and_refuses_beyond(tmp_path):
    w = ModuleWriter()
    w.constant("_c", np.ones(50))
    header = w.text_header()
    assert header[0].startswith("_c = np.array([1.0")
    w.constant("_d", np.ones(TEXT_MAX + 1))
    with pytest.raises(ValueError, match="too large to print"):
        w.text_header()
    header = w.text_header(str(tmp_path / "m.npz"))
    assert "np.load" in header[0] and header[1:] == ["_c = _consts['_c']", "_d = _consts['_d']"]
    with np.load(tmp_path / "m.npz") as data:
        assert sorted(data.files) == ["_c", "_d"]
    assert w.import_lines()[0] == "import os"


def test_bad_shape_prelude_message():
    with pytest.raises(ValueError, match=r"argument 'x' has shape \(2,\), expected shape \(3,\)"):
        bad_shape("x", (3,), (2,))


# -- GeneratedFunction: small constants are literals, large ones are pickled ---------------------------

def test_generated_function_constants():
    x = np.linspace(0.1, 1.0, N_SMALL)
    gs = npdiff.grad(small_f).specialize((N_SMALL,))
    assert "np.array([1.0, 2.0" in gs.source and not gs.consts
    xl = np.linspace(0.1, 1.0, BIG.size)
    gl = npdiff.grad(big_f).specialize((BIG.size,))
    assert [v.size for v in gl.consts.values()] == [BIG.size]
    assert "np.array(" not in gl.source and "0.14285714285714285" not in gl.source
    gl2 = pickle.loads(pickle.dumps(gl))
    np.testing.assert_allclose(gl2(xl), np.cos(xl) * BIG, rtol=1e-13)
    np.testing.assert_allclose(gs(x), np.cos(x) * SMALL, rtol=1e-13)


def test_generated_function_records_its_modules():
    scipy_special = pytest.importorskip("scipy.special")
    plain = npdiff.numpify(small_f, (N_SMALL,))
    assert not any(m.startswith("scipy") for m in plain.modules)
    gf = npdiff.grad(lambda x: np.sum(scipy_special.gammaln(x))).specialize((40,))
    assert "scipy.special" in gf.modules
    gf2 = pickle.loads(pickle.dumps(gf))
    x = np.linspace(1.0, 3.0, 40)
    np.testing.assert_allclose(gf2(x), scipy_special.digamma(x), rtol=1e-12)


# -- transform(..., out_file=): large constants go to the .npz beside the module ----------------------

def test_transform_constants(tmp_path):
    src = npdiff.transform(small_f, (N_SMALL,))
    assert "np.array([1.0, 2.0" in src and "np.load" not in src
    path = tmp_path / "large_ad.py"
    src = npdiff.transform(large_f, (N_LARGE,), out_file=path)
    assert "np.load" in src and "import os" in src and (tmp_path / "large_ad.npz").exists()
    assert "0.14285714285714285" not in src  # LARGE / 7 is not printed
    mod = _import(path, "large_ad_writer_test")
    x = np.linspace(0.1, 1.0, N_LARGE)
    out, xa = mod.large_f_ad(x, np.zeros(N_LARGE), 1.0)
    assert out == pytest.approx(large_f(x), rel=1e-13)
    np.testing.assert_allclose(xa, np.cos(x) * LARGE, rtol=1e-13)
    with pytest.raises(ValueError, match="'x'"):
        mod.large_f_ad(np.ones(3), np.zeros(N_LARGE), 1.0)
    # without a file to store beside, the same constant is printed
    assert "0.14285714285714285" in npdiff.transform(large_f, (N_LARGE,))


# -- export: large constants go to the .npz, small ones are literals -----------------------------------

def test_export_constants(tmp_path):
    export({"f": npdiff.numpify(small_f, (N_SMALL,))}, tmp_path / "small_mod.py")
    text = (tmp_path / "small_mod.py").read_text()
    assert not (tmp_path / "small_mod.npz").exists() and "np.load" not in text and "import os" not in text
    assert "import scipy" not in text
    export({"g": npdiff.grad(big_f).specialize((BIG.size,))}, tmp_path / "large_mod.py")
    text = (tmp_path / "large_mod.py").read_text()
    assert (tmp_path / "large_mod.npz").exists() and "np.load" in text
    assert "0.14285714285714285" not in text
    small_mod = _import(tmp_path / "small_mod.py", "small_mod_writer_test")
    large_mod = _import(tmp_path / "large_mod.py", "large_mod_writer_test")
    x = np.linspace(0.1, 1.0, N_SMALL)
    assert small_mod.f(x) == pytest.approx(small_f(x), rel=1e-13)
    xl = np.linspace(0.1, 1.0, BIG.size)
    np.testing.assert_allclose(large_mod.g(xl), np.cos(xl) * BIG, rtol=1e-13)


def test_cli_output_module_stores_large_constants(tmp_path, monkeypatch):
    from npdiff.cli import main
    (tmp_path / "model.py").write_text("import numpy as np\nW = np.arange(1.0, 301.0) / 7\n\n"
                                       "def f(x):\n    return np.sum(np.sin(x) * W)\n")
    monkeypatch.chdir(tmp_path)
    assert main(["grad", "model.py:f", "--shape", "300", "-o", "f_grad.py"]) == 0
    assert (tmp_path / "f_grad.npz").exists()
    mod = _import(tmp_path / "f_grad.py", "f_grad_writer_test")
    x = np.linspace(0.1, 1.0, 300)
    fn = next(getattr(mod, k) for k in dir(mod) if not k.startswith("_") and callable(getattr(mod, k))
              and getattr(mod, k).__module__ == mod.__name__)
    np.testing.assert_allclose(fn(x), np.cos(x) * BIG, rtol=1e-13)
