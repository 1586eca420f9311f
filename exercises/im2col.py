"""Exercise 2: col2im, the adjoint of im2col, and the convolution's backward as matrix products.

Read first: docs/backprop.md, section 1 "Convolution", from "As one matrix product".
Check:      python exercises/check.py im2col

`im2col` and the forward are given. Write `col2im`, then `conv_backward_im2col`.

Shape letters as in exercises/conv.py; Hp = H + 2*pad, Wp = W + 2*pad is the padded size.

    cols = im2col(xpad, KH, KW, stride, OH, OW)      (C*KH*KW, N*OH*OW)
    out  = w.reshape(K, C*KH*KW) @ cols + b           (K, N*OH*OW), then (N, K, OH, OW)

Hints for col2im
  * im2col is linear: cols = S xpad, with S a 0/1 matrix that copies pixels. Its adjoint
    S^T takes a cols-shaped array back to a padded image, and the identity
    <im2col(xpad), X> = <xpad, col2im(X)> must hold for every xpad and X.
  * Where im2col COPIES one pixel into several columns, col2im must ADD several columns
    back into one pixel.
  * Read im2col's loop line by line: which view of xpad goes into which slice of cols,
    with which axes in which order? col2im walks the same views the other way.
Hints for conv_backward_im2col
  * For Y = Wm X (all matrices) the gradients are dWm = dY X^T and dX = Wm^T dY; check
    each product's shape against the docstring before you write it.
  * dout must first become the (K, N*OH*OW) matrix dY; mind the order of N and K.
"""
import numpy as np


def im2col(xpad, KH, KW, stride, OH, OW):
    """Padded (N, C, Hp, Wp) -> cols (C*KH*KW, N*OH*OW). (Given.)

    Column (n, i, j) holds the C x KH x KW window under output pixel (i, j) of image n.
    """
    N, C = xpad.shape[:2]
    cols = np.empty((C, KH, KW, N, OH, OW), dtype=xpad.dtype)
    for p in range(KH):
        for q in range(KW):
            view = xpad[:, :, p:p + stride * OH:stride, q:q + stride * OW:stride]  # (N, C, OH, OW)
            cols[:, p, q] = view.transpose(1, 0, 2, 3)                             # (C, N, OH, OW)
    return cols.reshape(C * KH * KW, N * OH * OW)


def col2im(cols, xpad_shape, KH, KW, stride, OH, OW):
    """cols (C*KH*KW, N*OH*OW) -> a padded (N, C, Hp, Wp) array (xpad_shape): im2col's adjoint."""
    # YOUR CODE HERE
    raise NotImplementedError("col2im: write the adjoint of im2col")


def conv_forward_im2col(x, w, b, stride=1, pad=0):
    """x (N, C, H, W), w (K, C, KH, KW), b (K,) -> out (N, K, OH, OW), cache. (Given.)"""
    N, C, H, W = x.shape
    K, _, KH, KW = w.shape
    OH = (H + 2 * pad - KH) // stride + 1
    OW = (W + 2 * pad - KW) // stride + 1
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))       # (N, C, Hp, Wp)
    cols = im2col(xpad, KH, KW, stride, OH, OW)                       # (C*KH*KW, N*OH*OW)
    out = w.reshape(K, -1) @ cols + b[:, None]                        # (K, N*OH*OW)
    out = out.reshape(K, N, OH, OW).transpose(1, 0, 2, 3)             # (N, K, OH, OW)
    return out, (x, w, b, stride, pad)


def conv_backward_im2col(dout, cache):
    """dout (N, K, OH, OW) -> dx (N, C, H, W), dw (K, C, KH, KW), db (K,), with your col2im.

    Return new arrays; leave dout and the cache unchanged.
    """
    x, w, b, stride, pad = cache
    # YOUR CODE HERE
    raise NotImplementedError("conv_backward_im2col: write the backward of the matrix product")
