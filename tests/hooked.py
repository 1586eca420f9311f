"""stylize.py with hooks at the moments a test needs to reach on purpose: a test harness.

    python -m tests.hooked [--at PHASE[:N] ACTION] ... -- STYLIZE ARGUMENTS

runs stylize.py as a program (its __main__ block, its signal handlers) after wrapping
the functions where each phase of a run begins. At the N-th time PHASE begins (the
first if N is not given), ACTION happens, then the phase goes on:

    wait          block until a line arrives on stdin (the test says "go")
    sleep:S       sleep S seconds (widens the window a signal sent from outside can hit)
    signal:NAME   send this process SIGINT, SIGTERM, SIGHUP or SIGQUIT, right there

Every phase beginning is announced on stdout as "phase NAME N", flushed, so a test can
wait for an event instead of sleeping. Nothing here is imported by the program: the
hooks exist only in this process. The phases, in the order a run meets them:

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
    """Wrap each phase's function so that its beginnings are counted, announced and acted on."""
    import vgg.files
    import vgg.images
    import vgg.model
    import vgg.outputs
    import vgg.run
    import vgg.transfer
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

    wrap(vgg.model.VGG19, "load", "load")
    wrap(vgg.transfer.Objective, "__init__", "targets")
    wrap(vgg.transfer.Objective, "__call__", "evaluate")
    wrap(vgg.outputs.Outputs, "log_step", "log")
    wrap(vgg.outputs.Outputs, "snapshot", "snapshot")
    wrap(vgg.outputs.Outputs, "close", "close")
    wrap(vgg.run.Stylization, "image", "image")
    wrap(vgg.images, "encode_image", "encode")          # the module vgg.outputs calls it in
    wrap(vgg.files, "write_atomic", "write")
    wrap(vgg.outputs, "loss_curves", "plot")
    for name in ("replace", "link"):              # the rename (vgg/files.py calls os.<name>)
        wrap(vgg.files.os, name, "rename")
    reports = vgg.run.Stylization.reports

    def hooked_reports(self):
        for report in reports(self):
            begin("step")
            yield report
    vgg.run.Stylization.reports = hooked_reports


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
