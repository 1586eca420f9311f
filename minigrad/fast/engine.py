"""FastEngine: the reference engine's eight functions (minigrad/reference.py), same arguments,
same caches, same results within float rounding, several times faster.

Every choice that makes it fast is an argument of the constructor, with its default
per backend in the constants below (the worker count's in threads.py); a `plan`
(minigrad/fast/plan.py), measured on the machine by minigrad/fast/tune.py, replaces the
CPU defaults with what is fastest there. Outside the engine, vgg/run.py holds NumPy's own
BLAS to one thread while a run's loop works, so that it does not compete with the workers.

    conv3x3     'winograd' or 'im2col' for 3x3, stride-1, padding-1 convolutions
                (VGG's), whatever the plan says. Default per backend, CONV3X3: on the
                CPU Winograd's fewer multiplications win; on a GPU at 512 px its many
                small transform kernels cost more in launches than im2col's one large
                matrix product saves (measured on an H200: benchmarks/RESULTS.md).
    winograd_min_channels
                3x3 convolutions with fewer input or output channels than this (16:
                conv1_1 takes 3) use im2col, whose one matrix product is then cheap.
    winograd_tile
                Winograd's output tile m, F(2x2, 3x3) or F(4x4, 3x3): 2.25x or 4x fewer
                multiplications (minigrad/fast/winograd.py); 2, 4, or a pair (forward,
                image gradient). Default per backend, WINOGRAD_TILE: on the CPU F(2x2)
                forward and F(4x4) backward, the choice of the AVX2 machine this engine
                was first tuned on. F(4x4)'s float32 rounding is about 20 times
                F(2x2)'s; in a forward it can move an activation that close to zero
                across ReLU's kink, where the gradient then takes the whole of dout or
                nothing, so an engine on F(4x4) forward differs from the reference by
                more at those few pixels (docs/backprop.md, section 7).
    plan        per layer shape, the algorithm of each direction, and the threads and
                band size (minigrad/fast/plan.py). Used on the CPU for the shapes it
                lists, where neither conv3x3 nor winograd_tile is given.
    (transforms) Winograd's tile transforms per backend, TRANSFORMS: small matrix
                products on the CPU (winograd.py), one CUDA kernel each on a GPU
                (cuda.py), where ReLU is one kernel too.
    band_bytes  working-set size of one band of rows (the plan's, else BAND_BYTES per
                backend): on a CPU near the caches, on a GPU as large as memory allows.
    min_tiles   Winograd's bands have at least this many tiles (256), so that
                their matrix products stay efficient.
    winograd_min_tiles
                without a plan entry, where 3x3 convolutions are left to the backend's
                default (conv3x3 None), an image of fewer m x m tiles than this (32)
                takes im2col: there the kernel transform, a*a*K*C numbers made afresh
                unless kept, costs as much as the multiplications it saves.
    threads     worker threads on the CPU (minigrad/fast/threads.py): the plan's, else
                one per core or MINIGRAD_THREADS; each worker runs a one-thread BLAS. A
                GPU runs one band's kernels in parallel by itself: one thread there.
    fixed_weights
                True promises that no weight array passed in is ever changed in
                place (a frozen network such as vgg.model.VGG19; change weights by
                assigning new arrays). Winograd's kernel transform U = G w G^T is
                then computed once per weight array and tile, and kept while the array
                lives, instead of at every forward and backward -- up to
                kernel_cache_bytes of transforms in all.
    kernel_cache_bytes
                the most memory kept transforms may take (KERNEL_CACHE_BYTES per
                backend). U is a*a/9 times its kernel. Making F(4x4)'s afresh costs
                more than its convolution saves on the 512-channel layers (a K = 9
                matrix product, memory-bound), so the CPU keeps VGG-19's transforms in
                both tiles (benchmarks/RESULTS.md has their sizes).

Tests build engines with small bands, several threads and a low channel threshold,
so that every path runs on small arrays.
"""
import weakref

import numpy as np

from ..backend import get_array_module
from .. import pool
from . import conv, cuda, elementwise, winograd
from .threads import Workers, check_threads, default_threads

CONV3X3 = {"numpy": "winograd", "cupy": "im2col"}
BAND_BYTES = {"numpy": 8 * 2**20, "cupy": 2 * 2**30}
WINOGRAD_TILE = {"numpy": (2, 4), "cupy": (2, 2)}          # (forward, image gradient)
TRANSFORMS = {"numpy": (winograd.data_transform, winograd.inverse_transform),   # matrix products
              "cupy": (cuda.data_transform, cuda.inverse_transform)}           # one kernel each
KERNEL_CACHE_BYTES = {"numpy": 320 * 2**20, "cupy": 2 * 2**30}


def _forget_kernel(engine_ref, key):
    """Drop a kernel's transform when its weight array is gone (if the engine is still here)."""
    engine = engine_ref()
    if engine is not None:
        U = engine._kernels.pop(key, None)
        engine._kept_bytes -= 0 if U is None else U.nbytes


class FastEngine:
    name = "fast"

    def __init__(self, conv3x3=None, winograd_min_channels=16, band_bytes=None,
                 min_tiles=256, threads=None, fixed_weights=False, winograd_tile=None,
                 kernel_cache_bytes=None, winograd_min_tiles=32, plan=None):
        if conv3x3 not in (None, "winograd", "im2col"):
            raise ValueError(f"conv3x3 must be 'winograd' or 'im2col', not {conv3x3!r}")
        if winograd_tile in (2, 4):
            winograd_tile = (winograd_tile, winograd_tile)
        if winograd_tile is not None and (
                not isinstance(winograd_tile, tuple) or len(winograd_tile) != 2
                or any(m not in (2, 4) for m in winograd_tile)):
            raise ValueError(f"winograd_tile must be 2, 4 or a pair of them, not {winograd_tile!r}")
        self.conv3x3 = conv3x3
        self.winograd_tile = winograd_tile
        self.winograd_min_channels = winograd_min_channels
        self.plan = plan
        self.band_bytes = band_bytes
        self.min_tiles = min_tiles
        self.winograd_min_tiles = winograd_min_tiles
        if threads is None:
            threads = default_threads(planned=plan.threads if plan is not None else None)
        self.threads = check_threads(threads)
        self._workers = {"numpy": Workers(self.threads), "cupy": Workers(1)}
        self.fixed_weights = fixed_weights
        self.kernel_cache_bytes = kernel_cache_bytes
        self._kernels = {}                  # fixed weights: {(id(w), m): U} while w lives
        self._kept_bytes = 0                # ... and their bytes

    # -- the choices, per backend ------------------------------------------------------

    def _backend(self, a):
        return "numpy" if get_array_module(a) is np else "cupy"

    def _workers_for(self, a):
        """The workers for arrays like a: self.threads on the CPU, one on a GPU."""
        return self._workers[self._backend(a)]

    def _band_bytes(self, a):
        backend = self._backend(a)
        if self.band_bytes:
            return self.band_bytes
        if self.plan is not None and backend == "numpy":
            return self.plan.band_bytes
        return BAND_BYTES[backend]

    def _algorithm(self, w, stride, pad, shape, forward):
        """'im2col' or Winograd's tile m (2, 4) for the convolution of w over an image of
        `shape`, in the forward pass or the image gradient.

        Winograd only for 3x3, stride 1, padding 1 with enough channels; then, in
        order: what conv3x3 (and winograd_tile) ask for; the plan's entry for the
        layer's shape (CPU); the backend's defaults, with im2col for images of fewer
        than winograd_min_tiles tiles.
        """
        K, C, KH, KW = w.shape
        if (KH, KW, stride, pad) != (3, 3, 1, 1) or min(C, K) < self.winograd_min_channels:
            return "im2col"
        backend = self._backend(w)
        m = (self.winograd_tile or WINOGRAD_TILE[backend])[0 if forward else 1]
        if self.conv3x3 is not None:
            return m if self.conv3x3 == "winograd" else "im2col"
        entry = None
        if self.plan is not None and backend == "numpy" and self.winograd_tile is None:
            entry = self.plan.conv(C, K, (shape[-2] * shape[-1]) ** 0.5)
        if entry is not None:
            return entry.forward if forward else entry.backward
        if CONV3X3[backend] != "winograd":
            return "im2col"
        TH, TW = winograd.tiles(shape[-2], shape[-1], m)
        return m if TH * TW >= self.winograd_min_tiles else "im2col"

    def _kernel(self, w, m):
        """Winograd's U (a*a, K, C), a = m + 2, for the kernel w; kept with fixed_weights
        while the kept transforms fit in kernel_cache_bytes."""
        key = (id(w), m)
        if key in self._kernels:
            return self._kernels[key]
        U = winograd.kernel_transform(w, m, self._workers_for(w))
        budget = self.kernel_cache_bytes
        if budget is None:
            budget = KERNEL_CACHE_BYTES[self._backend(w)]
        if not self.fixed_weights or self._kept_bytes + U.nbytes > budget:
            return U
        try:                                                          # forget U when w goes
            weakref.finalize(w, _forget_kernel, weakref.ref(self), key)
        except TypeError:                                             # w cannot be watched
            return U
        self._kernels[key] = U
        self._kept_bytes += U.nbytes
        return U

    # -- the contract ------------------------------------------------------------------

    def _tiles_per_band(self, w, shape, forward):
        """The fewest tiles in a Winograd band: the plan's for this layer shape, else min_tiles."""
        K, C = w.shape[:2]
        if self.plan is None or self._backend(w) != "numpy" or self.conv3x3 or self.winograd_tile:
            return self.min_tiles
        entry = self.plan.conv(C, K, (shape[-2] * shape[-1]) ** 0.5)
        if entry is None:
            return self.min_tiles
        return entry.forward_tiles if forward else entry.backward_tiles

    def conv2d_forward(self, x, w, b, stride=1, pad=0):
        """As minigrad.conv.conv2d_forward_im2col: out (N, K, OH, OW), cache (x, w, b, stride, pad)."""
        m = self._algorithm(w, stride, pad, x.shape, forward=True)
        if m == "im2col":
            out = conv.forward(x, w, b, stride, pad, self._band_bytes(x), self._workers_for(x))
        else:
            out = winograd.conv3x3(x, self._kernel(w, m), b, None, self._workers_for(x),
                                   self._band_bytes(x), self._tiles_per_band(w, x.shape, True),
                                   TRANSFORMS[self._backend(x)])
        return out, (x, w, b, stride, pad)

    def conv2d_backward(self, dout, cache, need_dw=True):
        """As minigrad.conv.conv2d_backward_im2col: dx, dw, db (dw, db None unless need_dw).

        Winograd path: dx = flip(conv(flip(dout), w^T)), the forward's algorithm with U
        transposed (minigrad/fast/winograd.py). Otherwise col2im in bands.
        """
        x, w, b, stride, pad = cache
        xp = get_array_module(dout)
        band_bytes = self._band_bytes(dout)
        m = self._algorithm(w, stride, pad, x.shape, forward=False)
        if m == "im2col":
            dx = conv.backward_dx(dout, x.shape, w, stride, pad, band_bytes, self._workers_for(dout))
        else:
            dx = xp.empty(x.shape, dtype=dout.dtype)
            U = self._kernel(w, m)
            winograd.conv3x3(dout[:, :, ::-1, ::-1], U.transpose(0, 2, 1), None,
                             dx[:, :, ::-1, ::-1], self._workers_for(dout), band_bytes,
                             self._tiles_per_band(w, x.shape, False), TRANSFORMS[self._backend(dout)])
        if not need_dw:
            return dx, None, None
        dw, db = self._workers_for(dout).alone(conv.backward_dw, dout, x, w, stride, pad, band_bytes)
        return dx, dw, db

    def relu_forward(self, x):
        if self._backend(x) == "cupy":
            return cuda.relu_forward(x)                               # y and mask in one kernel
        return elementwise.relu_forward(x, self._workers_for(x))

    def relu_backward(self, dout, mask):
        if self._backend(dout) == "cupy":
            return cuda.relu_backward(dout, mask)
        return elementwise.relu_backward(dout, mask, self._workers_for(dout))

    def maxpool_forward(self, x, k, stride):
        return elementwise.maxpool_forward(x, k, stride, self._workers_for(x))

    def maxpool_backward(self, dout, cache):
        return elementwise.maxpool_backward(dout, cache, self._workers_for(dout))

    def avgpool_forward(self, x, k, stride):
        return pool.avgpool_forward(x, k, stride)                     # nothing faster to offer

    def avgpool_backward(self, dout, cache):
        return pool.avgpool_backward(dout, cache)

    def __repr__(self):
        return (f"FastEngine(conv3x3={self.conv3x3!r}, winograd_min_channels="
                f"{self.winograd_min_channels}, band_bytes={self.band_bytes}, "
                f"min_tiles={self.min_tiles}, threads={self.threads}, "
                f"fixed_weights={self.fixed_weights}, winograd_tile={self.winograd_tile}, "
                f"kernel_cache_bytes={self.kernel_cache_bytes}, "
                f"winograd_min_tiles={self.winograd_min_tiles}, "
                f"plan={'measured' if self.plan is not None else None})")
