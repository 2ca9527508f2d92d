"""Quick profile of the random-program fuzzer (tests/fuzz.py): npdiff vs NumPy and finite differences.

The long profile is `PYTHONPATH=src python -m tests.fuzz --cases 2000`.
"""
import numpy as np
from hypothesis import HealthCheck, given, settings

import fuzz

QUICK = settings(deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _check(prog):
    try:
        fuzz.check_program(prog)
    except fuzz.Guard:  # too close to a kink/tie, or overflow: not a usable case
        pass
    except Exception as e:
        raise AssertionError(f"{e}\n{prog.reproducer()}") from e


@settings(QUICK, max_examples=30)
@given(fuzz.programs(max_steps=5))
def test_random_programs(prog):
    _check(prog)


@settings(QUICK, max_examples=15)
@given(fuzz.programs(max_steps=3, order3=1.0, max_dims=0, max_inputs=1))
def test_nested_derivatives_of_scalar_programs(prog):
    """Third/fourth-order compositions of jacfwd/jacrev/hessian on 0-d inputs (found a simplifier bug)."""
    _check(prog)


@settings(QUICK, max_examples=40)
@given(fuzz.programs(max_steps=4, kinds=("buffer", "buffer", "unary", "arith", "reduce", "index")))
def test_buffers_read_by_ndarray_methods_of_constants(prog):
    """Buffers holding traced values read by ndarray methods of constants, in branches and reductions:
    never a value different from the plain call or a derivative different from finite differences
    without an error; a read npdiff cannot follow is a TracingError naming the line."""
    import npdiff
    try:
        fuzz.check_program(prog)
    except fuzz.Guard:
        pass
    except npdiff.TracingError as e:
        assert "_b" in prog.source() and "does not dispatch" in str(e), f"{e}\n{prog.reproducer()}"
    except Exception as e:
        raise AssertionError(f"{e}\n{prog.reproducer()}") from e


def test_program_source_round_trips():
    """A program prints as Python source that runs in NumPy and through npdiff."""
    steps = (fuzz.Step("v0", ("v0 = np.sin(x0) * x1",), (2,)),
             fuzz.Step("v1", ("v1 = v0.copy()", "v1[1:] += np.tanh(v0[1:]) * 1.5"), (2,)))
    prog = fuzz.Program(((2,), ()), "float64", steps, seed=3)
    assert prog.source() == ("def f(x0, x1):\n    v0 = np.sin(x0) * x1\n    v1 = v0.copy()\n"
                             "    v1[1:] += np.tanh(v0[1:]) * 1.5\n    return v1")
    x0, x1 = prog.inputs()
    v0 = np.sin(x0) * x1
    assert np.allclose(fuzz.compile_program(prog)(x0, x1), [v0[0], v0[1] + 1.5 * np.tanh(v0[1])])
    assert "import npdiff" in prog.reproducer()
    fuzz.check_program(prog)


def test_checker_catches_a_wrong_derivative(monkeypatch):
    """The checks can fail: a 1% error in any derivative operator is reported as a Mismatch."""
    import types

    import npdiff
    steps = (fuzz.Step("v0", ("v0 = np.sin(x0) * x0",), (3,)),)
    prog = fuzz.Program(((3,),), "float64", steps, seed=1)
    def off_by_one_percent(op):
        def wrong(*a, **k):
            g = op(*a, **k)
            return lambda *x: np.asarray(g(*x)) * 1.01
        return wrong
    for name in ("jacfwd", "jacrev", "hessian", "grad"):
        wrong = off_by_one_percent(getattr(npdiff, name))
        fake = types.SimpleNamespace(**{n: getattr(npdiff, n) for n in npdiff.__all__})
        setattr(fake, name, wrong)
        monkeypatch.setattr(fuzz, "npdiff", fake)
        try:
            fuzz.check_program(prog)
        except fuzz.Mismatch:
            continue
        raise AssertionError(f"a wrong {name} was not detected")
