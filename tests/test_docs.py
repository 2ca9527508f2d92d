"""The documentation's runnable examples run.

Every ```python block of a page in docs/ runs, in order, in one namespace per
page (so a page's blocks build on each other). Blocks fenced as ```py are
illustrations (they need optional packages, files or a shell) and are skipped.
"""
import linecache
import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
OPTIONAL = {"array_api_strict", "array_api_compat", "dask", "distributed", "numba", "torch", "cupy"}
PAGES = sorted(p for p in DOCS.glob("*.md") if FENCE.search(p.read_text()))


def test_docs_have_runnable_pages():
    assert len(PAGES) >= 8


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_code_blocks_run(page, tmp_path, monkeypatch):
    if "scipy" in page.read_text():
        pytest.importorskip("scipy")
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    ns: dict = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for i, match in enumerate(FENCE.finditer(page.read_text())):
        name = f"<docs/{page.name} block {i}>"
        text = match.group(1)
        # inspect.getsource (used by the shape-generic npdiff.transform) reads from linecache
        linecache.cache[name] = (len(text), None, text.splitlines(True), name)
        code = compile(text, name, "exec")
        try:
            exec(code, ns)
        except ModuleNotFoundError as e:  # a block using an optional extra (array-api-strict, dask, numba...)
            if e.name in OPTIONAL:
                pytest.skip(f"{page.name} needs the optional package {e.name}")
            raise
