"""Run autograd's NumPy-level test files against npdiff.

autograd's tests are not part of this repository: export them from autograd's
repository (``git archive HEAD tests | tar -x -C DIR``) and run
``python -m tests.autograd_suite --autograd-tests DIR/tests``. The runner puts
a module named ``autograd`` (``shim.py``) in ``sys.modules`` that maps autograd's
public operators onto npdiff and ``autograd.numpy`` onto plain NumPy, then runs
the applicable test files with pytest and reports the pass rate.
"""
