"""Exercise 8: total variation's backward.

Read first: docs/backprop.md, section 6 "Total variation".
Check:      python exercises/check.py tv

The forward is given. Write `tv_backward`.

    x (N, C, H, W) -> TV = sum (x[i+1, j] - x[i, j])^2 + sum (x[i, j+1] - x[i, j])^2,
    over every channel; dv (N, C, H-1, W) and dh (N, C, H, W-1) are the differences.
The upstream gradient dL is a scalar (in the real objective, the TV weight).

Hints
  * Each squared difference d^2, with d = x_a - x_b, involves two pixels: what does it
    send to x_a, and what to x_b?
  * A pixel is an end of up to four differences; its gradient collects all of them.
"""


def tv_forward(x):
    """x (N, C, H, W) -> TV (a float), cache x. (Given.)"""
    dv = x[:, :, 1:, :] - x[:, :, :-1, :]                             # (N, C, H-1, W)
    dh = x[:, :, :, 1:] - x[:, :, :, :-1]                             # (N, C, H, W-1)
    return float((dv * dv).sum() + (dh * dh).sum()), x


def tv_backward(dL, cache):
    """dL (a scalar), cache x -> dx (N, C, H, W)."""
    x = cache
    # YOUR CODE HERE
    raise NotImplementedError("tv_backward: write total variation's backward")
