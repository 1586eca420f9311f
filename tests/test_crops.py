"""benchmarks/crops.py: the window it cuts is where the photo is flattest, and the sheet puts
each result's crop at 1:1 in its row and column, white where a result is missing."""
import importlib

import numpy as np
from PIL import Image

from .helpers import ROOT


def crops(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    return importlib.import_module("crops")


def test_the_window_is_where_the_photo_is_flat(monkeypatch):
    rng = np.random.default_rng(0)
    a = (rng.random((100, 160, 3)) * 255).astype(np.uint8)          # busy everywhere ...
    a[40:80, 96:144] = 128                                          # ... but one grey patch
    left, top = crops(monkeypatch).flattest(Image.fromarray(a), (160, 100), (48, 40))
    assert (left, top) == (96, 40)


def test_the_sheet_keeps_each_crop_at_one_to_one(monkeypatch):
    red, blue = Image.new("RGB", (20, 10), (255, 0, 0)), Image.new("RGB", (20, 10), (0, 0, 255))
    sheet = crops(monkeypatch).compose([[red, blue], [None, red]], (20, 10), gap=4)
    a = np.asarray(sheet)
    assert sheet.size == (44, 24)
    assert np.all(a[:10, :20] == (255, 0, 0)) and np.all(a[:10, 24:] == (0, 0, 255))
    assert np.all(a[14:, :20] == 255) and np.all(a[14:, 24:] == (255, 0, 0))    # None: white
