"""Graph-to-graph transforms: forward (jvp) and reverse (vjp) mode, and substitution."""
from .jvp import jvp_nodes  # noqa: F401
from .substitute import substitute  # noqa: F401
from .vjp import transpose_nodes, vjp_nodes  # noqa: F401
