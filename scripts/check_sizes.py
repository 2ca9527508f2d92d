"""Size bounds kept in CI: no module over 600 lines, no function over 80 lines.

Usage: ``python scripts/check_sizes.py [paths...]`` (default: src/npdiff). Prints
each offender (path:line, name, length) and exits 1 if there is one. A
function's length runs from its ``def`` (or first decorator) to its last line;
nested functions count inside their parent and are checked on their own too.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def offenders(path: Path) -> list[str]:
    """Return one line per bound that the module at path breaks."""
    text = path.read_text(encoding="utf-8")
    out = []
    n = len(text.splitlines())
    if n > MAX_MODULE_LINES:
        out.append(f"{path}: module has {n} lines (at most {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            length = node.end_lineno - start + 1
            if length > MAX_FUNCTION_LINES:
                out.append(f"{path}:{start}: function {node.name} has {length} lines (at most {MAX_FUNCTION_LINES})")
    return out


def main(argv: list[str]) -> int:
    """Check every Python file under the given paths; return the exit status."""
    roots = [Path(a) for a in argv] or [Path(__file__).resolve().parent.parent / "src" / "npdiff"]
    files = sorted(f for r in roots for f in ([r] if r.is_file() else r.rglob("*.py")))
    found = [line for f in files for line in offenders(f)]
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} size bound(s) broken: split the module or function (a table of small "
              "lowerings may become data)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
