"""The primitive registry and its rule files (imported for registration)."""
from . import registry, elementwise, shape, indexing, contract  # noqa: F401
from .registry import PRIMS, Primitive, apply, register  # noqa: F401
