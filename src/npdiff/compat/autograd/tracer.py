"""autograd.tracer: ``primitive``, ``notrace_primitive`` and ``isbox`` (True for a value npdiff is tracing)."""
from ...tracing.tracer import is_traced
from .extend import Box, notrace_primitive, primitive  # noqa: F401


def isbox(x) -> bool:
    """Return True if x is a value being traced (autograd's box: npdiff's Tracer or trace buffer)."""
    return is_traced(x)
