"""Drop-in modules for code written against autograd or JAX: ``npdiff.compat.autograd``, ``npdiff.compat.jax``.

Changing ``import autograd`` to ``import npdiff.compat.autograd as autograd``
(and ``autograd.numpy`` to ``npdiff.compat.autograd.numpy``) is the whole
migration; the functions differentiated are plain NumPy code either way. These
modules sit above ``npdiff.api`` (they use the public operators) and nothing in
npdiff imports them.
"""
