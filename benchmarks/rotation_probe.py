"""An experiment of docs/look.md ("What the mesh still counts"): stylize.py, with VGG seeing the
image turned by a random angle after each step's jitter.

    python benchmarks/rotation_probe.py --degrees 10 --content C --style S --size 256 -o out.png
    python benchmarks/rotation_probe.py --degrees 10 --borders clamp ...      # the noisy variant

Every other option is stylize.py's. If the thin horizontal and vertical lines that
benchmarks/texture.py's mesh counts were tied to VGG's pooling grid, turning the grid by up to
+-10 degrees at each step would smear them; it hardly does (docs/look.md has the figures),
because what the style loss asks for turns with the view.

How: the network is wrapped so that its forward pass sees R x, with R a bilinear rotation
about the image's centre (the points it samples outside the image mirrored back in, or
clamped to the edge), and its backward pass returns R^T of the gradient: the adjoint, as
the jitter's roll has its own in vgg/transfer.py (docs/backprop.md says why). The photo
goes through the same wrapper, so the content targets turn with the image; each shift
draws a new angle. A probe, not a feature: NumPy only, and nothing in stylize.py or vgg/
knows about it.
"""
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rotation(H, W, radians, borders="mirror"):
    """R as (the four flat source indices, their four bilinear weights) of each output pixel."""
    i, j = np.mgrid[:H, :W].astype(np.float64)
    ci, cj, c, s = (H - 1) / 2, (W - 1) / 2, np.cos(radians), np.sin(radians)
    si, sj = ci + (i - ci) * c - (j - cj) * s, cj + (i - ci) * s + (j - cj) * c
    if borders == "mirror":                         # -1 -> 1, H -> H - 2: reflected, not repeated
        si, sj = (H - 1) - np.abs((H - 1) - np.abs(si)), (W - 1) - np.abs((W - 1) - np.abs(sj))
    si, sj = np.clip(si, 0, H - 1), np.clip(sj, 0, W - 1)
    i0, j0 = np.minimum(np.floor(si), H - 2).astype(int), np.minimum(np.floor(sj), W - 2).astype(int)
    fi, fj = si - i0, sj - j0
    index = [i0 * W + j0, i0 * W + j0 + 1, (i0 + 1) * W + j0, (i0 + 1) * W + j0 + 1]
    weight = [(1 - fi) * (1 - fj), (1 - fi) * fj, fi * (1 - fj), fi * fj]
    return [k.ravel() for k in index], [w.ravel() for w in weight]


def rotate(x, R):
    """R x for an (N, C, H, W) array: y[p] = sum over its four sources s_k(p) of w_k(p) x[s_k(p)]."""
    index, weight = R
    flat = x.reshape(x.shape[0], x.shape[1], -1)                      # (N, C, H * W)
    return sum(flat[:, :, k] * w for k, w in zip(index, weight)).reshape(x.shape).astype(x.dtype)


def rotate_adjoint(g, R):
    """R^T g: dL/dx[s] = sum over the (p, k) with s_k(p) = s of w_k(p) dL/dy[p]: each output
    pixel's gradient sent back to its four sources by the same weights (a scatter-add)."""
    index, weight = R
    N, C, H, W = g.shape
    flat = g.reshape(N, C, H * W)                                     # (N, C, H * W)
    out = np.zeros((N, C, H * W), np.float64)
    for n in range(N):
        for c in range(C):                                            # bincount adds repeated sources
            out[n, c] = sum(np.bincount(k, w * flat[n, c], minlength=H * W) for k, w in zip(index, weight))
    return out.reshape(g.shape).astype(g.dtype)


class TurnedView:
    """A VGG19 whose forward pass sees R x and whose backward pass returns R^T of the gradient."""

    def __init__(self, model, degrees, borders, seed=0):
        self.model, self.degrees, self.borders = model, degrees, borders
        self.angles = np.random.default_rng(seed)
        self.R = None                                   # no turn until the first shift

    def turn(self, shape):
        self.R = rotation(*shape, np.deg2rad(self.angles.uniform(-self.degrees, self.degrees)), self.borders)

    def forward(self, x, taps):
        return self.model.forward(rotate(x, self.R) if self.R is not None else x, taps)

    def backward(self, grads):
        g = self.model.backward(grads)
        return rotate_adjoint(g, self.R) if self.R is not None else g

    def __getattr__(self, name):                        # everything else is the model's
        return getattr(self.model, name)


def install(degrees, borders):
    """Wrap the network every Objective is built on, and draw a new angle at each shift."""
    import vgg.transfer as transfer
    built = transfer.Objective.__init__

    def init(self, model, *args, **kwargs):
        built(self, TurnedView(model, degrees, borders), *args, **kwargs)

    def shift_to(self, dy, dx):
        self.model.turn(self.content_image.shape[2:])
        self.shift = (dy, dx)
        self.P = self._content_targets()                # the photo, rolled and turned

    transfer.Objective.__init__, transfer.Objective.shift_to = init, shift_to


def main(argv):
    degrees, borders, rest = 10.0, "mirror", []
    args = iter(argv)
    for a in args:
        if a == "--degrees":
            degrees = float(next(args))
        elif a == "--borders":
            borders = next(args)
        else:
            rest.append(a)
    install(degrees, borders)
    import stylize
    return stylize.main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
