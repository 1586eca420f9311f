"""benchmarks/texture.py's mesh: it sees thin horizontal and vertical lines, and only them.

The measure behind issue 25's bar (docs/look.md, "The mesh"): a texture with no preferred
direction scores about 1 whatever its strength, lines along the rows and columns score
well above it, diagonal lines do not, and lines where the photo itself is busy are not
counted (they are the photo's, kept).
"""
import importlib.util

import numpy as np
from PIL import Image

from .helpers import ROOT

spec = importlib.util.spec_from_file_location("texture", ROOT / "benchmarks" / "texture.py")
texture = importlib.util.module_from_spec(spec)
spec.loader.exec_module(texture)

H, W = 192, 256


def noise(seed, strength=20.0):
    """Isotropic texture: white noise, grey 128 +- strength."""
    return 128 + strength * np.random.default_rng(seed).standard_normal((H, W))


def picture(y):
    return Image.fromarray(np.clip(np.round(y), 0, 255).astype(np.uint8)).convert("RGB")


def lines(period=4, angle="axes"):
    """Thin lines every `period` px along the rows and along the columns, or along the two
    diagonals (a sum of the two sets of lines: their crossings add no other frequency)."""
    i, j = np.mgrid[:H, :W]
    if angle == "axes":
        return 20.0 * ((i % period == 0) + 1.0 * (j % period == 0))
    return 20.0 * (((i + j) % period == 0) + 1.0 * ((i - j) % period == 0))


FLAT_PHOTO = picture(np.full((H, W), 128.0))
PAINTING = picture(noise(0))


def test_texture_without_a_direction_scores_about_one_whatever_its_strength():
    # Tiles of white noise: the axes hold 4 of the ~2 pi k frequencies at each radius k, with
    # the power of the others; over 140 tiles the ratio's scatter is a few per cent.
    for strength in (5.0, 20.0, 60.0):
        assert 0.85 < texture.mesh(picture(noise(1, strength)), FLAT_PHOTO, PAINTING) < 1.15


def test_lines_along_the_rows_and_columns_are_the_mesh():
    assert texture.mesh(picture(noise(1) + lines(4)), FLAT_PHOTO, PAINTING) > 1.5
    assert texture.mesh(picture(noise(1) + lines(3)), FLAT_PHOTO, PAINTING) > 1.5


def test_diagonal_lines_are_not():
    assert texture.mesh(picture(noise(1) + lines(4, "diagonal")), FLAT_PHOTO, PAINTING) < 1.15


def test_lines_where_the_photo_is_busy_are_the_photos_and_not_counted():
    # The photo is busy (a checkerboard of 8 px squares) on its left half; the result has the
    # mesh there only. The flattest third of the tiles lies in the right half.
    i, j = np.mgrid[:H, :W]
    busy = j < W // 2
    photo = picture(np.where(busy, 128 + 60.0 * (((i // 8) + (j // 8)) % 2), 128.0))
    result = noise(1) + np.where(busy, lines(4), 0.0)
    assert texture.mesh(picture(result), photo, PAINTING) < 1.15
    assert texture.mesh(picture(result), FLAT_PHOTO, PAINTING) > 1.2    # counted when it is not


def test_lines_one_way_raise_their_half_only_and_the_halves_average_to_the_whole():
    # Lines along the rows (horizontal, every 4 px) over isotropic noise: a brush that runs one
    # way, not a crosshatch. The horizontal half sees them; the vertical half sees the noise.
    i = np.mgrid[:H, :W][0]
    result = picture(noise(1) + 20.0 * (i % 4 == 0))
    whole, across, down = (texture.mesh(result, FLAT_PHOTO, PAINTING, lines=k)
                           for k in ("both", "horizontal", "vertical"))
    assert across > 1.5 and 0.85 < down < 1.15
    assert abs((across + down) / 2 - whole) < 1e-9 * whole


def test_the_profile_finds_the_lines_at_their_period_and_averages_to_the_measure():
    # Lines every 4 px put their power at 4 px and its harmonics (2.7 and 2 px are off the
    # profile's grid of 32 / k, but 4 px is on it: k = 8); the noise elsewhere is near 1.
    power = texture.tile_spectrum(picture(noise(1) + lines(4)))
    profile = dict(texture.axis_ratios(power))
    assert max(profile, key=profile.get) == 4.0 and profile[4.0] > 10
    assert 0.7 < profile[16.0] < 1.4 and 0.7 < profile[5.3333333333333333] < 1.4
    assert abs(np.mean(list(profile.values())) - texture.axis_excess(power)) < 1e-12


def test_the_profile_command_prints_a_row_per_period(tmp_path, capsys):
    for name, y in [("result.png", noise(1) + lines(4)), ("photo.png", noise(2, 2.0)),
                    ("painting.png", noise(0))]:
        picture(y).save(tmp_path / name)
    texture.main([str(tmp_path / "result.png"), "--photo", str(tmp_path / "photo.png"),
                  "--painting", str(tmp_path / "painting.png")])
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "| period px | result.png | painting | photo |"
    assert len(rows) == 2 + 14 + 1                                  # head, 16 .. 2.1 px, mean
    four = next(r for r in rows if r.startswith("| 4.0 |")).split("|")
    assert float(four[2]) > 10 and 0.5 < float(four[3]) < 2        # the result's lines, not the painting's


def test_direction_power_tells_axial_lines_from_diagonal_ones(tmp_path, capsys):
    # Lines every 4 px along the axes put their power on the axes at 4 px (k = 8); the same
    # lines along the diagonals put it at 4 / sqrt(2) = 2.8 px on the diagonals, near k = 11
    # (2.9 px), and nothing on the axes there. Noise alone: the two about equal.
    def powers(y):
        return {p: (a, d) for p, a, d in texture.direction_power(texture.tile_spectrum(picture(y)))}

    axial, diagonal = powers(noise(1) + lines(4)), powers(noise(1) + lines(4, "diagonal"))
    a, d = axial[4.0]
    assert a > 10 * d
    a, d = diagonal[32 / 11]
    assert d > 5 * a
    for name, y in [("result.png", noise(1) + lines(4)), ("photo.png", noise(2, 2.0)),
                    ("painting.png", noise(0))]:
        picture(y).save(tmp_path / name)
    texture.main([str(tmp_path / "result.png"), "--photo", str(tmp_path / "photo.png"),
                  "--painting", str(tmp_path / "painting.png"), "--power"])
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "| period px | result.png axes | result.png diagonals |"
    assert len(rows) == 2 + 14
