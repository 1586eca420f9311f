"""An experiment of docs/look.md ("Where the finest lines come from"): stylize.py with L-BFGS
started from a smoothing inverse Hessian, so that fine detail grows slowly and --tv-weight 0
need not be grainy.

    python benchmarks/precondition_probe.py --period 4 --tv-weight 0 --content C --style S -o out.png

Every other option is stylize.py's. L-BFGS builds its estimate H of the inverse Hessian on
H_0 = gamma M (minigrad/two_loop.py; M = I, or vgg/orientation.py's filter by default). Here
H_0 = gamma P, with P a low-pass filter in M's place: the
same as running L-BFGS on z with x = x_0 + P^(1/2) z, the change of variables that
feature-visualisation work uses against high-frequency patterns (Olah et al., "Feature
Visualization", Distill 2017). P multiplies the spectrum of the image, mirrored at its edges
(so that nothing wraps from one side to the other), by 1 / (1 + (f / f_0)^2), f in cycles
per pixel and f_0 = 1 / period: symmetric and positive definite, as H_0 must be, and with
it gamma = s.y / y.P.y (Nocedal & Wright eq. 7.20 in z's coordinates). A probe, not a
feature: NumPy only; it hands P to minigrad's LBFGS as its `precondition`, and nothing in
vgg/ or stylize.py knows about it. (It was written before that parameter existed, when it
patched LBFGS's methods; docs/look.md's figures for it were measured that way, the same
arithmetic.)
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


def install(period):
    """Make stylize's L-BFGS start from H_0 = gamma P: its first direction -P g, its gamma
    s.y / y.P.y (minigrad/optim.py's precondition), in place of vgg/orientation.py's M."""
    from minigrad.optim import LBFGS
    from vgg import run
    P = low_pass(period)

    def optimiser(self, shape):
        s = self.settings
        return LBFGS(self.x, lr=s.lr, history=s.history, line_search=run.LINE_SEARCH[s.line_search],
                     precondition=P)

    run.Stylization.optimiser = optimiser


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
