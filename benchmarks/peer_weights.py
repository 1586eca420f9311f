"""How pastiche 1.6.0 weighs its terms, put in this project's relative units (docs/look.md,
"What pastiche weighs").

    python benchmarks/peer_weights.py --size 512

pastiche's loss (its PasticheArtist._calc_loss, at its defaults) is

    0.01 * mean((F - P)^2) at conv4_2  +  sum over conv1_1 ... conv5_1 of  10 / N_l^2 * mean((G_l - A_l)^2)

with G = F F^T / M (M the layer's pixels) and each mean over its array's entries: N M for the
features, N_l^2 for a Gram matrix. Written with this project's relative terms
(vgg/transfer.py: ||F - P||^2 / ||P||^2 and ||G - A||^2 / ||A||^2) it is

    c * relative content  +  sum_l w_l * relative style_l,   c = 0.01 ||P||^2 / (N M),  w_l = 10 ||A_l||^2 / N_l^4

so w_l / sum(w) is the share of each layer in its style term, and sum(w) / c its style/content
balance (this project's defaults: 0.25, 1, 1, 4 and 0.25 over 6.5, and beta / alpha = 33). The
targets are measured with benchmarks/look.py's independent PyTorch VGG-19, the images sized as
look.py sizes them.
"""
import argparse
import sys

from PIL import Image

from look import CONTENT_LAYER, PAIRS, STYLE_LAYERS, Meter, paintings, parse_args as look_args, photos
from texture import at_pixel_count
from vgg.images import longest_side_shape                  # look.py puts the root on the path


def weights(P, A):
    """(c, {layer: w_l}): pastiche's weights on the relative content term and on each layer's
    relative style term, from the photo's (N, M) features P and the painting's Gram matrices A
    (each (N_l, N_l), divided by M_l as pastiche's are)."""
    c = 0.01 * float((P ** 2).sum()) / P.size
    return c, {l: 10.0 * float((G ** 2).sum()) / G.shape[0] ** 4 for l, G in A.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--pairs", nargs="+", default=PAIRS)
    args = p.parse_args(argv)
    look = look_args([])                                          # its weights file and its cache
    look.out.mkdir(parents=True, exist_ok=True)                   # (the demo's painting is drawn there)
    meter, ph, pa = Meter(look.weights), photos(look.out), paintings(look.out)
    print("| pair | " + " | ".join(STYLE_LAYERS) + " | style / content |\n|" + " --- |" + " ---: |" * 6)
    for pair in args.pairs:
        photo, paint = (Image.open(f).convert("RGB") for f in (ph[pair.split("+")[0]], pa[pair.split("+")[1]]))
        size = longest_side_shape(photo.size, args.size)[::-1]       # (w, h): the canvas stylize.py paints
        P = meter.features(photo.resize(size, Image.BICUBIC))[CONTENT_LAYER].numpy()
        S = meter.features(at_pixel_count(paint, size))
        A = {l: (S[l] @ S[l].T / S[l].shape[1]).numpy() for l in STYLE_LAYERS}
        c, w = weights(P, A)
        total = sum(w.values())
        print(f"| {pair} | " + " | ".join(f"{w[l] / total:.4f}" for l in STYLE_LAYERS) + f" | {total / c:.3g} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
