"""How the defaults look, measured: the project against a peer on many photo/painting pairs.

    python benchmarks/look.py                          # every pair, 256 px, 150 iterations
    python benchmarks/look.py --pastiche /path/to/venv/bin/pastiche --pairs tubingen+scream
    python benchmarks/look.py --ours-args "--content-weight 1e-4"   # try another setting

For each pair it runs `stylize.py` at its defaults (as a user would: a plain
subprocess, no environment variables) and, where the peer is installed, pastiche
1.6.0 at its own defaults (`pastiche --content C --styles S --size N --num-steps K
--output O`, cached, since its result does not change with this project's code).
pastiche is a benchmark-only tool, pinned and never a dependency:
`python -m venv peer && peer/bin/pip install pastiche==1.6.0 torch==2.13.0`.

Each output is measured with an independent PyTorch VGG-19 (plain torch.nn layers
on the same weights, max pooling), the three distances of issue 9 and
../shared/REFERENCE.md:

    style    mean over conv1_1..conv5_1 of ||G_out - G_style||^2 / ||G_style||^2, with
             G = F F^T / M_l (the Gram matrix over the layer's pixel count) and the
             style image resized to the output's pixel count (the peer's own rule);
             lower = more of the painting's style
    content  ||F_out - F_photo||^2 / ||F_photo||^2 at conv4_2, the photo at the output's
             size; lower = the photo reads better
    grain    RMS of the luminance (0..255) minus its 3x3 box blur; lower = smoother
    mesh     thin horizontal and vertical lines where the photo is flat, the screen door
             of issue 25, relative to the painting's own lines (1 = as many); lower = no
             mesh. benchmarks/texture.py says how it is measured, and why. The last column
             is the photo's own mesh, measured the same way: what a result that kept the photo
             unchanged would score (docs/look.md, "What the mesh still counts")

The pairs: the shared Tübingen photo (../shared/images), matplotlib's Grace Hopper
(the demo photo) and scikit-image's astronaut and coffee where scikit-image is
installed (benchmark only), crossed with the five shared paintings and the demo
style (vgg/demo.py). A pair whose files are missing is skipped with a note.
torch is needed for the measuring (the test extra installs it).
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from PIL import Image

from texture import at_pixel_count, grain, mesh

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "images"
STYLE_LAYERS = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
CONTENT_LAYER = "conv4_2"


def skimage_photo(name):
    spec = find_spec("skimage")
    return Path(spec.submodule_search_locations[0]) / "data" / name if spec else None


def photos(cache):
    from vgg.demo import demo_photo_path
    return {"tubingen": SHARED / "tubingen.jpg", "hopper": Path(demo_photo_path()),
            "astronaut": skimage_photo("astronaut.png"), "coffee": skimage_photo("coffee.png")}


def paintings(cache):
    demo = cache / "demo-style.png"
    if not demo.exists():
        from vgg.demo import render_style
        from vgg.images import save_image
        save_image(render_style(), demo)
    return {"starry": SHARED / "starry_night.jpg", "scream": SHARED / "the_scream.jpg",
            "shipwreck": SHARED / "shipwreck.jpg", "matisse": SHARED / "woman-with-hat-matisse.jpg",
            "demo": demo}


# Each of the five shared paintings and the demo style, on four photos; the first two and the
# fourth are the pairs measured in issue 9 and ../shared/REFERENCE.md.
PAIRS = ["tubingen+starry", "tubingen+scream", "astronaut+scream", "hopper+demo",
         "coffee+shipwreck", "hopper+matisse"]


# ----------------------------------------------------------------------------- measuring

class Meter:
    """An independent torch.nn VGG-19 on the project's weights file."""

    def __init__(self, weights):
        import torch

        from tests.oracle import torch_vgg19
        from vgg.model import VGG19
        torch.set_num_threads(1)                  # a few forward passes; steady on a busy machine
        self.torch = torch
        params = {n: (np.asarray(W, np.float32), np.asarray(b, np.float32))
                  for n, (W, b) in VGG19.load(weights).params().items()}
        self.layers = torch_vgg19(params, "max", upto="conv5_1")

    def features(self, img):
        """{layer: (C, M)} of a PIL RGB image, Caffe convention (BGR, mean subtracted)."""
        a = np.asarray(img.convert("RGB"), np.float32)[..., ::-1] - [103.939, 116.779, 123.68]
        x = self.torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))[None].astype(np.float32))
        out = {}
        with self.torch.no_grad():
            for name, layer in self.layers:
                x = layer(x)
                out[name] = x[0].reshape(x.shape[1], -1).double()
        return out

    def distances(self, out, photo, style):
        F = self.features(out)
        w, h = out.size
        P = self.features(photo.convert("RGB").resize((w, h), Image.BICUBIC))
        S = self.features(at_pixel_count(style, (w, h)))
        dists = []
        for l in STYLE_LAYERS:
            G = F[l] @ F[l].T / F[l].shape[1]
            A = S[l] @ S[l].T / S[l].shape[1]
            dists.append(float(((G - A) ** 2).sum() / (A ** 2).sum()))
        c = float(((F[CONTENT_LAYER] - P[CONTENT_LAYER]) ** 2).sum() / (P[CONTENT_LAYER] ** 2).sum())
        return float(np.mean(dists)), c, grain(out), mesh(out, photo, style)


def photo_mesh(photo, style, size):
    """The mesh of the photo itself, resized as the result is: what keeping it would score."""
    return mesh(photo.convert("RGB").resize(size, Image.BICUBIC), photo, style)


def compose(rows, path, height=192, gap=4):
    """A grid: photo | painting | ours | peer, one row per pair, each tile `height` px high."""
    tiles = [[Image.open(f).convert("RGB") if f else None for f in row] for row in rows]

    def fit(img):
        return img.resize((max(1, round(img.size[0] * height / img.size[1])), height), Image.LANCZOS)

    tiles = [[fit(t) if t else None for t in row] for row in tiles]
    widths = [max(row[i].size[0] if row[i] else 0 for row in tiles) for i in range(4)]
    sheet = Image.new("RGB", (sum(widths) + 3 * gap, len(tiles) * (height + gap) - gap), "white")
    for r, row in enumerate(tiles):
        x = 0
        for i, t in enumerate(row):
            if t:
                sheet.paste(t, (x + (widths[i] - t.size[0]) // 2, r * (height + gap)))
            x += widths[i] + gap
    sheet.save(path, quality=90)


# ----------------------------------------------------------------------------- running

# The peer on one thread: the result is the same, and PyTorch's threads spin badly on a busy
# machine (the project's own runs need no such help: stylize.py sets its threads itself).
PEER_ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def run(cmd, label, env=None):
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"look.py: {label} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--iters", type=int, default=150)
    p.add_argument("--pairs", nargs="+", default=PAIRS, help="photo+painting names")
    p.add_argument("--pastiche", default=shutil.which("pastiche"), help="the peer's CLI (optional)")
    p.add_argument("--ours-args", default="", help="extra stylize.py options, quoted")
    p.add_argument("--label", default="ours", help="names this setting's outputs")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "look")
    p.add_argument("--weights", default=str(ROOT / "weights" / "vgg19.h5"))
    p.add_argument("--json", type=Path, help="also write the table as JSON")
    p.add_argument("--peer-only", action="store_true", help="only run (and cache) the peer")
    p.add_argument("--reuse", action="store_true", help="measure this label's existing outputs "
                   "instead of running stylize.py again")
    p.add_argument("--figure", type=Path, help="also compose photo | painting | ours | peer, a row "
                   "per pair, into this image (docs/images/peer-comparison.jpg)")
    return p.parse_args(argv)


def run_peer(args, pair, photo, paint, tag):
    """pastiche's output for the pair (run once, then cached under args.out)."""
    peer = args.out / f"pastiche-{tag}.png"
    if args.pastiche and not peer.exists():
        tmp = peer.with_name(f"tmp-{peer.name}")
        t_peer = run([args.pastiche, "--content", str(photo), "--styles", str(paint),
                      "--size", str(args.size), "--num-steps", str(args.iters),
                      "--device", "cpu", "--seed", "0", "--no-verbose", "--output", str(tmp)],
                     f"pastiche on {pair}", PEER_ENV)
        tmp.replace(peer)
        print(f"pastiche on {pair}: {t_peer:.0f} s", file=sys.stderr, flush=True)
    return peer


def run_ours(args, pair, photo, paint, tag):
    """(stylize.py's output for the pair, its seconds: 0 when --reuse found it there)."""
    ours = args.out / f"{args.label}-{tag}.png"
    if args.reuse and ours.exists():
        return ours, 0.0
    return ours, run([sys.executable, str(ROOT / "stylize.py"), "--content", str(photo), "--style",
                      str(paint), "--size", str(args.size), "--iters", str(args.iters), "-o", str(ours),
                      "--overwrite", "--quiet"] + shlex.split(args.ours_args), f"stylize.py on {pair}")


def print_row(row):
    o, q = row["ours"], row.get("peer")
    cell = (lambda i, f: f"{o[i]:{f}} / {q[i]:{f}} ({o[i] / q[i]:.2f}x)") if q else \
        (lambda i, f: f"{o[i]:{f}} / -")
    print(f"| {row['pair']} | {cell(0, '.3f')} | {cell(1, '.2f')} | {cell(2, '.1f')} | "
          f"{cell(3, '.2f')} | {row['photo_mesh']:.2f} | {row['t_ours']:.0f} |", flush=True)


def main(argv=None):
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    ph, pa = photos(args.out), paintings(args.out)
    meter = Meter(args.weights)
    rows = []
    print(f"| pair ({args.size} px, {args.iters} its) | style ours / peer | content ours / peer "
          f"| grain ours / peer | mesh ours / peer | mesh of the photo | s ours |\n"
          f"| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
          flush=True)
    for pair in args.pairs:
        photo_name, paint_name = pair.split("+")
        photo, paint = ph.get(photo_name), pa.get(paint_name)
        if photo is None or paint is None or not photo.exists() or not paint.exists():
            print(f"| {pair} | skipped: {photo or photo_name} or {paint or paint_name} missing | | | |")
            continue
        tag = f"{pair}-{args.size}-{args.iters}"
        peer = run_peer(args, pair, photo, paint, tag)
        if args.peer_only:
            continue
        ours, t_ours = run_ours(args, pair, photo, paint, tag)
        measure = lambda out: meter.distances(Image.open(out), Image.open(photo), Image.open(paint))  # noqa: E731
        row = {"pair": pair, "ours": measure(ours), "t_ours": t_ours,
               "files": (photo, paint, ours, peer if peer.exists() else None)}
        if peer.exists():
            row["peer"] = measure(peer)
        row["photo_mesh"] = photo_mesh(Image.open(photo), Image.open(paint), Image.open(ours).size)
        rows.append(row)
        print_row(row)
    if args.json:
        args.json.write_text(json.dumps([{k: v for k, v in r.items() if k != "files"} for r in rows],
                                        indent=1))
    if args.figure:
        compose([r["files"] for r in rows], args.figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
