"""ReLU and max pooling on the workers: the reference's arithmetic (minigrad/layers.py,
minigrad/pool.py), with its results and caches, split over channels.

Each worker takes a slice of channels [c0, c1) and writes its part of a new
C-contiguous output with `out=`, so no temporary array is made. Channels are
independent here, and slicing the channel axis is a view for every memory
layout, so a transposed input works as well as a fresh one.
"""
from ..backend import get_array_module
from ..conv import conv_output_size
from ..pool import window_views


def _channels(a, c0, c1):
    """a[:, c0:c1] for NCHW arrays; a[c0:c1] for one-axis arrays."""
    return a[:, c0:c1] if a.ndim > 1 else a[c0:c1]


def relu_forward(x, workers):
    """y = max(x, 0) and the mask 1[x > 0], as minigrad.relu.relu_forward."""
    xp = get_array_module(x)
    y = xp.empty(x.shape, dtype=x.dtype)
    mask = xp.empty(x.shape, dtype=bool)                              # one byte a pixel

    def part(c0, c1):
        xs = _channels(x, c0, c1)
        xp.greater(xs, 0, out=_channels(mask, c0, c1))                # 1[x > 0]
        xp.maximum(xs, 0, out=_channels(y, c0, c1))                   # y = max(x, 0)
    workers.map_slices(part, x.shape[1] if x.ndim > 1 else x.shape[0])
    return y, mask


def relu_backward(dout, mask, workers):
    """dx = dout * 1[x > 0] (a product with the bool mask: one pass, quicker than xp.where)."""
    xp = get_array_module(dout)
    dx = xp.empty(dout.shape, dtype=dout.dtype)

    def part(c0, c1):
        xp.multiply(_channels(dout, c0, c1), _channels(mask, c0, c1), out=_channels(dx, c0, c1))
    workers.map_slices(part, dout.shape[1] if dout.ndim > 1 else dout.shape[0])
    return dx


def maxpool_forward(x, k, stride, workers):
    """As minigrad.pool.maxpool_forward, without the stacked copy: a running maximum
    (for VGG's 2 x 2 windows, stride 2: two pairwise maxima, maxpool2x2_forward)."""
    xp = get_array_module(x)
    N, C, H, W = x.shape
    OH, OW = conv_output_size(H, W, k, k, stride, 0)
    out = xp.empty((N, C, OH, OW), dtype=x.dtype)
    argmax = xp.zeros((N, C, OH, OW), dtype=xp.uint8)                 # k*k < 256 positions
    if k == stride == 2:
        workers.map_slices(lambda c0, c1: maxpool2x2_forward(x[:, c0:c1], out[:, c0:c1],
                                                             argmax[:, c0:c1]), C)
        return out, (x.shape, k, stride, argmax)

    def part(c0, c1):                                                 # channels c0..c1-1
        views = window_views(x[:, c0:c1], k, stride, OH, OW)
        o, a = out[:, c0:c1], argmax[:, c0:c1]
        o[...] = views[0]
        for t, v in enumerate(views[1:], start=1):
            larger = v > o                                            # strict: the first max wins ties
            xp.maximum(o, v, out=o)
            xp.copyto(a, t, where=larger)                             # argmax = t where v won
    workers.map_slices(part, C)
    return out, (x.shape, k, stride, argmax)


def maxpool2x2_forward(x, out, argmax):
    """2 x 2 windows, stride 2: out = the maximum of each window, argmax = 2 p + q its position.

    First the maximum of each row pair (q = 0, 1), then of the two rows (p = 0, 1): four
    reads of x become two passes over half and quarter arrays. Ties go to the first in
    row-major order, as everywhere: q = 1 wins only if strictly larger, and so does p = 1.
    """
    xp = get_array_module(x)
    N, C, H, W = x.shape
    OH, OW = out.shape[2:]
    win = x[:, :, :2 * OH, :2 * OW].reshape(N, C, OH, 2, OW, 2)      # [n, c, i, p, j, q], a view
    left, right = win[..., 0], win[..., 1]                            # (N, C, OH, 2, OW)
    rows = xp.maximum(left, right)                                    # max over q, each row p
    q = right > left                                                  # where q = 1 won
    top, bottom = rows[:, :, :, 0], rows[:, :, :, 1]                  # (N, C, OH, OW)
    xp.maximum(top, bottom, out=out)                                  # max over p
    p = bottom > top                                                  # where p = 1 won
    q_of_p = xp.where(p, q[:, :, :, 1], q[:, :, :, 0])                # q in the winning row
    xp.left_shift(p.view(xp.uint8), 1, out=argmax)                    # 2 p
    xp.bitwise_or(argmax, q_of_p.view(xp.uint8), out=argmax)          # 2 p + q


def maxpool_backward(dout, cache, workers):
    """As minigrad.pool.maxpool_backward: dx = dout routed to the argmax.

    Where the windows tile the image (stride = k), every pixel of dx under a window is
    written exactly once, by the one offset t it has, so dx needs no zeroing first:
    only the rows and columns past the last window (an odd side) are set to 0.
    """
    x_shape, k, stride, argmax = cache
    xp = get_array_module(dout)
    _, _, OH, OW = dout.shape
    tiled = stride == k
    dx = xp.empty(x_shape, dtype=dout.dtype) if tiled else xp.zeros(x_shape, dtype=dout.dtype)

    def part(c0, c1):                                                 # channels c0..c1-1
        d, a, dxc = dout[:, c0:c1], argmax[:, c0:c1], dx[:, c0:c1]
        if tiled:
            dxc[:, :, OH * k:] = 0                                    # below the last window
            dxc[:, :, :, OW * k:] = 0                                 # right of it
        for t, view in enumerate(window_views(dxc, k, stride, OH, OW)):
            if stride >= k:                                           # windows do not overlap:
                xp.multiply(d, a == t, out=view)                      # dx = dout * 1[argmax = t]
            else:                                                     # they do: contributions add
                view += d * (a == t)
    workers.map_slices(part, x_shape[1])
    return dx
