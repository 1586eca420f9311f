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

Shape letters: N, C, H, W (input), OH, OW (output), k (window side).
"""
from .backend import get_array_module, host_map
from .conv import conv_output_size


# --------------------------------------------------------------------------
# Naive reference: one window at a time.
# --------------------------------------------------------------------------

def maxpool_forward_naive(x, k, stride):
    xp = get_array_module(x)
    N, C, H, W = x.shape
    OH, OW = conv_output_size(H, W, k, k, stride, 0)
    out = xp.zeros((N, C, OH, OW), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            window = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k]  # (N, C, k, k)
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out, (x, k, stride)


def maxpool_backward_naive(dout, cache):
    x, k, stride = cache
    xp = get_array_module(dout)
    N, C, H, W = x.shape
    _, _, OH, OW = dout.shape
    dx = xp.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    window = x[n, c, i * stride:i * stride + k, j * stride:j * stride + k]
                    p, q = divmod(int(window.argmax()), k)             # first maximum
                    dx[n, c, i * stride + p, j * stride + q] += dout[n, c, i, j]  # dx = dout at argmax
    return dx


def avgpool_forward_naive(x, k, stride):
    xp = get_array_module(x)
    N, C, H, W = x.shape
    OH, OW = conv_output_size(H, W, k, k, stride, 0)
    out = xp.zeros((N, C, OH, OW), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            window = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k]  # (N, C, k, k)
            out[:, :, i, j] = window.mean(axis=(2, 3))
    return out, (x.shape, k, stride)


def avgpool_backward_naive(dout, cache):
    x_shape, k, stride = cache
    xp = get_array_module(dout)
    _, _, OH, OW = dout.shape
    dx = xp.zeros(x_shape, dtype=dout.dtype)
    for i in range(OH):
        for j in range(OW):
            # dx = dout / k^2 on every pixel of the window
            dx[:, :, i * stride:i * stride + k, j * stride:j * stride + k] += \
                dout[:, :, i:i + 1, j:j + 1] / (k * k)
    return dx


# --------------------------------------------------------------------------
# Vectorised: loop over the k*k offsets in a window, never over pixels.
# --------------------------------------------------------------------------

def _window_views(x, k, stride, OH, OW):
    """The k*k strided views x[:, :, p::stride, q::stride], each (N, C, OH, OW), row-major."""
    return [x[:, :, p:p + stride * OH:stride, q:q + stride * OW:stride]
            for p in range(k) for q in range(k)]


def maxpool_forward(x, k, stride):
    """Same result as maxpool_forward_naive. Keeps the argmax (one byte a pixel) for backward."""
    xp = get_array_module(x)
    N, C, H, W = x.shape
    OH, OW = conv_output_size(H, W, k, k, stride, 0)
    out = xp.empty((N, C, OH, OW), dtype=x.dtype)
    argmax = xp.zeros((N, C, OH, OW), dtype=xp.uint8)                 # k*k < 256 positions

    def part(c0, c1):                                                 # channels c0..c1-1
        views = _window_views(x[:, c0:c1], k, stride, OH, OW)
        o, a = out[:, c0:c1], argmax[:, c0:c1]
        o[...] = views[0]
        for t, v in enumerate(views[1:], start=1):
            larger = v > o                                            # strict: the first max wins ties
            xp.maximum(o, v, out=o)
            xp.copyto(a, t, where=larger)                             # argmax = t where v won
    host_map(xp, part, C)                                             # channel slices in parallel
    return out, (x.shape, k, stride, argmax)


def maxpool_backward(dout, cache):
    """dx = dout routed to the position recorded in argmax (contributions add where windows overlap)."""
    x_shape, k, stride, argmax = cache
    xp = get_array_module(dout)
    _, _, OH, OW = dout.shape
    dx = xp.zeros(x_shape, dtype=dout.dtype)

    def part(c0, c1):                                                 # channels c0..c1-1
        d, a = dout[:, c0:c1], argmax[:, c0:c1]
        for t, view in enumerate(_window_views(dx[:, c0:c1], k, stride, OH, OW)):
            if stride >= k:                                           # windows do not overlap:
                xp.multiply(d, a == t, out=view)                      # dx = dout * 1[argmax = t]
            else:                                                     # they do: contributions add
                view += d * (a == t)
    host_map(xp, part, x_shape[1])                                    # channel slices in parallel
    return dx


def avgpool_forward(x, k, stride):
    """Same result as avgpool_forward_naive."""
    N, C, H, W = x.shape
    OH, OW = conv_output_size(H, W, k, k, stride, 0)
    views = _window_views(x, k, stride, OH, OW)
    out = views[0].copy()
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
    for view in _window_views(dx, k, stride, OH, OW):
        view += share
    return dx
