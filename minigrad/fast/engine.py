"""FastEngine: the reference engine's eight functions (minigrad/reference.py), same arguments,
same caches, same results within float rounding, several times faster.

Every choice that makes it fast is an argument of the constructor, with its
default here and nowhere else:

    conv3x3     'winograd' or 'im2col' for 3x3, stride-1, padding-1 convolutions
                (VGG's). Default per backend, CONV3X3: on the CPU Winograd's 2.25x
                fewer multiplications win; on a GPU at 512 px its many small
                transform kernels cost more in launches than im2col's one large
                matrix product saves (measured on an H200: benchmarks/RESULTS.md).
    winograd_min_channels
                Winograd only when both channel counts reach this (16): with fewer,
                the 16 matrix products do not pay for the tile transforms (conv1_1
                has 3 input channels and takes im2col).
    band_bytes  working-set size of one band of rows (BAND_BYTES per backend): on a CPU
                near the caches, on a GPU as large as memory comfortably allows.
    min_tiles   Winograd's bands have at least this many tiles (256), so that
                their matrix products stay efficient.
    threads     worker threads on the CPU (minigrad/fast/threads.py): default one per
                core, or MINIGRAD_THREADS; each worker runs a one-thread BLAS. A GPU
                runs one band's kernels in parallel by itself: one thread there.
    fixed_weights
                True promises that no weight array passed in is ever changed in
                place (a frozen network such as vgg.model.VGG19; change weights by
                assigning new arrays). Winograd's kernel transform U = G w G^T is
                then computed once per weight array and kept while the array lives,
                instead of at every forward and backward.

Tests build engines with small bands, several threads and a low channel threshold,
so that every path runs on small arrays.
"""
import weakref

import numpy as np

from ..backend import get_array_module
from .. import pool
from . import conv, elementwise, winograd
from .threads import Workers, check_threads, default_threads

CONV3X3 = {"numpy": "winograd", "cupy": "im2col"}
BAND_BYTES = {"numpy": 8 * 2**20, "cupy": 2 * 2**30}


def _forget_kernel(engine_ref, key):
    """Drop a kernel's transform when its weight array is gone (if the engine is still here)."""
    engine = engine_ref()
    if engine is not None:
        engine._kernels.pop(key, None)


class FastEngine:
    name = "fast"

    def __init__(self, conv3x3=None, winograd_min_channels=16, band_bytes=None,
                 min_tiles=256, threads=None, fixed_weights=False):
        if conv3x3 not in (None, "winograd", "im2col"):
            raise ValueError(f"conv3x3 must be 'winograd' or 'im2col', not {conv3x3!r}")
        self.conv3x3 = conv3x3
        self.winograd_min_channels = winograd_min_channels
        self.band_bytes = band_bytes
        self.min_tiles = min_tiles
        self.threads = default_threads() if threads is None else check_threads(threads)
        self._workers = {"numpy": Workers(self.threads), "cupy": Workers(1)}
        self.fixed_weights = fixed_weights
        self._kernels = {}                  # fixed weights: {id(w): U} while w lives

    # -- the choices, per backend ------------------------------------------------------

    def _backend(self, a):
        return "numpy" if get_array_module(a) is np else "cupy"

    def workers(self, a):
        """The workers for arrays like a: self.threads on the CPU, one on a GPU."""
        return self._workers[self._backend(a)]

    def bytes_per_band(self, a):
        return self.band_bytes or BAND_BYTES[self._backend(a)]

    def uses_winograd(self, w, stride, pad):
        """Winograd for 3x3, stride 1, padding 1 with enough channels, where it is the choice."""
        K, C, KH, KW = w.shape
        return ((KH, KW, stride, pad) == (3, 3, 1, 1) and min(C, K) >= self.winograd_min_channels
                and (self.conv3x3 or CONV3X3[self._backend(w)]) == "winograd")

    def kernel(self, w):
        """Winograd's U (16, K, C) for the kernel w; once per array with fixed_weights."""
        if not self.fixed_weights:
            return winograd.kernel_transform(w, self.workers(w))
        key = id(w)
        if key not in self._kernels:
            U = winograd.kernel_transform(w, self.workers(w))
            try:                                                      # forget U when w goes
                weakref.finalize(w, _forget_kernel, weakref.ref(self), key)
            except TypeError:                                         # w cannot be watched
                return U
            self._kernels[key] = U
        return self._kernels[key]

    # -- the contract ------------------------------------------------------------------

    def conv2d_forward(self, x, w, b, stride=1, pad=0):
        """As minigrad.conv.conv2d_forward_im2col: out (N, K, OH, OW), cache (x, w, b, stride, pad)."""
        if self.uses_winograd(w, stride, pad):
            out = winograd.conv3x3(x, self.kernel(w), b, None, self.workers(x),
                                   self.bytes_per_band(x), self.min_tiles)
        else:
            out = conv.forward(x, w, b, stride, pad, self.bytes_per_band(x), self.workers(x))
        return out, (x, w, b, stride, pad)

    def conv2d_backward(self, dout, cache, need_dw=True):
        """As minigrad.conv.conv2d_backward_im2col: dx, dw, db (dw, db None unless need_dw).

        Winograd path: dx = flip(conv(flip(dout), w^T)), the forward's algorithm with U
        transposed (minigrad/fast/winograd.py). Otherwise col2im in bands.
        """
        x, w, b, stride, pad = cache
        xp = get_array_module(dout)
        band_bytes = self.bytes_per_band(dout)
        if self.uses_winograd(w, stride, pad):
            dx = xp.empty(x.shape, dtype=dout.dtype)
            winograd.conv3x3(dout[:, :, ::-1, ::-1], self.kernel(w).transpose(0, 2, 1), None,
                             dx[:, :, ::-1, ::-1], self.workers(dout), band_bytes, self.min_tiles)
        else:
            dx = conv.backward_dx(dout, x.shape, w, stride, pad, band_bytes)
        if not need_dw:
            return dx, None, None
        dw, db = conv.backward_dw(dout, x, w, stride, pad, band_bytes)
        return dx, dw, db

    def relu_forward(self, x):
        return elementwise.relu_forward(x, self.workers(x))

    def relu_backward(self, dout, mask):
        return elementwise.relu_backward(dout, mask, self.workers(dout))

    def maxpool_forward(self, x, k, stride):
        return elementwise.maxpool_forward(x, k, stride, self.workers(x))

    def maxpool_backward(self, dout, cache):
        return elementwise.maxpool_backward(dout, cache, self.workers(dout))

    def avgpool_forward(self, x, k, stride):
        return pool.avgpool_forward(x, k, stride)                     # nothing faster to offer

    def avgpool_backward(self, dout, cache):
        return pool.avgpool_backward(dout, cache)

    def __repr__(self):
        return (f"FastEngine(conv3x3={self.conv3x3!r}, winograd_min_channels="
                f"{self.winograd_min_channels}, band_bytes={self.band_bytes}, "
                f"min_tiles={self.min_tiles}, threads={self.threads}, "
                f"fixed_weights={self.fixed_weights})")
