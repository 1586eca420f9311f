"""An experiment of docs/look.md ("Where the finest lines come from"): stylize.py with L-BFGS
started from a smoothing inverse Hessian, so that fine detail grows slowly and --tv-weight 0
need not be grainy.

    python benchmarks/precondition_probe.py --period 4 --tv-weight 0 --content C --style S -o out.png

Every other option is stylize.py's. L-BFGS builds its estimate H of the inverse Hessian on
H_0 = gamma I (minigrad/two_loop.py). Here H_0 = gamma P, with P a low-pass filter: the
same as running L-BFGS on z with x = x_0 + P^(1/2) z, the change of variables that
feature-visualisation work uses against high-frequency patterns (Olah et al., "Feature
Visualization", Distill 2017). P multiplies the spectrum of the image, mirrored at its edges
(so that nothing wraps from one side to the other), by 1 / (1 + (f / f_0)^2), f in cycles
per pixel and f_0 = 1 / period: symmetric and positive definite, as H_0 must be, and with
it gamma = s.y / y.P.y (Nocedal & Wright eq. 7.20 in z's coordinates). A probe, not a
feature: NumPy only, and nothing in minigrad/, vgg/ or stylize.py knows about it.
"""
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def low_pass(period):
    """P: (N, C, H, W) -> (N, C, H, W), each channel's spectrum times 1 / (1 + (f period)^2),
    the image mirrored to (2H, 2W) first (the even extension: P is then symmetric)."""
    masks = {}

    def P(g):
        N, C, H, W = g.shape
        if (H, W) not in masks:                                         # the real FFT's half plane
            f = np.hypot(np.fft.fftfreq(2 * H)[:, None], np.fft.rfftfreq(2 * W)[None, :])  # (2H, W + 1)
            masks[H, W] = 1.0 / (1.0 + (f * period) ** 2)
        even = np.concatenate([g, g[:, :, ::-1]], axis=2)                 # (N, C, 2H, W)
        even = np.concatenate([even, even[:, :, :, ::-1]], axis=3)        # (N, C, 2H, 2W)
        smooth = np.fft.irfft2(np.fft.rfft2(even) * masks[H, W], s=(2 * H, 2 * W))  # (N, C, 2H, 2W)
        return smooth[:, :, :H, :W].astype(g.dtype)
    return P


class Scaled:
    """gamma P as the two-loop recursion uses gamma: `gamma * q` is gamma P q."""

    def __init__(self, gamma, P):
        self.gamma, self.P = gamma, P

    def __mul__(self, q):
        return self.gamma * self.P(q)


def install(period):
    """Make every minigrad LBFGS start from H_0 = gamma P: its first direction -P g, its gamma
    measured in z's coordinates, its memory cleared to gamma = 1 as before."""
    import minigrad.optim as optim
    P = low_pass(period)
    remember, forget = optim.LBFGS._remember, optim.LBFGS._forget

    def _remember(self, s, y, gs):
        remember(self, s, y, gs)
        if self.pairs and self.pairs[-1][0] is s:          # stored: its gamma in z's coordinates
            self.gamma = Scaled(optim._dot(y, s) / optim._dot(y, P(y)), P)   # s.y / y.P.y

    def _forget(self):
        forget(self)
        self.gamma = Scaled(1.0, P)

    def _steepest(self, g):                               # (the line search's rule only)
        d = -P(g)                                         # H_0 = P before any curvature is known
        return d, self.lr / float(np.abs(d).max())        # the largest entry of the step is lr

    optim.LBFGS._remember, optim.LBFGS._forget, optim.LBFGS._steepest = _remember, _forget, _steepest


def main(argv):
    period, rest = 4.0, []
    args = iter(argv)
    for a in args:
        if a == "--period":
            period = float(next(args))
        else:
            rest.append(a)
    install(period)
    import stylize
    return stylize.main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
