"""Long specialisations report progress on stderr through logging (logger "npdiff"): stage, graph
nodes, lines emitted, and a hint naming a Python loop that could be vectorised; show_progress(False) and
NPDIFF_PROGRESS=0 turn it off."""
import logging
import os
import subprocess
import sys
import textwrap

import numpy as np

import npdiff
from npdiff.api import progress

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def looped(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def _slow_specialisation(n=120):
    return npdiff.hessian(looped)(np.linspace(0.1, 1.0, n))


def test_a_long_specialisation_logs_stage_size_and_the_loop(monkeypatch, caplog):
    monkeypatch.setattr(progress, "AFTER_S", 0.0)
    monkeypatch.setattr(progress, "EVERY_S", 0.05)
    monkeypatch.setattr(progress, "TICK_S", 0.001)
    caplog.set_level(logging.INFO, logger="npdiff")
    # long enough a trace (3000 loop iterations) for the watcher to sample the user's loop many times
    g = npdiff.grad(looped)(np.linspace(0.1, 1.0, 3000))
    assert g.shape == (3000,)
    msgs = [r.getMessage() for r in caplog.records if r.name == "npdiff"]
    assert msgs, "no progress reported"
    first, last = msgs[0], msgs[-1]
    assert first.startswith("npdiff: specialising grad_looped for argument shapes (3000,): ")
    assert "graph nodes" in first
    assert any("Python loop at test_progress.py:" in m and "for i in range(x.shape[0] - 1):" in m
               and "vectorising it" in m for m in msgs)
    assert "done in" in last and "lines emitted" in last


def test_show_progress_false_silences_it(monkeypatch, caplog):
    monkeypatch.setattr(progress, "AFTER_S", 0.0)
    caplog.set_level(logging.INFO, logger="npdiff")
    npdiff.show_progress(False)
    try:
        _slow_specialisation(100)
    finally:
        npdiff.show_progress(True)
    assert not [r for r in caplog.records if r.name == "npdiff"]


def test_a_short_specialisation_says_nothing(caplog):
    caplog.set_level(logging.INFO, logger="npdiff")
    npdiff.grad(lambda x: np.sum(x ** 2))(np.ones(3))
    assert not [r for r in caplog.records if r.name == "npdiff"]


SCRIPT = textwrap.dedent("""
    import numpy as np, npdiff
    from npdiff.api import progress
    progress.AFTER_S = 0.0
    def f(x):
        s = 0.0
        for i in range(x.shape[0] - 1):
            s = s + (x[i + 1] - x[i] ** 2) ** 2
        return s
    npdiff.hessian(f)(np.linspace(0.1, 1.0, 100))
    print("finished")
""")


def test_unconfigured_logging_goes_to_stderr_and_the_environment_switch_turns_it_off():
    env = dict(os.environ, PYTHONPATH=SRC)
    on = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert on.returncode == 0 and "finished" in on.stdout
    assert "npdiff: specialising hessian_f" in on.stderr and "done in" in on.stderr
    off = subprocess.run([sys.executable, "-c", SCRIPT], env=dict(env, NPDIFF_PROGRESS="0"),
                         capture_output=True, text=True, timeout=300)
    assert off.returncode == 0 and "finished" in off.stdout and "npdiff:" not in off.stderr


def test_the_watcher_keeps_no_frame_of_a_finished_specialisation(monkeypatch):
    import gc
    import time
    import weakref
    monkeypatch.setattr(progress, "AFTER_S", 0.0)
    monkeypatch.setattr(progress, "TICK_S", 0.001)

    class Model:
        def __call__(self, x):
            s = 0.0
            for i in range(2000):
                s = s + x[i % 3] ** 2
            return s
    model = Model()
    alive = weakref.ref(model)
    npdiff.grad(model)(np.ones(3))
    time.sleep(0.05)  # the watcher goes on ticking with no job
    del model
    gc.collect()
    assert alive() is None  # a frame held by the watcher kept the function (and what it holds) alive
