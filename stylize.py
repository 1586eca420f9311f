"""Paint a photo in the style of a painting: Gatys, Ecker and Bethge, CVPR 2016.

    python stylize.py --content photo.jpg --style painting.jpg --output out.png
    python stylize.py --mode content --content photo.jpg --content-layers conv2_2 -o rebuilt.png
    python stylize.py --mode style --style painting.jpg --size 256 -o texture.png
    python stylize.py --demo

Reads top to bottom: check the options, load the network and the images,
capture the targets (vgg/transfer.py), optimise `loss, grad = f(x)` with
L-BFGS or Adam (minigrad/optim.py), deprocess, save. Nothing is ever lost:
images are written to a temporary file and renamed, an existing file is not
overwritten without --overwrite (an input image never), Ctrl-C saves the
current image, and a NaN stops the run keeping the last good image.
Every refusal is one message on stderr: exit 2 for bad arguments, 1 for a
failed run, 130 for Ctrl-C.
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from minigrad.backend import BACKENDS, BackendUnavailable, backend_module, to_device
from minigrad.layers import ENGINES
from minigrad.optim import LBFGS, Adam
from vgg import images
from vgg.images import ImageError
from vgg.memory import available_memory, estimate_bytes
from vgg.model import LAYER_NAMES, VGG19, min_input_size
from vgg.transfer import (CONTENT_LAYERS, NORMALIZATIONS, STYLE_LAYERS, Objective, layer_weights,
                          resize_array)
from vgg.weights import WeightsError

# The weights of eq. 7 for each normalisation of the terms (vgg/transfer.py). "relative"'s
# were chosen by measurement on the pairs of benchmarks/look.py (README, "The defaults").
WEIGHTS = {"relative": dict(alpha=0.1, beta=1.0, tv=0.1),
           "paper": dict(alpha=None, beta=1.0, tv=1e-3)}   # alpha None: default_alpha(size)
DEFAULTS = dict(size=512, iters=500, normalization="relative",
                lr={"lbfgs": 1.0, "adam": 10.0}, history=100)
LINE_SEARCH = {"strong-wolfe": "strong_wolfe", "none": None}     # --line-search -> LBFGS


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
    if not weights or any(not (w >= 0) or math.isinf(w) for w in weights) or sum(weights) <= 0:
        raise argparse.ArgumentTypeError(f"must be finite numbers >= 0, not all zero, got {text}")
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
    g.add_argument("--mode", choices=["transfer", "content", "style"], default="transfer",
                   help="transfer: eq. 7; content: rebuild the photo from --content-layers "
                        "alone (Fig. 1); style: synthesise the painting's texture alone")
    g = p.add_argument_group("optimisation")
    g.add_argument("--optimizer", choices=["lbfgs", "adam"], default="lbfgs")
    g.add_argument("--lr", type=positive_float, default=None,
                   help="step size (default: 1 for L-BFGS, 10 for Adam, in pixel units)")
    g.add_argument("--history", type=positive_int, default=DEFAULTS["history"],
                   help="L-BFGS memory (pairs of image-sized arrays)")
    g.add_argument("--line-search", choices=["strong-wolfe", "none"], default="strong-wolfe",
                   help="L-BFGS step length: strong-wolfe searches along each direction; "
                        "none takes the fixed step lr (torch's default)")
    g.add_argument("--init", default="content", metavar="noise|content|style|PATH",
                   help="starting image (the paper: noise); --mode content and style start from noise")
    g.add_argument("--seed", type=int, default=0, help="seed of the noise (runs are reproducible)")
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

def default_alpha(size):
    """alpha = 1e-2 at 256 px, scaled by (256 / size)^2: the same balance at every size.

    The content loss (eq. 1) sums over the M_l pixels of a layer, so it grows with
    the image; the style loss (eq. 4) divides by M_l^2 what grows as M_l^2, so it
    does not. A fixed alpha/beta would let the photo swamp the style at 512 px.
    alpha/beta = 1e-2 at 256 px is the balance measured in ../shared/REFERENCE.md.
    """
    return 1e-2 * (256 / size) ** 2


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
    if args.style_blend and sum(args.style_blend) == 0:
        raise Refusal("--style-blend weights are all zero")
    if args.init not in ("noise", "content", "style") and not Path(args.init).is_file():
        raise Refusal(f"--init: {args.init}: no such image file (or use noise, content, style)")
    if args.mode == "style" and args.init == "content":
        args.init = "noise"
    if args.mode == "content" and args.init in ("content", "style"):
        args.init = "noise"
    weights = WEIGHTS[args.normalization]
    if args.content_weight is None:
        args.content_weight = weights["alpha"] if weights["alpha"] is not None else default_alpha(args.size)
    if args.style_weight is None:
        args.style_weight = weights["beta"]
    if args.tv_weight is None:
        args.tv_weight = weights["tv"]
    for option, layers, given in [("--content-layer-weights", args.content_layers, args.content_layer_weights),
                                  ("--style-layer-weights", args.style_layers, args.style_layer_weights)]:
        if given is not None and len(given) != len(layers):
            raise Refusal(f"{option} has {len(given)} weights for {len(layers)} layers "
                          f"({', '.join(layers)})")
    deepest = max(layers_used(args), key=LAYER_NAMES.index)
    smallest = args.size // 2 ** (args.scales - 1)
    if smallest < min_input_size(deepest):
        raise Refusal(f"--size {args.size} with --scales {args.scales} is too small for "
                      f"{deepest}: its smallest scale must be at least "
                      f"{min_input_size(deepest)} pixels")
    check_output(args)


def layers_used(args):
    return ((args.content_layers if args.mode != "style" else []) +
            (args.style_layers if args.mode != "content" else []))


def inputs_of(args):
    paths = ([args.content] if args.content and args.mode != "style" else []) + \
            (args.style if args.style and args.mode != "content" else [])
    if args.init not in ("noise", "content", "style"):
        paths.append(args.init)
    return paths


def check_output(args):
    out = Path(args.output)
    if out.suffix.lower() not in images.SAVE_FORMATS:
        raise Refusal(f"--output {out}: unknown image extension; use one of "
                      f"{', '.join(sorted(images.SAVE_FORMATS))}")
    if not out.resolve().parent.is_dir():
        raise Refusal(f"--output {out}: the folder {out.parent} does not exist")
    if out.is_dir():
        raise Refusal(f"--output {out} is a folder; give a file name")
    for path in inputs_of(args):
        if Path(path).exists() and out.exists() and os.path.samefile(path, out):
            raise Refusal(f"--output {out} is one of the input images; choose another name")
    planned = [out] + [numbered(out, i) for i in save_points(args)] + \
        ([plot_path(out)] if args.plot else [])
    existing = [str(p) for p in planned if p.exists()]
    if existing and not args.overwrite:
        raise Refusal(f"{existing[0]} already exists; choose another --output or add --overwrite")
    if args.log and Path(args.log).exists() and not args.overwrite:
        raise Refusal(f"--log {args.log} already exists; choose another name or add --overwrite")


def plot_path(out):
    """out.png -> out-loss.png: the loss curves of --plot."""
    out = Path(out)
    return out.with_name(f"{out.stem}-loss.png")


def save_points(args):
    total = args.iters * args.scales
    return range(args.save_every, total, args.save_every) if args.save_every else []


def numbered(out, i):
    """out.png -> out-0050.png: the intermediate image after i evaluations."""
    out = Path(out)
    return out.with_name(f"{out.stem}-{i:04d}{out.suffix}")


# ----------------------------------------------------------------------------- images

def load_rgb(path):
    try:
        return images.open_image(path)
    except ImageError as e:
        raise Refusal(str(e))


def canvas_shape(args, content_img, style_imgs, size):
    """(H, W) of the result at a given longest side."""
    base = content_img if content_img is not None else style_imgs[0]
    return images.longest_side_shape(base.size, size)                 # arithmetic, no resizing


def fit(img, shape, deepest):
    """The image resized to `shape`, upscaled (with a warning) if too small for `deepest`."""
    need = min_input_size(deepest)
    h, w = shape
    if min(h, w) < need:
        factor = need / min(h, w)
        h, w = max(need, round(h * factor)), max(need, round(w * factor))
        warn(f"the image is too small for {deepest}; upscaled to {w}x{h}")
    return images.resize_to(img, (h, w))


def fit_longest(img, size, deepest):
    """The image with its longest side at `size` (upscaled if too small for `deepest`)."""
    w, h = images.resize_longest(img, size).size
    return fit(img, (h, w), deepest)


def warn(message):
    print(f"stylize.py: warning: {message}", file=sys.stderr)


# ----------------------------------------------------------------------------- the run

def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.list_layers:
        print_layers()
        return 0
    try:
        if args.demo:
            configure_demo(args, sys.argv[1:] if argv is None else argv)
        check_arguments(args)
        return run(args)
    except Refusal as e:
        print(f"stylize.py: error: {e}", file=sys.stderr)
        return e.status


def print_layers():
    """VGG-19's layers in order, with their channels and size relative to the image."""
    from vgg.model import CONV_SHAPES
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


def run(args):
    say = (lambda *a: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    try:
        backend_module(args.backend)                         # CuPy and a GPU, if asked for
    except BackendUnavailable as e:
        raise Refusal(str(e))
    # Load the images, and the network (fetching its weights on first use).
    content_img = load_rgb(args.content) if args.mode != "style" else None
    style_imgs = [load_rgb(p) for p in args.style] if args.mode != "content" else []
    init_img = load_rgb(args.init) if args.init not in ("noise", "content", "style") else None
    colours = None                                  # the photo whose colours go back in at the end
    if args.preserve_colors == "luminance":
        colours, content_img = content_img, images.luminance_only(content_img)
        style_imgs = [images.recolor(images.luminance_only(s), content_img) for s in style_imgs]
    elif args.preserve_colors == "histogram":
        style_imgs = [images.recolor(s, content_img) for s in style_imgs]
    try:
        model = VGG19.load(args.weights, pooling=args.pooling, engine=args.engine).to(args.backend)
    except WeightsError as e:
        raise Refusal(str(e))
    deepest = max(layers_used(args), key=LAYER_NAMES.index)
    sizes = [max(1, args.size // 2 ** (args.scales - 1 - k)) for k in range(args.scales)]
    shapes = [canvas_shape(args, content_img, style_imgs, s) for s in sizes]
    check_memory(args, shapes[-1])
    optimizer = args.optimizer
    lr = args.lr or DEFAULTS["lr"][optimizer]
    h, w = shapes[-1]
    say(f"stylize: {args.mode} at {w}x{h}"
        + (f" ({args.scales} scales: {', '.join(f'{b}x{a}' for a, b in shapes)})" if args.scales > 1 else "")
        + f", backend {args.backend} ({args.engine} engine), {optimizer} (lr {lr:g}"
        + (f", history {args.history}, line search {args.line_search}" if optimizer == "lbfgs" else "")
        + f"), {args.iters} evaluations"
        + (" per scale" if args.scales > 1 else "")
        + f", alpha {args.content_weight:g}, beta {args.style_weight:g}, tv {args.tv_weight:g}, "
        f"normalization {args.normalization}, pooling {args.pooling}, init {args.init}, seed {args.seed}"
        + (f", preserve colors {args.preserve_colors}" if args.preserve_colors else ""))

    log = open(args.log, "w") if args.log else None
    state = {"it": 0, "evals": 0, "x": None, "good": None, "t0": time.perf_counter(), "terms": {},
             "loss": float("nan"), "history": [], "colours": colours}
    try:
        for k, shape in enumerate(shapes):
            content = (to_device(images.preprocess(fit(content_img, shape, deepest)), args.backend)
                       if content_img is not None else None)
            shape = content.shape[2:] if content is not None else fit_shape(shape, deepest)
            style_size = max(1, round(max(shape) * args.style_scale))   # --style-scale
            styles = [to_device(images.preprocess(fit_longest(s, style_size, deepest)), args.backend)
                      for s in style_imgs]
            objective = Objective(model, (1, 3) + tuple(shape), content, styles, args.style_blend,
                                  args.content_layers, args.style_layers,
                                  args.content_weight if args.mode != "style" else 0.0,
                                  args.style_weight if args.mode != "content" else 0.0,
                                  args.tv_weight, args.normalization,
                                  args.content_layer_weights, args.style_layer_weights)
            if k == 0:
                x = start_image(args, shape, content, style_imgs, init_img)
            else:
                x = resize_array(state["x"], shape)              # coarse-to-fine: upsample
            state["x"] = x
            # The BLAS on one thread for the whole loop, the Gram matrices included: the engine
            # spreads the network over its own workers, and a multi-threaded BLAS beside them
            # spins on a busy machine (measured: a 256 px run 5x slower at load 10 on 2 cores).
            with np.errstate(over="ignore", invalid="ignore"), threadpool_limits(1, user_api="blas"):
                optimise(args, objective, x, lr, state, log, say, k, len(shapes))
    except KeyboardInterrupt:
        path = save_result(args, state["x"], colours)
        print(f"\nstylize.py: interrupted after {state['evals']} evaluations; "
              f"the current image is saved in {path}", file=sys.stderr)
        return 130
    except NonFinite as e:
        path = save_result(args, e.last_good, colours) \
            if e.last_good is not None else None
        print(f"stylize.py: error: {e}" + (f"; the last good image is saved in {path}" if path else ""),
              file=sys.stderr)
        return 1
    finally:
        if log:
            log.close()
    path = save_result(args, state["x"], colours)
    if args.plot:
        say(f"loss curves -> {plot_losses(state['history'], args)}")
    seconds = time.perf_counter() - state["t0"]
    t = state["terms"]
    say(f"done: {state['it']} steps, {state['evals']} evaluations in {seconds:.1f} s "
        f"({seconds / max(1, state['evals']):.2f} s/evaluation), "
        f"final loss {state['loss']:.4g} (content {t.get('content', 0):.4g}, style {t.get('style', 0):.4g}, "
        f"tv {t.get('tv', 0):.4g}) -> {path}")
    return 0


class NonFinite(Exception):
    def __init__(self, message, last_good):
        super().__init__(message)
        self.last_good = last_good


def optimise(args, objective, x, lr, state, log, say, scale, n_scales):
    """The loop: steps until --iters evaluations of f are spent; report; save every N; stop on NaN."""
    from tqdm import tqdm
    opt = LBFGS(x, lr=lr, history=args.history, line_search=LINE_SEARCH[args.line_search]) \
        if args.optimizer == "lbfgs" else Adam(x, lr=lr)
    seen = []                                                # (image, loss terms) of each call

    def f(image):
        loss, grad = objective(image)
        seen.append((image, objective.terms))
        return loss, grad

    desc = f"scale {scale + 1}/{n_scales}" if n_scales > 1 else "stylize"
    bar = tqdm(total=args.iters, desc=desc, unit="eval", disable=args.quiet, file=sys.stderr,
               dynamic_ncols=True)
    t = {}
    with bar:
        while opt.n_evals < args.iters:
            seen.clear()
            loss = opt.step(f, max_evals=args.iters - opt.n_evals)   # the loss at opt.loss_x
            if not seen:
                break                                        # a zero gradient: nothing to do
            if not math.isfinite(loss):
                raise NonFinite(f"the loss became {loss} at step {state['it'] + 1} "
                                "(try a smaller --lr or --style-weight)", state["good"])
            t = next((terms for image, terms in seen if image is opt.loss_x), t)   # its terms
            state["it"] += 1
            state["evals"] += len(seen)
            state["good"] = opt.loss_x                       # the last image with a finite loss
            state["x"], state["loss"], state["terms"] = opt.x, loss, t
            state["history"].append({"iter": state["it"], "evals": state["evals"], "loss": loss, **t})
            bar.set_postfix_str(f"step {opt.n_steps} loss {loss:.3e} content {t['content']:.2e} "
                                f"style {t['style']:.2e} tv {t['tv']:.2e}", refresh=False)
            bar.update(len(seen))
            if log:
                log.write(json.dumps({"iter": state["it"], "evals": state["evals"], "loss": loss,
                                      "content": t["content"], "style": t["style"], "tv": t["tv"],
                                      "seconds": round(time.perf_counter() - state["t0"], 4)}) + "\n")
                log.flush()
            if args.save_every:                              # each multiple of N passed in this step
                n = args.save_every
                for mark in range((state["evals"] - len(seen)) // n + 1, state["evals"] // n + 1):
                    if mark * n < args.iters * n_scales:
                        save_result(args, opt.loss_x, state["colours"], numbered(args.output, mark * n))


def start_image(args, shape, content, style_imgs, init_img):
    """The first x: white noise (the paper), the content or style image, or a given image."""
    if args.init == "content":
        return content.copy()
    if args.init == "style":
        return to_device(images.preprocess(images.resize_to(style_imgs[0], shape)), args.backend)
    if args.init == "noise":
        # White noise of unit variance in Caffe space, i.e. a mean-grey image with faint
        # grain; drawn on the host so a seed gives the same start on any backend.
        rng = np.random.default_rng(args.seed)
        noise = rng.standard_normal((1, 3) + tuple(shape)).astype(np.float32)   # (1, 3, H, W)
        return to_device(noise, args.backend)
    return to_device(images.preprocess(images.resize_to(init_img, shape)), args.backend)


def fit_shape(shape, deepest):
    need = min_input_size(deepest)
    return tuple(max(need, s) for s in shape)


def save_result(args, x, original_content, path=None):
    """Write x (Caffe space) as an image, with the photo's colours if --preserve-colors."""
    from PIL import Image
    path = Path(path or args.output)
    img = images.deprocess(x)
    if original_content is not None:
        colour = np.asarray(images.resize_to(original_content, img.size[::-1]), np.float32)
        rgb = images.luminance_transfer(np.asarray(img, np.float32), colour)   # (H, W, 3)
        img = Image.fromarray(np.round(rgb).astype(np.uint8))
    images.save_image(img, path)
    return path


def plot_losses(history, args):
    """The weighted loss terms against the evaluations, on a log scale, as OUT-loss.png."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    it = [h["evals"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for key, weight, label, look in [("content", args.content_weight, "alpha * content", "-"),
                                     ("style", args.style_weight, "beta * style", "-"),
                                     ("tv", args.tv_weight, "tv * TV", "-"),
                                     ("loss", 1.0, "total", "k--")]:
        values = [weight * h[key] for h in history]
        if any(v > 0 for v in values):
            ax.plot(it, values, look, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("evaluations of the loss")
    ax.set_ylabel("loss (eq. 7, weighted terms)")
    ax.legend()
    fig.tight_layout()
    path = plot_path(args.output)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.png")
    try:
        fig.savefig(tmp)
        os.replace(tmp, path)                                 # never a half-written file
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()
    return path


def check_memory(args, shape):
    """Refuse a run that cannot fit, with the estimate and a size that would."""
    taps = layers_used(args)
    need = estimate_bytes((1, 3) + tuple(shape), taps, args.history, args.optimizer, args.engine)
    have = available_memory(args.backend)
    if need > have:
        smaller = int(args.size * math.sqrt(have / need) * 0.9) // 16 * 16
        raise Refusal(f"a {shape[1]}x{shape[0]} run needs about {need / 2**30:.1f} GiB but only "
                      f"{have / 2**30:.1f} GiB is free; try --size {max(16, smaller)}"
                      + (" or a smaller --history" if args.optimizer == "lbfgs" else ""))


if __name__ == "__main__":
    sys.exit(main())
