"""Max and average pooling, forward and backward: naive loops, then vectorised.

Same layout as minigrad/conv.py (cs231n style): `*_forward(x, k, stride) -> (out, cache)`,
`*_backward(dout, cache) -> dx`. A KH x KW window (here square, k x k) slides with
`stride`; windows that would run off the edge are dropped, as in PyTorch
(OH = (H - k) // stride + 1). No padding.

Max pooling:  out[n, c, i, j] = max over the window of x
              dx = dout sent to the window's maximum, 0 elsewhere.
    Ties: like PyTorch, the gradient goes to ONE position, the first maximum in
    row-major order within the window (numpy/cupy argmax returns the first).
    Overlapping windows (stride < k) can send gradient to the same pixel twice:
    the contributions add.
Average pooling: out = mean over the window;  dx = dout / (k*k) spread evenly.

The two share how a window slides (`_windows` for the loops, `window_views` for
the vectorised versions). The caches are one contract per operation, the same
for the naive, the vectorised and the fast engine's versions:
    max: (x shape, k, stride, argmax)   argmax (N, C, OH, OW) uint8, the window
                                        position 0..k*k-1 of the maximum (row-major)
    avg: (x shape, k, stride)

Shape letters: N, C, H, W (input), OH, OW (output), k (window side).
"""
from .backend import get_array_module
from .conv import conv_output_size


def _windows(x, k, stride):
    """(i, j, window) for every output pixel: window = x[:, :, rows, cols] (N, C, k, k) under (i, j)."""
    OH, OW = conv_output_size(x.shape[2], x.shape[3], k, k, stride, 0)
    for i in range(OH):
        for j in range(OW):
            yield i, j, x[:, :, i * stride:i * stride + k, j * stride:j * stride + k]


def window_views(x, k, stride, OH, OW):
    """The k*k strided views x[:, :, p:p + stride*OH:stride, q:q + stride*OW:stride], each
    (N, C, OH, OW), row-major (the slice's end is given: an open one, p::stride, would take
    one row too many when the side is not a multiple of the stride).

    View t = k*p + q holds, for every output pixel, the window's pixel (p, q).
    """
    return [x[:, :, p:p + stride * OH:stride, q:q + stride * OW:stride]
            for p in range(k) for q in range(k)]


# --------------------------------------------------------------------------
# Naive reference: one window at a time.
# --------------------------------------------------------------------------

def maxpool_forward_naive(x, k, stride):
    xp = get_array_module(x)
    N, C, H, W = x.shape
    OH, OW = conv_output_size(H, W, k, k, stride, 0)
    out = xp.zeros((N, C, OH, OW), dtype=x.dtype)
    argmax = xp.zeros((N, C, OH, OW), dtype=xp.uint8)                 # k*k < 256 positions
    for i, j, window in _windows(x, k, stride):
        flat = window.reshape(N, C, k * k)                            # (N, C, k*k), row-major
        out[:, :, i, j] = flat.max(axis=2)
        argmax[:, :, i, j] = flat.argmax(axis=2)                      # the first maximum
    return out, (x.shape, k, stride, argmax)


def maxpool_backward_naive(dout, cache):
    x_shape, k, stride, argmax = cache
    xp = get_array_module(dout)
    N, C, OH, OW = dout.shape
    dx = xp.zeros(x_shape, dtype=dout.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    p, q = divmod(int(argmax[n, c, i, j]), k)         # where the maximum was
                    dx[n, c, i * stride + p, j * stride + q] += dout[n, c, i, j]  # dx = dout there
    return dx


def avgpool_forward_naive(x, k, stride):
    xp = get_array_module(x)
    N, C, H, W = x.shape
    OH, OW = conv_output_size(H, W, k, k, stride, 0)
    out = xp.zeros((N, C, OH, OW), dtype=x.dtype)
    for i, j, window in _windows(x, k, stride):
        out[:, :, i, j] = window.mean(axis=(2, 3))
    return out, (x.shape, k, stride)


def avgpool_backward_naive(dout, cache):
    x_shape, k, stride = cache
    xp = get_array_module(dout)
    dx = xp.zeros(x_shape, dtype=dout.dtype)
    for i, j, window in _windows(dx, k, stride):                      # views of dx
        window += dout[:, :, i:i + 1, j:j + 1] / (k * k)              # dx = dout / k^2 on the window
    return dx


# --------------------------------------------------------------------------
# Vectorised: loop over the k*k offsets in a window, never over pixels.
# --------------------------------------------------------------------------

def maxpool_forward(x, k, stride):
    """Same result and cache as maxpool_forward_naive."""
    xp = get_array_module(x)
    N, C, H, W = x.shape
    OH, OW = conv_output_size(H, W, k, k, stride, 0)
    stacked = xp.stack(window_views(x, k, stride, OH, OW))            # (k*k, N, C, OH, OW)
    out = stacked.max(axis=0)                                         # (N, C, OH, OW)
    argmax = stacked.argmax(axis=0).astype(xp.uint8)                  # the first maximum
    return out, (x.shape, k, stride, argmax)


def maxpool_backward(dout, cache):
    """dx = dout routed to the position recorded in argmax (contributions add where windows overlap)."""
    x_shape, k, stride, argmax = cache
    xp = get_array_module(dout)
    _, _, OH, OW = dout.shape
    dx = xp.zeros(x_shape, dtype=dout.dtype)
    for t, view in enumerate(window_views(dx, k, stride, OH, OW)):    # views of dx
        view += dout * (argmax == t)                                  # dx = dout * 1[argmax = t]
    return dx


def avgpool_forward(x, k, stride):
    """Same result and cache as avgpool_forward_naive."""
    N, C, H, W = x.shape
    OH, OW = conv_output_size(H, W, k, k, stride, 0)
    views = window_views(x, k, stride, OH, OW)
    out = views[0].copy()                                             # (N, C, OH, OW), contiguous
    for v in views[1:]:
        out += v
    out /= k * k
    return out, (x.shape, k, stride)


def avgpool_backward(dout, cache):
    """dx = dout / (k*k) added to every pixel of each window."""
    x_shape, k, stride = cache
    xp = get_array_module(dout)
    _, _, OH, OW = dout.shape
    dx = xp.zeros(x_shape, dtype=dout.dtype)
    share = dout / (k * k)                                            # (N, C, OH, OW)
    for view in window_views(dx, k, stride, OH, OW):                  # views of dx
        view += share
    return dx
