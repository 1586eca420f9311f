"""The Quick start's demo: a photo that a dependency ships, and a style the project paints itself.

The photo is matplotlib's sample image of Grace Hopper (`grace_hopper.jpg`,
in matplotlib's mpl-data; a US Navy photograph in the public domain). The style
is rendered here: brush strokes that follow a swirling flow field in a
night-sky palette, so the demo needs no file of the user's and no download
beyond the VGG-19 weights.
"""
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

PALETTE = [(20, 40, 110), (35, 70, 160), (60, 110, 190), (90, 150, 210),
           (230, 200, 70), (245, 225, 120), (250, 245, 210), (15, 25, 60)]


def demo_photo_path():
    """Path of matplotlib's grace_hopper.jpg."""
    from matplotlib import cbook
    return str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def render_style(size=512, strokes=2500, seed=0):
    """A size x size RGB painting of swirling brush strokes (PIL image)."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), PALETTE[-1])
    draw = ImageDraw.Draw(img)
    centres = rng.uniform(0.15, 0.85, (4, 2)) * size            # the eddies of the flow

    def angle(x, y):
        a = 0.0
        for cx, cy in centres:                                    # circulate around each centre
            dx, dy = x - cx, y - cy
            a += math.atan2(dy, dx) + math.pi / 2 + 0.3 * math.sin(math.hypot(dx, dy) / 18)
        return a / len(centres) + 0.5 * math.sin(y / 40.0)

    for _ in range(strokes):
        x, y = rng.uniform(0, size, 2)
        colour = PALETTE[int(rng.integers(0, len(PALETTE) - 1))]
        width = int(rng.integers(3, 8))
        points = [(x, y)]
        for _ in range(int(rng.integers(6, 16))):
            a = angle(x, y)
            x, y = x + 4 * math.cos(a), y + 4 * math.sin(a)
            points.append((x, y))
        draw.line(points, fill=colour, width=width, joint="curve")
    return img.filter(ImageFilter.SMOOTH)
