"""im2col in bands of output rows: the reference convolution (minigrad/conv.py), in small pieces.

A 3x3 convolution of a 64-channel 512 x 512 image has an im2col matrix of
64*9 x 512*512 floats = 600 MB. Taking a band of output rows at a time keeps
that matrix small (about `band_bytes`) and in cache, with the same arithmetic:
each band is im2col, one matrix product, and (backward) col2im, exactly as in
conv2d_forward_im2col and conv2d_backward_im2col. The forward's bands are
independent, so they are spread over the workers (minigrad/fast/threads.py).

Same shape letters as minigrad/conv.py. The weight gradient is shared with the
Winograd path (minigrad/fast/engine.py), whose image gradient is Winograd's own.
"""
from ..backend import get_array_module
from ..conv import col2im, conv_output_size, im2col, pad_hw


def rows_per_band(C, KH, KW, OW, itemsize, band_bytes):
    """How many output rows make an im2col band of about band_bytes (at least one)."""
    return max(1, band_bytes // (C * KH * KW * OW * itemsize))


def bands(OH, rows):
    """(first, last + 1) output rows of each band."""
    return [(i0, min(OH, i0 + rows)) for i0 in range(0, OH, rows)]


def forward(x, w, b, stride, pad, band_bytes, workers):
    """out (N, K, OH, OW), as conv2d_forward_im2col gives it, band by band on the workers."""
    xp = get_array_module(x)
    N, C, H, W = x.shape
    K, _, KH, KW = w.shape
    OH, OW = conv_output_size(H, W, KH, KW, stride, pad)
    xpad = pad_hw(x, pad)                                             # (N, C, H+2p, W+2p)
    w_mat = w.reshape(K, C * KH * KW)                                 # (K, C*KH*KW)
    out = xp.empty((N, K, OH, OW), dtype=x.dtype)
    rows = rows_per_band(C, KH, KW, OW, x.itemsize, band_bytes)
    todo = bands(OH, min(rows, -(-OH // workers.n)))                  # at least one band a worker

    def run(n, j0, j1):                                               # bands j0..j1-1 of image n
        for i0, i1 in todo[j0:j1]:
            band = xpad[n:n + 1, :, i0 * stride:(i1 - 1) * stride + KH]   # (1, C, rows seen, Wp)
            cols = im2col(band, KH, KW, stride, i1 - i0, OW)              # (C*KH*KW, rows*OW)
            rows = out[n, :, i0:i1].reshape(K, (i1 - i0) * OW)            # (K, rows*OW), a view
            xp.matmul(w_mat, cols, out=rows)                              # straight into out
            rows += b[:, None]
    for n in range(N):
        workers.map_slices(lambda j0, j1: run(n, j0, j1), len(todo))
    return out


def backward_dx(dout, x_shape, w, stride, pad, band_bytes, workers):
    """dx (N, C, H, W): per band, dcols = w_mat^T dout_band, col2im'd into dx.

    Bands of neighbouring output rows add into the same input rows, so the workers
    split the input channels instead: channels c0..c1-1 of dx need only w[:, c0:c1].
    """
    xp = get_array_module(dout)
    N, C, H, W = x_shape
    K, _, KH, KW = w.shape
    _, _, OH, OW = dout.shape
    dxpad = xp.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=dout.dtype)
    todo = bands(OH, rows_per_band(C, KH, KW, OW, dout.itemsize, band_bytes))

    def part(c0, c1):                                                 # input channels c0..c1-1
        w_mat = w[:, c0:c1].reshape(K, (c1 - c0) * KH * KW)           # (K, C'*KH*KW)
        for n in range(N):
            for i0, i1 in todo:
                d_band = dout[n, :, i0:i1].reshape(K, (i1 - i0) * OW)  # (K, rows*OW)
                seen = slice(i0 * stride, (i1 - 1) * stride + KH)     # input rows of this band
                dcols = w_mat.T @ d_band                              # (C'*KH*KW, rows*OW)
                target = dxpad[n:n + 1, c0:c1, seen]                  # (1, C', rows seen, Wp)
                col2im(dcols, target.shape, KH, KW, stride, i1 - i0, OW, out=target)
    workers.map_slices(part, C)
    return dxpad[:, :, pad:pad + H, pad:pad + W]                      # (N, C, H, W)


def backward_dw(dout, x, w, stride, pad, band_bytes):
    """dw (K, C, KH, KW) and db (K,): per band, dw += dout_band cols^T."""
    xp = get_array_module(dout)
    N, C, H, W = x.shape
    K, _, KH, KW = w.shape
    _, _, OH, OW = dout.shape
    dw = xp.zeros((K, C * KH * KW), dtype=dout.dtype)                 # (K, C*KH*KW)
    xpad = pad_hw(x, pad)
    for n in range(N):
        for i0, i1 in bands(OH, rows_per_band(C, KH, KW, OW, dout.itemsize, band_bytes)):
            d_band = dout[n, :, i0:i1].reshape(K, (i1 - i0) * OW)      # (K, rows*OW)
            seen = slice(i0 * stride, (i1 - 1) * stride + KH)
            cols = im2col(xpad[n:n + 1, :, seen], KH, KW, stride, i1 - i0, OW)
            dw += d_band @ cols.T                                     # (K, C*KH*KW)
    db = dout.sum(axis=(0, 2, 3))
    return dw.reshape(w.shape), db
