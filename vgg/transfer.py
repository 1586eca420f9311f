"""The style-transfer objective of Gatys, Ecker and Bethge (CVPR 2016), eq. 7, and its gradient.

    L(x) = alpha * L_content(x)  +  beta * L_style(x)  +  tv_weight * TV(x)

L_content sums the content layers' terms with weights v_l (the paper: conv4_2
alone); L_style is eq. 5, sum_l w_l E_l over the style layers (the paper:
conv1_1 ... conv5_1, w_l = 1/5); TV is minigrad.losses.tv_loss, a smoothness
term the paper does not use (0 reproduces the paper). The layer weights are
relative: they are normalised to sum to 1.

Two normalisations of the terms (the `normalization` argument):
  "paper"     eq. 1 for each content layer, eq. 4 for each style layer, TV as is.
              Their sizes depend on the image size and vary by orders of
              magnitude from painting to painting, so alpha/beta must be retuned
              for each pair (Figure 3's sweep uses this).
  "relative"  each term divided by the size of its own target
              (losses.relative_content_loss, relative_style_loss; TV divided by
              the photo's own TV). The content and style terms are 0 at their
              target and 1 at a blank image, and TV is 1 at the photo's own
              smoothness, whatever the painting and the size, so one alpha/beta
              gives the same look everywhere (docs/backprop.md, "Scale-free terms").

`Objective.__call__` is the whole story of one iteration: features of x, each
loss and its gradient, the gradients handed to VGG's backward, the image
gradient returned. The targets (the content image's features P^l, the style
images' Gram matrices A^l) are computed once. `shift_to` moves the image on
VGG's pooling grid (vgg/run.py's jitter; the photo moves with it).
"""
import numpy as np

from minigrad import losses
from minigrad.backend import get_array_module, to_numpy

from .layout import min_input_size

CONTENT_LAYERS = ["conv4_2"]
STYLE_LAYERS = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]


def style_targets(model, styles, blend, layers, canvas_pixels):
    """{layer: A^l}, the blended Gram matrices of the style images (eq. 3).

    A Gram matrix sums over pixels, so it grows with the image. A style image of
    another size than the canvas would then ask for the wrong magnitude; each
    A^l is rescaled by (pixels of the canvas at l) / (pixels of the style at l),
    which changes nothing when the sizes agree. `blend` weights the style images
    (normalised to sum to 1).
    """
    total = float(sum(blend))
    targets = {}
    for image, weight in zip(styles, blend):
        feats = model.forward(image, layers)
        for l in layers:
            _, _, h, w = feats[l].shape
            scale = canvas_pixels[l] / (h * w)
            A = losses.gram_matrix(feats[l]) * (weight / total * scale)      # (N_l, N_l)
            targets[l] = A if l not in targets else targets[l] + A
    return targets


def canvas_pixels(shape, layers):
    """{layer: M_l}, the pixels at each layer for an image of the given shape (pools halve, floor)."""
    _, _, H, W = shape
    return {l: (H // min_input_size(l)) * (W // min_input_size(l)) for l in layers}


NORMALIZATIONS = ("relative", "paper")
LOSSES = {"paper": (losses.content_loss, losses.style_loss),
          "relative": (losses.relative_content_loss, losses.relative_style_loss)}


def layer_weights(layers, weights=None):
    """{layer: weight}, normalised to sum to 1 (equal if None: eq. 5's w_l = 1/L)."""
    if not layers:
        return {}
    weights = [1.0] * len(layers) if weights is None else [float(w) for w in weights]
    if len(weights) != len(layers):
        raise ValueError(f"{len(weights)} layer weights for {len(layers)} layers")
    total = sum(weights)
    if not total > 0 or any(w < 0 for w in weights):
        raise ValueError("layer weights must be >= 0 and not all zero")
    return {l: w / total for l, w in zip(layers, weights)}


class Objective:
    """f(x) -> (L, dL/dx) for one canvas size.

    After each call, .terms holds the terms of eq. 7 (content, style, tv; unweighted)
    and .layer_terms each layer's own term ({"content": {layer: value}, "style": ...},
    before the layer weights v_l and w_l).
    """

    def __init__(self, model, shape, content=None, styles=(), blend=None,
                 content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS,
                 alpha=1e-2, beta=1.0, tv_weight=0.0, normalization="paper",
                 content_layer_weights=None, style_layer_weights=None):
        self.model = model
        self.alpha, self.beta, self.tv_weight = alpha, beta, tv_weight
        self.content_term, self.style_term = LOSSES[normalization]
        self.content_layers = list(content_layers) if content is not None else []
        self.style_layers = list(style_layers) if styles else []
        self.v = layer_weights(self.content_layers, content_layer_weights if content is not None else None)
        self.w = layer_weights(self.style_layers, style_layer_weights if styles else None)  # eq. 5's w_l
        self.taps = list(dict.fromkeys(self.content_layers + self.style_layers))
        # The targets, computed once (the photo's again when the image is shifted).
        self.content_image, self.shift = content, (0, 0)
        self.P = self._content_targets()                                     # P^l of eq. 1
        self.A = {}
        if self.style_layers:
            blend = blend or [1.0] * len(styles)
            pixels = canvas_pixels(shape, self.style_layers)
            self.A = style_targets(model, styles, blend, self.style_layers, pixels)  # A^l of eq. 4
        # TV's yardstick: 1 as is; relative: the photo's own TV (or the first painting's,
        # per pixel of the canvas, when there is no photo), so TV = 1 is "as busy as the photo".
        self.tv_scale = 1.0
        if normalization == "relative" and tv_weight:
            ref = content if content is not None else styles[0]
            ref_tv = losses.tv_loss(ref)[0] * (shape[2] * shape[3]) / (ref.shape[2] * ref.shape[3])
            self.tv_scale = 1.0 / max(ref_tv, 1e-12)
        self.terms, self.layer_terms = {}, {}

    def _content_targets(self):
        """{layer: P^l}, the features of the photo rolled by self.shift."""
        if not self.content_layers:
            return {}
        xp = get_array_module(self.content_image)
        feats = self.model.forward(xp.roll(self.content_image, self.shift, axis=(2, 3)), self.content_layers)
        return {l: feats[l].copy() for l in self.content_layers}

    def shift_to(self, dy, dx):
        """From now on VGG sees the image, and the photo, rolled by (dy, dx) pixels.

        VGG's pooling grid is fixed to the canvas: a pattern with the grid's period
        (2, 4, ... px) that lines up with it can raise a layer's response and match a
        Gram matrix in a way no shifted copy would, and the optimiser finds it: a fine
        mesh of horizontal and vertical lines (issue 25, docs/look.md, "The mesh").
        Moving the grid now and then (vgg/run.py's jitter) leaves only what works at
        every position. Rolled, not cropped: no pixel drops out, the Gram matrices keep
        their size, and the seam is where the photo has one too.
        """
        if (dy, dx) != self.shift:
            self.shift = (dy, dx)
            self.P = self._content_targets()

    def __call__(self, x):
        xp = get_array_module(x)
        dy, dx = self.shift
        seen = xp.roll(x, (dy, dx), axis=(2, 3))              # x as VGG sees it (shift_to; else x)
        F = self.model.forward(seen, self.taps)               # 1. the features of the current image
        grads, content, style = {}, 0.0, 0.0
        per_layer = {"content": {}, "style": {}}              # each layer's own term, unweighted
        for l in self.content_layers:                         # 2. each loss and its gradient
            value, dF = self.content_term(F[l], self.P[l])    # eqs. 1-2 (or relative)
            per_layer["content"][l] = value
            content += self.v[l] * value
            grads[l] = (self.alpha * self.v[l]) * dF
        for l in self.style_layers:
            value, dF = self.style_term(F[l], self.A[l])      # eqs. 4-6 (or relative)
            per_layer["style"][l] = value
            style += self.w[l] * value                        # eq. 5
            g = (self.beta * self.w[l]) * dF
            grads[l] = grads[l] + g if l in grads else g
        dseen = self.model.backward(grads)                    # 3. back through VGG to the pixels,
        grad = xp.roll(dseen, (-dy, -dx), axis=(2, 3))        #    rolled back: a roll's adjoint
        tv, dtv = losses.tv_loss(x) if self.tv_weight else (0.0, None)
        if self.tv_weight:
            tv *= self.tv_scale
            grad += (self.tv_weight * self.tv_scale) * dtv
        total = self.alpha * content + self.beta * style + self.tv_weight * tv   # eq. 7 (+ TV)
        self.terms = {"content": content, "style": style, "tv": tv}
        self.layer_terms = per_layer
        return total, grad


def resize_array(x, shape):
    """Resize a (1, 3, H, W) image array to (1, 3, *shape) bicubically (for coarse-to-fine)."""
    from PIL import Image
    xp = get_array_module(x)
    host = to_numpy(x)
    channels = [np.asarray(Image.fromarray(c.astype(np.float32), mode="F")
                           .resize((shape[1], shape[0]), Image.BICUBIC)) for c in host[0]]
    return xp.asarray(np.stack(channels)[None].astype(x.dtype))       # (1, 3, H', W')
