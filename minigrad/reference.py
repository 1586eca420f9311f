"""The reference engine: the eight functions a layer calls, in their plain versions.

A layer class (minigrad/layers.py) does no arithmetic itself: it calls an engine, an
object with the eight functions of minigrad/engines.py's contract. This module is the
reference engine, the one to read: each name below is the plain version from conv.py,
pool.py or relu.py. The fast engine (minigrad/fast/) has the same eight functions with
the same arguments and the same caches, so either engine's backward runs on the
other's cache, and tests compare the two.

    conv2d_forward(x, w, b, stride, pad) -> out, (x, w, b, stride, pad)
    conv2d_backward(dout, cache, need_dw=True) -> dx, dw, db   (dw, db None unless need_dw)
    relu_forward(x) -> y, mask                                  mask = 1[x > 0], bool
    relu_backward(dout, mask) -> dx
    maxpool_forward(x, k, stride) -> out, (x shape, k, stride, argmax)
    maxpool_backward(dout, cache) -> dx
    avgpool_forward(x, k, stride) -> out, (x shape, k, stride)
    avgpool_backward(dout, cache) -> dx

Arrays are NCHW, of any memory layout (a transposed view works as well as a
fresh array); outputs are new arrays, and backward never changes dout or a cache.
"""
from .conv import conv2d_backward_im2col as conv2d_backward  # noqa: F401
from .conv import conv2d_forward_im2col as conv2d_forward  # noqa: F401
from .relu import relu_backward, relu_forward  # noqa: F401
from .pool import (avgpool_backward, avgpool_forward, maxpool_backward,  # noqa: F401
                   maxpool_forward)

name = "reference"
