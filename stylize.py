"""Paint a photo in the style of a painting: Gatys, Ecker and Bethge, CVPR 2016.

    python stylize.py --content photo.jpg --style painting.jpg --output out.png
    python stylize.py --mode content --content photo.jpg --content-layers conv2_2 -o rebuilt.png
    python stylize.py --mode style --style painting.jpg --size 256 -o texture.png
    python stylize.py --demo

This file is the command line: the options, the checks, the messages and the
files. Reads top to bottom: check the options, load the network and the images,
hand them to the run (vgg/run.py: capture the targets with vgg/transfer.py,
optimise `loss, grad = f(x)` with L-BFGS or Adam from minigrad/optim.py), follow
its reports with a progress bar, a log and snapshots, save. Nothing is ever lost:
images are written to a temporary file and renamed, an existing file is not
overwritten without --overwrite (an input image never), Ctrl-C saves the
current image, and a NaN stops the run keeping the last good image.
Every refusal is one message on stderr: exit 2 for bad arguments, 1 for a
failed run, 130 for Ctrl-C.
"""

import os
import signal
import sys

if __name__ == "__main__":
    # From the first line: Ctrl-C or SIGTERM while Python is still importing NumPy and
    # friends ends the program at once, in one line, with nothing written (main() then
    # installs vgg/console.py's Signals, which save what the run has made).
    def stop_at_once(signum, frame):
        try:
            os.write(2, f"\nstylize.py: stopped ({signal.Signals(signum).name}) while starting; "
                        "nothing was written\n".encode())
        except OSError:
            pass
        os._exit(128 + signum)

    signal.signal(signal.SIGINT, stop_at_once)
    signal.signal(signal.SIGTERM, stop_at_once)
    from vgg.console import guard_standard_fds
    guard_standard_fds()            # a closed 0/1/2 gets the null device before any file opens

# The imports come after the handlers on purpose: NumPy takes a moment to load.
import argparse
import dataclasses
import math
import warnings
from pathlib import Path

from minigrad.backend import BACKENDS, BackendUnavailable, backend_module
from minigrad.engines import ENGINES
from vgg import images
from vgg.console import SafeStream, Signals, Stop
from vgg.files import PlanError, SaveError
from vgg.images import ImageError
from vgg.memory import available_memory, plan_memory
from vgg.layout import LAYER_NAMES, min_input_size
from vgg.model import VGG19
from vgg.outputs import Outputs
from vgg.run import (INITS, LINE_SEARCH, MODES, WEIGHTS, NonFinite, Settings, Stylization,
                     canvas_shapes, engine_for, style_shapes)
from vgg.transfer import CONTENT_LAYERS, NORMALIZATIONS, STYLE_LAYERS
from vgg.weights import DEFAULT_PATH as DEFAULT_WEIGHTS
from vgg.weights import WeightsError

DEFAULTS = {f.name: f.default for f in dataclasses.fields(Settings)
            if f.default is not dataclasses.MISSING}                 # vgg/run.py's Settings


class Refusal(Exception):
    """A clear message for the user and the exit status to leave with."""

    def __init__(self, message, status=2):
        super().__init__(message)
        self.status = status


# ----------------------------------------------------------------------------- options

def positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def port_number(text):
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 0..65535, got {text}")
    return value


def nonnegative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text}")
    return value


def nonnegative_float(text):
    value = float(text)
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def positive_float(text):
    value = nonnegative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def weight_list(text):
    try:
        weights = [float(w) for w in text.split(",") if w.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated numbers, got {text}")
    if not weights or any(not (w >= 0) or math.isinf(w) for w in weights) or \
            not 0 < sum(weights) < math.inf:
        raise argparse.ArgumentTypeError(f"must be finite numbers >= 0, not all zero, with a "
                                         f"finite sum, got {text}")
    return weights


def layer_list(text):
    layers = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in layers if name not in LAYER_NAMES]
    if unknown or not layers:
        raise argparse.ArgumentTypeError(
            f"unknown layer name(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(LAYER_NAMES)}")
    return layers


class Parser(argparse.ArgumentParser):
    def error(self, message):                       # one line, exit status 2
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser():
    p = Parser(prog="stylize.py", description=__doc__.split("\n\n")[0],
               formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    g = p.add_argument_group("basic")
    g.add_argument("--content", metavar="PATH", help="the photo (not needed with --mode style)")
    g.add_argument("--style", metavar="PATH", nargs="+", help="one or more paintings "
                   "(not needed with --mode content)")
    g.add_argument("--output", "-o", metavar="PATH", help="where to write the result (.png, .jpg, ...)")
    g.add_argument("--size", type=positive_int, default=DEFAULTS["size"],
                   help="longest side of the result in pixels")
    g.add_argument("--iters", type=positive_int, default=DEFAULTS["iters"],
                   help="evaluations of the loss and its gradient, the budget (per scale with "
                        "--scales); an L-BFGS step with a line search may take several")
    g.add_argument("--content-weight", type=nonnegative_float, default=None,
                   help=f"alpha of eq. 7 (default: {WEIGHTS['relative']['alpha']:g} relative; "
                        "paper: 1e-2 * (256 / size)^2, see default_alpha)")
    g.add_argument("--style-weight", type=nonnegative_float, default=None,
                   help="beta of eq. 7 (default: 1)")
    g.add_argument("--tv-weight", type=nonnegative_float, default=None,
                   help=f"total-variation smoothing (default: {WEIGHTS['relative']['tv']:g} relative, "
                        "1e-3 paper; 0 = the paper)")
    g.add_argument("--normalization", choices=NORMALIZATIONS, default=DEFAULTS["normalization"],
                   help="relative: each loss term divided by its target's size, so the weights mean "
                        "the same for any painting and size; paper: eqs. 1, 4, 5 as written")
    g.add_argument("--content-layers", type=layer_list, default=CONTENT_LAYERS,
                   help="comma-separated, e.g. conv4_2")
    g.add_argument("--style-layers", type=layer_list, default=STYLE_LAYERS,
                   help="comma-separated (--list-layers prints the names)")
    g.add_argument("--content-layer-weights", type=weight_list, metavar="W,...",
                   help="one relative weight per content layer (normalised to sum to 1; default equal)")
    g.add_argument("--style-layer-weights", type=weight_list, metavar="W,...",
                   help="the paper's w_l, one per style layer (normalised to sum to 1; default equal)")
    g.add_argument("--pooling", choices=["max", "avg"], default="max",
                   help="VGG's pooling (the paper found avg slightly more appealing)")
    g.add_argument("--mode", choices=MODES, default=DEFAULTS["mode"],
                   help="transfer: eq. 7; content: rebuild the photo from --content-layers "
                        "alone (Fig. 1); style: synthesise the painting's texture alone")
    g = p.add_argument_group("optimisation")
    g.add_argument("--optimizer", choices=["lbfgs", "adam"], default="lbfgs")
    g.add_argument("--lr", type=positive_float, default=None,
                   help="step size (default: 1 for L-BFGS, 10 for Adam, in pixel units)")
    g.add_argument("--history", type=positive_int, default=DEFAULTS["history"],
                   help="L-BFGS memory (pairs of image-sized arrays)")
    g.add_argument("--line-search", choices=list(LINE_SEARCH), default=DEFAULTS["line_search"],
                   help="L-BFGS step length: strong-wolfe searches along each direction; "
                        "none takes the fixed step lr (torch's default)")
    g.add_argument("--init", default="content", metavar="noise|content|style|PATH",
                   help="starting image (the paper: noise); --mode content and style start from noise")
    g.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the noise (runs are reproducible)")
    g = p.add_argument_group("style controls")
    g.add_argument("--style-blend", type=nonnegative_float, nargs="+", metavar="W",
                   help="one weight per --style image (normalised to sum to 1)")
    g.add_argument("--style-scale", type=positive_float, default=1.0,
                   help="size of the style images relative to --size (bigger = larger brush strokes)")
    g.add_argument("--preserve-colors", nargs="?", const="luminance", choices=["luminance", "histogram"],
                   help="keep the photo's colours (Gatys et al., 'Preserving Color in Neural Artistic "
                        "Style Transfer'): luminance (the default when given alone) transfers on "
                        "luminance and puts the photo's colours back; histogram recolours the "
                        "paintings to the photo's colour statistics first")
    g.add_argument("--scales", type=positive_int, default=1,
                   help="coarse-to-fine: optimise at size/2^(N-1), upsample, ..., at --size")
    g = p.add_argument_group("output")
    g.add_argument("--save-every", type=positive_int, metavar="N",
                   help="also save the image every N evaluations, numbered, beside --output")
    g.add_argument("--log", metavar="PATH", help="one JSON object per step: iter (steps), "
                   "evals (evaluations), loss, content, style, tv, seconds (since the start)")
    g.add_argument("--plot", action="store_true",
                   help="also save the loss curves (content, style, TV, total) as OUT-loss.png")
    g.add_argument("--serve", type=port_number, nargs="?", const=8000, metavar="PORT",
                   help="watch it paint: a live page of the run at http://127.0.0.1:PORT/ "
                        "(PORT 8000 if not given, 0 for any free one; vgg/serve.py)")
    g.add_argument("--no-browser", action="store_true",
                   help="with --serve: only print the page's address, open no browser")
    g.add_argument("--quiet", action="store_true", help="no progress bar, only errors")
    g.add_argument("--overwrite", action="store_true", help="allow replacing an existing output file")
    g = p.add_argument_group("machine")
    g.add_argument("--backend", choices=BACKENDS, default="numpy",
                   help="numpy (CPU) or cupy (NVIDIA GPU)")
    g.add_argument("--engine", choices=ENGINES, default="fast",
                   help="fast (minigrad/fast/), or reference (minigrad/reference.py: "
                        "the code to read; the same result, slower)")
    g.add_argument("--weights", metavar="PATH",
                   help="VGG-19 weights: this project's .h5, or Keras' "
                        "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 "
                        "(default: weights/vgg19.h5, fetched on first use)")
    g.add_argument("--demo", action="store_true",
                   help="a small, quick run on a photo matplotlib ships and a style painted here")
    g.add_argument("--list-layers", action="store_true",
                   help="print VGG-19's layer names (for --content-layers, --style-layers) and exit")
    return p


# ----------------------------------------------------------------------------- checks

def check_arguments(args):
    """Refuse what cannot work before anything is loaded or written."""
    if args.mode != "style" and not args.content:
        raise Refusal(f"--mode {args.mode} needs --content")
    if args.mode != "content" and not args.style:
        raise Refusal(f"--mode {args.mode} needs --style")
    if not args.output:
        raise Refusal("--output is required")
    if args.style_blend and len(args.style_blend) != len(args.style or []):
        raise Refusal(f"--style-blend has {len(args.style_blend)} weights for "
                      f"{len(args.style or [])} style images")
    if args.preserve_colors and args.mode != "transfer":
        raise Refusal(f"--preserve-colors keeps the colours of a photo painted in a style; "
                      f"--mode {args.mode} has no such pair")
    if args.style_blend and not 0 < sum(args.style_blend) < math.inf:
        raise Refusal("--style-blend weights must not be all zero, and their sum must be finite")
    if args.init not in INITS and not Path(args.init).is_file():
        raise Refusal(f"--init: {args.init}: no such image file (or use noise, content, style)")
    for option, layers, given in [("--content-layer-weights", args.content_layers, args.content_layer_weights),
                                  ("--style-layer-weights", args.style_layers, args.style_layer_weights)]:
        if given is not None and len(given) != len(layers):
            raise Refusal(f"{option} has {len(given)} weights for {len(layers)} layers "
                          f"({', '.join(layers)})")
    settings = settings_of(args)
    deepest = settings.deepest()
    smallest = args.size // 2 ** (args.scales - 1)
    if smallest < min_input_size(deepest):
        raise Refusal(f"--size {args.size} with --scales {args.scales} is too small for "
                      f"{deepest}: its smallest scale must be at least "
                      f"{min_input_size(deepest)} pixels")
    if args.weights and Path(args.weights).is_dir():
        raise Refusal(f"--weights {args.weights} is a folder; give the .h5 file")
    if args.weights and not Path(args.weights).exists():
        raise Refusal(f"--weights {args.weights}: no such file (without --weights, "
                      "weights/vgg19.h5 is fetched on first use)")
    return settings


def settings_of(args):
    """The run's Settings (vgg/run.py) from the parsed options of the same names."""
    names = [f.name for f in dataclasses.fields(Settings)]
    init = args.init if args.init in INITS else "content"      # a file: passed as an image
    return Settings(**{**{n: getattr(args, n) for n in names}, "init": init})


def inputs_of(args):
    """Every file the run reads: no file it writes may be one of them."""
    paths = ([args.content] if args.content and args.mode != "style" else []) + \
            (args.style if args.style and args.mode != "content" else [])
    if args.init not in INITS:
        paths.append(args.init)
    return paths + [args.weights or DEFAULT_WEIGHTS]


def plan_outputs(args, signals=None):
    """vgg/outputs.py's plan of every file the run writes, checked now; Refusal if it can't work."""
    if Path(args.output).suffix.lower() not in images.SAVE_FORMATS:
        raise Refusal(f"--output {args.output}: unknown image extension; use one of "
                      f"{', '.join(sorted(images.SAVE_FORMATS))}")
    try:
        return Outputs(args.output, inputs_of(args), args.save_every, args.iters * args.scales,
                       args.plot, args.log, args.overwrite, signals, warn)
    except PlanError as e:
        raise Refusal(str(e))


# ----------------------------------------------------------------------------- images

def load_rgb(path):
    try:
        return images.open_image(path)
    except ImageError as e:
        raise Refusal(str(e))


def warn(message):
    print(f"stylize.py: warning: {message}", file=sys.stderr)


# ----------------------------------------------------------------------------- the run

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
                if args.demo:
                    configure_demo(args, sys.argv[1:] if argv is None else argv)
                settings = check_arguments(args)
                outputs = plan_outputs(args, signals)
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


def print_layers():
    """VGG-19's layers in order, with their channels and size relative to the image."""
    from vgg.layout import CONV_SHAPES
    channels = 3
    for name in LAYER_NAMES:
        channels = CONV_SHAPES[name][0] if name in CONV_SHAPES else channels   # a pool keeps them
        size = f"1/{min_input_size(name)}" if min_input_size(name) > 1 else "1"
        mark = (" (content default)" if name in CONTENT_LAYERS else
                " (style default)" if name in STYLE_LAYERS else "")
        print(f"{name:<8} {channels:>4} channels, {size:>5} of the image's side{mark}")


def configure_demo(args, argv):
    """The Quick start: a 256 px, 100-iteration run on files that need no download."""
    from vgg.demo import demo_photo_path, render_style
    args.content = args.content or demo_photo_path()
    if not args.style:
        style_path = unused_name(Path("demo-style.png"))
        images.save_image(render_style(), style_path)
        args.style = [str(style_path)]
    args.output = args.output or str(unused_name(Path("demo-stylized.png")))
    given = {a.split("=")[0] for a in argv}
    if "--size" not in given:
        args.size = 256
    if "--iters" not in given:
        args.iters = 100
    print(f"demo: {args.content} in the style of {args.style[0]} "
          f"(full quality: python stylize.py --content {args.content} --style {args.style[0]} "
          f"--size 512 --iters 500 -o demo-512.png)", file=sys.stderr)


def unused_name(path):
    """path, or path-1, path-2, ... whichever does not exist yet."""
    n, candidate = 0, path
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def run_served(args, settings, outputs, signals):
    """--serve: bind the port before anything is loaded (a port in use is refused here), run
    with the live page (vgg/serve.py) watching, and close it with the run, however it ends."""
    from vgg.serve import LivePage
    shown = {"content": args.content, "style": args.style, **dataclasses.asdict(settings),
             "pooling": args.pooling, "engine": args.engine, "output": args.output}
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
    """Claim the outputs, load, optimise, save; every way out keeps what the run has made."""
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
    except Stop as stop:
        if stylization is None or stylization.steps == 0:
            outputs.release()
            print(f"\nstylize.py: {stop.said} before the first step; nothing was written",
                  file=sys.stderr)
            return stop.status
        print(f"\nstylize.py: {stop.said} after {stylization.evals} evaluations"
              + kept("current", finish(outputs, stylization.image(), signals)), file=sys.stderr)
        return stop.status
    except NonFinite as e:
        path = None
        if e.last_good is not None:
            path = finish(outputs, stylization.image(e.last_good), signals)
        else:
            outputs.release()
        print(f"stylize.py: error: {e}" + (kept("last good", path) if e.last_good is not None else ""),
              file=sys.stderr)
        return 1
    except Refusal:
        outputs.release()
        raise
    except MemoryError:
        note = ""
        if stylization is not None and stylization.steps:
            note = kept("current", finish(outputs, stylization.image(), signals))
        else:
            outputs.release()
        print("stylize.py: error: out of memory; try a smaller --size, --style-scale or --history"
              + note, file=sys.stderr)
        return 1
    except BaseException:                    # a bug: keep the image, then show the traceback
        if stylization is not None and stylization.steps:
            print("stylize.py: error: the run failed" +
                  kept("current", finish(outputs, stylization.image(), signals)), file=sys.stderr)
        else:
            outputs.release()
        raise
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
        backend_module(args.backend)                         # CuPy and a GPU, if asked for
    except BackendUnavailable as e:
        raise Refusal(str(e))
    content = load_rgb(args.content) if args.mode != "style" else None
    styles = [load_rgb(p) for p in args.style] if args.mode != "content" else []
    init = load_rgb(args.init) if args.init not in INITS else None
    shapes = canvas_shapes(settings, content, styles, warn)
    check_memory(args, settings, shapes, styles)
    try:
        model = VGG19.load(args.weights, pooling=args.pooling,
                           engine=engine_for(args.engine, args.backend,
                                             lambda m: say(f"stylize: {m}"))).to(args.backend)
    except WeightsError as e:
        raise Refusal(str(e))
    stylization = Stylization(model, settings, content, styles, init)
    s = settings
    h, w = shapes[-1]
    say(f"stylize: {s.mode} at {w}x{h}"
        + (f" ({s.scales} scales: {', '.join(f'{b}x{a}' for a, b in shapes)})" if s.scales > 1 else "")
        + f", backend {s.backend} ({args.engine} engine), {s.optimizer} (lr {s.lr:g}"
        + (f", history {s.history}, line search {s.line_search}" if s.optimizer == "lbfgs" else "")
        + f"), {s.iters} evaluations"
        + (" per scale" if s.scales > 1 else "")
        + f", alpha {s.content_weight:g}, beta {s.style_weight:g}, tv {s.tv_weight:g}, "
        f"normalization {s.normalization}, pooling {args.pooling}, init {args.init if init else s.init}, "
        f"seed {s.seed}" + (f", preserve colors {s.preserve_colors}" if s.preserve_colors else ""))
    return stylization


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


def kept(which, path):
    """The end of a message about a saved image: where it is, or that it couldn't be saved."""
    return (f"; the {which} image is saved in {path}" if path else
            f"; the {which} image could not be saved (see above)")


def finish(outputs, image, signals):
    """Save the result (signals wait meanwhile); its path, or None with one line if nowhere."""
    outputs.close()
    try:
        path, why = outputs.save_result(image)
    except SaveError as e:
        print(f"stylize.py: error: {e}", file=sys.stderr)
        return None
    if why:
        print(f"stylize.py: error: could not write {outputs.output} ({why}); "
              f"the result is saved in {path} instead", file=sys.stderr)
    return path


def check_memory(args, settings, shapes, styles):
    """Refuse a run that cannot fit, with the estimate and a setting that would."""
    have = available_memory(args.backend)
    need, suggestion = plan_memory(shapes[-1], style_shapes(settings, shapes[-1], styles),
                                   settings.layers_used(), settings.history, settings.optimizer,
                                   args.engine, have, settings.size, settings.style_scale)
    if suggestion:
        h, w = shapes[-1]
        raise Refusal(f"a {w}x{h} run needs about {need / 2**30:.1f} GiB but only "
                      f"{have / 2**30:.1f} GiB is free; try {suggestion}")


if __name__ == "__main__":
    sys.exit(main())
