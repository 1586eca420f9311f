"""stylize.py with hooks at the moments a test needs to reach on purpose: a test harness.

    python -m tests.hooked [--at PHASE[:N] ACTION] ... -- STYLIZE ARGUMENTS

runs stylize.py as a program (its __main__ block, its signal handlers), with the
functions where each phase of a run begins wrapped as their modules are imported. At the N-th time PHASE begins (the
first if N is not given), ACTION happens, then the phase goes on:

    wait          block until a line arrives on stdin (the test says "go")
    sleep:S       sleep S seconds (widens the window a signal sent from outside can hit)
    signal:NAME   send this process SIGINT, SIGTERM, SIGHUP or SIGQUIT, right there

Every phase beginning is announced on stdout as "phase NAME N", flushed, so a test can
wait for an event instead of sleeping (or list the phases of a whole run, as
tests/test_signals.py does). Nothing here is imported by the program: the hooks exist
only in this process. The phases, in the order a run meets them:

    imports     stylize.py begins to import NumPy, after its first lines
    claim       the output (and log) names taken by an exclusive create (vgg.claims.claim)
    load        the weights are read (vgg.model.VGG19.load)
    targets     the photo's features and the paintings' Gram matrices (Objective)
    evaluate    each evaluation of eq. 7 and its gradient (Objective.__call__)
    step        each optimiser step, before it is reported (Stylization.reports)
    log         a line of --log written (Outputs.log_step)
    snapshot    a --save-every image written (Outputs.snapshot)
    close       the log closed at the end (Outputs.close)
    image       the result converted to a picture (Stylization.image)
    encode      an image encoded to bytes (vgg.images.encode_image)
    write       a file written to its temporary name (vgg.files.write_atomic)
    rename      the temporary file renamed into place (os.replace / os.link in vgg.files)
    plot        the --plot curves drawn (vgg.outputs.loss_curves)
"""
import os
import runpy
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIGNALS = {name: getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")}


def parse(argv):
    """([(phase, n, action)], stylize arguments)."""
    hooks, rest = [], list(argv)
    while rest and rest[0] == "--at":
        phase, _, n = rest[1].partition(":")
        hooks.append((phase, int(n or 1), rest[2]))
        rest = rest[3:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    return hooks, rest


def install(hooks):
    """Count, announce and act on each phase's beginnings. Nothing of the project is imported
    here: each module is wrapped as it is first imported (a finder on sys.meta_path), so
    stylize.py's own first lines, its signal handlers, run before any of it, as they do in
    a plain run; the phase "imports" is the moment stylize.py starts importing NumPy."""
    counts = {}

    def begin(phase):
        counts[phase] = counts.get(phase, 0) + 1
        print(f"phase {phase} {counts[phase]}", flush=True)
        for p, n, action in hooks:
            if p == phase and n == counts[phase]:
                act(action)

    def wrap(owner, name, phase):
        inner = getattr(owner, name)

        def hooked(*args, **kwargs):
            begin(phase)
            return inner(*args, **kwargs)
        setattr(owner, name, hooked)

    def wrap_reports(run):
        reports = run.Stylization.reports

        def hooked_reports(self):
            for report in reports(self):
                begin("step")
                yield report
        run.Stylization.reports = hooked_reports

    def wrap_files(files):
        wrap(files, "write_atomic", "write")
        files.os = RenameWatch(files.os, lambda: begin("rename"))   # vgg/files.py's os only

    after = {  # module: what to wrap once it has been executed
        "vgg.model": lambda m: wrap(m.VGG19, "load", "load"),
        "vgg.transfer": lambda m: (wrap(m.Objective, "__init__", "targets"),
                                   wrap(m.Objective, "__call__", "evaluate")),
        "vgg.outputs": lambda m: (wrap(m.Outputs, "log_step", "log"),
                                  wrap(m.Outputs, "snapshot", "snapshot"),
                                  wrap(m.Outputs, "close", "close"), wrap(m, "loss_curves", "plot")),
        "vgg.run": lambda m: (wrap(m.Stylization, "image", "image"), wrap_reports(m)),
        "vgg.images": lambda m: wrap(m, "encode_image", "encode"),
        "vgg.files": wrap_files,
        "vgg.claims": lambda m: wrap(m, "claim", "claim"),
    }
    sys.meta_path.insert(0, PostImport(after, lambda: begin("imports")))


class RenameWatch:
    """The os module as vgg/files.py sees it, with a phase begun at each replace or link."""

    def __init__(self, os_module, begin):
        self._os, self._begin = os_module, begin

    def replace(self, *args, **kwargs):
        self._begin()
        return self._os.replace(*args, **kwargs)

    def link(self, *args, **kwargs):
        self._begin()
        return self._os.link(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._os, name)


class PostImport:
    """A finder that finds nothing itself: it calls first() when NumPy's import begins, and
    after[name](module) once a module of `after` has been executed."""

    def __init__(self, after, first):
        self.after, self.first = after, first

    def find_spec(self, name, path=None, target=None):
        if name == "numpy" and self.first:
            first, self.first = self.first, None
            first()
        if name not in self.after:
            return None
        for finder in sys.meta_path:
            spec = None if finder is self else finder.find_spec(name, path, target)
            if spec is not None:
                run_module, then = spec.loader.exec_module, self.after.pop(name)

                def exec_module(module):
                    run_module(module)
                    then(module)
                spec.loader.exec_module = exec_module
                return spec
        return None


def act(action):
    if action == "wait":
        sys.stdin.readline()
    elif action.startswith("sleep:"):
        time.sleep(float(action[len("sleep:"):]))
    elif action.startswith("signal:"):
        os.kill(os.getpid(), SIGNALS[action[len("signal:"):]])
    else:
        raise SystemExit(f"tests/hooked.py: unknown action {action!r}")


def main(argv=None):
    hooks, args = parse(sys.argv[1:] if argv is None else argv)
    sys.path.insert(0, str(ROOT))
    install(hooks)
    sys.argv = [str(ROOT / "stylize.py"), *args]
    runpy.run_path(str(ROOT / "stylize.py"), run_name="__main__")


if __name__ == "__main__":
    main()
