"""benchmarks/input_probe.py: its blend gives the painting its share (its turned copies are
vgg/turns.py's, tested in test_turns.py), and the inputs it prepares (the painting at the canvas's
longest side, or at its pixel count) are already the sizes stylize.py scales them to, so
stylize.py's own resize leaves them as they are."""
import importlib

import numpy as np
from PIL import Image

from vgg.canvas import canvas_shapes, style_shapes
from vgg.images import resize_to
from vgg.run import Settings

from .helpers import ROOT


def probe(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    return importlib.import_module("input_probe")


def test_the_blend_gives_the_painting_one_minus_the_share(monkeypatch):
    input_probe = probe(monkeypatch)
    assert input_probe.blend([22.5, -22.5], 0.4) == [0.6, 0.2, 0.2]
    assert input_probe.blend([], 0.4) == [1.0]


def test_the_prepared_inputs_are_what_stylize_would_scale_them_to(monkeypatch, tmp_path):
    input_probe = probe(monkeypatch)
    rng = np.random.default_rng(1)
    photo, painting = tmp_path / "p.png", tmp_path / "s.png"
    Image.fromarray((rng.random((90, 120, 3)) * 255).astype(np.uint8)).save(photo)
    Image.fromarray((rng.random((140, 100, 3)) * 255).astype(np.uint8)).save(painting)
    for pixels, painting_size in ((False, (46, 64)), (True, (47, 66))):    # 48 x 64 = 3072 ~ 47 x 66
        photo_file, files, scale = input_probe.prepare(photo, painting, 64, ("bilinear", "lanczos"), [20.0],
                                                       tmp_path / f"in-{pixels}", pixels)
        assert len(files) == 2
        content, styles = Image.open(photo_file), [Image.open(f) for f in files]
        settings = Settings(size=64, style_scale=scale)
        canvas = canvas_shapes(settings, content, styles)[-1]
        assert canvas == (48, 64)
        assert resize_to(content, canvas) is content              # stylize.py's resize: a no-op
        for img, shape in zip(styles, style_shapes(settings, canvas, styles)):
            assert img.size == painting_size and resize_to(img, shape) is img
