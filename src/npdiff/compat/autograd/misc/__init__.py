"""autograd.misc: ``flatten``, ``flatten_func``, ``const_graph`` and the optimisers (``misc.optimizers``)."""
from __future__ import annotations

import functools
from collections.abc import Callable

from .flatten import flatten, flatten_func

__all__ = ["flatten", "flatten_func", "const_graph"]


def const_graph(fun: Callable, *args, **kwargs) -> Callable:
    """Return fun with these leading arguments and keywords bound (autograd.misc.const_graph).

    autograd's version records fun's graph once and replays it; npdiff's
    operators already generate code once per shape and replay it, so here the
    function simply runs (its Python side effects happen on every call).
    """
    return functools.partial(fun, *args, **kwargs)
