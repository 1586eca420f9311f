"""Exercise 1: the naive convolution's backward, one output pixel at a time.

Read first: docs/backprop.md, section 1 "Convolution", up to "As one matrix product".
Check:      python exercises/check.py conv

The forward is given. Write `conv_backward`: from the gradient of the output, dout,
the gradients of the input, the kernel and the bias.

Shape letters (as in minigrad/conv.py):
    N  images       C  input channels    H, W    input height, width
    K  filters      KH, KW kernel size   OH, OW  output height, width
    OH = (H + 2*pad - KH) // stride + 1,  OW = (W + 2*pad - KW) // stride + 1

    out[n, k, i, j] = b[k] + sum_{c, u, v} w[k, c, u, v] * xpad[n, c, i*stride + u, j*stride + v]

Hints
  * The output is linear in w, in b and in xpad, so each gradient is read off that sum:
    for every output pixel (n, k, i, j), ask which entries of w, b and xpad it used, and
    with which coefficient; each of them receives dout[n, k, i, j] times that coefficient.
  * An input pixel is seen by several windows (and by every filter): its gradient is the
    SUM of what each of them sends back.
  * Padding only embeds x in a larger array of zeros. Work with the padded gradient, then
    cut the border off.
  * The loops of the forward, in the same order, are a good skeleton.
"""
import numpy as np


def conv_forward(x, w, b, stride=1, pad=0):
    """x (N, C, H, W), w (K, C, KH, KW), b (K,) -> out (N, K, OH, OW), cache. (Given.)"""
    N, C, H, W = x.shape
    K, _, KH, KW = w.shape
    OH = (H + 2 * pad - KH) // stride + 1
    OW = (W + 2 * pad - KW) // stride + 1
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))       # (N, C, H+2p, W+2p)
    out = np.zeros((N, K, OH, OW), dtype=x.dtype)
    for n in range(N):
        for k in range(K):
            for i in range(OH):
                for j in range(OW):
                    window = xpad[n, :, i * stride:i * stride + KH,
                                  j * stride:j * stride + KW]          # (C, KH, KW)
                    out[n, k, i, j] = (window * w[k]).sum() + b[k]
    return out, (x, w, b, stride, pad)


def conv_backward(dout, cache):
    """dout (N, K, OH, OW), cache from conv_forward -> dx (N, C, H, W), dw (K, C, KH, KW), db (K,).

    Return new arrays; leave dout and the cache unchanged.
    """
    x, w, b, stride, pad = cache
    # YOUR CODE HERE
    raise NotImplementedError("conv_backward: write the naive convolution's backward")
