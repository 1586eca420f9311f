"""Exercise 5: average pooling's backward.

Read first: docs/backprop.md, section 3 "Pooling", "Average pooling".
Check:      python exercises/check.py avgpool

The forward is given. Write `avgpool_backward`.

    x (N, C, H, W) -> out (N, C, OH, OW),  OH = (H - k) // stride + 1,  OW = (W - k) // stride + 1
    out[n, c, i, j] = mean of x[n, c, i*stride : i*stride + k, j*stride : j*stride + k]

Hints
  * The average is linear, with the same coefficient for every pixel of the window.
  * With stride < k the windows overlap: a pixel in two windows hears from both.
"""
import numpy as np


def avgpool_forward(x, k, stride):
    """x (N, C, H, W) -> out (N, C, OH, OW), cache (x.shape, k, stride). (Given.)"""
    N, C, H, W = x.shape
    OH, OW = (H - k) // stride + 1, (W - k) // stride + 1
    out = np.zeros((N, C, OH, OW), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            window = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k]  # (N, C, k, k)
            out[:, :, i, j] = window.mean(axis=(2, 3))
    return out, (x.shape, k, stride)


def avgpool_backward(dout, cache):
    """dout (N, C, OH, OW), cache from avgpool_forward -> dx (N, C, H, W). Leave dout alone."""
    x_shape, k, stride = cache
    # YOUR CODE HERE
    raise NotImplementedError("avgpool_backward: write average pooling's backward")
