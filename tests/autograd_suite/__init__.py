"""Run autograd's own test files against npdiff.compat.autograd.

autograd's tests are not part of this repository: take the ``tests`` folder of
autograd's source distribution and run ``python -m tests.autograd_suite
--autograd-tests DIR/tests``. The runner points ``autograd`` and its submodules
in ``sys.modules`` at ``npdiff.compat.autograd`` (``shim.py``: a module swap,
nothing else), runs the applicable test files with pytest and reports the pass rate.
"""
