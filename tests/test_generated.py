"""GeneratedFunction: source, pickling, spawn workers, closed-over constants."""
import multiprocessing as mp
import pickle
import subprocess
import sys
import textwrap

import numpy as np

import npdiff

DATA = np.linspace(-1.0, 1.0, 300).reshape(100, 3)  # a large closed-over constant


def loss(w):
    return np.sum(np.tanh(DATA @ w) ** 2) / DATA.shape[0]


def _apply(payload):
    gf, x = payload
    return gf(x)


def test_pickle_roundtrip_and_source_only_reduction():
    gf = npdiff.grad(loss).specialize((3,))
    blob = pickle.dumps(gf)
    assert b"test_generated" not in blob  # pickled by source, not by reference to this module
    gf2 = pickle.loads(blob)
    w = np.array([0.1, -0.2, 0.3])
    assert np.allclose(gf2(w), gf(w))
    assert gf2.source == gf.source


def test_large_constants_are_bound_not_printed():
    gf = npdiff.numpify(loss, (3,))
    assert "0.98" not in gf.source and len(gf.source) < 2000
    assert any(v.shape == (100, 3) for v in gf.consts.values())


def test_spawn_pool_without_original_function():
    gf = npdiff.grad(loss).specialize((3,))
    ctx = mp.get_context("spawn")
    xs = [np.array([0.1, 0.2, 0.3]) * k for k in range(3)]
    with ctx.Pool(2) as pool:  # a worker that dies loses its task: time out instead of hanging
        res = pool.map_async(_apply, [(gf, x) for x in xs]).get(timeout=300)
    for r, x in zip(res, xs):
        assert np.allclose(r, gf(x))


def test_unpickle_in_process_that_cannot_import_npdiff_user_code(tmp_path):
    gf = npdiff.hessian(lambda x: np.sum(np.sin(x) * x ** 2)).specialize((2,))
    p = tmp_path / "gf.pkl"
    p.write_bytes(pickle.dumps(gf))
    code = textwrap.dedent(f"""
        import pickle, numpy as np
        gf = pickle.loads(open({str(p)!r}, 'rb').read())
        print(gf(np.array([0.3, 0.4])).tolist())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert np.allclose(eval(out.stdout), gf(np.array([0.3, 0.4])))


def test_metadata():
    gf = npdiff.numpify(lambda x, y: x * y, (2,), npdiff.ShapeDtype((), np.float32))
    assert gf.arg_shapes == ((2,), ())
    assert gf.arg_dtypes == (np.dtype(np.float64), np.dtype(np.float32))
    assert "def f(x, y):" in gf.source
