"""Layers: thin classes around the forward/backward functions, plus ReLU.

In the manner of "Deep Learning from Scratch" (`common/layers.py`): each layer's
constructor names what it will cache for backward; `forward(x)` fills the cache
and returns y; `backward(dout)` reads it and returns dx (a new array: backward
never edits dout or the cache). The arithmetic lives in conv.py and pool.py,
where the naive reference sits beside the fast version.

Arrays are NCHW: N images, C channels, H rows, W columns. float32 is the real
path; float64 works everywhere for gradient checks.
"""
import numpy as np

from .backend import get_array_module, host_map, move_like
from . import conv, pool, winograd


# --------------------------------------------------------------------------
# ReLU: y = max(x, 0)
# --------------------------------------------------------------------------

# Element-wise, so both work on flat slices [i0, i1), which host_map spreads over
# the host's threads (one slice, the whole array, on one thread or a GPU).

def relu_forward(x):
    xp = get_array_module(x)
    y = xp.empty_like(x)
    mask = xp.empty(x.shape, dtype=bool)           # kept for backward: one byte a pixel
    x1, y1, m1 = x.reshape(-1), y.reshape(-1), mask.reshape(-1)      # flat views (x1 may copy)

    def part(i0, i1):
        xp.greater(x1[i0:i1], 0, out=m1[i0:i1])                       # 1[x > 0]
        xp.maximum(x1[i0:i1], 0, out=y1[i0:i1])                       # y = max(x, 0)
    host_map(xp, part, x.size)
    return y, mask


def relu_backward(dout, mask):
    # dx = dout * 1[x > 0]; at x == 0 the derivative is taken as 0, as PyTorch does.
    # (A product with the bool mask, not xp.where: one fast pass, several times quicker.)
    xp = get_array_module(dout)
    dx = xp.empty_like(dout)
    d1, m1, dx1 = dout.reshape(-1), mask.reshape(-1), dx.reshape(-1)

    def part(i0, i1):
        xp.multiply(d1[i0:i1], m1[i0:i1], out=dx1[i0:i1])
    host_map(xp, part, dout.size)
    return dx


# --------------------------------------------------------------------------
# Layer classes
# --------------------------------------------------------------------------

class Conv2d:
    """y = conv(x, W) + b, W of shape (out, in, kh, kw), b of shape (out,).

    A frozen layer (`frozen=True`) computes no weight gradients and so does not
    keep its input: style transfer only needs dL/dx for the pixels.
    W and b may be set by assignment (e.g. layer.W = pretrained_kernel).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 frozen=False, dtype="float32", seed=0):
        self.stride, self.padding, self.frozen = stride, padding, frozen
        fan_in = in_channels * kernel_size * kernel_size
        # He initialisation (on the host), so a fresh network passes signals of sensible size.
        rng = np.random.default_rng(seed)
        self.W = (rng.standard_normal((out_channels, in_channels, kernel_size, kernel_size))
                  * (2.0 / fan_in) ** 0.5).astype(dtype)
        self.b = np.zeros(out_channels, dtype=dtype)
        self.dW = self.db = None
        self.cache = None                          # (x or its shape, W, b, stride, pad, U)
        self._U = self._U_of = None                # a frozen layer's Winograd kernel, and its W

    def forward(self, x):
        if get_array_module(self.W) is not get_array_module(x):   # follow the data (GPU/host)
            self.W, self.b = move_like(self.W, x), move_like(self.b, x)
        y, cache = conv.conv2d_forward(x, self.W, self.b, self.stride, self.padding,
                                       U=self._frozen_kernel_transform())
        if self.frozen:                            # backward will need only x's shape
            cache = (_Shape(x), *cache[1:])
        self.cache = cache
        return y

    def _frozen_kernel_transform(self):
        """Winograd's U = G W G^T, once per weight array of a frozen layer (None otherwise).

        A frozen network's weights never change, so the transform need not be redone
        at every forward. Change frozen weights by assigning a new array to W.
        """
        if not (self.frozen and conv.uses_winograd(self.W, self.stride, self.padding)):
            return None
        if self._U_of is not self.W:
            self._U, self._U_of = winograd.kernel_transform(self.W), self.W
        return self._U

    def backward(self, dout):
        dx, dW, db = conv.conv2d_backward(dout, self.cache, need_dw=not self.frozen)
        if not self.frozen:
            self.dW, self.db = dW, db
        return dx

    def __repr__(self):
        K, C, KH, KW = self.W.shape
        return (f"Conv2d({C}, {K}, kernel_size={KH}, stride={self.stride}, "
                f"padding={self.padding}{', frozen' if self.frozen else ''})")


class _Shape:
    """Stands in for a frozen conv's input in its cache: backward reads only .shape."""

    def __init__(self, x):
        self.shape = x.shape


class ReLU:
    def __init__(self):
        self.mask = None                           # 1[x > 0], from forward

    def forward(self, x):
        y, self.mask = relu_forward(x)
        return y

    def backward(self, dout):
        return relu_backward(dout, self.mask)

    def __repr__(self):
        return "ReLU()"


class MaxPool2d:
    def __init__(self, kernel_size, stride=None):
        self.k, self.stride = kernel_size, stride or kernel_size
        self.cache = None                          # (x shape, k, stride, argmax)

    def forward(self, x):
        y, self.cache = pool.maxpool_forward(x, self.k, self.stride)
        return y

    def backward(self, dout):
        return pool.maxpool_backward(dout, self.cache)

    def __repr__(self):
        return f"MaxPool2d({self.k}, stride={self.stride})"


class AvgPool2d:
    def __init__(self, kernel_size, stride=None):
        self.k, self.stride = kernel_size, stride or kernel_size
        self.cache = None                          # (x shape, k, stride)

    def forward(self, x):
        y, self.cache = pool.avgpool_forward(x, self.k, self.stride)
        return y

    def backward(self, dout):
        return pool.avgpool_backward(dout, self.cache)

    def __repr__(self):
        return f"AvgPool2d({self.k}, stride={self.stride})"


class Sequential:
    """Layers applied in order; backward walks them in reverse (the chain rule)."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def __iter__(self):
        return iter(self.layers)

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]

    def __repr__(self):
        return "Sequential(\n" + "".join(f"  {layer!r}\n" for layer in self.layers) + ")"
