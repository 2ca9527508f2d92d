"""python -m tests.autograd_suite --autograd-tests DIR [--json FILE] [--min-rate 0.95] [-k EXPR]

Runs autograd's test files found in DIR (autograd's source distribution) against
npdiff.compat.autograd (``autograd`` in sys.modules is the compat module), and prints
passed / failed / not applicable with the reason of each failure.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

# Files that test autograd's NumPy-level behaviour (the applicable ones).
APPLICABLE_FILES = ["test_numpy.py", "test_systematic.py", "test_linalg.py", "test_scipy.py", "test_binary_ops.py",
                    "test_scalar_ops.py", "test_logic.py", "test_complex.py", "test_truediv.py", "test_jacobian.py",
                    "test_direct.py", "test_graphs.py", "test_wrappers.py", "test_fft.py",
                    # plain containers as arguments (pytrees); autograd.builtins' own constructors and
                    # isinstance are stubs (not applicable when called)
                    "test_dict.py", "test_list.py", "test_tuple.py", "test_builtins.py", "test_misc.py",
                    "test_tests.py"]

# Files that test autograd itself, with the reason they do not apply to npdiff.
NOT_APPLICABLE_FILES = {
    "test_core.py": "autograd's core (make_vjp on Python scalars, vspaces)",
    "test_vspaces.py": "autograd's vector spaces",
    "test_ufunc_dispatch.py": "xarray containers around autograd boxes",
    "test_performance.py": "autograd's performance",
}

# Single tests that check autograd's own behaviour rather than NumPy's mathematics.
NOT_APPLICABLE_TESTS = {
    "test_graphs.py::test_assignment_raises_error": "autograd refuses item assignment; npdiff traces it",
    "test_wrappers.py::test_wrapped_name_and_docs": "the names and docstrings of autograd's own operators",
    "test_wrappers.py::test_custom_where": "autograd.numpy's own where wrapper (keyword arguments)",
    "test_wrappers.py::test_custom_where_dtypes": "autograd.numpy's own where wrapper (Python scalar results)",
    "test_numpy.py::test_diagonal": "autograd.numpy.make_diagonal, an autograd extension (not NumPy)",
    "test_numpy.py::test_make_diagonal": "autograd.numpy.make_diagonal, an autograd extension (not NumPy)",
    "test_linalg.py::test_pinv": "autograd.numpy.linalg._dot and .T, autograd helpers (not NumPy)",
    "test_misc.py::test_const_graph": "autograd's graph replay (const_graph), counted by Python side effects",
    "test_misc.py::test_const_graph_args": "autograd's graph replay (const_graph), counted by Python side effects",
    "test_wrappers.py::test_deprecated_defgrad_wrapper": "autograd's pre-1.2 extension API (fun.defgrad on vspaces)",
    "test_wrappers.py::test_deprecated_defvjp_wrapper": "autograd's pre-1.2 extension API (fun.defvjp on vspaces)",
    "test_wrappers.py::test_deprecated_defvjp_is_zero_wrapper": "autograd's pre-1.2 extension API (fun.defvjp_is_zero)",
    "test_wrappers.py::test_deprecated_quick_grad_check_wrapper": "autograd.util.quick_grad_check, deprecated in autograd",
    "test_fft.py::test_rfftn_odd_not_implemented": ("autograd's own limitation (its rfftn gradient raises for an odd "
                                                    "last axis); npdiff differentiates it (tests/test_numpy_fft.py)"),
}


class Recorder:
    """A pytest plugin: skips the tests listed as not applicable and records every outcome."""

    def __init__(self):
        self.results: dict = {}

    def pytest_collection_modifyitems(self, items):
        import pytest
        for item in items:
            key = f"{os.path.basename(item.fspath)}::{item.originalname or item.name}"
            if key in NOT_APPLICABLE_TESTS:
                item.add_marker(pytest.mark.skip(reason="not applicable: " + NOT_APPLICABLE_TESTS[key]))

    def pytest_runtest_logreport(self, report):
        nodeid = report.nodeid.split("/")[-1]
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if report.skipped:
                reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
                self.results[nodeid] = ("not applicable", reason.replace("Skipped: ", ""))
            elif report.failed:
                msg = str(report.longrepr.reprcrash.message) if hasattr(report.longrepr, "reprcrash") \
                    else str(report.longrepr)
                self.results[nodeid] = ("failed", msg.splitlines()[0][:300] if msg else "")
            else:
                self.results[nodeid] = ("passed", "")


def run(directory: str, keyword: str | None = None, files=None) -> dict:
    """Run the applicable files of autograd's tests in directory; return {test id: (outcome, reason)}."""
    import pytest

    from . import shim
    shim.install()
    recorder = Recorder()
    paths = [os.path.join(directory, f) for f in (files or APPLICABLE_FILES)
             if os.path.exists(os.path.join(directory, f))]
    if not paths:
        raise SystemExit(f"no autograd test files in {directory}")
    # -c os.devnull: no configuration file of autograd's (its pyproject.toml requires pytest plugins)
    args = ["-q", "-p", "no:cacheprovider", "-c", os.devnull, "-o", "addopts=", "--rootdir", directory, "-W", "ignore",
            "--tb=line", "-rN", *paths]
    if keyword:
        args += ["-k", keyword]
    pytest.main(args, plugins=[recorder])
    for f in NOT_APPLICABLE_FILES:
        if os.path.exists(os.path.join(directory, f)):
            recorder.results[f] = ("not applicable", NOT_APPLICABLE_FILES[f])
    return recorder.results


def summary(results: dict) -> dict:
    """Return counts and the pass rate over the applicable tests."""
    count = {k: sum(1 for o, _ in results.values() if o == k) for k in ("passed", "failed", "not applicable")}
    applicable = count["passed"] + count["failed"]
    count["rate"] = count["passed"] / applicable if applicable else 0.0
    return count


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.autograd_suite", description=__doc__.splitlines()[0])
    p.add_argument("--autograd-tests", required=True, help="directory holding autograd's tests/*.py")
    p.add_argument("--json", help="write the results to this file")
    p.add_argument("--min-rate", type=float, default=0.0, help="exit 1 if the pass rate is lower")
    p.add_argument("-k", dest="keyword", help="pytest -k expression")
    p.add_argument("--files", nargs="*", help="test files to run (default: the applicable ones)")
    a = p.parse_args(argv)
    t0 = time.time()
    results = run(a.autograd_tests, a.keyword, a.files)
    s = summary(results)
    print(f"\nautograd suite on npdiff: {s['passed']} passed, {s['failed']} failed, "
          f"{s['not applicable']} not applicable; pass rate {100 * s['rate']:.1f}% ({time.time() - t0:.0f} s)")
    for name, (outcome, reason) in sorted(results.items()):
        if outcome != "passed":
            print(f"  {outcome}: {name}: {reason}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"summary": s, "results": results}, fh, indent=1)
    return 0 if s["rate"] >= a.min_rate else 1


if __name__ == "__main__":
    sys.exit(main())
