"""Shape errors met while tracing read like NumPy's: the same exception type and NumPy's own message
for the same shapes, the call with its arguments' shapes, and the user's file and line (never an
internal ``tuple index out of range`` or ``einsum size mismatch``). One case per lowering family."""
import os
import re

import numpy as np
import pytest

import npdiff

X3 = np.linspace(0.5, 1.5, 3)


def _assign(x):
    y = np.zeros(4)
    y[:2] = x
    return np.sum(y)


def _assign_traced(x):
    y = np.zeros_like(x)
    y[:2] = x
    return np.sum(y)


CASES = {  # family -> function of a (3,) argument that NumPy itself refuses for its shapes
    "indexing: too many indices": lambda x: np.sum(x[0, 1]),
    "indexing: out of bounds": lambda x: x[5],
    "indexing: take": lambda x: np.sum(np.take(x, 7)),
    "assignment into a buffer": _assign,
    "assignment into a traced array": _assign_traced,
    "contractions: matmul": lambda x: np.sum(np.ones((4, 2)).T @ x),
    "contractions: matmul operator X @ w": lambda x: np.sum(np.ones((2, 4)) @ x),
    "contractions: matmul of a scalar": lambda x: np.sum(x @ 2.0),
    "contractions: dot": lambda x: np.dot(x, np.ones(4)),
    "contractions: einsum": lambda x: np.einsum("i,i->", x, np.ones(4)),
    "contractions: tensordot": lambda x: np.tensordot(x, np.ones(4), axes=1),
    "contractions: inner": lambda x: np.inner(x, np.ones(4)),
    "contractions: vdot": lambda x: np.vdot(x, np.ones(4)),
    "contractions: trace of a vector": lambda x: np.trace(x),
    "contractions: cross": lambda x: np.sum(np.cross(x, np.ones(4))),
    "shape: reshape": lambda x: np.sum(x.reshape(2, 2)),
    "shape: transpose axes": lambda x: np.sum(np.transpose(x, (1, 0))),
    "shape: swapaxes": lambda x: np.sum(np.swapaxes(x, 0, 2)),
    "shape: moveaxis": lambda x: np.sum(np.moveaxis(x, 2, 0)),
    "shape: expand_dims": lambda x: np.sum(np.expand_dims(x, 3)),
    "shape: squeeze": lambda x: np.sum(np.squeeze(x, axis=0)),
    "shape: broadcast_to": lambda x: np.sum(np.broadcast_to(x, (4,))),
    "shape: roll axis": lambda x: np.sum(np.roll(x, 1, axis=2)),
    "shape: flip axis": lambda x: np.sum(np.flip(x, axis=2)),
    "joining: concatenate": lambda x: np.sum(np.concatenate([x[:, None], np.ones((3, 2))], axis=0)),
    "joining: concatenate axis": lambda x: np.sum(np.concatenate([x, x], axis=1)),
    "joining: stack": lambda x: np.sum(np.stack([x, np.ones(4)])),
    "joining: hstack": lambda x: np.sum(np.hstack([x[:, None], np.ones((4, 1))])),
    "joining: split into unequal parts": lambda x: np.sum(np.split(x, 2)[0]),
    "reductions: sum axis": lambda x: np.sum(x, axis=1),
    "reductions: max axis": lambda x: np.max(x, axis=2),
    "reductions: mean axis": lambda x: np.mean(x, axis=(0, 1)),
    "reductions: method axis": lambda x: x.sum(axis=-2),
    "cumulative: cumsum axis": lambda x: np.sum(np.cumsum(x, axis=2)),
    "cumulative: diff axis": lambda x: np.sum(np.diff(x, axis=1)),
    "sorting: sort axis": lambda x: np.sum(np.sort(x, axis=1)),
    "linalg: solve": lambda x: np.sum(np.linalg.solve(np.eye(2), x)),
    "linalg: inv of a vector": lambda x: np.sum(np.linalg.inv(x)),
    "linalg: det of a vector": lambda x: np.linalg.det(x),
    "linalg: norm axis": lambda x: np.linalg.norm(x, axis=3),
    "contractions: tensordot axes": lambda x: np.tensordot(x, x, axes=([0], [1])),
    "contractions: einsum subscripts": lambda x: np.einsum("ij,j", x, x),
    "contractions: vecdot": lambda x: np.sum(np.vecdot(x, np.ones(4))),
    "contractions: matvec": lambda x: np.sum(np.matvec(np.ones((2, 4)), x)),
    "shape: diagonal axes": lambda x: np.sum(np.diagonal(x.reshape(3, 1), axis1=0, axis2=3)),
    "shape: repeat axis": lambda x: np.sum(np.repeat(x, 2, axis=1)),
    "shape: pad widths": lambda x: np.sum(np.pad(x, (1, 2, 3))),
    "joining: vstack": lambda x: np.sum(np.vstack([x, np.ones(4)])),
    "indexing: delete": lambda x: np.sum(np.delete(x, 5)),
    "indexing: take_along_axis": lambda x: np.sum(np.take_along_axis(x, np.array([[0]]), axis=0)),
    "reductions: std axis": lambda x: np.std(x, axis=1),
    "reductions: median axis": lambda x: np.median(x, axis=1),
    "reductions: quantile axis": lambda x: np.quantile(x, 0.5, axis=1),
    "ufunc methods: add.reduce axis": lambda x: np.add.reduce(x, axis=2),
    "cumulative: trapezoid axis": lambda x: np.trapezoid(x, axis=1),
    "cumulative: gradient axis": lambda x: np.sum(np.gradient(x, axis=1)),
    "cumulative: method axis": lambda x: np.sum(x.cumsum(axis=1)),
    "fft: axis": lambda x: np.sum(np.abs(np.fft.fft(x, axis=2))),
    "fft: fft2 of a vector": lambda x: np.sum(np.abs(np.fft.fft2(x))),
    "polynomial: convolve of a matrix": lambda x: np.sum(np.convolve(x, np.ones((2, 2)))),
    "polynomial: interp": lambda x: np.sum(np.interp(x, np.arange(3.0), np.ones(4))),
    "elementwise: select": lambda x: np.sum(np.select([x > 1, x[:2] > 0], [x, x[:2]])),
    "elementwise: clip bounds": lambda x: np.sum(np.clip(x, np.zeros(4), 1.0)),
    "elementwise broadcasting": lambda x: np.sum(x + np.ones(4)),
    "elementwise broadcasting: where": lambda x: np.sum(np.where(x > 0, x, np.ones(4))),
    "elementwise broadcasting: ufunc of two traced": lambda x: np.sum(np.hypot(x, x[:2])),
}


def _numpy_error(f):
    with pytest.raises(Exception) as e, np.errstate(all="ignore"):
        f(X3)
    return e.value


@pytest.mark.parametrize("family", list(CASES))
@pytest.mark.parametrize("how", ["grad", "jacrev", "specialize-shapes", "numpify"])
def test_shape_error_reads_like_numpys(family, how):
    f = CASES[family]
    theirs = _numpy_error(f)
    call = {"grad": lambda: npdiff.grad(lambda x: np.sum(f(x)))(X3),
            "jacrev": lambda: npdiff.jacrev(f)(X3),
            "specialize-shapes": lambda: npdiff.grad(lambda x: np.sum(f(x))).specialize((3,)),
            "numpify": lambda: npdiff.numpify(f, (3,))}[how]
    with pytest.raises(type(theirs)) as e:
        call()
    msg = str(e.value)
    assert str(theirs).strip() in msg  # NumPy's own words for the same shapes
    assert re.search(r"in [\w.\[\] =]+ with argument shapes? [\[(]", msg)  # the call and its arguments' shapes
    assert f"{os.path.basename(__file__)}:" in msg  # the user's file and line
    for internal in ("tuple index out of range", "einsum size mismatch", "transpose rule"):
        assert internal not in msg or internal in str(theirs)  # (NumPy's own words for fft(x, axis=2))


def test_the_line_named_is_the_users():
    def model(X, w):
        hidden = np.tanh(X @ w)  # the faulty line
        return np.sum(hidden)
    with pytest.raises(ValueError) as e:
        npdiff.grad(model, argnums=1)(np.ones((5, 3)), np.ones(4))
    msg = str(e.value)
    assert "matmul: Input operand 1 has a mismatch in its core dimension 0" in msg
    assert "argument shapes (5, 3), (4,)" in msg
    assert "in model: hidden = np.tanh(X @ w)  # the faulty line" in msg


def test_a_users_except_clause_still_sees_numpys_type():
    def f(x):
        try:
            return np.sum(np.linalg.inv(x))
        except np.linalg.LinAlgError:
            return np.sum(x ** 2)
    assert np.allclose(npdiff.grad(f)(X3), 2 * X3)


def test_a_split_that_numpy_accepts_is_still_exact():
    x = np.arange(1.0, 8.0)
    for f in (lambda x: np.split(x, [2, 5]), lambda x: np.split(x, [-2]), lambda x: np.split(x, [5, 2]),
              lambda x: np.array_split(x, 3), lambda x: np.array_split(x, [1, -1, 10])):
        weights = [np.arange(1.0, p.size + 1) for p in f(x)]
        g = npdiff.grad(lambda x: sum(np.sum(p ** 2 * w) for p, w in zip(f(x), weights)))(x)
        ref = np.zeros_like(x)
        for k in range(x.size):
            e = np.zeros_like(x)
            e[k] = 1e-6
            ref[k] = (sum(np.sum(p ** 2 * w) for p, w in zip(f(x + e), weights))
                      - sum(np.sum(p ** 2 * w) for p, w in zip(f(x - e), weights))) / 2e-6
        assert np.allclose(g, ref, atol=1e-5)


def test_scipy_functions_report_numpys_and_scipys_words():
    linalg = pytest.importorskip("scipy.linalg")
    special = pytest.importorskip("scipy.special")
    for f in (lambda x: np.sum(linalg.solve(np.eye(2), x)), lambda x: np.sum(special.gammaln(x) * np.ones(4)),
              lambda x: np.sum(special.xlogy(x, np.ones(4))), lambda x: np.sum(linalg.expm(x)),
              lambda x: np.sum(linalg.solve_triangular(np.eye(2), x))):
        theirs = _numpy_error(f)
        with pytest.raises(type(theirs)) as e:
            npdiff.grad(lambda x: np.sum(f(x)))(X3)
        assert str(theirs).strip() in str(e.value) and f"{os.path.basename(__file__)}:" in str(e.value)
