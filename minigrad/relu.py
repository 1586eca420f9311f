"""ReLU, forward and backward: the reference engine's element-wise layer.

    y = max(x, 0)                 forward; the cache is the mask 1[x > 0], one byte a pixel
    dx = dout * 1[x > 0]          backward: the local derivative is 1 where x > 0, else 0

At x == 0 the derivative is taken as 0, as in PyTorch (any value in [0, 1] is a
subgradient there; 0 keeps the mask equal to where the output is positive). Arrays
are NCHW or any shape; NumPy or CuPy, whichever holds x.
"""
from .backend import get_array_module


def relu_forward(x):
    """y = max(x, 0); the cache is the mask 1[x > 0] (one byte a pixel), not x itself."""
    xp = get_array_module(x)
    return xp.maximum(x, 0), x > 0


def relu_backward(dout, mask):
    """dx = dout * 1[x > 0]; at x == 0 the derivative is taken as 0, as PyTorch does."""
    return dout * mask
