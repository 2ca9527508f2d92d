"""The command line, run in subprocesses: `python -m npdiff ...`."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

MODEL = textwrap.dedent("""
    import numpy as np


    def loss(x):
        return np.sum(np.sin(x) ** 2)


    def layer(A, y):
        return np.tanh(A @ y)


    def mma(A, B, C):
        D = A @ B + C
        return D


    def branchy(x):
        if x[0] > 0:
            return x
        return -x


    def unsupported(x):
        return np.histogram(x)[0] * 1.0


    NOT_A_FUNCTION = 3
""")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "model.py").write_text(MODEL)
    return d


def run(workdir, *args):
    """Run `python -m npdiff args...` in a subprocess."""
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "npdiff", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=120)
    return proc


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def run_main(workdir, capsys, monkeypatch):
    """Run npdiff.cli.main(args) in this process (fast); same interface as run()."""
    from npdiff.cli import main
    monkeypatch.chdir(workdir)

    def call(*args):
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)
    return call


def exec_source(src, name):
    import math
    from npdiff.emit.generated import _bad_shape
    ns = {"np": np, "math": math, "_bad_shape": _bad_shape}
    exec(src, ns)
    return ns[name]


def test_grad_prints_source(workdir):
    p = run(workdir, "grad", "model.py:loss", "--shape", "3")
    assert p.returncode == 0, p.stderr
    assert "def grad_loss(x):" in p.stdout
    g = exec_source(p.stdout, "grad_loss")
    x = np.array([0.3, -1.0, 2.0])
    np.testing.assert_allclose(g(x), 2 * np.sin(x) * np.cos(x))


def test_hessian_and_multiple_shapes_and_dtype(run_main):
    p = run_main("hessian", "model.py:loss", "--shape", "2")
    assert p.returncode == 0, p.stderr
    assert "def hessian_loss(x):" in p.stdout
    p = run_main("jacobian", "model.py:layer", "--shape", "3,3", "--shape", "3", "--argnums", "1",
            "--dtype", "float32")
    assert p.returncode == 0, p.stderr
    jac = exec_source(p.stdout, "jacobian_layer")
    A = np.eye(3, dtype=np.float32)
    y = np.array([0.1, 0.2, 0.3], np.float32)
    J = jac(A, y)
    assert J.dtype == np.float32
    np.testing.assert_allclose(J, np.diag(1 - np.tanh(y) ** 2), rtol=1e-5)


@pytest.mark.parametrize("op", ["numpify", "value_and_grad", "jacfwd", "jacrev", "hvp"])
def test_more_jax_operators(run_main, op):
    p = run_main(op, "model.py:loss", "--shape", "3")
    assert p.returncode == 0, p.stderr
    assert p.stdout.lstrip().startswith(("def ", "_c"))


@pytest.mark.parametrize("op", ["jvp", "vjp", "linearize"])
def test_eager_operators(run_main, op):
    p = run_main(op, "model.py:layer", "--shape", "3,3", "--shape", "3")
    assert p.returncode == 0, p.stderr
    fn = exec_source(p.stdout, f"{op}_layer")
    A, y = np.eye(3) * 0.5, np.array([0.1, 0.2, 0.3])
    d = 1 - np.tanh(A @ y) ** 2
    if op == "jvp":
        out, t = fn(A, y, np.zeros((3, 3)), np.ones(3))
        np.testing.assert_allclose(t, d * (A @ np.ones(3)))
    elif op == "vjp":
        out, pb = fn(A, y)
        cA, cy = pb(np.ones(3))
        np.testing.assert_allclose(cy, A.T @ d)
    else:
        out, f_jvp = fn(A, y)
        np.testing.assert_allclose(f_jvp(np.zeros((3, 3)), np.ones(3)), d * (A @ np.ones(3)))
    np.testing.assert_allclose(out, np.tanh(A @ y))


def test_transform_generic_and_shaped(workdir, run_main):
    p = run(workdir, "transform", "model.py:mma")
    assert p.returncode == 0, p.stderr
    assert "def mma_ad(A, B, C, A_a, B_a, C_a, D_a):" in p.stdout
    p = run_main("transform", "model.py:mma", "--shape", "2,3", "--shape", "3,2", "--shape", "2,2")
    assert p.returncode == 0, p.stderr
    ns = {}
    exec(p.stdout, ns)
    A, B, C = np.ones((2, 3)), np.ones((3, 2)), np.zeros((2, 2))
    D, Aa, Ba, Ca = ns["mma_ad"](A, B, C, np.zeros((2, 3)), np.zeros((3, 2)), np.zeros((2, 2)), np.ones((2, 2)))
    np.testing.assert_allclose(Aa, np.ones((2, 2)) @ B.T)


def test_output_file_is_importable_module(workdir, run_main, tmp_path):
    out = tmp_path / "loss_grad.py"
    p = run(workdir, "grad", "model.py:loss", "--shape", "3", "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    ns = {}
    exec(out.read_text(), ns)
    x = np.array([0.3, -1.0, 2.0])
    np.testing.assert_allclose(ns["grad_loss"](x), 2 * np.sin(x) * np.cos(x))
    out2 = tmp_path / "mma_ad.py"
    p = run_main("transform", "model.py:mma", "-o", str(out2))
    assert p.returncode == 0, p.stderr
    ns = {}
    exec(out2.read_text(), ns)
    assert "mma_ad" in ns


def test_module_target(workdir):
    p = run(workdir, "grad", "model:loss", "--shape", "scalar")
    assert p.returncode == 0, p.stderr
    assert "def grad_loss(x):" in p.stdout


def test_help_lists_every_operator(workdir):
    p = run(workdir, "--help")
    assert p.returncode == 0
    ops = ["numpify", "grad", "value_and_grad", "jacfwd", "jacrev", "jacobian", "hessian", "hvp", "jvp",
           "vjp", "linearize", "transform", "diffops.gradient", "diffops.hessian", "diffops.jacobian",
           "diffops.hessian_vector_product", "diffops.jacobian_vector_product",
           "diffops.vector_jacobian_product", "diffops.matrix_hessian_product",
           "diffops.matrix_tressian_product", "grad_and_value", "jacobian_and_value",
           "hessian_grad_and_value", "vjp_and_value", "mhp_jacobian_and_value", "mtp_hessian_grad_and_value"]
    listed = {line.split()[0] for line in p.stdout.splitlines() if line.startswith("    ") and line.split()}
    for op in ops:
        assert op in listed, op


ERRORS = [
    (["grad", "missing.py:loss", "--shape", "3"], "no such file"),
    (["grad", "model.py:nope", "--shape", "3"], "no function 'nope'"),
    (["grad", "model.py:NOT_A_FUNCTION", "--shape", "3"], "not a function"),
    (["grad", "model.py:loss", "--shape", "3,a"], "bad shape"),
    (["grad", "model.py:loss"], "--shape"),
    (["grad", "model.py:layer", "--shape", "3"], "--shape"),
    (["grad", "model.py:loss", "--shape", "3", "--dtype", "int8"], "--dtype"),
    (["grad", "model.py:layer", "--shape", "3,3", "--shape", "3"], "scalar"),
    (["grad", "model.py:branchy", "--shape", "3"], "np.where"),
    (["grad", "model.py:unsupported", "--shape", "4"], "histogram"),
    (["grad", "nomodule_xyz:loss", "--shape", "3"], "nomodule_xyz"),
    (["grad", "model.py", "--shape", "3"], "bad target"),
    (["frobnicate", "model.py:loss"], "invalid choice"),
    (["grad"], "required"),
]


def _check_error(p, fragment):
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("npdiff: error:")
    assert fragment in lines[0]


@pytest.mark.parametrize("args, fragment", ERRORS)
def test_errors_are_one_line_with_status_2(run_main, args, fragment):
    _check_error(run_main(*args), fragment)


@pytest.mark.parametrize("args, fragment", [ERRORS[i] for i in (0, 3, 8, 12)])
def test_errors_in_subprocess(workdir, args, fragment):
    _check_error(run(workdir, *args), fragment)


def test_main_returns_int(workdir, capsys, monkeypatch):
    from npdiff.cli import main
    monkeypatch.chdir(workdir)
    assert main(["grad", "model.py:loss", "--shape", "3"]) == 0
    assert "def grad_loss" in capsys.readouterr().out
    assert main(["grad", "model.py:loss", "--shape", "x"]) == 2
    assert main(["--help"]) == 0


@pytest.mark.parametrize("op", ["diffops.gradient", "gradient", "diffops.hessian",
                                "hessian_vector_product", "grad_and_value", "hessian_grad_and_value"])
def test_diffops_and_mici_operators(run_main, op):
    p = run_main(op, "model.py:loss", "--shape", "3")
    assert p.returncode == 0, p.stderr
    assert "def " in p.stdout


def test_transform_generic_reports_unsupported_statement(run_main):
    p = run_main("transform", "model.py:branchy")
    assert p.returncode == 2
    assert p.stderr.startswith("npdiff: error:") and "if" in p.stderr and len(p.stderr.splitlines()) == 1
