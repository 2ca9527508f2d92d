"""Display: one-line repr, Jupyter rich output, lazy caches, and ``npdiff show``."""
import builtins
import html
import pickle
import textwrap

import numpy as np
import pytest

import npdiff
from npdiff.cli import main


def sumsq(x, y):
    return np.sum(x ** 2) * y


def test_repr_is_one_line_with_names_shapes_and_dtypes():
    g = npdiff.grad(sumsq).specialize((3,), npdiff.ShapeDtype((), np.float32))
    text = repr(g)
    assert "\n" not in text
    assert text == "<GeneratedFunction grad_sumsq(x: (3,) float64, y: () float32)>"


def test_repr_markdown_has_signature_and_whole_source():
    g = npdiff.hessian(lambda x: np.sum(np.exp(x))).specialize((4,))
    md = g._repr_markdown_()
    assert md.startswith("**GeneratedFunction** `hessian_f(x: (4,) float64)`")
    assert "```python\n" + g.source.rstrip() + "\n```" in md


def test_repr_html_is_escaped_and_highlighted():
    pytest.importorskip("pygments")
    g = npdiff.numpify(lambda a: np.where(a < 1.0, a, 2.0 * a), (3,))
    assert "<" in g.source  # the comparison must be escaped in HTML
    out = g._repr_html_()
    assert "a: (3,) float64" in out
    assert "<span" in out  # Pygments markup
    assert " < 1.0" not in out and "&lt;" in out


def test_repr_html_without_pygments_is_plain_escaped_pre(monkeypatch):
    real_import = builtins.__import__

    def no_pygments(name, *args, **kwargs):
        if name.startswith("pygments"):
            raise ImportError("no pygments")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pygments)
    g = npdiff.numpify(lambda a: np.where(a < 1.0, a, 2.0 * a), (3,))
    out = g._repr_html_()
    assert f"<pre>{html.escape(g.source)}</pre>" in out
    assert "<span" not in out


def test_display_survives_pickling():
    g = npdiff.grad(sumsq).specialize((2,), ())
    g2 = pickle.loads(pickle.dumps(g))
    assert repr(g2) == repr(g)
    assert g2._repr_markdown_() == g._repr_markdown_()


def test_cache_info_lists_specialisations_and_cache_clear_empties():
    g = npdiff.grad(lambda x: np.sum(np.sin(x)))
    assert g.cache_info().currsize == 0
    x64, x32 = np.linspace(0, 1, 3), np.linspace(0, 1, 5).astype(np.float32)
    np.testing.assert_allclose(g(x64), np.cos(x64))
    g(x32)
    g(x64)  # already cached: no new entry
    info = g.cache_info()
    assert info.currsize == 2
    assert info.specializations == ((npdiff.ShapeDtype((3,), np.dtype(np.float64)),),
                                    (npdiff.ShapeDtype((5,), np.dtype(np.float32)),))
    g.cache_clear()
    assert g.cache_info().currsize == 0 and g.cache_info().specializations == ()
    np.testing.assert_allclose(g(x64), np.cos(x64))  # regenerated after clearing
    assert g.cache_info().currsize == 1


def test_cache_info_of_specialize_and_multiple_arguments():
    g = npdiff.value_and_grad(sumsq, argnums=(0, 1))
    g.specialize((2, 2), ())
    (spec,) = g.cache_info().specializations
    assert [s.shape for s in spec] == [(2, 2), ()]


MODEL = textwrap.dedent("""
    import numpy as np

    def loss(x):
        return np.sum(np.sin(x) ** 2) + x[0] * x[1]
""")


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    return str(path)


def test_show_prints_graph_size_and_numbered_source(model, capsys):
    assert main(["show", f"{model}:loss", "--shape", "3"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "# numpify of loss for shapes (3,)"
    # sin, pow, sum, two indexings, multiply, add (+ the input) -> at least 7 nodes, 1 input
    assert lines[1].startswith("# traced graph of loss: ") and "1 inputs" in lines[1]
    n_nodes = int(lines[1].split(": ")[1].split()[0])
    assert n_nodes >= 5
    source = npdiff.numpify(__import__("runpy").run_path(model)["loss"], (3,)).source
    numbered = lines[3:]
    assert len(numbered) == len(source.rstrip("\n").splitlines())
    assert lines[2] == f"# generated source: {len(numbered)} lines"
    assert numbered[0].split(None, 1) == ["1", source.splitlines()[0]]
    assert numbered[-1].lstrip().startswith(f"{len(numbered)} ")


def test_show_other_operator_and_output_file(model, tmp_path, capsys):
    out_file = tmp_path / "shown.txt"
    assert main(["show", f"{model}:loss", "--shape", "4", "--op", "grad", "-o", str(out_file)]) == 0
    text = out_file.read_text()
    assert text.startswith("# grad of loss for shapes (4,)")
    assert "def grad_loss(x):" in text


def test_show_reports_errors_on_one_line(model, capsys):
    assert main(["show", f"{model}:loss"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("npdiff: error:") and err.count("\n") == 1


def test_cache_info_counts_the_paths_of_a_branching_function():
    def f(x):
        return np.sum(x ** 2) if x[0] > 0 else np.sum(np.sin(x))
    g = npdiff.grad(f)
    g(np.array([1.0, 2.0]))
    g(np.array([-1.0, 2.0]))
    info = g.cache_info()
    assert info.paths == (2,) and info.currsize == 2
    g.cache_clear()
    assert g.cache_info().currsize == 0 and g.cache_info().paths == ()
