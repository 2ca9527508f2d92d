"""jax.tree: ``map``, ``flatten``, ``unflatten``, ``leaves``, ``structure`` (npdiff.tree_util)."""
from ...tree_util import tree_flatten as flatten
from ...tree_util import tree_leaves as leaves
from ...tree_util import tree_map as map
from ...tree_util import tree_structure as structure
from ...tree_util import tree_unflatten as unflatten

__all__ = ["map", "flatten", "unflatten", "leaves", "structure"]
