"""Paint a photo in the style of a painting: Gatys, Ecker and Bethge, CVPR 2016.

    python stylize.py --content photo.jpg --style painting.jpg --output out.png
    python stylize.py --mode content --content photo.jpg --content-layers conv2_2 -o rebuilt.png
    python stylize.py --mode style --style painting.jpg --size 256 -o texture.png
    python stylize.py --demo

This file is the story of a run; its options and their checks are vgg/cli.py's, what it
prints (the opening line, the progress, the summary) vgg/speak.py's.
Reads top to bottom: check the options, load the network and the images, hand them
to the run (vgg/run.py: the targets by vgg/transfer.py, `loss, grad = f(x)` optimised
with minigrad/optim.py), follow its reports with a progress bar, a log and snapshots,
save. Nothing is ever lost: images are written whole or not at all, no file is
replaced without --overwrite (an input never), a signal (Ctrl-C, SIGTERM, SIGHUP,
SIGQUIT, SIGXCPU) at any moment saves the current image, and a NaN keeps the last good one.
Every refusal is one line on stderr: exit 2 for bad arguments, 1 for a failed run,
128 + n for signal n (130 for Ctrl-C).
"""

try:  # From the first instruction: every signal is held (not lost) while vgg/early.py loads;
    # its install() sets handlers that end the program in one line, then lets the held in.
    import _signal
    import sys
    if __name__ == "__main__" or sys.argv[0].endswith("minigrad-stylize"):   # a program
        _held = _signal.pthread_sigmask(_signal.SIG_BLOCK, _signal.valid_signals())
        from vgg.early import install
        install(_held)
except KeyboardInterrupt:  # Ctrl-C that Python took before the block: the same one line
    import os
    import sys
    if __name__ != "__main__" and not sys.argv[0].endswith("minigrad-stylize"):
        raise                                                  # imported: the caller's to handle
    name = "minigrad-stylize" if sys.argv[0].endswith("minigrad-stylize") else "stylize.py"
    os.write(2, f"\n{name}: stopped (SIGINT) while starting; nothing was written\n".encode())
    os._exit(130)

# The imports come after the handlers on purpose: NumPy takes a moment to load.
import warnings

from minigrad.backend import BackendUnavailable, backend_module
from vgg.canvas import canvas_shapes, style_shapes
from vgg.cli import Refusal, build_parser, check_arguments, plan_outputs, print_layers
from vgg.console import SafeStream, Signals, Stop
from vgg.demo import configure_demo, write_demo_style
from vgg.files import PlanError, SaveError
from vgg.images import ImageError, open_image
from vgg.memory import available_memory, plan_memory
from vgg.model import VGG19, engine_for
from vgg.run import INITS, NonFinite, Stylization
from vgg.speak import PROG, Progress, Voice, opening_line, summary_line, weighted
from vgg.weights import WeightsError


def main(argv=None, as_program=False):
    stderr = sys.stderr
    sys.stderr = SafeStream(stderr)             # a closed stderr never stops the run
    try:
        args = build_parser().parse_args(argv)
        voice = Voice(args.quiet)
        if args.list_layers:
            print_layers()
            return 0
        # As a program, the signals are ignored once main() has said how the run ended, so
        # that a late Ctrl-C can't kill Python's shutdown; as a function, they are given back.
        with Signals(then_ignore=as_program) as signals, warnings.catch_warnings():
            warnings.showwarning = lambda message, category, *rest, **kw: \
                voice.warn(f"{category.__name__}: {message}")    # a library's warning: one line
            try:
                demo_style = configure_demo(args, sys.argv[1:] if argv is None else argv) \
                    if args.demo else None
                settings = check_arguments(args, pending=[demo_style] if demo_style else [])
                outputs = plan_outputs(args, signals, voice.warn)
                if args.demo:
                    write_demo_style(args, demo_style, voice)   # every option checked: now write
                if args.serve is not None:
                    return run_served(args, settings, outputs, signals, voice)
                return run(args, settings, outputs, signals, voice)
            except Refusal as e:
                print(f"{PROG}: error: {e}", file=sys.stderr)
                return e.status
            except Stop as stop:
                print(f"\n{PROG}: {stop.said} before the run started; nothing was written",
                      file=sys.stderr)
                return stop.status
    finally:
        sys.stderr = stderr


def run_served(args, settings, outputs, signals, voice):
    """--serve: bind the port before anything is loaded (a port in use is refused here), run
    with the live page (vgg/serve.py) watching, and close it with the run, however it ends."""
    import dataclasses

    from vgg.serve import LivePage
    shown = {"content": args.content, "style": args.style, **dataclasses.asdict(settings),
             "output": args.output}
    try:
        live = LivePage.open(args.serve, shown)
    except OSError as e:
        raise Refusal(f"--serve {args.serve}: cannot listen on 127.0.0.1:{args.serve} "
                      f"({e.strerror}); choose another port, or --serve 0 for any free one")
    opened = not args.no_browser and live.open_browser()
    print(f"{PROG}: watch it paint at {live.url}" + ("" if opened or args.no_browser else
          " (no desktop found: open it in a browser)"), file=sys.stderr)   # even with --quiet
    status = None
    try:
        status = run(args, settings, outputs, signals, voice, live)
        return status
    finally:
        live.close(status, *(outputs.saved or (None, None)))


def run(args, settings, outputs, signals, voice, live=None):
    """Claim the outputs, load, optimise, save; every way out keeps what the run has made.

    Once the work is over, or has been cut short, signals only wait: `signals.ending = True`
    comes first in each of those places, an attribute store, before which Python runs no
    signal handler (handlers run at calls and loops), so saving can never be interrupted."""
    stylization = None
    try:
        try:
            outputs.claim()
        except PlanError as e:
            raise Refusal(str(e))
        stylization = prepare(args, settings, voice)
        signals.check()
        history = follow(args, stylization, outputs, signals, live)
        signals.ending = True                  # the last evaluation is done: keep its result
    except Refusal:
        signals.ending = True
        outputs.release()
        raise
    except BaseException as error:             # a stop, a NaN, no memory, or a bug
        signals.ending = True
        return salvage(error, stylization, outputs, signals)
    return save_and_report(settings, stylization, outputs, signals, history, voice)


def salvage(error, stylization, outputs, signals):
    """A run that did not finish: keep the image it has made (if it made one), say so in one
    line, and return the exit status (after a bug, its traceback follows instead)."""
    made = stylization is not None and stylization.steps > 0
    image, which, status, message = (stylization.x if made else None), "current", 1, None
    if isinstance(error, Stop):
        status = error.status
        message = (f"\n{PROG}: {error.said} after {stylization.evals} evaluations" if made else
                   f"\n{PROG}: {error.said} before the first step; nothing was written")
    elif isinstance(error, NonFinite):
        image, which, message = error.last_good, "last good", f"{PROG}: error: {error}"
    elif isinstance(error, MemoryError):
        message = f"{PROG}: error: out of memory; try a smaller --size, --style-scale or --history"
    elif made:                                  # a bug, after some steps
        message = f"{PROG}: error: the run failed"
    if image is None:
        outputs.release()
    else:
        message += kept(which, finish(outputs, stylization.image(image), signals))
    if message:
        print(message, file=sys.stderr)
    if not isinstance(error, (Stop, NonFinite, MemoryError)):
        raise error
    return status


def save_and_report(settings, stylization, outputs, signals, history, voice):
    """The finished run: the result, the --plot curves, the summary; the exit status."""
    path = finish(outputs, stylization.image(), signals)
    if path is None:
        return 1
    curves = outputs.save_plot(history, {"content": settings.content_weight,
                                         "style": settings.style_weight, "tv": settings.tv_weight})
    if curves:
        voice.say(f"loss curves -> {curves}")
    voice.say(summary_line(stylization, history[-1]["seconds"] if history else 0.0, path))
    if signals.held or signals.received:     # Ctrl-C or SIGTERM came while the result was saved
        stop = Stop(signals.held or signals.received)
        print(f"{PROG}: {stop.said} while saving; the finished result is in {path}",
              file=sys.stderr)
        return stop.status
    return 0 if path == outputs.output else 1


def prepare(args, settings, voice):
    """Load the images and the network (fetching its weights on first use); the run, ready."""
    try:
        backend_module(settings.backend)                     # CuPy and a GPU, if asked for
    except BackendUnavailable as e:
        raise Refusal(str(e))
    content = load_rgb(args.content) if settings.mode != "style" else None
    styles = [load_rgb(p) for p in args.style] if settings.mode != "content" else []
    init = load_rgb(args.init) if args.init not in INITS else None
    shapes = canvas_shapes(settings, content, styles, voice.warn)
    check_memory(settings, shapes, styles)
    engine = engine_for(settings.engine, settings.backend, voice.say)
    try:
        model = VGG19.load(args.weights, settings.pooling, engine, voice.say).to(settings.backend)
    except WeightsError as e:
        raise Refusal(str(e))
    voice.say(opening_line(settings, shapes, args.init if init else settings.init))
    return Stylization(model, settings, content, styles, init, shapes=shapes)


def follow(args, stylization, outputs, signals, live=None):
    """Drive the run: the progress (vgg/speak.py), the log, the --save-every snapshots and the
    --serve page; the loss history."""
    s = stylization.settings
    history = []
    progress = Progress(s.iters * s.scales, args.quiet)
    try:
        for r in stylization.reports():
            signals.check()                                  # a Ctrl-C the collector swallowed
            parts = weighted(s, r.terms)
            entry = {"iter": r.step, "evals": r.evals, "loss": r.loss,
                     **{name: r.terms[name] for name in ("content", "style", "tv")},
                     **{f"{name}_weighted": part for name, part in parts.items()},
                     "seconds": round(r.seconds, 4)}
            history.append(entry)
            progress.update(r.new_evals, r.loss, f"scale {r.scale + 1}/{s.scales}"
                            if s.scales > 1 else "")
            outputs.log_step(entry)
            if args.save_every:
                outputs.snapshot(stylization.image(r.image), r.evals - r.new_evals, r.evals)
            if live:
                live.report(r, stylization)                  # a snapshot; never waits on the page
    finally:
        progress.close()
    return history


def load_rgb(path):
    try:
        return open_image(path)
    except ImageError as e:
        raise Refusal(str(e))


def kept(which, path):
    """The end of a message about a saved image: where it is, or that it couldn't be saved."""
    return (f"; the {which} image is saved in {path}" if path else
            f"; the {which} image could not be saved (see above)")


def finish(outputs, image, signals):
    """Save the result (signals wait meanwhile); its path, or None with one line if nowhere.
    Then no claimed name is left empty (a log claimed but never written is removed)."""
    outputs.close()
    try:
        path, why = outputs.save_result(image)
    except SaveError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return None
    finally:
        outputs.release()
    if why:
        print(f"{PROG}: error: could not write {outputs.output} ({why}); "
              f"the result is saved in {path} instead", file=sys.stderr)
    return path


def check_memory(settings, shapes, styles):
    """Refuse a run that cannot fit, with the estimate and a setting that would."""
    have = available_memory(settings.backend)
    need, suggestion = plan_memory(shapes[-1], style_shapes(settings, shapes[-1], styles),
                                   settings.layers_used(), settings.history, settings.optimizer,
                                   settings.engine, have, settings.size, settings.style_scale)
    if suggestion:
        h, w = shapes[-1]
        raise Refusal(f"a {w}x{h} run needs about {need / 2**30:.1f} GiB but only "
                      f"{have / 2**30:.1f} GiB is free; try {suggestion}")


def console():
    """The console command minigrad-stylize (pyproject.toml): the same program."""
    return main(as_program=True)


if __name__ == "__main__":
    sys.exit(main(as_program=True))
