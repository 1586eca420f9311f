"""stylize.py's command line: its options, their types, and the checks made before anything loads.

Every run option is a field of vgg.run.Settings, and the parser takes its default from
there, and its choices from the constants that define them, so a default lives in one
place. `--help` prints each default once, as it would be typed. The I/O options (the
files, the page, --quiet, --overwrite ...) are the command's own.

    args = build_parser().parse_args(argv)
    settings = check_arguments(args)          # Refusal (one line, exit status 2) if it can't work
    outputs = plan_outputs(args, signals)     # every file the run will write, checked now

Grouped as jcjohnson/neural-style groups its options: basic, optimisation, style
controls, output, machine.
"""
import argparse
import dataclasses
import math
from pathlib import Path

from minigrad.backend import BACKENDS
from minigrad.engines import ENGINES

from . import __version__, files, images
from .arg_types import (finite_float, fraction, layer_name, list_of, nonnegative_float,
                        nonnegative_int, port_number, positive_float, positive_int, weights_whole)
from .early import program_name
from .files import PlanError
from .layout import CONV_SHAPES, LAYER_NAMES, POOLINGS, min_input_size
from .orientation import PRECONDITIONS
from .outputs import Outputs
from .run import INITS, JITTER, LEARNING_RATES, LINE_SEARCH, MODES, TURNS, WEIGHTS, Settings
from .transfer import CONTENT_LAYERS, NORMALIZATIONS, STYLE_LAYERS
from .weights import DEFAULT_PATH as DEFAULT_WEIGHTS

DEFAULTS = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
            for f in dataclasses.fields(Settings)}


class Refusal(Exception):
    """A clear message for the user and the exit status to leave with."""

    def __init__(self, message, status=2):
        super().__init__(message)
        self.status = status


# ----------------------------------------------------------------------------- the parser

class Parser(argparse.ArgumentParser):
    def error(self, message):                       # one line, exit status 2
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class HelpFormatter(argparse.HelpFormatter):
    """Each default once, as typed: none where the help already gives it, or for an
    option that is off unless given; lists comma-separated."""

    def _get_help_string(self, action):
        text, default = action.help or "", action.default
        if "(default" in text or default is None or default is False \
                or default is argparse.SUPPRESS or not action.option_strings:
            return text
        if isinstance(default, (list, tuple)):
            default = ",".join(map(str, default))
        elif isinstance(default, float):
            default = f"{default:g}"
        return f"{text} (default: {default})"


def build_parser():
    """The options, grouped; defaults from vgg.run.Settings (an argparse declaration table)."""
    d, w = DEFAULTS, WEIGHTS["relative"]
    p = Parser(prog=program_name(), description="Paint a photo in the style of a painting: "
               "Gatys, Ecker and Bethge, CVPR 2016.", formatter_class=HelpFormatter,
               allow_abbrev=False)                  # --siz is an error, never --size
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    g = p.add_argument_group("basic")
    g.add_argument("--content", metavar="PATH", help="the photo (not needed with --mode style)")
    g.add_argument("--style", metavar="PATH", nargs="+", help="one or more paintings "
                   "(not needed with --mode content)")
    g.add_argument("--output", "-o", metavar="PATH", help="where to write the result (.png, .jpg, ...)")
    g.add_argument("--size", type=positive_int, default=d["size"],
                   help="longest side of the result in pixels")
    g.add_argument("--iters", type=positive_int, default=d["iters"],
                   help="evaluations of the loss and its gradient, the budget (per scale with "
                        "--scales); an L-BFGS step with a line search may take several")
    g.add_argument("--content-weight", type=nonnegative_float, default=d["content_weight"],
                   help=f"alpha of eq. 7 (default: {w['alpha']:g} relative; "
                        "paper: 1e-2 * (256 / size)^2)")
    g.add_argument("--style-weight", type=nonnegative_float, default=d["style_weight"],
                   help=f"beta of eq. 7 (default: {w['beta']:g})")
    g.add_argument("--tv-weight", type=nonnegative_float, default=d["tv_weight"],
                   help=f"total-variation smoothing (default: {w['tv']:g} relative, "
                        f"{WEIGHTS['paper']['tv']:g} paper, 0 with --mode content; 0 = the paper)")
    g.add_argument("--normalization", choices=NORMALIZATIONS, default=d["normalization"],
                   help="relative: each loss term divided by its target's size, so the weights mean "
                        "the same for any painting and size; paper: eqs. 1, 4, 5 as written")
    layers, weights = list_of(layer_name), list_of(nonnegative_float, weights_whole)
    g.add_argument("--content-layers", nargs="+", action=layers, metavar="LAYER",
                   default=d["content_layers"], help="separated by commas or spaces, e.g. conv4_2 "
                   "(relu4_2 and block4_conv2, other tools' names, are taken too)")
    g.add_argument("--style-layers", nargs="+", action=layers, metavar="LAYER",
                   default=d["style_layers"], help="as --content-layers (--list-layers prints them)")
    g.add_argument("--content-layer-weights", nargs="+", action=weights, metavar="W",
                   help="one relative weight per content layer (normalised to sum to 1; default equal)")
    g.add_argument("--style-layer-weights", nargs="+", action=weights, metavar="W",
                   help="the paper's w_l, one per style layer (normalised to sum to 1; default "
                        f"{','.join(f'{v:g}' for v in w['layers'])} on the default layers in transfer "
                        "mode with the relative normalisation; else equal)")
    g.add_argument("--pooling", choices=POOLINGS, default=d["pooling"],
                   help="VGG's pooling (the paper found avg slightly more appealing)")
    g.add_argument("--mode", choices=MODES, default=d["mode"],
                   help="transfer: eq. 7; content: rebuild the photo from --content-layers "
                        "alone (Fig. 1); style: synthesise the painting's texture alone")
    g = p.add_argument_group("optimisation")
    g.add_argument("--optimizer", choices=list(LEARNING_RATES), default=d["optimizer"],
                   help="lbfgs: L-BFGS, as the paper; adam: Adam")
    g.add_argument("--lr", type=positive_float, default=d["lr"],
                   help="step size (default: " + ", ".join(
                       f"{lr:g} for {name}" for name, lr in LEARNING_RATES.items()) + ", in pixel units)")
    g.add_argument("--history", type=positive_int, default=d["history"],
                   help="L-BFGS memory (pairs of image-sized arrays)")
    g.add_argument("--line-search", choices=list(LINE_SEARCH), default=d["line_search"],
                   help="L-BFGS step length: strong-wolfe searches along each direction; "
                        "none takes the fixed step lr (torch's default)")
    g.add_argument("--precondition", choices=PRECONDITIONS, default=d["precondition"],
                   help="L-BFGS's first guess at the inverse Hessian: orientation damps the fine "
                        "patterns VGG's conv1_1 favours along the pixel grid's axes, so no mesh of "
                        "thin lines grows (vgg/orientation.py); none: the textbook's gamma I "
                        "(default: orientation in transfer mode with lbfgs, else none)")
    g.add_argument("--init", default=d["init"], metavar="|".join(INITS) + "|PATH",
                   help="starting image (the paper: noise); --mode content and style start from noise")
    g.add_argument("--seed", type=nonnegative_int, default=d["seed"],
                   help="seed of the noise and of the jitter's shifts (runs are reproducible)")
    g.add_argument("--jitter", type=nonnegative_int, default=d["jitter"], metavar="PX",
                   help=f"before each step VGG's pooling grid moves: the image is rolled by a "
                        f"random 0..PX pixels down and across, so no fine mesh can lock onto the "
                        f"grid (default: {JITTER}, 0 with --mode content; 0 = the paper)")
    g = p.add_argument_group("style controls")
    g.add_argument("--style-blend", nargs="+", action=list_of(nonnegative_float), metavar="W",
                   help="one weight per --style image (normalised to sum to 1)")
    g.add_argument("--style-scale", type=positive_float, default=d["style_scale"],
                   help="size of the style images' sides relative to the result's (1: as many "
                        "pixels as the result; bigger = larger brush strokes)")
    g.add_argument("--style-turns", nargs="+", action=list_of(finite_float), metavar="DEG",
                   default=d["style_turns"], help="copies of each painting turned by these "
                   "angles join it as style images, so its strokes come in a mix of directions "
                   f"(default: {','.join(f'{t:g}' for t in TURNS)}, none with --mode style)")
    g.add_argument("--style-turn-share", type=fraction, default=d["style_turn_share"],
                   metavar="S", help="the turned copies' weight, together, in each painting's "
                   "(0: no copies, the paper)")
    g.add_argument("--preserve-colors", nargs="?", const="luminance", choices=["luminance", "histogram"],
                   help="keep the photo's colours (Gatys et al., 'Preserving Color in Neural Artistic "
                        "Style Transfer'): luminance (the default when given alone) transfers on "
                        "luminance and puts the photo's colours back; histogram recolours the "
                        "paintings to the photo's colour statistics first")
    g.add_argument("--scales", type=positive_int, default=d["scales"],
                   help="coarse-to-fine: optimise at size/2^(N-1), upsample, ..., at --size")
    g = p.add_argument_group("output")
    g.add_argument("--save-every", type=positive_int, metavar="N",
                   help="also save the image every N evaluations, numbered, beside --output")
    g.add_argument("--log", metavar="PATH", help="one JSON object per step: iter (steps), "
                   "evals (evaluations), loss, content, style, tv (unweighted), content_weighted, "
                   "style_weighted, tv_weighted (the parts of loss), seconds (since the start)")
    g.add_argument("--plot", action="store_true",
                   help="also save the loss curves (content, style, TV, total) as OUT-loss.png")
    g.add_argument("--serve", type=port_number, nargs="?", const=8000, metavar="PORT",
                   help="watch it paint: a live page of the run at http://127.0.0.1:PORT/ "
                        "(PORT 8000 if not given, 0 for any free one; vgg/serve.py)")
    g.add_argument("--no-browser", action="store_true",
                   help="with --serve: only print the page's address, open no browser")
    g.add_argument("--quiet", action="store_true", help="print only errors: no opening line, "
                   "progress, warnings or summary (the --log still records every step)")
    g.add_argument("--overwrite", action="store_true", help="allow replacing an existing output file")
    g = p.add_argument_group("machine")
    g.add_argument("--backend", choices=BACKENDS, default=d["backend"],
                   help="numpy (CPU) or cupy (NVIDIA GPU)")
    g.add_argument("--engine", choices=ENGINES, default=d["engine"],
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

def check_arguments(args, pending=()):
    """Refuse what cannot work before anything is loaded or written; the run's Settings.
    `pending`: input paths the program itself writes before the run (the demo's style)."""
    if args.mode != "style" and not args.content:
        raise Refusal(f"--mode {args.mode} needs --content")
    if args.mode != "content" and not args.style:
        raise Refusal(f"--mode {args.mode} needs --style")
    if not args.output:
        raise Refusal("--output is required")
    if args.style_blend and len(args.style_blend) != len(args.style or []):
        raise Refusal(f"--style-blend has {len(args.style_blend)} weights for "
                      f"{len(args.style or [])} style images")
    if args.precondition == "orientation" and args.optimizer != "lbfgs":
        raise Refusal(f"--precondition orientation shapes L-BFGS's steps; --optimizer "
                      f"{args.optimizer} has no inverse Hessian to precondition (leave it out)")
    if args.preserve_colors and args.mode != "transfer":
        raise Refusal(f"--preserve-colors keeps the colours of a photo painted in a style; "
                      f"--mode {args.mode} has no such pair")
    if args.style_blend and not 0 < sum(args.style_blend) < math.inf:
        raise Refusal("--style-blend weights must not be all zero, and their sum must be finite")
    if args.init not in INITS and files.input_problem(args.init):
        raise Refusal(f"--init {args.init}: {files.input_problem(args.init)} (give an image, "
                      f"or one of {', '.join(INITS)})")
    for option, layers, given in [("--content-layer-weights", args.content_layers, args.content_layer_weights),
                                  ("--style-layer-weights", args.style_layers, args.style_layer_weights)]:
        if given is not None and len(given) != len(layers):
            raise Refusal(f"{option} has {len(given)} weights for {len(layers)} layers "
                          f"({', '.join(layers)})")
    settings = settings_of(args)
    if settings.coarsest() < settings.min_side():
        raise Refusal(f"--size {args.size} with --scales {args.scales} is too small for "
                      f"{settings.deepest()}: its smallest scale must be at least "
                      f"{settings.min_side()} pixels")
    check_inputs(args, pending)
    return settings


def check_inputs(args, pending=()):
    """Every file the run reads is a regular file it may read: refused here, in one line,
    before any is opened (a named pipe or a device would block or never end)."""
    named = [("--content", args.content)] if args.mode != "style" else []
    named += [("--style", p) for p in args.style or []] if args.mode != "content" else []
    weights = args.weights or (DEFAULT_WEIGHTS if DEFAULT_WEIGHTS.exists() else None)
    for option, path in named + ([("--weights", weights)] if weights else []):
        problem = None if path in [str(p) for p in pending] else files.input_problem(path)
        if problem:
            advice = {"--weights": " (without --weights, weights/vgg19.h5 is fetched on first "
                                   "use)"}.get(option, "")
            raise Refusal(f"{option} {path}: {problem}{advice}")


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


def plan_outputs(args, signals=None, warn=print):
    """vgg/outputs.py's plan of every file the run writes, checked now; Refusal if it can't work."""
    if Path(args.output).suffix.lower() not in images.SAVE_FORMATS:
        raise Refusal(f"--output {args.output}: unknown image extension; use one of "
                      f"{', '.join(sorted(images.SAVE_FORMATS))}")
    try:
        return Outputs(args.output, inputs_of(args), args.save_every, args.iters * args.scales,
                       args.plot, args.log, args.overwrite, signals, warn)
    except PlanError as e:
        raise Refusal(str(e))


# ----------------------------------------------------------------------------- options that act

def print_layers():
    """--list-layers: VGG-19's layers in order, with their channels and size relative to the image."""
    channels = 3
    for name in LAYER_NAMES:
        channels = CONV_SHAPES[name][0] if name in CONV_SHAPES else channels   # a pool keeps them
        size = f"1/{min_input_size(name)}" if min_input_size(name) > 1 else "1"
        mark = (" (content default)" if name in CONTENT_LAYERS else
                " (style default)" if name in STYLE_LAYERS else "")
        print(f"{name:<8} {channels:>4} channels, {size:>5} of the image's side{mark}")
