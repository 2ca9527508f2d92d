"""The worked examples of docs/adding-a-primitive.md and docs/adding-a-backend.md, run as the docs show.

Each test copies the package to a temporary folder, applies the documentation's
code blocks (a block titled with a path and "(append)" is appended to that file,
one titled "(new file)" creates it), checks that only the files the page names
changed (one file for a primitive, one folder for a backend), and runs the
page's "check" block, and the tests that walk every primitive or backend, on the
modified copy in a fresh interpreter.
"""
from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r'```py title="([^"]+)"\n(.*?)\n```', re.S)


def _blocks(page: str) -> list[tuple[str, str]]:
    return BLOCK.findall((ROOT / "docs" / page).read_text(encoding="utf-8"))


def _changed(a: Path, b: Path) -> set[str]:
    """Return the .py files (relative paths) that differ between trees a and b, or exist in one only."""
    out = set()
    for f in set(p.relative_to(a) for p in a.rglob("*.py")) | set(p.relative_to(b) for p in b.rglob("*.py")):
        fa, fb = a / f, b / f
        if not (fa.exists() and fb.exists() and filecmp.cmp(fa, fb, shallow=False)):
            out.add(str(f))
    return out


def _apply(page: str, tmp: Path) -> tuple[Path, str, set[str]]:
    """Return (src folder of the modified copy, the check block, the changed files) for a page."""
    src = tmp / "src"
    shutil.copytree(ROOT / "src" / "npdiff", src / "npdiff", ignore=shutil.ignore_patterns("__pycache__"))
    check = None
    for title, code in _blocks(page):
        if title == "check":
            check = code
            continue
        path, how = re.fullmatch(r"src/(\S+) \((append|new file)\)", title).groups()
        target = src / path
        if how == "append":
            assert target.exists(), title
            target.write_text(target.read_text(encoding="utf-8").rstrip("\n") + "\n\n\n" + code + "\n", encoding="utf-8")
        else:
            assert not target.exists(), title
            target.write_text(code + "\n", encoding="utf-8")
    assert check is not None, f"{page} has no check block"
    return src, check, _changed(ROOT / "src", src)


def _run(args: list[str], src: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(src), NPDIFF_CACHE_DIR=str(cwd / "cache"))
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def test_adding_an_elementwise_primitive_touches_one_file(tmp_path):
    pytest.importorskip("scipy.special")
    src, check, changed = _apply("adding-a-primitive.md", tmp_path)
    assert changed == {"npdiff/primitives/special.py"}
    (tmp_path / "check.py").write_text(check + "\n", encoding="utf-8")
    run = _run([sys.executable, "check.py"], src, tmp_path)
    assert run.returncode == 0 and "cosdg: ok" in run.stdout, run.stdout + run.stderr
    # the tests that walk the registry take the new primitive without any other edit
    tests = ROOT / "tests"
    run = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "cosdg or backend",
                str(tests / "test_registry.py"), str(tests / "test_primitives.py"),
                str(tests / "test_backends_coverage.py")], src, tmp_path)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"\b([5-9]|\d\d+) passed", run.stdout), run.stdout[-2000:]


def test_adding_a_backend_touches_one_folder(tmp_path):
    src, check, changed = _apply("adding-a-backend.md", tmp_path)
    assert changed == {"npdiff/emit/commented.py", "npdiff/emit/backends.py"}
    (tmp_path / "check.py").write_text(check + "\n", encoding="utf-8")
    run = _run([sys.executable, "check.py"], src, tmp_path)
    assert run.returncode == 0 and "commented: ok" in run.stdout, run.stdout + run.stderr
    run = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                str(ROOT / "tests" / "test_backends_coverage.py")], src, tmp_path)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
