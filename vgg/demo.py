"""The Quick start's demo: a photo that a dependency ships, and a style the project paints itself.

The photo is matplotlib's sample image of Grace Hopper (`grace_hopper.jpg`,
in matplotlib's mpl-data; a US Navy photograph in the public domain). The style
is rendered here: brush strokes that follow a swirling flow field in a
night-sky palette, so the demo needs no file of the user's and no download
beyond the VGG-19 weights. `configure_demo` and `write_demo_style` are what stylize.py's
--demo does with them.
"""
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from . import files, images

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


def configure_demo(args, argv):
    """--demo, the Quick start: a 256 px, 100-iteration run on files that need no download.
    Fills in what the command line left out; returns the path of the style image the demo
    paints (write_demo_style writes it, once every option has been checked), or None if
    --style was given. Options are never abbreviated (the parser allows no prefixes), so an
    option given is seen here and kept."""
    args.content = args.content or demo_photo_path()
    style_path = None
    if not args.style:
        style_path = files.unused_name(Path("demo-style.png"))
        args.style = [str(style_path)]
    args.output = args.output or str(files.unused_name(Path("demo-stylized.png")))
    given = {a.split("=")[0] for a in argv}
    if "--size" not in given:
        args.size = 256
    if "--iters" not in given:
        args.iters = 100
    return style_path


def write_demo_style(args, style_path, voice):
    """Paint the demo's style image (if it is the demo's to paint) and say what the demo does."""
    from .cli import Refusal        # here, not above: painting the demo needs no command line
    if style_path is not None:
        try:
            files.write_atomic(style_path, images.encode_image(render_style(), style_path),
                               replace=False)
        except OSError as e:
            raise Refusal(f"--demo: cannot write {style_path}: {files.describe(e)}; run the demo "
                          "in a folder you can write to")
    voice.say(f"demo: {args.content} in the style of {args.style[0]} (with the full "
              f"defaults: python stylize.py --content {args.content} --style {args.style[0]} "
              "-o demo-512.png)")

