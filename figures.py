"""Rebuild Figures 1 and 3 of Gatys, Ecker and Bethge (CVPR 2016) from your own images.

    python figures.py --content photo.jpg --style painting.jpg --which fig1 --size 128 --iters 200
    python figures.py --content photo.jpg --style painting.jpg --which fig3 --size 128 --iters 100

Figure 1 asks what each layer of VGG-19 remembers of an image. Top row: start
from white noise and match only the content features of ONE layer (eq. 1 at
conv1_2, conv2_2, conv3_2, conv4_2, conv5_2): shallow layers give the photo back
almost pixel for pixel, deep ones keep the arrangement and lose the detail. The
PSNR of each against the photo is printed. Bottom row: match only the Gram
matrices (eqs. 3-5) of a growing set of layers (conv1_1; conv1_1 and conv2_1;
... up to conv5_1): a texture whose structures grow with the set.

Figure 3 is the trade-off of eq. 7: rows use the style layers up to conv1_1,
conv2_1, ..., conv5_1; columns put more and more weight on the content
(alpha/beta = 1e-3 ... 1). Every cell starts from the same white noise.

The style row gets more iterations (--style-iters, 500) than the content row.
L-BFGS without a line search (this project's, like torch's) starts slowly on a
small, flat objective: its first step has an l1 length of 1, it keeps a
curvature pair only if y.s > 1e-10, and until it has one it takes plain
gradient steps. The style of conv1_1 alone, at 128 px from the grey noise,
stays near its starting value (6.9e5 -> 2.6e5) for 250 iterations, then
collects pairs and falls to 0.2 by iteration 500.

Each picture is one call of `reconstruct`: a run of vgg/run.py (the objective of
vgg/transfer.py optimised with minigrad's L-BFGS) with the settings of `stylize.py --mode content`
and `--mode style`: noise start, TV weight 0, lr 1, history 100. The figures
are written as labelled PNGs (Pillow's default font); the source images are not
copied into them.
"""

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from minigrad.backend import BACKENDS, backend_module
from minigrad.engines import ENGINES
from vgg import images
from vgg.model import VGG19, engine_for
from vgg.run import Settings, Stylization
from vgg.transfer import STYLE_LAYERS

FIG1_CONTENT_LAYERS = ["conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2"]
FIG1_STYLE_SETS = [STYLE_LAYERS[:k] for k in range(1, 6)]     # conv1_1; conv1_1, conv2_1; ...
FIG3_STYLE_SETS = FIG1_STYLE_SETS
FIG3_RATIOS = [1e-3, 1e-2, 1e-1, 1.0]                          # alpha / beta, with beta = 1


# ----------------------------------------------------------------------------- one picture

def canvas(content, size):
    """(H, W) of the result: the content image's shape at longest side `size`."""
    w, h = images.resize_longest(content, size).size
    return h, w


def reconstruct(model, content, styles, content_layers, style_layers, alpha, beta,
                iters, size, seed=0, backend="numpy"):
    """Optimise white noise for `iters` L-BFGS steps of eq. 7; return (x, stats).

    content: a PIL RGB image; styles: a list of PIL RGB images (may be empty).
    The canvas is the content image at longest side `size`, even when only style
    layers are matched; each style image is resized to the canvas's pixel count.
    The run is vgg/run.py's, on the paper's terms: white noise, no TV, no jitter, no
    turned copies of the painting, eqs. 1 and 4-5 as written, the textbook's L-BFGS
    (H_0 = gamma I: no --precondition) and the fixed step (no line search), with which the figures and timings in docs/figures.md were made
    (benchmarks/line_search.py measures what the line search does on these rows); one
    step is then one evaluation.
    x is the result in Caffe space, (1, 3, H, W) float32, on the backend's device;
    stats = {"seconds": ..., "content": L_content, "style": L_style} (the terms at
    the last evaluation, unweighted: alpha and beta not applied).
    """
    settings = Settings(mode="transfer", size=size, iters=iters, content_weight=alpha,
                        style_weight=beta, tv_weight=0.0, normalization="paper",
                        content_layers=content_layers, style_layers=style_layers,
                        init="noise", seed=seed, line_search="none", jitter=0, style_turns=[],
                        precondition="none", backend=backend)
    run = Stylization(model, settings, content, styles)
    seconds = 0.0
    for report in run.reports():
        seconds = report.seconds
    return run.x, {"seconds": seconds, **run.terms}


def psnr(a, b):
    """Peak signal-to-noise ratio in dB between two RGB images (PIL), peak 255."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mse = float(((a - b) ** 2).mean())
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


# ----------------------------------------------------------------------------- a labelled grid
# Layout (pixels): a title strip, a strip of column labels, then the rows, each a
# row label on the left and tiles with an optional caption strip beneath them.

GAP = 4            # between tiles and around the edge
LABEL_W = 100      # row labels
TITLE_H = 22       # the title
HEADER_H = 18      # column labels
CAPTION_H = 16     # a caption under each tile (when there are captions)
FONT_SIZE = 12


def grid_size(rows, cols, tile_w, tile_h, captions=False):
    """(width, height) of the PNG that make_grid draws."""
    width = LABEL_W + cols * tile_w + (cols + 1) * GAP
    height = TITLE_H + HEADER_H + rows * (tile_h + (CAPTION_H if captions else 0)) + (rows + 1) * GAP
    return width, height


def _font():
    try:
        return ImageFont.load_default(size=FONT_SIZE)      # Pillow >= 10.1, scalable
    except TypeError:
        return ImageFont.load_default()                     # older Pillow: the bitmap font


def make_grid(tiles, title, row_labels, col_labels=None, captions=None):
    """tiles: rows of PIL images, all one size -> one labelled PIL image (white background).

    row_labels: one string per row (may hold '\\n'); col_labels: one per column or None;
    captions: rows of strings (one under each tile) or None.
    """
    rows, cols = len(tiles), len(tiles[0])
    tw, th = tiles[0][0].size
    cap = CAPTION_H if captions else 0
    sheet = Image.new("RGB", grid_size(rows, cols, tw, th, bool(captions)), "white")
    draw, font = ImageDraw.Draw(sheet), _font()
    draw.text((GAP, 4), title, fill="black", font=font)
    x0 = LABEL_W + GAP
    for c, label in enumerate(col_labels or []):
        draw.text((x0 + c * (tw + GAP), TITLE_H + 2), label, fill="black", font=font)
    for r, row in enumerate(tiles):
        y = TITLE_H + HEADER_H + GAP + r * (th + cap + GAP)
        draw.multiline_text((GAP, y + 2), row_labels[r], fill="black", font=font, spacing=2)
        for c, tile in enumerate(row):
            x = x0 + c * (tw + GAP)
            sheet.paste(tile, (x, y))
            if captions:
                draw.text((x, y + th + 1), captions[r][c], fill="black", font=font)
    return sheet


def set_label(layers):
    """'conv1_1' or 'conv1_1 ..\\nconv3_1': the style layers a row uses."""
    return layers[0] if len(layers) == 1 else f"{layers[0]} ..\n{layers[-1]}"


# ----------------------------------------------------------------------------- the figures

def figure1(model, content, style, args, say):
    """Content reconstructions (with PSNR) above style reconstructions, as one PNG."""
    shape = canvas(content, args.size)
    reference = images.resize_to(content, shape)             # what PSNR compares against
    top, top_captions = [], []
    for layer in FIG1_CONTENT_LAYERS:                        # alpha 1, beta 0: --mode content
        x, stats = reconstruct(model, content, [], [layer], [], 1.0, 0.0,
                               args.iters, args.size, args.seed, args.backend)
        img = images.deprocess(x)
        db = psnr(img, reference)
        say(f"fig1 content {layer}: PSNR {db:.1f} dB  (L_content {stats['content']:.3g}; "
            + timing(args.iters, stats) + ")")
        top.append(img)
        top_captions.append(f"{layer}  {db:.1f} dB")
    bottom, bottom_captions = [], []
    for layers in FIG1_STYLE_SETS:                           # alpha 0: --mode style
        x, stats = reconstruct(model, content, [style], [], layers, 0.0, 1.0,
                               args.style_iters, args.size, args.seed, args.backend)
        say(f"fig1 style {layers[0]}..{layers[-1]}: L_style {stats['style']:.3g}  ("
            + timing(args.style_iters, stats) + ")")
        bottom.append(images.deprocess(x))
        bottom_captions.append(layers[-1] if len(layers) == 1 else f"..{layers[-1]}")
    return make_grid([top, bottom],
                     f"Figure 1: reconstructions from white noise, L-BFGS, {args.iters} iterations "
                     f"(content), {args.style_iters} (style)",
                     ["content\n(one layer)", "style\n(layers up to)"],
                     captions=[top_captions, bottom_captions])


def timing(iters, stats):
    return f"{iters} iterations, {stats['seconds']:.1f} s, {stats['seconds'] / iters:.2f} s/it"


def figure3(model, content, style, args, say):
    """Rows: style layers up to conv1_1 ... conv5_1; columns: alpha/beta; content at conv4_2."""
    tiles = []
    for layers in FIG3_STYLE_SETS:
        row = []
        for ratio in args.ratios:
            x, stats = reconstruct(model, content, [style], ["conv4_2"], layers, ratio, 1.0,
                                   args.iters, args.size, args.seed, args.backend)
            say(f"fig3 style {layers[0]}..{layers[-1]}, alpha/beta {ratio:g}: L_content "
                f"{stats['content']:.3g}, L_style {stats['style']:.3g}  ("
                + timing(args.iters, stats) + ")")
            row.append(images.deprocess(x))
        tiles.append(row)
    return make_grid(tiles, f"Figure 3: content conv4_2, {args.iters} L-BFGS iterations from noise",
                     [set_label(layers) for layers in FIG3_STYLE_SETS],
                     [f"alpha/beta {r:g}" for r in args.ratios])


# ----------------------------------------------------------------------------- the command

def ratio_list(text):
    values = [float(v) for v in text.split(",") if v.strip()]
    if not values or any(not v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"want positive numbers separated by commas, got {text!r}")
    return values


def build_parser():
    p = argparse.ArgumentParser(prog="figures.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    g = p.add_argument_group("images")
    g.add_argument("--content", required=True, metavar="PATH", help="the photo")
    g.add_argument("--style", required=True, metavar="PATH", help="the painting")
    g.add_argument("--out-dir", default="figures", metavar="DIR",
                   help="where figure1.png and figure3.png go (created if missing)")
    g.add_argument("--overwrite", action="store_true", help="replace existing figure files")
    g = p.add_argument_group("what to compute")
    g.add_argument("--which", choices=["fig1", "fig3", "all"], default="all")
    g.add_argument("--size", type=int, default=128, help="longest side of each picture in pixels")
    g.add_argument("--iters", type=int, default=200, help="L-BFGS iterations per picture")
    g.add_argument("--seed", type=int, default=0, help="seed of the white noise")
    g.add_argument("--style-iters", type=int, default=500,
                   help="L-BFGS iterations per style reconstruction of Figure 1 (see the docstring)")
    g.add_argument("--ratios", type=ratio_list, default=FIG3_RATIOS, metavar="R,R,...",
                   help="Figure 3's columns: alpha/beta values (beta = 1)")
    g = p.add_argument_group("machine")
    g.add_argument("--weights", metavar="PATH", help="VGG-19 weights (default: weights/vgg19.h5)")
    g.add_argument("--pooling", choices=["max", "avg"], default="max")
    g.add_argument("--backend", choices=BACKENDS, default="numpy")
    g.add_argument("--engine", choices=ENGINES, default="fast",
                   help="fast (minigrad/fast/) or reference (minigrad/reference.py; slower)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    say = lambda message: print(message, flush=True)
    out_dir = Path(args.out_dir)
    wanted = {"fig1": ["figure1"], "fig3": ["figure3"], "all": ["figure1", "figure3"]}[args.which]
    paths = {name: out_dir / f"{name}.png" for name in wanted}
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing and not args.overwrite:
        print(f"figures.py: error: {existing[0]} already exists (add --overwrite)", file=sys.stderr)
        return 2
    if min(args.iters, args.style_iters) < 1:
        print("figures.py: error: --iters and --style-iters must be at least 1", file=sys.stderr)
        return 2
    if args.size < 16:
        print("figures.py: error: --size must be at least 16 (conv5_x sees 1/16 of each side)",
              file=sys.stderr)
        return 2
    backend_module(args.backend)                              # a clear error if CuPy cannot run
    content, style = images.open_image(args.content), images.open_image(args.style)
    engine = engine_for(args.engine, args.backend, lambda m: print(f"figures.py: {m}", file=sys.stderr))
    model = VGG19.load(args.weights, pooling=args.pooling, engine=engine).to(args.backend)
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.perf_counter()
    for name, make in (("figure1", figure1), ("figure3", figure3)):
        if name in paths:
            images.save_image(make(model, content, style, args, say), paths[name])
            say(f"wrote {paths[name]}  ({time.perf_counter() - t0:.0f} s so far)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
