"""The pages a newcomer lands on are true: the API reference renders every public name as itself, the
README's generated listing is what npdiff generates, the supported list is grouped by NumPy/SciPy
namespace, nothing says "see API.md", the license and the offline theme are in place, and (when mkdocs
is installed) the site builds with --strict."""
import inspect
import pathlib
import re
import shutil
import subprocess
import types

import numpy as np
import pytest

import npdiff

ROOT = pathlib.Path(__file__).resolve().parents[1]
API = (ROOT / "docs" / "api.md").read_text()
README = (ROOT / "README.md").read_text()


def public_names():
    return [n for n in npdiff.__all__ if not isinstance(getattr(npdiff, n), types.ModuleType)]


def test_the_api_page_renders_every_public_name_as_itself():
    rendered = set(re.findall(r"^::: npdiff\.([\w.]+)", API, re.M))
    missing = [n for n in public_names() if n not in rendered and f"{n}.{n}" not in rendered]
    assert missing == []
    assert {"TracingError", "UnsupportedOperationError", "PathChangedError"} <= rendered
    for name in ("gradient", "hessian", "jacobian", "matrix_tressian_product"):
        assert f"diffops.{name}" in rendered


@pytest.mark.parametrize("name", ["jacfwd", "jacrev", "jacobian", "grad_and_value", "jacobian_and_value",
                                  "hessian_grad_and_value", "vjp_and_value", "mhp_jacobian_and_value",
                                  "mtp_hessian_grad_and_value"])
def test_operators_are_functions_with_a_signature_and_a_docstring(name):
    op = getattr(npdiff, name)
    assert inspect.isfunction(op) and op.__name__ == name
    assert "func" in inspect.signature(op).parameters
    assert op.__doc__ and op.__doc__.startswith("Return a function")
    if name in ("jacfwd", "jacrev", "jacobian"):
        assert list(inspect.signature(op).parameters) == ["func", "argnums", "has_aux", "sparse", "backend"]


def test_nothing_points_users_at_api_md():
    texts = [p.read_text() for p in (ROOT / "docs").glob("*.md")] + [README]
    texts += [p.read_text() for p in (ROOT / "src" / "npdiff").rglob("*.py")]
    assert not [t for t in texts if "API.md" in t]


def test_readme_opens_with_the_pitch_and_the_generated_source_then_the_setup_commands():
    first_python, first_bash = README.index("```python"), README.index("```bash")
    assert README.index("npdiff differentiates **ordinary NumPy code**") < first_python < first_bash
    listing = re.search(r"```python\n(def grad_rosenbrock\(x\):.*?)```", README, re.S).group(1)
    assert README.index("def grad_rosenbrock(x):") < first_bash

    def rosenbrock(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    assert npdiff.grad(rosenbrock).specialize((1000,)).source.strip() == listing.strip()


def test_supported_page_is_grouped_by_namespace():
    heads = re.findall(r"^## (.+?) \(\d+\)$", (ROOT / "docs" / "supported.md").read_text(), re.M)
    assert heads[0] == "numpy" and "numpy.linalg" in heads and "scipy.special" in heads
    assert not [h for h in heads if h.startswith("npdiff")]
    assert not [h for h in heads if re.fullmatch(r"numpy\.(add|multiply|maximum)", h)]  # ufunc methods grouped


def test_license_matches_pyproject():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) the npdiff developers" in text
    meta = (ROOT / "pyproject.toml").read_text()
    assert 'license = "MIT"' in meta and 'license-files = ["LICENSE"]' in meta


def test_the_theme_fetches_no_web_fonts():
    assert re.search(r"^theme:\n(  .*\n)*?  font: false", (ROOT / "mkdocs.yml").read_text(), re.M)


def test_mkdocs_build_strict(tmp_path):
    mkdocs = shutil.which("mkdocs")
    if mkdocs is None:
        pytest.skip("mkdocs is not installed (pip install '.[docs]')")
    p = subprocess.run([mkdocs, "build", "--strict", "-q", "-d", str(tmp_path / "site")], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    page = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ("jacfwd", "grad_and_value", "PathChangedError", "export"):
        assert f'id="npdiff.{name}"' in page or f'id="npdiff.{name}.{name}"' in page
    assert "fonts.googleapis" not in (tmp_path / "site" / "index.html").read_text()
