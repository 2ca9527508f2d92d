"""The enumerated SciPy support (issue 21): every scipy.stats univariate distribution's methods and every
scipy.special ufunc, traced and checked against SciPy's values and finite differences; the generated
page docs/scipy-support.md must be current."""
from __future__ import annotations

import importlib.util
import pathlib
import re

import pytest

pytest.importorskip("scipy.stats")
import scipy

from npdiff.scipy_support import special_rows, stats_rows

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rows():
    return stats_rows(), special_rows()


def _script():
    spec = importlib.util.spec_from_file_location("scipy_support_doc", ROOT / "scripts" / "scipy_support_doc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_nothing_mismatches(rows):
    bad = [r for r in rows[0] + rows[1] if r.status == "mismatch"]
    assert not bad, "\n".join(map(str, bad))


def test_every_distribution_and_ufunc_is_reported(rows):
    from scipy.stats._distr_params import distcont, distdiscrete
    names = {n for n, _ in distcont + distdiscrete if isinstance(n, str)}
    assert {r.name for r in rows[0]} == names
    assert all(r.status in ("yes", "partial", "refused") for r in rows[0] + rows[1])
    assert all(r.reason for r in rows[0] + rows[1] if r.status != "yes")


@pytest.mark.parametrize("name, method, status, without", [
    ("norm", "logpdf", "yes", ()),
    ("weibull_min", "logcdf", "yes", ()),
    ("lomax", "ppf", "yes", ()),
    ("nbinom", "logpmf", "yes", ()),
    ("binom", "pmf", "partial", ("n",)),
    ("geom", "cdf", "yes", ()),
    ("betabinom", "logpmf", "partial", ("n",)),
    ("zipf", "logpmf", "partial", ("a",)),
    ("gamma", "cdf", "partial", ("a",)),
])
def test_known_rows(rows, name, method, status, without):
    row = next(r for r in rows[0] if r.name == name and r.method == method)
    assert (row.status, row.no_derivative) == (status, without), row


def test_special_rows(rows):
    by = {r.name: r for r in rows[1]}
    assert by["gammaln"].status == "yes"
    assert by["hyp1f1"].status == "partial" and by["hyp1f1"].no_derivative == ("argument 1", "argument 2")
    assert by["wright_bessel"].status == "partial"
    assert by["airy"].status == "refused"


def test_the_committed_page_is_current(rows):
    page = (ROOT / "docs" / "scipy-support.md").read_text()
    version = re.search(r"with SciPy (\S+);", page).group(1)
    if version != scipy.__version__:
        pytest.skip(f"the page was generated with SciPy {version}, this is {scipy.__version__}")
    assert _script().render(*rows, scipy.__version__) == page, \
        "docs/scipy-support.md is out of date: run python scripts/scipy_support_doc.py"
