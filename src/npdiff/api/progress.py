"""Progress of long specialisations, reported on stderr through the ``logging`` module (logger "npdiff").

A specialisation (tracing, differentiating, emitting and compiling the code for one argument shape)
that runs longer than ``AFTER_S`` seconds reports its stage and size every ``EVERY_S`` seconds and
once when it finishes: nodes traced so far, lines of code emitted. A watcher thread samples the
specialising thread's stack; when most samples fall on one line of user code inside a Python loop,
the message names that loop and suggests vectorising it. ``show_progress(False)`` (or the environment
variable ``NPDIFF_PROGRESS=0``) turns the reports off; they are ``INFO`` records of the "npdiff"
logger, so logging's own configuration also routes or silences them.
"""
from __future__ import annotations

import ast
import linecache
import logging
import os
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager

from ..ir import graph

logger = logging.getLogger("npdiff")
AFTER_S = 2.0  # a specialisation reports once it has run this long
EVERY_S = 5.0  # and again every so often
TICK_S = 0.05  # the watcher samples the specialising thread this often
_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the npdiff package
_state = {"on": os.environ.get("NPDIFF_PROGRESS", "1").strip().lower() not in ("0", "false", "no", "off")}
_jobs: dict[int, _Job] = {}  # thread id -> outermost specialisation running on that thread
_lock = threading.Lock()
_watcher: list[threading.Thread] = []


def show_progress(enabled: bool = True) -> None:
    """Turn the progress reports of long specialisations on or off (returns None)."""
    _state["on"] = bool(enabled)


def _nodes_made() -> int:
    """Return how many graph nodes this process has created (the node counter's next value)."""
    text = repr(graph._counter)  # "count(1234)": read without consuming a number
    return int(text[text.index("(") + 1:text.index(")")])


class _Job:
    """One outermost specialisation: what it is, when it started, its stage and the user lines sampled."""

    def __init__(self, what: str):
        self.what, self.start, self.stage, self.lines = what, time.perf_counter(), "tracing the function", None
        self.nodes0, self.reported, self.hinted, self.next_report = _nodes_made(), False, False, AFTER_S
        self.samples: Counter = Counter()
        self.depth = _depth(sys._getframe())  # user frames at or above it call npdiff: never sampled

    def size(self) -> str:
        parts = [f"{_nodes_made() - self.nodes0:,} graph nodes"]
        if self.lines is not None:
            parts.append(f"{self.lines:,} lines emitted")
        return ", ".join(parts)


@contextmanager
def specialising(what: str):
    """Report the progress of the code generation of ``what`` (``grad(f) for shapes (3,)``) when it is long."""
    tid = threading.get_ident()
    if not _state["on"] or tid in _jobs:  # off, or nested in an outer specialisation that reports
        yield
        return
    job = _Job(what)
    with _lock:
        _jobs[tid] = job
        if not _watcher or not _watcher[0].is_alive():
            _watcher[:] = [threading.Thread(target=_watch, name="npdiff-progress", daemon=True)]
            _watcher[0].start()
    try:
        yield
    finally:
        with _lock:
            _jobs.pop(tid, None)
        if job.reported:
            _emit(f"npdiff: {job.what} done in {time.perf_counter() - job.start:.1f} s ({job.size()})")


def stage(name: str, lines: int | None = None) -> None:
    """Record the current stage (and, once emitted, the number of lines) of this thread's specialisation."""
    job = _jobs.get(threading.get_ident())
    if job is not None:
        job.stage = name
        if lines is not None:
            job.lines = lines


def _emit(message: str) -> None:
    if not logger.handlers and not logging.getLogger().handlers:  # logging not configured: stderr
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    logger.info(message)


def _watch() -> None:
    while True:
        time.sleep(TICK_S)
        with _lock:
            jobs = list(_jobs.items())
        if not jobs:
            continue
        for tid, job in jobs:
            where = _sample(tid, job.depth)
            if where is not None:
                job.samples[where] += 1
            elapsed = time.perf_counter() - job.start
            if elapsed >= job.next_report and _state["on"]:
                hint = "" if job.hinted else _loop_hint(job)  # said once, as soon as it is known
                job.hinted = job.hinted or bool(hint)
                job.reported, job.next_report = True, elapsed + EVERY_S
                _emit(f"npdiff: {job.what}: {job.stage}, {job.size()} ({elapsed:.0f} s){hint}")


def _sample(tid: int, depth: int):
    """Return the user line thread ``tid`` is running (None if none). The frames are only looked at here:
    a frame kept in the watcher's loop would keep the specialisation's locals (the user's function,
    its arguments) alive after it ends."""
    frame = sys._current_frames().get(tid)
    return _user_line(frame, depth) if frame is not None else None


def _depth(frame) -> int:
    n = 0
    while frame is not None:
        n, frame = n + 1, frame.f_back
    return n


def _user_line(frame, above: int):
    """Return (file, line) of the innermost frame of user code (outside npdiff, NumPy and SciPy) that npdiff
    called (deeper than ``above`` frames), or None."""
    depth = _depth(frame)
    while frame is not None and depth > above:
        fname = frame.f_code.co_filename
        path = os.path.abspath(fname)
        library = path.startswith(_PKG_DIR) or any(f"{os.sep}{m}{os.sep}" in path for m in ("numpy", "scipy"))
        if not library and not fname.startswith(("<frozen", "<npdiff:")) and "threading.py" not in fname:
            return fname, frame.f_lineno
        frame, depth = frame.f_back, depth - 1
    return None


def _loop_hint(job: _Job) -> str:
    """Return a sentence naming the Python loop most samples fall in, or '' when there is none."""
    total = sum(job.samples.values())
    if total < 3:
        return ""
    (fname, line), n = job.samples.most_common(1)[0]
    if n < total / 2:
        return ""
    loop = _enclosing_loop(fname, line)
    if loop is None:
        return ""
    header = linecache.getline(fname, loop).strip()
    return (f"; the trace comes mostly from the Python loop at {os.path.basename(fname)}:{loop} "
            f"({header}), traced once per iteration: vectorising it (whole-array operations such as "
            f"x[1:] - x[:-1] or np.sum(..., axis=0)) makes specialisation and the generated code faster")


def _enclosing_loop(fname: str, line: int) -> int | None:
    """Return the first line of the innermost for/while loop of file ``fname`` containing ``line``."""
    try:
        tree = ast.parse("".join(linecache.getlines(fname)))
    except (SyntaxError, ValueError):
        return None
    best = None
    loops = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
    for node in ast.walk(tree):
        if isinstance(node, loops) and node.lineno <= line <= (node.end_lineno or node.lineno):
            if best is None or node.lineno >= best:
                best = node.lineno
    return best
