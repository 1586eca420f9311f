"""Nothing lost at any moment: a signal swept over a whole stylize.py run, and its start.

The sweep (tests/signals_sweep.py) stops one short run at every phase it meets, from the
imports to the last rename, with each of SIGINT, SIGTERM, SIGHUP and SIGQUIT, and checks
every promise after each: 128 + n, no traceback, the output whole or absent, the finished
result kept, a truthful message, no temporary or empty file left. The runs go two or more
at a time (one per core).
"""
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from .helpers import ROOT, write_inputs
from .signals_sweep import SIGNALS, Sweep

RUN = ["--size", 32, "--iters", 4, "--save-every", 2, "--plot"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    inputs = write_inputs(tmp_path_factory.mktemp("sweep-inputs"))
    return Sweep(inputs, RUN, tmp_path_factory.mktemp("sweep"))


def test_a_whole_run_meets_every_phase(sweep):
    phases = {phase for phase, _ in sweep.points()}
    assert phases >= {"imports", "claim", "load", "targets", "evaluate", "step", "log", "image",
                      "snapshot", "encode", "write", "rename", "close", "plot"}


def test_a_signal_at_any_moment_loses_nothing(sweep):
    points = [(phase, n, name) for phase, n in sweep.points() for name in SIGNALS]
    assert len(points) >= 100
    failures = []

    def one(point):
        outcome = sweep.run_point(*point)
        try:
            sweep.check(outcome)
            sweep.clean(outcome)
        except AssertionError as e:
            failures.append(str(e))

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        list(pool.map(one, points))
    assert not failures, f"{len(failures)} of {len(points)} points broke a promise:\n" + \
        "\n\n".join(failures[:5])


@pytest.mark.parametrize("phase,name", [("close", "SIGINT"), ("image", "SIGTERM"),
                                        ("encode", "SIGHUP"), ("rename", "SIGINT")])
def test_a_signal_after_the_last_evaluation_keeps_the_finished_image(sweep, phase, name):
    # The failure that opened issue 22: Ctrl-C between the last evaluation and the write
    # left a 0-byte output and said "nothing was written".
    last = max(n for p, n in sweep.points() if p == phase)
    outcome = sweep.run_point(phase, last, name)
    sweep.check(outcome)
    assert "finished result is in" in outcome.stderr or "image is saved in" in outcome.stderr


@pytest.mark.parametrize("name", ["SIGHUP", "SIGQUIT"])
def test_a_closed_terminal_or_ctrl_backslash_ends_the_run_like_ctrl_c(sweep, name):
    outcome = sweep.run_point("evaluate", 4, name)             # mid-run, after two steps
    sweep.check(outcome)
    assert (outcome.folder / "o.png").stat().st_size > 0
    early = sweep.run_point("load", 1, name)                   # before the first step
    sweep.check(early)
    assert not (early.folder / "o.png").exists()               # no claim left to refuse the next run


def start_and_stop(delay, args=("--list-layers",)):
    """stylize.py started, sent SIGINT after `delay` seconds: (exit status, stderr)."""
    p = subprocess.Popen([sys.executable, str(ROOT / "stylize.py"), *args], cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < delay:
        pass
    p.send_signal(signal.SIGINT)
    return p.wait(timeout=60), p.stderr.read()


def pythons_own(stderr):
    """A traceback of Python's own start-up, before stylize.py's first instruction: in its
    site module or the import machinery, or at stylize.py's line 0 (the script compiled,
    not yet run); or no frame at all, a bare "KeyboardInterrupt" and exit status 1, raised in
    the interpreter's C code between the site module and the script, where no Python frame
    runs (one raised in stylize.py's code carries its frames). README.md says this window
    is Python's."""
    frames = [line for line in stderr.splitlines() if line.startswith("  File ")]
    ours = [f for f in frames if "stylize.py" in f or "/vgg/" in f or "/minigrad/" in f]
    return all('stylize.py", line 0,' in f for f in ours)


def test_ctrl_c_from_the_first_instruction_is_one_line_and_130():
    seen_ours = 0
    for delay in [i / 2000 for i in range(0, 120)] + [0.1, 0.2, 0.3]:
        status, err = start_and_stop(delay)
        if "Traceback" in err or err.strip() == "KeyboardInterrupt":
            assert pythons_own(err), f"a traceback after stylize.py's first instruction:\n{err}"
            continue
        assert status in (0, 130, -signal.SIGINT), (delay, status, err)
        if "stylize.py: stopped (SIGINT) while starting; nothing was written" in err:
            assert status == 130
            seen_ours += 1
    assert seen_ours, "no delivery reached stylize.py's own handler: the sweep missed its window"
