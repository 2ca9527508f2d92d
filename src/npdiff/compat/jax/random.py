"""jax.random: keys have no NumPy counterpart; use ``np.random.default_rng(seed)`` and pass samples in as data."""
from __future__ import annotations

from ...errors import UnsupportedOperationError

_SPELLING = ("use NumPy's generators, `rng = np.random.default_rng(seed)` then `rng.normal(size=shape)`, "
             "and pass the samples to the differentiated function as arguments")


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)

    def refused(*args, **kwargs):
        raise UnsupportedOperationError(f"jax.random.{name} has no counterpart in npdiff: {_SPELLING}")
    refused.__name__ = name
    return refused
