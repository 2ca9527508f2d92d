"""jax.flatten_util: ``ravel_pytree`` (npdiff.tree_util.ravel_pytree)."""
from ...tree_util import ravel_pytree

__all__ = ["ravel_pytree"]
