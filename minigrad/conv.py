"""2-D convolution, forward and backward: a naive loop version, then im2col.

Follows the cs231n assignment-2 layout (`*_forward(...) -> (out, cache)`,
`*_backward(dout, cache) -> (dx, dw, db)`) and the im2col / col2im pair of
"Deep Learning from Scratch" (`common/util.py`), where col2im is im2col with
`=` replaced by `+=` -- which is exactly the statement that one is the adjoint
(the transpose) of the other.

Shape letters, fixed for this module:
    N  images in the batch        C  input channels       H, W   input height, width
    K  output channels (filters)  KH, KW kernel size      OH, OW output height, width
    OH = (H + 2*pad - KH) // stride + 1,   OW = (W + 2*pad - KW) // stride + 1

The convolution (really a cross-correlation, as in every deep-learning library):
    out[n, k, i, j] = b[k] + sum_{c, p, q} w[k, c, p, q] * xpad[n, c, i*stride + p, j*stride + q]
so its three local derivatives are
    dx[n, c, i*stride + p, j*stride + q] += w[k, c, p, q] * dout[n, k, i, j]   (then un-pad)
    dw[k, c, p, q] += xpad[n, c, i*stride + p, j*stride + q] * dout[n, k, i, j]
    db[k]          += dout[n, k, i, j]

Every implementation, here and in the fast engine (minigrad/fast/), has the same
contract (minigrad/reference.py): `conv2d_*_forward(x, w, b, stride, pad) -> (out, cache)`
with cache = (x, w, b, stride, pad), and `*_backward(dout, cache, need_dw=True)`,
so any backward can run on any forward's cache and the results can be compared.
"""
from .backend import get_array_module


def conv_output_size(H, W, KH, KW, stride, pad):
    """(OH, OW) for a convolution or pooling window sliding over an H x W input."""
    return (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1


def pad_hw(x, pad):
    """Zero-pad the last two axes of an (N, C, H, W) array by `pad` on every side."""
    if pad == 0:
        return x
    xp = get_array_module(x)
    return xp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


# --------------------------------------------------------------------------
# Naive reference: the definition above, one output pixel at a time.
# --------------------------------------------------------------------------

def conv2d_forward_naive(x, w, b, stride=1, pad=0):
    """x (N, C, H, W), w (K, C, KH, KW), b (K,) -> out (N, K, OH, OW), cache."""
    xp = get_array_module(x)
    N, C, H, W = x.shape
    K, _, KH, KW = w.shape
    OH, OW = conv_output_size(H, W, KH, KW, stride, pad)
    xpad = pad_hw(x, pad)                                             # (N, C, H+2p, W+2p)
    out = xp.zeros((N, K, OH, OW), dtype=x.dtype)
    for n in range(N):
        for k in range(K):
            for i in range(OH):
                for j in range(OW):
                    window = xpad[n, :, i * stride:i * stride + KH,
                                  j * stride:j * stride + KW]          # (C, KH, KW)
                    out[n, k, i, j] = (window * w[k]).sum() + b[k]
    return out, (x, w, b, stride, pad)


def conv2d_backward_naive(dout, cache, need_dw=True):
    """dout (N, K, OH, OW) -> dx (N, C, H, W), dw (K, C, KH, KW), db (K,); dw, db None unless need_dw."""
    x, w, b, stride, pad = cache
    xp = get_array_module(dout)
    N, C, H, W = x.shape
    K, _, KH, KW = w.shape
    _, _, OH, OW = dout.shape
    xpad = pad_hw(x, pad) if need_dw else None                        # a frozen layer keeps no x
    dxpad = xp.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=dout.dtype)
    dw = xp.zeros_like(w)
    for n in range(N):
        for k in range(K):
            for i in range(OH):
                for j in range(OW):
                    rows = slice(i * stride, i * stride + KH)
                    cols = slice(j * stride, j * stride + KW)
                    # d out[n,k,i,j] / d xpad[n,:,window] = w[k];  / d w[k] = xpad[n,:,window]
                    dxpad[n, :, rows, cols] += dout[n, k, i, j] * w[k]
                    if need_dw:
                        dw[k] += dout[n, k, i, j] * xpad[n, :, rows, cols]
    dx = dxpad[:, :, pad:pad + H, pad:pad + W]                        # drop the padding
    if not need_dw:
        return dx, None, None
    db = dout.sum(axis=(0, 2, 3))                                     # d out / d b[k] = 1
    return dx, dw, db


# --------------------------------------------------------------------------
# im2col and its adjoint col2im: a convolution becomes one matrix product.
# --------------------------------------------------------------------------

def im2col(xpad, KH, KW, stride, OH, OW):
    """Padded (N, C, Hp, Wp) -> cols (C*KH*KW, N*OH*OW).

    Column (n, i, j) holds the C x KH x KW window under output pixel (i, j), so
    w.reshape(K, C*KH*KW) @ cols is the whole convolution. The only loop is over
    the KH*KW kernel offsets; each step copies one strided view of the input.
    """
    xp = get_array_module(xpad)
    N, C = xpad.shape[:2]
    cols = xp.empty((C, KH, KW, N, OH, OW), dtype=xpad.dtype)
    for p in range(KH):
        for q in range(KW):
            view = xpad[:, :, p:p + stride * OH:stride, q:q + stride * OW:stride]  # (N, C, OH, OW)
            cols[:, p, q] = view.transpose(1, 0, 2, 3)                             # (C, N, OH, OW)
    return cols.reshape(C * KH * KW, N * OH * OW)


def col2im(cols, xpad_shape, KH, KW, stride, OH, OW, out=None):
    """The adjoint of im2col: cols (C*KH*KW, N*OH*OW) -> padded (N, C, Hp, Wp).

    The same loop as im2col with `=` replaced by `+=`: where windows overlap,
    an input pixel collects the gradient of every output pixel that saw it.
    With `out` (an array of shape xpad_shape) the sums are added into it.
    """
    xp = get_array_module(cols)
    N, C = xpad_shape[:2]
    cols = cols.reshape(C, KH, KW, N, OH, OW)
    xpad = xp.zeros(xpad_shape, dtype=cols.dtype) if out is None else out
    for p in range(KH):
        for q in range(KW):
            xpad[:, :, p:p + stride * OH:stride, q:q + stride * OW:stride] += \
                cols[:, p, q].transpose(1, 0, 2, 3)                                # (N, C, OH, OW)
    return xpad


def conv2d_forward_im2col(x, w, b, stride=1, pad=0):
    """The whole convolution as one matrix product; same signature and cache as the naive one."""
    N, C, H, W = x.shape
    K, _, KH, KW = w.shape
    OH, OW = conv_output_size(H, W, KH, KW, stride, pad)
    cols = im2col(pad_hw(x, pad), KH, KW, stride, OH, OW)             # (C*KH*KW, N*OH*OW)
    out = w.reshape(K, -1) @ cols                                     # (K, N*OH*OW)
    out += b[:, None]
    out = out.reshape(K, N, OH, OW).transpose(1, 0, 2, 3)             # (N, K, OH, OW)
    return out, (x, w, b, stride, pad)


def conv2d_backward_im2col(dout, cache, need_dw=True):
    """Backward of the matrix product out = w_mat @ cols, then col2im for dx."""
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    K, _, KH, KW = w.shape
    _, _, OH, OW = dout.shape
    dout_mat = dout.transpose(1, 0, 2, 3).reshape(K, N * OH * OW)     # (K, N*OH*OW)
    dcols = w.reshape(K, -1).T @ dout_mat                             # dcols = w^T dout
    xpad_shape = (N, C, H + 2 * pad, W + 2 * pad)
    dx = col2im(dcols, xpad_shape, KH, KW, stride, OH, OW)[:, :, pad:pad + H, pad:pad + W]
    if not need_dw:                                                   # a frozen layer: dx only
        return dx, None, None
    cols = im2col(pad_hw(x, pad), KH, KW, stride, OH, OW)             # (C*KH*KW, N*OH*OW)
    dw = (dout_mat @ cols.T).reshape(w.shape)                         # dw = dout cols^T
    db = dout_mat.sum(axis=1)                                         # db = sum of dout
    return dx, dw, db
