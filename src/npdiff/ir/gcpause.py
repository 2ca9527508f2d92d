"""Pause Python's cyclic garbage collector while a large graph is built.

Building a graph allocates hundreds of thousands of small objects (nodes,
tuples, dicts) that live until the graph is emitted; the collector would
traverse them again and again (about a fifth of a 2000-step loop's first
call). Graph nodes form no reference cycles, so nothing is lost by
collecting once afterwards instead. The switch is process-wide: while any
thread generates code, no thread runs the cyclic collector (reference counting
still frees everything that is not in a cycle).
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0  # generations in progress (any thread)
_was_enabled = False


@contextmanager
def gc_paused():
    """Return a context in which the cyclic collector is off (it is restored when the last one exits)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
