"""A signal at every moment of a stylize.py run, and what must hold after each: a harness.

    sweep = Sweep(inputs_folder, ["--size", 32, "--iters", 4, "--save-every", 2, "--plot"])
    points = sweep.points()                      # every (phase, n) a whole run meets, in order
    outcome = sweep.run_point("write", 2, "SIGTERM")
    sweep.check(outcome)                          # AssertionError naming the broken promise

A run is started through tests/hooked.py with `--at PHASE:N signal:NAME`: the signal is
sent by the process to itself at the N-th beginning of PHASE, so every phase is hit on
purpose, not by luck. `points()` lists the phases of one whole run without a signal (its
result is the reference). The promises checked after each point (DEVELOPERS.md: nothing
lost, at any moment):
  - the exit status is 128 + the signal's number, and stderr holds no traceback;
  - the output is a complete, decodable image or absent, never empty or partial;
  - once the last evaluation is done, the result is kept: the output is byte for byte the
    reference run's;
  - the message tells the truth: it names the output if there is one, else says that
    nothing was written;
  - the other writers too: every snapshot and the plot decode, every log line is JSON;
  - no temporary file (.stylize-*) and no empty claim is left behind.
Any writer's options may be given (--log, --plot, --save-every); the log is always asked
for, as run.jsonl beside the output.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from PIL import Image

from .helpers import ROOT

SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")


class Outcome:
    """One run: where it was stopped, its exit status, stderr, and its folder."""

    def __init__(self, phase, n, name, status, stderr, folder):
        self.phase, self.n, self.name = phase, n, name
        self.status, self.stderr, self.folder = status, stderr, Path(folder)

    def __repr__(self):
        return f"<{self.name} at {self.phase}:{self.n}, exit {self.status}>"


class Sweep:
    def __init__(self, inputs, options, workdir, output="o.png"):
        self.inputs, self.workdir, self.output = Path(inputs), Path(workdir), output
        self.options = ["--content", self.inputs / "content.png", "--style", self.inputs / "style.jpg",
                        "--weights", self.inputs / "random.h5", *options, "--log", "run.jsonl",
                        "-o", output, "--quiet"]
        self.reference = None                        # (phases, output bytes) of a whole run

    def _run(self, hooks, folder, timeout=120):
        folder.mkdir(parents=True)
        done = subprocess.run([sys.executable, "-m", "tests.hooked", *hooks, "--",
                               *map(str, self.options)], cwd=folder, capture_output=True,
                              text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})
        return done

    def points(self):
        """[(phase, n)] of a whole run, in order; the run's output is kept as the reference."""
        if self.reference is None:
            done = self._run([], self.workdir / "reference")
            assert done.returncode == 0, done.stderr
            phases = [tuple(line.split()[1:]) for line in done.stdout.splitlines()
                      if line.startswith("phase ")]
            self.reference = ([(p, int(n)) for p, n in phases],
                              (self.workdir / "reference" / self.output).read_bytes())
        return self.reference[0]

    def last_evaluation(self):
        points = self.points()
        return max(i for i, (phase, _) in enumerate(points) if phase == "evaluate")

    def run_point(self, phase, n, name):
        folder = self.workdir / f"{phase}-{n}-{name}"
        done = self._run(["--at", f"{phase}:{n}", f"signal:{name}"], folder)
        return Outcome(phase, n, name, done.returncode, done.stderr, folder)

    def check(self, o):
        """Every promise of the module's docstring, for one outcome."""
        where = f"{o!r}:\n{o.stderr}"
        assert "Traceback" not in o.stderr, where
        assert o.status == 128 + getattr(signal, o.name), where
        out = o.folder / self.output
        names = sorted(p.name for p in o.folder.iterdir())
        assert not [n for n in names if n.startswith(".stylize-")], f"temporary files left: {names}; {where}"
        if out.exists():
            assert out.stat().st_size > 0, f"an empty output is left; {where}"
            Image.open(out).load()                               # complete and decodable
            assert str(self.output) in o.stderr, f"the message does not say where the image is; {where}"
        else:
            assert "nothing was written" in o.stderr, where
        if self.points().index((o.phase, o.n)) > self.last_evaluation():
            assert out.exists() and out.read_bytes() == self.reference[1], \
                f"the finished result was not kept as it was; {where}"
        for p in o.folder.glob("o-*.png"):                       # snapshots and the plot
            Image.open(p).load()
        log = o.folder / "run.jsonl"
        if log.exists():
            assert log.stat().st_size > 0, f"an empty claimed log is left; {where}"
            for line in log.read_text().splitlines():
                json.loads(line)

    def clean(self, o):
        shutil.rmtree(o.folder, ignore_errors=True)
