"""npdiff.export: a standalone module, imported in a fresh interpreter where npdiff cannot be imported."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import npdiff
from npdiff import export


def model(x):
    return np.sum(np.sin(x) * np.arange(1.0, 41.0)) + x @ np.ones(40)


def vec(x, A):
    return np.tanh(A @ x)


def run_isolated(tmp_path, code: str) -> dict:
    """Run code in a fresh interpreter whose cwd is tmp_path and in which `import npdiff` fails."""
    prelude = textwrap.dedent("""
        import sys
        sys.modules['npdiff'] = None  # any `import npdiff` now raises ImportError
        sys.path[:] = [p for p in sys.path if not p.endswith('/src')]  # the import above is blocked anyway
        sys.path.insert(0, '.')
        try:
            import npdiff
        except ImportError:
            pass
        else:
            raise SystemExit('npdiff is importable')
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_export_numpify_gradient_and_jacobian(tmp_path):
    f = npdiff.numpify(model, (40,))
    g = npdiff.grad(model).specialize((40,))
    j = npdiff.jacobian(vec, argnums=0).specialize((3,), (3, 3))
    path = tmp_path / "model_ad.py"
    export({"model": f, "model_grad": g, "vec_jac": j}, path)
    text = path.read_text()
    assert "import numpy as np" in text and "npdiff" not in text.split('"""', 2)[2]
    compile(text, str(path), "exec")

    x = np.linspace(-1.0, 1.0, 40)
    A = np.arange(9.0).reshape(3, 3) / 10
    y = np.array([0.1, -0.2, 0.3])
    res = run_isolated(tmp_path, """
        import json
        import numpy as np
        import model_ad
        x = np.linspace(-1.0, 1.0, 40)
        A = np.arange(9.0).reshape(3, 3) / 10
        y = np.array([0.1, -0.2, 0.3])
        try:
            model_ad.model(np.ones(3))
        except ValueError as e:
            err = str(e)
        print(json.dumps({"value": float(model_ad.model(x)), "grad": model_ad.model_grad(x).tolist(),
                          "jac": model_ad.vec_jac(y, A).tolist(), "err": err,
                          "names": [model_ad.model.__name__, model_ad.model_grad.__name__]}))
    """)
    assert res["value"] == pytest.approx(model(x), rel=1e-12)
    np.testing.assert_allclose(res["grad"], g(x), rtol=1e-12)
    np.testing.assert_allclose(res["grad"], np.cos(x) * np.arange(1.0, 41.0) + 1.0, rtol=1e-12)
    np.testing.assert_allclose(res["jac"], j(y, A), rtol=1e-12)
    assert "'x'" in res["err"] and "(40,)" in res["err"]
    assert res["names"] == ["model", "model_grad"]


def test_export_large_constants_go_to_npz(tmp_path):
    w = np.linspace(0.0, 1.0, 5000)

    def weighted(x):
        return np.sum(w * x ** 2)
    g = npdiff.grad(weighted).specialize((5000,))
    f = npdiff.numpify(weighted, (5000,))
    sub = tmp_path / "pkg"
    sub.mkdir()
    export({"weighted": f, "weighted_grad": g}, sub / "big.py")
    assert (sub / "big.npz").exists()
    # imported from another working directory: the .npz is found next to the module
    res = run_isolated(tmp_path, """
        import json, sys
        import numpy as np
        sys.path.insert(0, 'pkg')
        import big
        x = np.ones(5000)
        print(json.dumps({"g": big.weighted_grad(x)[[0, 1, -1]].tolist(), "v": float(big.weighted(x))}))
    """)
    np.testing.assert_allclose(res["g"], 2 * w[[0, 1, -1]])
    assert res["v"] == pytest.approx(w.sum())


def test_export_keeps_constants_of_functions_apart(tmp_path):
    # both sources hoist constants under the same names (_c, ...): they must not clash
    f1 = npdiff.numpify(lambda x: x * np.array([1.0, 2.0, 3.0]), (3,))
    f2 = npdiff.numpify(lambda x: x * np.array([10.0, 20.0, 30.0]), (3,))
    export({"first": f1, "second": f2}, tmp_path / "two.py")
    res = run_isolated(tmp_path, """
        import json
        import numpy as np
        import two
        print(json.dumps([two.first(np.ones(3)).tolist(), two.second(np.ones(3)).tolist()]))
    """)
    assert res == [[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]]


def test_export_closure_operators(tmp_path):
    # vjp-style generated functions return nested functions
    from npdiff.api.core import ShapeDtype
    from npdiff.cli import _eager_gf
    gf = _eager_gf("vjp", vec, [ShapeDtype((3,)), ShapeDtype((3, 3))])
    export({"vec_vjp": gf}, tmp_path / "pull.py")
    res = run_isolated(tmp_path, """
        import json
        import numpy as np
        import pull
        out, pb = pull.vec_vjp(np.array([0.1, 0.2, 0.3]), np.eye(3))
        print(json.dumps([c.tolist() for c in pb(np.ones(3))]))
    """)
    y = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(res[0], 1 - np.tanh(y) ** 2)


def test_export_rejects_bad_input(tmp_path):
    f = npdiff.numpify(model, (40,))
    with pytest.raises(ValueError, match="valid Python function name"):
        export({"not a name": f}, tmp_path / "x.py")
    with pytest.raises(ValueError, match="reserved"):
        export({"np": f}, tmp_path / "x.py")
    with pytest.raises(TypeError, match="specialize"):
        export({"g": npdiff.grad(model)}, tmp_path / "x.py")
    with pytest.raises(TypeError, match="GeneratedFunction"):
        export({"g": model}, tmp_path / "x.py")
