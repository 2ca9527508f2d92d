"""has_aux: the aux value comes back exactly as the function returned it (strings, nested containers and
objects unchanged); without has_aux an output holding a non-array is refused naming has_aux, while tuple,
list and dict outputs of arrays stay pytrees that are differentiated (API.md: a function may return "a
tuple / list / dict of them")."""
import numpy as np
import pytest

import npdiff

X = np.array([0.3, -0.7, 1.1])


class Token:
    """An arbitrary object returned as aux."""


TOKEN = Token()


def loss_with_aux(x):
    return np.sum(np.sin(x) ** 2), {"msg": "ok", "items": [1, "two", (2.5, None)], "obj": TOKEN,
                                    "arr": x * 2, "flag": True}


def _check_aux(aux):
    assert aux["msg"] == "ok" and type(aux["msg"]) is str
    assert aux["items"][0] == 1 and type(aux["items"][0]) is int
    assert aux["items"][1] == "two" and type(aux["items"][1]) is str
    assert aux["items"][2] == (2.5, None) and type(aux["items"][2][0]) is float
    assert aux["obj"] is TOKEN
    assert aux["flag"] is True
    assert isinstance(aux["arr"], np.ndarray) and np.allclose(aux["arr"], 2 * X)


def vec_with_aux(x):
    return np.sin(x) * x, "label"


def test_grad_and_value_and_grad_return_aux_unchanged():
    g, aux = npdiff.grad(loss_with_aux, has_aux=True)(X)
    assert np.allclose(g, 2 * np.sin(X) * np.cos(X))
    _check_aux(aux)
    (v, aux), g = npdiff.value_and_grad(loss_with_aux, has_aux=True)(X)
    assert np.isclose(v, np.sum(np.sin(X) ** 2))
    _check_aux(aux)
    _g2, aux2 = npdiff.grad(loss_with_aux, has_aux=True)(X)  # the cached specialisation too
    _check_aux(aux2)


@pytest.mark.parametrize("op", ["jacfwd", "jacrev", "jacobian"])
def test_jacobians_return_aux_unchanged(op):
    jac, aux = getattr(npdiff, op)(vec_with_aux, has_aux=True)(X)
    assert aux == "label" and type(aux) is str
    assert np.allclose(jac, np.diag(np.cos(X) * X + np.sin(X)))


def test_jvp_and_vjp_return_aux_unchanged():
    v = np.array([1.0, 2.0, -1.0])
    _, t, aux = npdiff.jvp(vec_with_aux, (X,), (v,), has_aux=True)
    assert aux == "label" and type(aux) is str
    assert np.allclose(t, (np.cos(X) * X + np.sin(X)) * v)
    _out, pullback, aux = npdiff.vjp(vec_with_aux, X, has_aux=True)
    assert aux == "label" and type(aux) is str
    assert np.allclose(pullback(v)[0], (np.cos(X) * X + np.sin(X)) * v)


NO_AUX = {
    "jvp": lambda f: npdiff.jvp(f, (X,), (X,)),
    "vjp": lambda f: npdiff.vjp(f, X),
    "jacfwd": lambda f: npdiff.jacfwd(f)(X),
    "jacrev": lambda f: npdiff.jacrev(f)(X),
    "jacobian": lambda f: npdiff.jacobian(f)(X),
    "linearize": lambda f: npdiff.linearize(f, X),
}


@pytest.mark.parametrize("op", list(NO_AUX))
@pytest.mark.parametrize("aux", ["label", TOKEN, {"a": "b"}])
def test_an_output_holding_a_non_array_without_has_aux_is_refused(op, aux):
    with pytest.raises(TypeError, match=f"{op}: the function returned a tuple of 2 items holding .*has_aux=True"):
        NO_AUX[op](lambda x: (np.sin(x), aux))


def test_grad_of_a_pair_names_has_aux():
    with pytest.raises(TypeError, match="has_aux=True"):
        npdiff.grad(lambda x: (np.sum(x ** 2), np.sum(x)))(X)
    with pytest.raises(TypeError, match="has_aux=True"):
        npdiff.grad(lambda x: (np.sum(x ** 2), "s"))(X)


@pytest.mark.parametrize("op", ["jacfwd", "jacrev", "jacobian"])
def test_tuple_outputs_of_arrays_are_still_pytrees(op):
    jac = getattr(npdiff, op)(lambda x: (x ** 2, {"s": np.sum(x)}))(X)
    assert np.allclose(jac[0], np.diag(2 * X)) and np.allclose(jac[1]["s"], np.ones(3))
    _out, t = npdiff.jvp(lambda x: (x ** 2, np.sum(x)), (X,), (np.ones(3),))
    assert np.allclose(t[0], 2 * X) and np.isclose(t[1], 3.0)
