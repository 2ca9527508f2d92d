"""Timing helpers shared by the benchmarks: min over repeats, side by side."""
from __future__ import annotations

import timeit


def per_call(fn, *args, repeat: int = 7, target: float = 0.05) -> float:
    """Return the best per-call time of fn(*args) in seconds."""
    t = timeit.Timer(lambda: fn(*args))
    n, elapsed = 1, 0.0
    while True:
        elapsed = t.timeit(n)
        if elapsed > target or n > 1 << 20:
            break
        n *= 4
    return min(t.repeat(repeat, n)) / n


def fmt(seconds: float) -> str:
    """Return a time with a sensible unit."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.2f} us"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "


def table(title: str, rows: list[tuple[str, float]], ref: str) -> None:
    """Print rows of (label, seconds) with ratios to the row labelled ref."""
    base = dict(rows)[ref]
    print(f"\n{title}")
    for label, t in rows:
        print(f"  {label:<34} {fmt(t)}   {t / base:6.2f}x {ref}")
