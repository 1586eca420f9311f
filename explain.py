"""One iteration of style transfer, traced layer by layer: forward, losses, backward.

    python explain.py                                  # synthetic photo, demo style, 64 px
    python explain.py --content photo.jpg --style painting.jpg --size 64

It evaluates the objective of eq. 7 ONCE, at the white-noise image an L-BFGS
run starts from (the `--init noise` of stylize.py), and prints what happens on
the way:
  1. going down VGG-19 block by block: each activation's shape, its mean, its
     largest value and the fraction of ReLUs that let the signal through;
  2. the loss terms: content at conv4_2 (eq. 1), E_l at each style layer
     (eq. 4), total variation, and the total of eq. 7 with alpha and beta;
  3. coming back up: where each loss's gradient joins the flow, what the ReLU
     mask keeps, and the gradient's shape and norm below every layer, down to
     the pixels.
It walks `model.blocks` itself -- a replay of VGG19.backward in vgg/model.py
with prints -- and ends by checking that its image gradient equals the one
vgg.transfer.Objective computes. docs/walkthrough.md reads its output.
"""

import argparse
import sys

import numpy as np
from PIL import Image

from minigrad import losses
from minigrad.gradcheck import relative_error
from minigrad.engines import ENGINES
from vgg import images
from vgg.demo import render_style
from vgg.model import VGG19
from vgg.transfer import CONTENT_LAYERS, STYLE_LAYERS, Objective


def synthetic_photo(size):
    """A size x size stand-in photo: a sky-to-ground colour gradient, a sun and a house."""
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None]            # (H, 1), top to bottom
    s = np.linspace(0.0, 1.0, size, dtype=np.float32)[None, :]            # (1, W), left to right
    sky = np.stack([90 + 60 * t + 40 * s, 140 + 60 * t + 0 * s, 230 - 80 * t + 0 * s], -1)
    ground = np.stack([70 + 50 * s + 0 * t, 120 + 30 * t + 0 * s, 50 + 0 * t + 0 * s], -1)
    rgb = np.where((t > 0.6)[..., None], ground, sky)                      # (H, W, 3)
    yy, xx = np.mgrid[0:size, 0:size] / size
    rgb[(yy - 0.25) ** 2 + (xx - 0.75) ** 2 < 0.01] = (250, 220, 90)      # the sun
    rgb[(yy > 0.4) & (yy < 0.7) & (xx > 0.15) & (xx < 0.45)] = (180, 60, 50)  # the house
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def norm(a):
    """The gradient's size: sqrt of the sum of squares, in float64."""
    return float(np.sqrt((np.asarray(a, np.float64) ** 2).sum()))


def shape_str(a):
    return "(" + ", ".join(str(d) for d in a.shape) + ")"


def role(name, objective):
    tags = (["content"] if name in objective.content_layers else []) + \
           (["style"] if name in objective.style_layers else [])
    return " + ".join(tags)


def silent_backward(blocks, grads):
    """The same walk as the printed one below, without prints: {tap: dL/dF} -> dL/dx."""
    dx = None
    for name, layer in reversed(blocks):
        if name in grads:
            dx = grads[name] if dx is None else dx + grads[name]
        if dx is not None:
            dx = layer.backward(dx)
    return dx


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="explain.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--content", metavar="PATH", help="the photo (default: a synthetic one)")
    p.add_argument("--style", metavar="PATH", help="the painting (default: vgg/demo.py's)")
    p.add_argument("--size", type=int, default=64, help="longest side in pixels (at least 16)")
    p.add_argument("--weights", metavar="PATH", help="VGG-19 weights (default: weights/vgg19.h5)")
    p.add_argument("--engine", choices=ENGINES, default="reference",
                   help="reference (minigrad/reference.py, the code this trace follows) or fast")
    p.add_argument("--alpha", type=float, default=1e-2, help="content weight of eq. 7")
    p.add_argument("--beta", type=float, default=1.0, help="style weight of eq. 7")
    p.add_argument("--tv-weight", type=float, default=1e-4, help="total-variation weight")
    p.add_argument("--seed", type=int, default=0, help="seed of the white-noise image")
    args = p.parse_args(argv)
    if args.size < 16:
        p.error("--size must be at least 16: conv5_1 sees each side divided by 16")
    return args


def set_up(args):
    """The objective (its targets P^l and A^l computed), the white-noise image x, and the
    blocks from conv1_1 down to the deepest tap."""
    content = images.open_image(args.content) if args.content else synthetic_photo(args.size)
    style = images.open_image(args.style) if args.style else render_style(4 * args.size)
    content = images.resize_longest(content, args.size)
    style = images.resize_longest(style, args.size)
    c, s = images.preprocess(content), images.preprocess(style)              # (1, 3, H, W), Caffe
    model = VGG19.load(args.weights, engine=args.engine)
    objective = Objective(model, c.shape, c, [s], None, CONTENT_LAYERS, STYLE_LAYERS,
                          args.alpha, args.beta, args.tv_weight)              # targets P^l and A^l
    x = np.random.default_rng(args.seed).standard_normal(c.shape).astype(np.float32)  # white noise
    depth = max(i for i, (name, _) in enumerate(model.blocks) if name in objective.taps) + 1
    blocks = model.blocks[:depth]                                             # conv1_1 .. conv5_1
    print(f"explain.py: one evaluation of eq. 7 at a {x.shape[3]}x{x.shape[2]} white-noise image "
          f"(Caffe space: BGR, mean pixel subtracted)")
    print(f"content {args.content or 'synthetic photo'}, style {args.style or 'vgg/demo.py render_style'}")
    print(f"alpha {args.alpha:g}, beta {args.beta:g}, tv weight {args.tv_weight:g}; "
          f"content layers {', '.join(objective.content_layers)}; "
          f"style layers {', '.join(objective.style_layers)} (w_l = 1/{len(objective.style_layers)})")
    return objective, x, blocks


def forward(objective, x, blocks):
    """1. Down the network, printing each block; returns {tap: F^l}."""
    print("\nFORWARD: the image goes down the network (activations after each block's ReLU)")
    print(f"  {'layer':<8} {'shape':<18} {'mean':>9} {'max':>9} {'ReLU>0':>7}  tap")
    print(f"  {'input':<8} {shape_str(x):<18} {x.mean():>9.3f} {x.max():>9.3f} {'':>7}")
    F, h = {}, x
    for name, layer in blocks:
        h = layer.forward(h)                                                  # (1, C, H, W)
        active = f"{layer[1].mask.mean():>6.1%}" if not name.startswith("pool") else ""
        print(f"  {name:<8} {shape_str(h):<18} {h.mean():>9.3f} {h.max():>9.2f} {active:>7}  "
              f"{role(name, objective)}")
        if name in objective.taps:
            F[name] = h
    return F


def loss_terms(objective, F, x):
    """2. Each tap's loss and the gradient it sends down; returns (grads, total, dTV/dx)."""
    print("\nLOSSES: each tap's loss and dL/dF, the gradient it sends down (eqs. 1-6)")
    grads, content_total, style_total = {}, 0.0, 0.0
    for l in objective.content_layers:
        value, dF = losses.content_loss(F[l], objective.P[l])                # eqs. 1-2: dF = F - P
        content_total += value
        grads[l] = objective.alpha * dF
        print(f"  content {l}: L_content = 1/2 sum (F - P)^2 = {value:.4g};  "
              f"alpha L = {objective.alpha * value:.4g};  |alpha (F - P)| = {norm(grads[l]):.4g}")
    for l in objective.style_layers:
        value, dF = losses.style_loss(F[l], objective.A[l])                  # eqs. 4, 6
        style_total += objective.w[l] * value                                 # eq. 5
        g = (objective.beta * objective.w[l]) * dF
        grads[l] = grads[l] + g if l in grads else g
        _, N, H, W = F[l].shape
        print(f"  style   {l}: N_l = {N:>3}, M_l = {H * W:>4}, E_l = {value:.4g};  "
              f"beta w_l E_l = {objective.beta * objective.w[l] * value:.4g};  "
              f"|beta w_l dE_l/dF| = {norm(g):.4g}")
    tv, dtv = losses.tv_loss(x)
    total = objective.alpha * content_total + objective.beta * style_total + objective.tv_weight * tv
    print(f"  TV: sum of squared neighbour differences = {tv:.4g};  tv weight x TV = "
          f"{objective.tv_weight * tv:.4g}")
    print(f"  total (eq. 7): alpha L_content + beta L_style + tv TV = "
          f"{objective.alpha * content_total:.4g} + {objective.beta * style_total:.4g} + "
          f"{objective.tv_weight * tv:.4g} = {total:.6g}")
    return grads, total, dtv


def backward(objective, blocks, grads, dtv):
    """3. Back up the network, printing the gradient's size below each step; returns dL/dx."""
    print("\nBACKWARD: the gradient comes back up, |g| = sqrt(sum g^2) below each step")
    dx = None
    for name, layer in reversed(blocks):
        if name in grads:                                                     # this tap's loss joins
            joined = "flow starts" if dx is None else f"adds to |g| = {norm(dx):.4g}"
            dx = grads[name] if dx is None else dx + grads[name]
            print(f"  {name:<8} + {role(name, objective)} gradient |{norm(grads[name]):.4g}| "
                  f"joins ({joined}) -> |g| = {norm(dx):.4g}")
        if dx is None:
            continue                                                          # no loss above yet
        if name.startswith("pool"):
            dx = layer.backward(dx)                                           # max pool: to the argmax
            print(f"  {name:<8} pool backward          -> {shape_str(dx):<18} |g| = {norm(dx):.4g}")
        else:
            conv, relu = layer[0], layer[1]
            dx = relu.backward(dx)                                            # dx = dout * 1[x > 0]
            print(f"  {name:<8} ReLU keeps {relu.mask.mean():>6.1%}      -> {shape_str(dx):<18} "
                  f"|g| = {norm(dx):.4g}")
            dx = conv.backward(dx)                                            # dx = conv^T(dout)
            print(f"  {'':<8} conv backward          -> {shape_str(dx):<18} |g| = {norm(dx):.4g}")
    print(f"  {'pixels':<8} + TV gradient |{norm(objective.tv_weight * dtv):.4g}| joins")
    dx = dx + objective.tv_weight * dtv
    print(f"  {'pixels':<8} dL/dx                  -> {shape_str(dx):<18} |g| = {norm(dx):.4g}, "
          f"max |g| = {np.abs(dx).max():.4g}")
    return dx


def each_term_alone(objective, F, blocks, dtv, dx):
    """3b. Each term's gradient at the pixels, by the same walk; they add up to dL/dx."""
    print("\nEACH TERM ALONE: its gradient at the pixels (backward is linear, so these add up)")
    parts = []
    for l in objective.taps:
        terms = [(kind, l) for kind, layers in (("content", objective.content_layers),
                                                 ("style", objective.style_layers)) if l in layers]
        for kind, _ in terms:
            if kind == "content":
                g = objective.alpha * losses.content_loss(F[l], objective.P[l])[1]
            else:
                g = (objective.beta * objective.w[l]) * losses.style_loss(F[l], objective.A[l])[1]
            part = silent_backward(blocks, {l: g})                            # (1, 3, H, W)
            parts.append(part)
            print(f"  {kind:<7} {l}: |dL/dF| = {norm(g):<10.4g} -> at the pixels |g| = {norm(part):.4g}")
    parts.append(objective.tv_weight * dtv)
    print(f"  {'tv':<15}                       -> at the pixels |g| = {norm(parts[-1]):.4g}")
    print(f"  sum of the parts vs dL/dx: relative error {relative_error(sum(parts), dx):.1e}")


def main(argv=None):
    objective, x, blocks = set_up(parse_args(argv))
    F = forward(objective, x, blocks)
    grads, total, dtv = loss_terms(objective, F, x)
    dx = backward(objective, blocks, grads, dtv)
    each_term_alone(objective, F, blocks, dtv, dx)

    # 4. The check: this replay against the code stylize.py runs.
    loss_ref, dx_ref = objective(x)
    err = relative_error(dx, dx_ref)
    print(f"\nCHECK: this replay against vgg.transfer.Objective: loss {total:.6g} vs {loss_ref:.6g}, "
          f"image gradient relative error {err:.1e}")
    assert abs(total - loss_ref) <= 1e-6 * abs(loss_ref) and err < 1e-5, "the replay disagrees"
    print("CHECK passed: the replay's dL/dx is Objective's gradient")
    return 0


if __name__ == "__main__":
    sys.exit(main())
