"""2-D convolution, forward and backward: a naive loop version, then a fast one.

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
"""
from .backend import band_bytes, conv3x3_algorithm, get_array_module, host_map, host_threads
from . import winograd


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


def conv2d_backward_naive(dout, cache):
    """dout (N, K, OH, OW) -> dx (N, C, H, W), dw (K, C, KH, KW), db (K,)."""
    x, w, b, stride, pad = cache
    xp = get_array_module(dout)
    N, C, H, W = x.shape
    K, _, KH, KW = w.shape
    _, _, OH, OW = dout.shape
    xpad = pad_hw(x, pad)
    dxpad = xp.zeros_like(xpad)
    dw = xp.zeros_like(w)
    for n in range(N):
        for k in range(K):
            for i in range(OH):
                for j in range(OW):
                    rows = slice(i * stride, i * stride + KH)
                    cols = slice(j * stride, j * stride + KW)
                    # d out[n,k,i,j] / d xpad[n,:,window] = w[k];  / d w[k] = xpad[n,:,window]
                    dxpad[n, :, rows, cols] += dout[n, k, i, j] * w[k]
                    dw[k] += dout[n, k, i, j] * xpad[n, :, rows, cols]
    db = dout.sum(axis=(0, 2, 3))                                     # d out / d b[k] = 1
    dx = dxpad[:, :, pad:pad + H, pad:pad + W]                        # drop the padding
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
    """The whole convolution as one matrix product; same signature as the naive one."""
    N, C, H, W = x.shape
    K, _, KH, KW = w.shape
    OH, OW = conv_output_size(H, W, KH, KW, stride, pad)
    cols = im2col(pad_hw(x, pad), KH, KW, stride, OH, OW)             # (C*KH*KW, N*OH*OW)
    out = w.reshape(K, -1) @ cols                                     # (K, N*OH*OW)
    out += b[:, None]
    out = out.reshape(K, N, OH, OW).transpose(1, 0, 2, 3)             # (N, K, OH, OW)
    return out, (x, w, b, stride, pad)


def conv2d_backward_im2col(dout, cache):
    """Backward of the matrix product out = w_mat @ cols, then col2im for dx."""
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    K, _, KH, KW = w.shape
    _, _, OH, OW = dout.shape
    dout_mat = dout.transpose(1, 0, 2, 3).reshape(K, N * OH * OW)     # (K, N*OH*OW)
    xpad_shape = (N, C, H + 2 * pad, W + 2 * pad)
    cols = im2col(pad_hw(x, pad), KH, KW, stride, OH, OW)             # (C*KH*KW, N*OH*OW)
    dw = (dout_mat @ cols.T).reshape(w.shape)                         # dw = dout cols^T
    dcols = w.reshape(K, -1).T @ dout_mat                             # dcols = w^T dout
    dx = col2im(dcols, xpad_shape, KH, KW, stride, OH, OW)[:, :, pad:pad + H, pad:pad + W]
    db = dout_mat.sum(axis=1)                                         # db = sum of dout
    return dx, dw, db


# --------------------------------------------------------------------------
# The default: im2col in bands of output rows.
# --------------------------------------------------------------------------
# A 3x3 convolution of a 64-channel 512 x 512 image has an im2col matrix of
# 64*9 x 512*512 floats = 600 MB. Taking a band of output rows at a time keeps
# that matrix small (about band_bytes, see minigrad/backend.py) and in cache,
# with the same arithmetic.

BAND_BYTES = None        # None: backend.band_bytes (8 MB on NumPy, more on CuPy); tests set 1


def _rows_per_band(C, KH, KW, OW, itemsize, xp):
    """How many output rows make an im2col band of about BAND_BYTES."""
    return max(1, (BAND_BYTES or band_bytes(xp)) // (C * KH * KW * OW * itemsize))


def _bands(OH, rows):
    """(first, last + 1) output rows of each band."""
    return [(i0, min(OH, i0 + rows)) for i0 in range(0, OH, rows)]


def uses_winograd(w, stride, pad):
    """The fast path for VGG's layers: 3x3, stride 1, padding 1, and enough channels
    (at least WINOGRAD_MIN_CHANNELS in and out) for the 16 matrix products to pay
    for the tile transforms. Everything else goes through im2col bands."""
    K, C, KH, KW = w.shape
    return ((KH, KW, stride, pad) == (3, 3, 1, 1) and min(C, K) >= WINOGRAD_MIN_CHANNELS
            and conv3x3_algorithm(get_array_module(w)) == "winograd")


WINOGRAD_MIN_CHANNELS = 16


def conv2d_forward(x, w, b, stride=1, pad=0, U=None):
    """Fast convolution, same result and signature as conv2d_forward_naive.

    The cache is (x, w, b, stride, pad, U): U (16, K, C) is the Winograd kernel
    (minigrad/winograd.py) when that path ran, kept because the backward reuses
    it; None after the im2col path. A caller whose w never changes (a frozen
    layer) may pass the U it computed before, saving the kernel transform.
    """
    if uses_winograd(w, stride, pad):
        U = winograd.kernel_transform(w) if U is None else U          # (16, K, C)
        out = winograd.conv3x3(x, U, b)                               # (N, K, H, W)
        return out, (x, w, b, stride, pad, U)
    xp = get_array_module(x)
    N, C, H, W = x.shape
    K, _, KH, KW = w.shape
    OH, OW = conv_output_size(H, W, KH, KW, stride, pad)
    xpad = pad_hw(x, pad)                                             # (N, C, H+2p, W+2p)
    w_mat = w.reshape(K, C * KH * KW)                                 # (K, C*KH*KW)
    out = xp.empty((N, K, OH, OW), dtype=x.dtype)
    rows = _rows_per_band(C, KH, KW, OW, x.itemsize, xp)
    bands = _bands(OH, min(rows, -(-OH // host_threads(xp))))         # at least one band a thread

    def run(n, j0, j1):                                               # bands j0..j1-1 of image n
        for i0, i1 in bands[j0:j1]:
            band = xpad[n:n + 1, :, i0 * stride:(i1 - 1) * stride + KH]   # (1, C, rows seen, Wp)
            cols = im2col(band, KH, KW, stride, i1 - i0, OW)              # (C*KH*KW, rows*OW)
            prod = (w_mat @ cols).reshape(K, i1 - i0, OW)                 # (K, rows, OW)
            xp.add(prod, b[:, None, None], out=out[n, :, i0:i1])
    for n in range(N):
        host_map(xp, lambda j0, j1: run(n, j0, j1), len(bands))       # bands over the host's threads
    return out, (x, w, b, stride, pad, None)


def conv2d_backward(dout, cache, need_dw=True):
    """Fast backward: dx always; dw and db only if need_dw (else None, None).

    Winograd path: dx = flip(conv(flip(dout), w^T)) with the forward's U transposed
    (see minigrad/winograd.py). im2col path, per band: dcols = w_mat^T dout_band,
    col2im'd into dx. Weight gradient (both paths), per band: dw += dout_band cols^T.
    """
    x, w, b, stride, pad, U = cache
    xp = get_array_module(dout)
    N, C, H, W = x.shape
    K, _, KH, KW = w.shape
    _, _, OH, OW = dout.shape
    w_mat = w.reshape(K, C * KH * KW)                                 # (K, C*KH*KW)
    bands = _bands(OH, _rows_per_band(C, KH, KW, OW, dout.itemsize, xp))
    if U is not None:
        dx = xp.empty((N, C, H, W), dtype=dout.dtype)
        winograd.conv3x3(dout[:, :, ::-1, ::-1], U.transpose(0, 2, 1), None,
                         out=dx[:, :, ::-1, ::-1])                    # dx = flip(conv(flip(dout), w^T))
    else:
        dxpad = xp.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=dout.dtype)
        for n in range(N):
            for i0, i1 in bands:
                d_band = dout[n, :, i0:i1].reshape(K, (i1 - i0) * OW)  # (K, rows*OW)
                seen = slice(i0 * stride, (i1 - 1) * stride + KH)     # input rows of this band
                dcols = w_mat.T @ d_band                              # (C*KH*KW, rows*OW)
                target = dxpad[n:n + 1, :, seen]                      # (1, C, rows seen, Wp)
                col2im(dcols, target.shape, KH, KW, stride, i1 - i0, OW, out=target)
        dx = dxpad[:, :, pad:pad + H, pad:pad + W]                    # (N, C, H, W)
    if not need_dw:
        return dx, None, None
    dw = xp.zeros_like(w_mat)
    xpad = pad_hw(x, pad)
    for n in range(N):
        for i0, i1 in bands:
            d_band = dout[n, :, i0:i1].reshape(K, (i1 - i0) * OW)      # (K, rows*OW)
            seen = slice(i0 * stride, (i1 - 1) * stride + KH)
            cols = im2col(xpad[n:n + 1, :, seen], KH, KW, stride, i1 - i0, OW)
            dw += d_band @ cols.T                                     # (K, C*KH*KW)
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw.reshape(w.shape), db
