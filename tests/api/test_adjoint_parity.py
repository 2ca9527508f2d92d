"""Parity of the shape-generic adjoint (``transform(f)``) with the traced one
(``transform(f, *shapes)``) and with central finite differences, for every
elementwise primitive the generic mode prints from the registry and for a few
compositions with broadcasting and matrix products."""
import numpy as np
import pytest

from domains import domain
from npdiff import transform
from npdiff.api.adjoint.partials import differentiable
from npdiff.errors import UnsupportedOperationError
from npdiff.primitives import PRIMS, apply
from util import fd_jac

ELEMENTWISE = sorted(n for n in PRIMS if differentiable(n))


def _qualified(name):
    """Return how a user writes the ufunc of primitive name: np.exp or scipy.special.erf."""
    return f"np.{name}" if getattr(np, name, None) is PRIMS[name].impl else f"scipy.special.{name}"


def _namespace():
    ns = {"np": np}
    try:
        import scipy.special
        ns["scipy"] = scipy
    except ImportError:  # pragma: no cover - SciPy is optional
        pass
    return ns


def _load(source, name):
    ns = _namespace()
    exec(compile(source, "<generated>", "exec"), ns)
    return ns[name]


def _fd_adjoint(f, args, i, ct):
    """<ct, f(args)> differentiated with respect to args[i] by central differences."""
    return (np.ravel(ct) @ fd_jac(f, args, i)).reshape(np.shape(args[i]))


def check_parity(source, args, rtol=1e-5, atol=1e-6):
    """Run both adjoints on args; compare them with each other and with finite differences."""
    f = _load(source, "f")
    generic = _load(transform(source), "f_ad")
    traced = _load(transform(source, *[np.shape(a) for a in args]), "f_ad")
    rng = np.random.default_rng(7)
    out = np.asarray(f(*args))
    ct = rng.standard_normal(out.shape)
    adj0 = [rng.standard_normal(np.shape(a)) for a in args]
    res_g = generic(*args, *[a.copy() for a in adj0], ct)
    res_t = traced(*args, *[a.copy() for a in adj0], ct)
    np.testing.assert_allclose(res_g[0], out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res_t[0], out, rtol=1e-12, atol=1e-12)
    for i in range(len(args)):
        g, t = np.asarray(res_g[1 + i]) - adj0[i], np.asarray(res_t[1 + i]) - adj0[i]
        assert g.shape == np.shape(args[i])
        np.testing.assert_allclose(g, t, rtol=1e-9, atol=1e-11, err_msg=f"generic vs traced, argument {i}")
        np.testing.assert_allclose(g, _fd_adjoint(f, args, i, ct), rtol=rtol, atol=atol,
                                   err_msg=f"generic vs finite differences, argument {i}\n{source}")


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_parity(name):
    """Each elementwise function, on inputs from its primitive's domain, with broadcasting operands."""
    prim = PRIMS[name]
    lo, hi = domain(name)
    rng = np.random.default_rng(abs(hash(name)) % 2 ** 32)
    nin = prim.impl.nin
    params = ", ".join("xyz"[:nin])
    source = f"def f({params}):\n    return {_qualified(name)}({params})\n"
    shapes = [(3, 2), (2,), (3, 1)][:nin]
    check_parity(source, [rng.uniform(lo, hi, s) for s in shapes])


COMPOSITIONS = {
    "tanh_affine": ("def f(A, x, b):\n    return np.tanh(A @ x + b) * np.exp(-b)\n",
                    [(3, 4), (4,), (3,)], (-1.0, 1.0)),
    "logaddexp_sum": ("def f(X, w):\n    h = np.logaddexp(X @ w, 0.0)\n    return np.sum(h ** 2, axis=0)\n",
                      [(5, 3), (3, 2)], (-1.0, 1.0)),
    "outer_broadcast": ("def f(x, y):\n    return np.arctan2(x, y) + np.hypot(x, y) * np.log(x) - y / x\n",
                        [(3, 1), (1, 4)], (0.5, 2.0)),
    "relu_gram": ("def f(A, B):\n    C = np.maximum(A @ B, 0.1)\n    return C.T @ np.sqrt(C) / np.sum(np.square(B))\n",
                  [(4, 3), (3, 2)], (0.2, 1.0)),
    "stacked_matmul": ("def f(A, B, c):\n    return np.power(np.abs(A @ B) + c, 1.5).mean(axis=-1)\n",
                       [(2, 3, 4), (4, 5), (5,)], (0.2, 1.0)),
}


@pytest.mark.parametrize("key", sorted(COMPOSITIONS))
def test_composition_parity(key):
    source, shapes, (lo, hi) = COMPOSITIONS[key]
    rng = np.random.default_rng(3)
    check_parity(source, [rng.uniform(lo, hi, s) for s in shapes])


def test_special_composition_parity():
    pytest.importorskip("scipy.special")
    source = ("def f(W, x, y):\n    p = scipy.special.expit(W @ x)\n"
              "    return np.sum(scipy.special.xlogy(y, p) + scipy.special.xlog1py(1 - y, -p))\n")
    rng = np.random.default_rng(5)
    check_parity(source, [rng.uniform(-1, 1, (4, 3)), rng.uniform(-1, 1, (3,)), rng.uniform(0.1, 0.9, (4,))])


def test_printed_partials_read_like_code():
    src = transform("def f(x):\n    return np.exp(x)\n")
    assert "x_a = x_a + out_a * out" in src
    src = transform("def f(x, y):\n    return np.arctan2(x, y)\n")
    assert "np.square(x) + np.square(y)" in src and "y_a = y_a - " in src
    if "erf" in PRIMS:
        src = transform("def f(x):\n    return scipy.special.erf(x)\n")
        assert src.startswith("import numpy as np\nimport scipy.special\n") and "np.exp(-np.square(x))" in src


def test_shape_dependent_partial_is_refused(monkeypatch):
    """A partial whose graph does not broadcast (here a broadcast_to) cannot be printed shape-generically."""
    fake = (lambda a, o: apply("broadcast_to", apply("cos", a), shape=(3,)),)
    monkeypatch.setattr(PRIMS["sin"], "partials", fake)
    with pytest.raises(UnsupportedOperationError, match=r"derivative of `np.sin\(x\)`.*'broadcast_to'.*line 2"):
        transform("def f(x):\n    y = np.sin(x)\n    return y * 2\n")


def test_functions_resolved_in_the_callers_namespace():
    """Ufuncs are found through the function's globals and closure, whatever the name they are bound to."""
    pytest.importorskip("scipy.special")

    def make():
        from numpy import log as ln
        from scipy.special import expit as sigmoid

        def g(x):
            return sigmoid(x) * ln(x)
        return g

    g = make()
    ns = _namespace()
    exec(compile(transform(g), "<generated>", "exec"), ns)
    x, ct = np.array([0.5, 1.5, 2.0]), np.array([1.0, -2.0, 0.5])
    res = ns["g_ad"](x, np.zeros(3), ct)
    np.testing.assert_allclose(res[1], _fd_adjoint(g, [x], 0, ct), rtol=1e-6, atol=1e-8)


def test_unsupported_ufuncs_point_at_the_traced_mode():
    with pytest.raises(UnsupportedOperationError, match="traced"):
        transform("def f(x):\n    return np.imag(x) * 2\n")  # complex parts keep their own rules
