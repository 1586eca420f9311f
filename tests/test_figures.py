"""figures.py: tiny, fast versions of Figures 1 and 3 with random VGG weights (no download).

They check that the command runs, writes the PNGs with the documented layout
(tiles plus label margins, figures.grid_size), and prints the PSNR of every
content reconstruction; and that the pieces (PSNR, the grid) do what they say.
"""
import re

import numpy as np
import pytest
from PIL import Image

import figures
from vgg.model import VGG19
from vgg.run import white_noise

from .helpers import run_script, write_inputs


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_inputs(tmp_path_factory.mktemp("figures"), (24, 32), (40, 40),
                        painting_name="style.png")


def run_figures(files, *extra):
    args = ["--content", files / "content.png", "--style", files / "style.png",
            "--weights", files / "random.h5", "--size", 32, "--iters", 2, "--style-iters", 2, *extra]
    return run_script("figures.py", *args, timeout=600)


def test_figure1_layout_and_psnr_lines(files, tmp_path):
    result = run_figures(files, "--which", "fig1", "--out-dir", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for layer in figures.FIG1_CONTENT_LAYERS:
        assert re.search(rf"fig1 content {layer}: PSNR [\d.]+ dB", result.stdout), layer
    assert result.stdout.count("fig1 style") == 5
    with Image.open(tmp_path / "figure1.png") as img:            # 2 rows x 5 tiles of 32 x 24
        assert img.size == figures.grid_size(2, 5, 32, 24, captions=True)
        assert img.mode == "RGB"
    assert not (tmp_path / "figure3.png").exists()


def test_figure3_layout(files, tmp_path):
    result = run_figures(files, "--which", "fig3", "--ratios", "1e-2,1", "--out-dir", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("fig3 style") == 5 * 2
    with Image.open(tmp_path / "figure3.png") as img:            # 5 rows x 2 columns
        assert img.size == figures.grid_size(5, 2, 32, 24)


def test_refuses_to_overwrite(files, tmp_path):
    (tmp_path / "figure1.png").write_bytes(b"keep me")
    result = run_figures(files, "--which", "fig1", "--out-dir", tmp_path)
    assert result.returncode == 2 and "already exists" in result.stderr
    assert (tmp_path / "figure1.png").read_bytes() == b"keep me"


def test_grid_size_is_tiles_plus_margins():
    w, h = figures.grid_size(5, 4, 128, 96)
    assert w == figures.LABEL_W + 4 * 128 + 5 * figures.GAP
    assert h == figures.TITLE_H + figures.HEADER_H + 5 * 96 + 6 * figures.GAP
    w2, h2 = figures.grid_size(5, 4, 128, 96, captions=True)
    assert (w2, h2) == (w, h + 5 * figures.CAPTION_H)


def test_make_grid_places_the_tiles():
    colours = [[(255, 0, 0), (0, 255, 0)], [(0, 0, 255), (10, 20, 30)]]
    tiles = [[Image.new("RGB", (20, 10), c) for c in row] for row in colours]
    sheet = figures.make_grid(tiles, "title", ["a", "b"], ["x", "y"])
    assert sheet.size == figures.grid_size(2, 2, 20, 10)
    for r in range(2):
        for c in range(2):
            x = figures.LABEL_W + figures.GAP + c * (20 + figures.GAP) + 10
            y = figures.TITLE_H + figures.HEADER_H + figures.GAP + r * (10 + figures.GAP) + 5
            assert sheet.getpixel((x, y)) == colours[r][c]


def test_psnr():
    a = Image.new("RGB", (8, 8), (100, 100, 100))
    assert figures.psnr(a, a) == float("inf")
    b = Image.new("RGB", (8, 8), (110, 100, 100))                 # MSE = 100 / 3
    # float64, a handful of operations on exact integers: a few ulps (approx's 1e-6 is loose)
    assert figures.psnr(a, b) == pytest.approx(10 * np.log10(255 ** 2 / (100 / 3)), rel=1e-12)


def test_reconstruct_moves_towards_the_content(files):
    model = VGG19.load(files / "random.h5")
    content = Image.open(files / "content.png").convert("RGB")
    x, _ = figures.reconstruct(model, content, [], ["conv1_1"], [], 1.0, 0.0,
                               iters=10, size=32, seed=0)
    noise = white_noise((24, 32), 0)
    from vgg import images
    target = images.resize_to(content, (24, 32))
    assert x.shape == (1, 3, 24, 32) and x.dtype == np.float32
    assert figures.psnr(images.deprocess(x), target) > figures.psnr(images.deprocess(noise), target)
