"""Exercise 8: total variation's backward.

Read first: docs/backprop.md, section 6 "Total variation".
Check:      python exercises/check.py tv

The forward is given. Write `tv_backward`.

    x (N, C, H, W) -> TV = sum over NEIGHBOURS (di, dj) with weight w of
                          w * sum (x[i+di, j+dj] - x[i, j])^2,   over every channel:
    the pixel below, the one to the right (w = 1) and the two diagonal ones (w = 1/2).
    pair_views(x, di, dj) gives the indices (a, b) with x[a] - x[b] every such difference.
The upstream gradient dL is a scalar (in the real objective, the TV weight).

Hints
  * Each squared difference w d^2, with d = x_a - x_b, involves two pixels: what does it
    send to x_a, and what to x_b?
  * A pixel is an end of up to eight differences; its gradient collects all of them.
"""
from minigrad.losses import NEIGHBOURS, pair_views


def tv_forward(x):
    """x (N, C, H, W) -> TV (a float), cache x. (Given.)"""
    value = 0.0
    for (di, dj), w in NEIGHBOURS:
        a, b = pair_views(x, di, dj)
        d = x[a] - x[b]                                               # (N, C, H - di, W - |dj|)
        value += w * float((d * d).sum())
    return value, x


def tv_backward(dL, cache):
    """dL (a scalar), cache x -> dx (N, C, H, W)."""
    x = cache
    # YOUR CODE HERE
    raise NotImplementedError("tv_backward: write total variation's backward")
