"""Exercise 3: the ReLU's backward.

Read first: docs/backprop.md, section 2 "ReLU".
Check:      python exercises/check.py relu

The forward is given; it keeps its input x as the cache (the project keeps only the
mask 1[x > 0], one byte a pixel; here you build the mask yourself). Write `relu_backward`.

    y = max(x, 0), elementwise;  x, y, dout, dx all of one shape, e.g. (N, C, H, W)

Hints
  * Each y_i depends on x_i alone, so dx_i = dout_i * dy_i/dx_i.
  * The mask says where the forward let the signal through: it comes from what the
    forward saw.
  * At x_i = 0 the derivative does not exist. Take it as 0, as PyTorch does.
"""
import numpy as np


def relu_forward(x):
    """x (any shape) -> y = max(x, 0), cache x. (Given.)"""
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """dout (shape of x), cache x -> dx (shape of x). Return a new array; leave dout alone."""
    x = cache
    # YOUR CODE HERE
    raise NotImplementedError("relu_backward: write the ReLU's backward")
