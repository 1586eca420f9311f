"""The painting's turned copies: more style images, so the style loss asks for its strokes
in a mix of directions (--style-turns, --style-turn-share).

A Gram matrix (eq. 3) is quadratic in the features and blind to where they are, so a style
given as several images asks for the weighted mean of their Gram matrices
(vgg/transfer.py's style_targets). A painting's long strokes along one axis (the Scream's
horizontal sky bands) are then copied along that axis everywhere: across a flat sky they
read as a regular pattern of lines. Copies of the painting turned by a few degrees either
way keep its colours, its stroke widths and its brushwork, and spread its strokes'
directions: docs/look.md ("What the inputs change") measured the lines falling on every
pair, with the style distance within the defaults' bars.

    styles, blend = with_turns(paintings, blend, [22.5, -22.5], 0.6, sides)   # turns, share
"""
import numpy as np
from PIL import Image

from . import images


def turned(img, degrees):
    """`img` turned by `degrees` (anticlockwise) about its centre, bicubic, at its own size;
    the corners a turn would leave empty come from the painting mirrored at its borders."""
    img = img.convert("RGB")
    w, h = img.size
    pad = max(w, h) // 2          # any angle: the crop samples within (w + h) / 2 of the centre
    a = np.pad(np.asarray(img), ((pad, pad), (pad, pad), (0, 0)), mode="symmetric")
    big = Image.fromarray(a).rotate(degrees, resample=Image.BICUBIC)
    return big.crop((pad, pad, pad + w, pad + h))


def blend_with_turns(blend, turns, share):
    """Each painting's weight b split: b (1 - share) for the painting, then b share / len(turns)
    for each of its turned copies, in with_turns's order. No copies when share is 0."""
    if not turns or share == 0:
        return list(blend)
    return [w for b in blend for w in [b * (1 - share)] + [b * share / len(turns)] * len(turns)]


def with_turns(paintings, blend, turns, share, sides):
    """(the style images, their blend): each painting followed by its copies turned by `turns`
    degrees, the blend split by blend_with_turns. `sides`: the longest side each painting
    will be used at; a painting more than twice as large is first shrunk to twice that, so a
    large file costs no more than a small one (turning needs a mirrored border half its size)."""
    blend = list(blend) if blend else [1.0] * len(paintings)
    if not turns or share == 0:
        return list(paintings), blend
    styles = []
    for painting, side in zip(paintings, sides):
        work = painting
        if max(painting.size) > 2 * side:
            work = images.resize_longest(painting, 2 * side)
        styles += [painting] + [turned(work, degrees) for degrees in turns]
    return styles, blend_with_turns(blend, turns, share)
