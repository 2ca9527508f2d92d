"""Lowerings: NumPy API functions as compositions of primitives."""
from . import api, creation, indexing  # noqa: F401
