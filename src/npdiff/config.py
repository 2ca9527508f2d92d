"""Run-time settings of npdiff: plain module attributes, read when they are needed.

``npdiff.config.max_paths`` (default 64): how many paths through a function
(see guards: ``if x[0] > 0:`` on a traced value) a lazy operator keeps per
argument shapes and dtypes. Beyond it the least recently used path is dropped
(and traced again if it comes back), with one ``PathChurnWarning`` naming the
decisions that keep changing.
"""
from __future__ import annotations

max_paths: int = 64
