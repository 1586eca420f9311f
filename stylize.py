"""Paint a photo in the style of a painting: Gatys, Ecker and Bethge, CVPR 2016.

    python stylize.py --content photo.jpg --style painting.jpg --output out.png
    python stylize.py --mode content --content photo.jpg --content-layers conv2_2 -o rebuilt.png
    python stylize.py --mode style --style painting.jpg --size 256 -o texture.png
    python stylize.py --demo

This file is the story of a run; its options and their checks are vgg/cli.py's.
Reads top to bottom: check the options, load the network and the images, hand them
to the run (vgg/run.py: the targets by vgg/transfer.py, `loss, grad = f(x)` optimised
with minigrad/optim.py), follow its reports with a progress bar, a log and snapshots,
save. Nothing is ever lost: images are written whole or not at all, no file is
replaced without --overwrite (an input never), a signal (Ctrl-C, SIGTERM, SIGHUP,
SIGQUIT) at any moment saves the current image, and a NaN keeps the last good one.
Every refusal is one line on stderr: exit 2 for bad arguments, 1 for a failed run,
128 + n for signal n (130 for Ctrl-C).
"""

if __name__ == "__main__":
    # From the first instruction, a signal that ends programs ends this one at once, in one
    # line, nothing written, until main() installs vgg/console.py's Signals, which save the
    # run. _signal and os are free here (signal would import enum first: milliseconds lost).
    import _signal
    import os
    names = {_signal.SIGINT: "SIGINT", _signal.SIGTERM: "SIGTERM", _signal.SIGHUP: "SIGHUP",
             _signal.SIGQUIT: "SIGQUIT", _signal.SIGXCPU: "SIGXCPU"}

    def stop_at_once(signum, frame):
        try:
            os.write(2, f"\nstylize.py: stopped ({names[signum]}) while starting; nothing was "
                        "written\n".encode())
        finally:
            os._exit(128 + signum)

    for number in names:
        _signal.signal(number, stop_at_once)
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)   # past ulimit -f, a write fails, not the run
    from vgg.console import guard_standard_fds
    guard_standard_fds()            # a closed 0/1/2 gets the null device before any file opens

# The imports come after the handlers on purpose: NumPy takes a moment to load.
import sys  # noqa: E402
import warnings

from minigrad.backend import BackendUnavailable, backend_module
from vgg.cli import (Refusal, build_parser, check_arguments, configure_demo, plan_outputs,
                     print_layers, write_demo_style)
from vgg.console import SafeStream, Signals, Stop
from vgg.files import PlanError, SaveError
from vgg.images import ImageError, open_image
from vgg.memory import available_memory, plan_memory
from vgg.model import VGG19
from vgg.run import INITS, NonFinite, Stylization, canvas_shapes, engine_for, style_shapes
from vgg.weights import WeightsError


def warn(message):
    print(f"stylize.py: warning: {message}", file=sys.stderr)


def main(argv=None):
    stderr = sys.stderr
    sys.stderr = SafeStream(stderr)             # a closed stderr never stops the run
    try:
        args = build_parser().parse_args(argv)
        if args.list_layers:
            print_layers()
            return 0
        # As a program, the signals are ignored once main() has said how the run ended, so
        # that a late Ctrl-C can't kill Python's shutdown; as a function, they are given back.
        with Signals(then_ignore=__name__ == "__main__") as signals, warnings.catch_warnings():
            warnings.showwarning = lambda message, category, *rest, **kw: \
                warn(f"{category.__name__}: {message}")          # a library's warning: one line
            try:
                demo_style = configure_demo(args, sys.argv[1:] if argv is None else argv) \
                    if args.demo else None
                settings = check_arguments(args, pending=[demo_style] if demo_style else [])
                outputs = plan_outputs(args, signals, warn)
                if args.demo:
                    write_demo_style(args, demo_style)      # every option checked: now write
                if args.serve is not None:
                    return run_served(args, settings, outputs, signals)
                return run(args, settings, outputs, signals)
            except Refusal as e:
                print(f"stylize.py: error: {e}", file=sys.stderr)
                return e.status
            except Stop as stop:
                print(f"\nstylize.py: {stop.said} before the run started; nothing was written",
                      file=sys.stderr)
                return stop.status
    finally:
        sys.stderr = stderr


def run_served(args, settings, outputs, signals):
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
    print(f"stylize: watch it paint at {live.url}" + ("" if opened or args.no_browser else
          " (no desktop found: open it in a browser)"), file=sys.stderr)
    status = None
    try:
        status = run(args, settings, outputs, signals, live)
        return status
    finally:
        live.close(status, *(outputs.saved or (None, None)))


def run(args, settings, outputs, signals, live=None):
    """Claim the outputs, load, optimise, save; every way out keeps what the run has made.

    Once the work is over, or has been cut short, signals only wait: `signals.ending = True`
    comes first in each of those places, an attribute store, before which Python runs no
    signal handler (handlers run at calls and loops), so saving can never be interrupted."""
    say = (lambda *a: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    stylization = None
    try:
        try:
            outputs.claim()
        except PlanError as e:
            raise Refusal(str(e))
        stylization = prepare(args, settings, say)
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
    return save_and_report(settings, stylization, outputs, signals, history, say)


def salvage(error, stylization, outputs, signals):
    """A run that did not finish: keep the image it has made (if it made one), say so in one
    line, and return the exit status (after a bug, its traceback follows instead)."""
    made = stylization is not None and stylization.steps > 0
    image, which, status, message = (stylization.x if made else None), "current", 1, None
    if isinstance(error, Stop):
        status = error.status
        message = (f"\nstylize.py: {error.said} after {stylization.evals} evaluations" if made else
                   f"\nstylize.py: {error.said} before the first step; nothing was written")
    elif isinstance(error, NonFinite):
        image, which, message = error.last_good, "last good", f"stylize.py: error: {error}"
    elif isinstance(error, MemoryError):
        message = "stylize.py: error: out of memory; try a smaller --size, --style-scale or --history"
    elif made:                                  # a bug, after some steps
        message = "stylize.py: error: the run failed"
    if image is None:
        outputs.release()
    else:
        message += kept(which, finish(outputs, stylization.image(image), signals))
    if message:
        print(message, file=sys.stderr)
    if not isinstance(error, (Stop, NonFinite, MemoryError)):
        raise error
    return status


def save_and_report(settings, stylization, outputs, signals, history, say):
    """The finished run: the result, the --plot curves, the summary; the exit status."""
    path = finish(outputs, stylization.image(), signals)
    if path is None:
        return 1
    curves = outputs.save_plot(history, {"content": settings.content_weight,
                                         "style": settings.style_weight, "tv": settings.tv_weight})
    if curves:
        say(f"loss curves -> {curves}")
    seconds = history[-1]["seconds"] if history else 0.0
    t = stylization.terms
    say(f"done: {stylization.steps} steps, {stylization.evals} evaluations in {seconds:.1f} s "
        f"({seconds / max(1, stylization.evals):.2f} s/evaluation), "
        f"final loss {stylization.loss:.4g} (content {t.get('content', 0):.4g}, "
        f"style {t.get('style', 0):.4g}, tv {t.get('tv', 0):.4g}) -> {path}")
    if signals.held or signals.received:     # Ctrl-C or SIGTERM came while the result was saved
        stop = Stop(signals.held or signals.received)
        print(f"stylize.py: {stop.said} while saving; the finished result is in {path}",
              file=sys.stderr)
        return stop.status
    return 0 if path == outputs.output else 1


def prepare(args, settings, say):
    """Load the images and the network (fetching its weights on first use); the run, ready."""
    try:
        backend_module(settings.backend)                     # CuPy and a GPU, if asked for
    except BackendUnavailable as e:
        raise Refusal(str(e))
    content = load_rgb(args.content) if settings.mode != "style" else None
    styles = [load_rgb(p) for p in args.style] if settings.mode != "content" else []
    init = load_rgb(args.init) if args.init not in INITS else None
    shapes = canvas_shapes(settings, content, styles, warn)
    check_memory(settings, shapes, styles)
    engine = engine_for(settings.engine, settings.backend, lambda m: say(f"stylize: {m}"))
    try:
        model = VGG19.load(args.weights, settings.pooling, engine).to(settings.backend)
    except WeightsError as e:
        raise Refusal(str(e))
    say(opening_line(settings, shapes, args.init if init else settings.init))
    return Stylization(model, settings, content, styles, init, shapes=shapes)


def opening_line(s, shapes, init):
    """What the run will do, in one line: the size, the machine, every setting."""
    h, w = shapes[-1]
    return (f"stylize: {s.mode} at {w}x{h}"
            + (f" ({s.scales} scales: {', '.join(f'{b}x{a}' for a, b in shapes)})" if s.scales > 1 else "")
            + f", backend {s.backend} ({s.engine} engine), {s.optimizer} (lr {s.lr:g}"
            + (f", history {s.history}, line search {s.line_search}" if s.optimizer == "lbfgs" else "")
            + f"), {s.iters} evaluations"
            + (" per scale" if s.scales > 1 else "")
            + f", alpha {s.content_weight:g}, beta {s.style_weight:g}, tv {s.tv_weight:g}, "
            f"normalization {s.normalization}, pooling {s.pooling}, init {init}, "
            f"seed {s.seed}" + (f", preserve colors {s.preserve_colors}" if s.preserve_colors else ""))


def follow(args, stylization, outputs, signals, live=None):
    """Drive the run: a progress bar, the log, the --save-every snapshots and the --serve page;
    the loss history."""
    from tqdm import tqdm
    s = stylization.settings
    history = []
    bar = tqdm(total=s.iters * s.scales, desc="stylize", unit="eval", disable=args.quiet,
               file=sys.stderr, dynamic_ncols=True)
    with bar:
        for r in stylization.reports():
            signals.check()                                  # a Ctrl-C the collector swallowed
            t = r.terms
            entry = {"iter": r.step, "evals": r.evals, "loss": r.loss, "content": t["content"],
                     "style": t["style"], "tv": t["tv"], "seconds": round(r.seconds, 4)}
            history.append(entry)
            if s.scales > 1:
                bar.set_description(f"scale {r.scale + 1}/{s.scales}", refresh=False)
            bar.set_postfix_str(f"step {r.step} loss {r.loss:.3e} content {t['content']:.2e} "
                                f"style {t['style']:.2e} tv {t['tv']:.2e}", refresh=False)
            bar.update(r.new_evals)
            outputs.log_step(entry)
            if args.save_every:
                outputs.snapshot(stylization.image(r.image), r.evals - r.new_evals, r.evals)
            if live:
                live.report(r, stylization)                  # a snapshot; never waits on the page
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
        print(f"stylize.py: error: {e}", file=sys.stderr)
        return None
    finally:
        outputs.release()
    if why:
        print(f"stylize.py: error: could not write {outputs.output} ({why}); "
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


if __name__ == "__main__":
    sys.exit(main())
