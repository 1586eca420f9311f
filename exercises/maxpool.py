"""Exercise 4: max pooling's backward.

Read first: docs/backprop.md, section 3 "Pooling", "Max pooling".
Check:      python exercises/check.py maxpool

The forward is given. Write `maxpool_backward`.

A k x k window slides with `stride`; windows that would run off the edge are dropped.
    x (N, C, H, W) -> out (N, C, OH, OW),  OH = (H - k) // stride + 1,  OW = (W - k) // stride + 1
    out[n, c, i, j] = max of x[n, c, i*stride : i*stride + k, j*stride : j*stride + k]

Hints
  * Each output IS one of its window's inputs (the largest); nudging that one input moves
    the output one for one, nudging any other input does not move it at all.
  * Ties: send the gradient to ONE position, the first maximum in row-major order, as
    PyTorch does (np.argmax returns the first).
  * With stride < k the windows overlap, and one pixel can be the maximum of two windows.
"""
import numpy as np


def maxpool_forward(x, k, stride):
    """x (N, C, H, W) -> out (N, C, OH, OW), cache (x, k, stride). (Given.)"""
    N, C, H, W = x.shape
    OH, OW = (H - k) // stride + 1, (W - k) // stride + 1
    out = np.zeros((N, C, OH, OW), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            window = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k]  # (N, C, k, k)
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out, (x, k, stride)


def maxpool_backward(dout, cache):
    """dout (N, C, OH, OW), cache from maxpool_forward -> dx (N, C, H, W). Leave dout alone."""
    x, k, stride = cache
    # YOUR CODE HERE
    raise NotImplementedError("maxpool_backward: write max pooling's backward")
