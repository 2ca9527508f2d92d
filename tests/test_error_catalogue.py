"""docs/errors.md is a complete, true catalogue: every message family it lists
is produced by a call triggered here, with the exception type of its section.
"""
import math
import pathlib
import re
import sys

import numpy as np
import pytest

import npdiff

PAGE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "errors.md"
TYPES = {"npdiff.TracingError": npdiff.TracingError, "npdiff.PathChangedError": npdiff.PathChangedError,
         "npdiff.UnsupportedOperationError": npdiff.UnsupportedOperationError, "TypeError": TypeError,
         "ValueError": ValueError, "IndexError": IndexError, "ImportError": ImportError, "AssertionError": AssertionError}


def catalogue() -> list[tuple[str, str]]:
    """Return (exception type name, fragment) for every table row of the page (a fragment per code span
    of the first cell)."""
    rows, section = [], None
    for line in PAGE.read_text().splitlines():
        m = re.match(r"^## `([\w.]+)`", line)
        if m:
            section = m.group(1)
            continue
        if line.startswith("## "):
            section = None
        m = re.match(r"^\| (`.*?) \|", line)
        if m and section is not None:
            rows += [(section, frag) for frag in re.findall(r"`([^`]+)`", m.group(1))]
    return rows


def _branchy(x):
    if x[0] > 0:
        return np.sum(x)
    return -np.sum(x)


def _many_paths(x):
    n = 0
    while x[0] > n:
        n += 1
    return x[0] * n


OUTSIDE = np.zeros(3)


def _writes_outside(x):
    OUTSIDE[:] = x
    return np.sum(x)


COEFS = np.array([1.0, 2.0, 3.0])


def _buffer_read(x):
    b = np.zeros(3)
    b[:] = x
    return COEFS.dot(b)  # a constant's ndarray method reads b's memory in C


def _view_write(x):
    y = np.zeros(4)
    v = y.reshape(2, 2)
    v[0, 0] = x[0]
    return np.sum(y)


def _tangent_decision():
    @npdiff.custom_jvp
    def f(x):
        return np.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), (np.cos(x) * t if t > 0 else t)
    npdiff.grad(f)(0.5)


def _custom_vjp_forward():
    @npdiff.custom_vjp
    def f(x):
        return np.sin(x)
    f.defvjp(lambda x: (np.sin(x), x), lambda x, ct: (np.cos(x) * ct,))
    npdiff.jacfwd(f)(np.ones(2))


def _custom_without_rule():
    @npdiff.custom_jvp
    def f(x):
        return np.sin(x)
    npdiff.grad(f)(0.5)



def _sparsity_too_large(monkeypatch):
    from npdiff.transforms import sparsity as pattern
    monkeypatch.setattr(pattern, "MAX_NNZ_SPARSE", 4)
    npdiff.jacfwd(lambda x: x * np.sum(x), sparse=True)(np.ones(5))


def _unreadable_source():
    ns: dict = {}
    exec("import numpy as np\ndef f(x):\n    return np.sin(x)\n", ns)
    npdiff.transform(ns["f"])


def _no_scipy(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.sparse", None)
    npdiff.jacrev(lambda x: x, sparse=True)


def _no_mici(monkeypatch):
    monkeypatch.setitem(sys.modules, "mici", None)
    monkeypatch.setitem(sys.modules, "mici.autodiff", None)
    npdiff.mici.register()


def _compiled_call():
    spatial = pytest.importorskip("scipy.spatial")
    tree = spatial.cKDTree(np.eye(3))
    npdiff.grad(lambda x: np.sum(tree.query(x)[0]))(X)


def _stats_untraceable():
    st = pytest.importorskip("scipy.stats")
    npdiff.grad(lambda p: st.argus.logcdf(0.3, p[0]))(np.array([1.0]))


def _stats_count():
    st = pytest.importorskip("scipy.stats")
    npdiff.grad(lambda k: np.sum(st.binom.logpmf(k, 8, 0.3)))(np.array([1.0, 2.0]))


def _blas_call():
    blas = pytest.importorskip("scipy.linalg.blas")
    npdiff.grad(lambda x: blas.ddot(x, x))(X)


def _scipy_order():
    special = pytest.importorskip("scipy.special")
    npdiff.grad(lambda x: special.jv(x[0], x[1]))(np.array([1.5, 2.0]))


def _sparse_nested():
    pytest.importorskip("scipy.sparse")
    npdiff.jacfwd(npdiff.jacfwd(lambda x: x ** 2, sparse=True))(np.ones(3))


def _check_grads_mismatch():
    @npdiff.custom_jvp
    def f(x):
        return np.sin(x)
    f.defjvp(lambda p, t: (np.sin(p[0]), 2.0 * t[0]))  # a wrong rule
    npdiff.check_grads(f, (np.array([0.3, 0.7]),), order=1)


X = np.ones(3)
TRIGGERS = {  # fragment -> callable(monkeypatch) raising it
    "would drop its derivative": lambda mp: npdiff.grad(lambda x: math.exp(x[0]))(X),
    "its value is not known while tracing (only shapes were given)": lambda mp: npdiff.grad(_branchy).specialize((3,)),
    "depends on a value not known while tracing (a tangent": lambda mp: _tangent_decision(),
    "so shapes alone do not determine its code": lambda mp: (npdiff.grad(_branchy)(X), None)
    and [g := npdiff.grad(_branchy), g(X), g.specialize((3,))],
    "with a traced mask: the result's shape depends on the mask's values":
        lambda mp: npdiff.numpify(lambda x: np.sum(x[np.where(x > 0)]), (3,)),
    "received a traced array and cannot trace it": lambda mp: _compiled_call(),
    "npdiff cannot trace scipy.stats.": lambda mp: _stats_untraceable(),
    "is not differentiable in": lambda mp: _stats_count(),
    "converted a traced array to a concrete NumPy array, which npdiff cannot trace": lambda mp: _blas_call(),
    "writes into an existing array, which npdiff cannot trace":
        lambda mp: npdiff.grad(lambda x: np.sum(np.multiply(x, 2.0, out=np.ones(3))))(X),
    "a traced value was written into an array npdiff does not follow": lambda mp: npdiff.grad(_writes_outside)(X),
    "an array made while tracing that now holds traced values, in code that does not dispatch":
        lambda mp: npdiff.grad(_buffer_read)(X),
    "npdiff cannot follow such views": lambda mp: npdiff.grad(_view_write)(X),
    "goes the other way": lambda mp: npdiff.grad(_branchy).specialize(X)(-X),
    "npdiff has no derivative rule for": lambda mp: npdiff.grad(lambda x: np.sum(np.histogram(x)[0] * 1.0))(X),
    "npdiff does not support the argument": lambda mp: npdiff.grad(lambda x: np.sum(np.exp(x, where=x > 0)))(X),
    "npdiff does not support a traced where= mask": lambda mp: npdiff.grad(lambda x: np.sum(x, where=x > 0))(X),
    "npdiff supports": lambda mp: npdiff.grad(lambda x: np.sum(np.polyval(np.outer(x, x), x)))(X),
    "npdiff has no derivative of scipy.special.": lambda mp: _scipy_order(),
    "forward-mode differentiation of a custom_vjp function is not supported": lambda mp: _custom_vjp_forward(),
    "has no rule: call .def": lambda mp: _custom_without_rule(),
    "its value would be frozen at trace time": lambda mp: npdiff.grad(lambda x: np.sum(x * np.random.exponential()))(X),
    "a sparse (CSR) Jacobian cannot be differentiated again": lambda mp: _sparse_nested(),
    "cannot be called with": lambda mp: npdiff.grad(lambda x: np.sum(x))(X, X),
    "a GeneratedFunction takes exactly the arguments it was generated for": lambda mp: npdiff.numpify(np.sin, (3,))(X, X),
    "Mici-style operators take one array argument": lambda mp: npdiff.grad_and_value(np.sum)(X, X),
    "requires floating-point inputs": lambda mp: npdiff.grad(np.sum)(np.arange(3)),
    "requires floating-point primals": lambda mp: npdiff.vjp(np.sin, np.arange(3)),
    "npdiff functions take numeric arrays": lambda mp: npdiff.grad(np.sum)(np.array([1.0, None])),
    "npdiff functions take arrays; got": lambda mp: npdiff.grad(np.sum)(object()),
    "but this code was generated for dtype": lambda mp: npdiff.numpify(np.sin, (3,))(X + 1j),
    "requires a scalar-valued function": lambda mp: npdiff.grad(np.sin)(X),
    "requires a real-valued function": lambda mp: npdiff.grad(lambda x: np.sum(x) * (1.0 + 0.2j))(X),
    "requires a floating-point output": lambda mp: npdiff.grad(lambda x: np.allclose(x, x * 3.0 / 3.0))(X),
    "argnums must be an int or a tuple of ints": lambda mp: npdiff.grad(np.sum, argnums="x")(X),
    "pass has_aux=True to": lambda mp: npdiff.jacobian(lambda x: (np.sin(x), "label"))(X),
    "must return a pair (output, aux)": lambda mp: npdiff.grad(np.sum, has_aux=True)(X),
    "primals must be a tuple": lambda mp: npdiff.jvp(np.sin, X, (X,)),
    "tangents must be a tuple": lambda mp: npdiff.jvp(np.sin, (X,), X),
    "which cannot be converted to the dtype of primal": lambda mp: npdiff.jvp(np.sin, (X,), (X + 1j,)),
    "the pullback takes one cotangent with the structure": lambda mp: npdiff.vjp(lambda x: (x, x), X)[1](X),
    "must have the structure of": lambda mp: npdiff.jvp(lambda p: p["a"], ({"a": X},), ({"b": X},)),
    "this operator takes array arguments": lambda mp: npdiff.grad_and_value(lambda p: np.sum(p["a"]))({"a": X}),
    "f_jvp takes one tangent per primal": lambda mp: npdiff.linearize(np.sin, X)[1](X, X),
    "need a function returning one array": lambda mp: npdiff.grad_and_value(lambda x: (x, x))(X),
    "wrt must be an int": lambda mp: npdiff.diffops.gradient(np.sum, (3,), wrt="x"),
    "as an argument shape or example array": lambda mp: npdiff.numpify(np.sin, object()),
    "give the argument shapes": lambda mp: npdiff.diffops.gradient(np.sum),
    "got unknown code-generation option(s)": lambda mp: npdiff.diffops.gradient(np.sum, (3,), nmae="g"),
    "expected shape": lambda mp: npdiff.grad(np.sum).specialize((3,))(np.ones(4)),
    "is out of range: the function was called with": lambda mp: npdiff.grad(np.sum, argnums=1)(X),
    "each tangent has its primal's shape": lambda mp: npdiff.jvp(np.sin, (X,), (np.ones(4),)),
    "primals and tangents must have the same length": lambda mp: npdiff.jvp(np.sin, (X,), (X, X)),
    "hvp: v has shape": lambda mp: npdiff.hvp(np.sum)(X, np.ones(2)),
    "but the function takes": lambda mp: npdiff.diffops.gradient(np.sum, (3,), wrt=1),
    "the sparsity pattern is too large to compute": _sparsity_too_large,
    "cannot read the source of": lambda mp: _unreadable_source(),
    "expects assignments": lambda mp: npdiff.transform_expr("A @ B", A=(2, 2), B=(2, 2)),
    "aliasing is not supported": lambda mp: npdiff.transform_expr("A = A @ B", A=(2, 2), B=(2, 2)),
    "is not supported by the shape-generic adjoint transformation": lambda mp: npdiff.transform_expr("A = A @ B"),
    "is not a valid Python function name": lambda mp: npdiff.export({"1f": npdiff.numpify(np.sin, (3,))}, "m.py"),
    "unknown Mici differential operator": lambda mp: npdiff.mici.MiciDerivative("no_such_op", np.sum),
    "needs scipy: pip install scipy": _no_scipy,
    "needs Mici: pip install mici": _no_mici,
    "derivative mismatch": lambda mp: _check_grads_mismatch(),
    "operands could not be broadcast together": lambda mp: npdiff.grad(lambda x: np.sum(x + np.ones(4)))(X),
    "has a mismatch in its core dimension": lambda mp: npdiff.grad(lambda w: np.sum(np.ones((5, 3)) @ w))(np.ones(4)),
    "is out of bounds for array of dimension": lambda mp: npdiff.grad(lambda x: np.sum(x, axis=1))(X),
    "cannot reshape array of size": lambda mp: npdiff.grad(lambda x: np.sum(x.reshape(2, 2)))(X),
    "with argument shape": lambda mp: npdiff.jacrev(lambda x: np.stack([x, np.ones(4)]))(X),
    "too many indices for array": lambda mp: npdiff.grad(lambda x: np.sum(x[0, 1]))(X),
    "is out of bounds for axis 0 with size": lambda mp: npdiff.grad(lambda x: x[5])(X),
}

ROWS = catalogue()


def test_the_page_lists_every_family_once_and_each_has_a_trigger():
    frags = [f for _, f in ROWS]
    assert len(frags) >= 50 and len(set(frags)) == len(frags)
    assert sorted(set(frags) - set(TRIGGERS)) == []  # a listed family nobody triggers
    assert sorted(set(TRIGGERS) - set(frags)) == []  # a trigger for a family the page does not list


@pytest.mark.parametrize("section,fragment", ROWS, ids=[f for _, f in ROWS])
def test_each_family_is_produced_with_its_type(section, fragment, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TYPES[section]) as e, np.errstate(all="ignore"):
        TRIGGERS[fragment](monkeypatch)
    assert fragment in str(e.value)
