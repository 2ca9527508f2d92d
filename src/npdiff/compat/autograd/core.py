"""autograd.core: the public entry points code imports from it (``make_vjp``, ``make_jvp``, the ``def*`` rules).

autograd's tape, vector spaces and nodes have no counterpart in npdiff.
``primitive_vjps`` / ``primitive_jvps`` exist so code that imports them loads;
npdiff never reads them (rules are set with ``defvjp`` / ``defjvp``).
"""
from .differential_operators import make_jvp, make_vjp  # noqa: F401  (autograd.core's unary forms take argnum too)
from .extend import VSpace, def_linear, defjvp, defjvp_argnum, defvjp, defvjp_argnum, primitive, vspace  # noqa: F401

primitive_vjps: dict = {}
primitive_jvps: dict = {}
