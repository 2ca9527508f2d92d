"""autograd.builtins: its differentiable containers are Python's own under npdiff (``tuple``, ``list``, ``dict``).

npdiff traces plain containers of arrays, so these are the builtins.
``isinstance`` answers as autograd's does for a traced value: it is an
``np.ndarray`` (and a ``float`` / ``complex`` when it stands for a Python scalar
of that kind); ``type`` is Python's (a traced value's type is npdiff's Tracer).
"""
import builtins as _b

import numpy as _np

from ...tracing.tracer import is_traced

tuple = _b.tuple
list = _b.list
dict = _b.dict
type = _b.type

__all__ = ["tuple", "list", "dict", "isinstance", "type"]


def _classes(classinfo):
    if _b.isinstance(classinfo, _b.tuple):
        for c in classinfo:
            yield from _classes(c)
    else:
        yield classinfo


def isinstance(obj, classinfo) -> bool:
    """Return isinstance(obj, classinfo), a traced value counting as the NumPy value it stands for."""
    if _b.isinstance(obj, classinfo):
        return True
    if not is_traced(obj):
        return False
    for c in _classes(classinfo):
        if c is _np.ndarray:
            return True
        if c in (float, complex) and _np.ndim(obj) == 0:
            kind = _np.result_type(obj.dtype).kind
            return kind == "f" if c is float else kind == "c"
    return False
