"""Layers: thin classes around the forward/backward functions of an engine.

In the manner of "Deep Learning from Scratch" (`common/layers.py`): each layer's
constructor names what it will cache for backward; `forward(x)` fills the cache
and returns y; `backward(dout)` reads it and returns dx (a new array: backward
never edits dout or the cache).

The arithmetic lives in an engine, chosen when the layer is built (minigrad/engines.py):
the reference engine (minigrad/reference.py: the im2col convolution of conv.py, the
pooling of pool.py, the ReLU of relu.py), or the fast engine (minigrad/fast/), which
computes the same numbers with the same caches, faster. `engine="reference"` is the
default.

Arrays are NCHW: N images, C channels, H rows, W columns. float32 is the real
path; float64 works everywhere for gradient checks.
"""
import numpy as np

from .backend import get_array_module, move_like
from .engines import get_engine

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
                 frozen=False, dtype="float32", seed=0, engine="reference"):
        self.stride, self.padding, self.frozen = stride, padding, frozen
        fan_in = in_channels * kernel_size * kernel_size
        # He initialisation (on the host), so a fresh network passes signals of sensible size.
        rng = np.random.default_rng(seed)
        self.W = (rng.standard_normal((out_channels, in_channels, kernel_size, kernel_size))
                  * (2.0 / fan_in) ** 0.5).astype(dtype)
        self.b = np.zeros(out_channels, dtype=dtype)
        self.dW = self.db = None
        self.cache = None                          # (x or its shape, W, b, stride, pad)
        self.engine = get_engine(engine)

    def forward(self, x):
        if get_array_module(self.W) is not get_array_module(x):   # follow the data (GPU/host)
            self.W, self.b = move_like(self.W, x), move_like(self.b, x)
        y, cache = self.engine.conv2d_forward(x, self.W, self.b, self.stride, self.padding)
        if self.frozen:                            # backward will need only x's shape
            cache = (_Shape(x), *cache[1:])
        self.cache = cache
        return y

    def backward(self, dout):
        dx, dW, db = self.engine.conv2d_backward(dout, self.cache, need_dw=not self.frozen)
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
    def __init__(self, engine="reference"):
        self.mask = None                           # 1[x > 0], from forward
        self.engine = get_engine(engine)

    def forward(self, x):
        y, self.mask = self.engine.relu_forward(x)
        return y

    def backward(self, dout):
        return self.engine.relu_backward(dout, self.mask)

    def __repr__(self):
        return "ReLU()"


class _Pool2d:
    """What the two poolings share: a k x k window moving by `stride` (default k), a cache."""

    def __init__(self, kernel_size, stride=None, engine="reference"):
        self.k, self.stride = kernel_size, stride or kernel_size
        self.cache = None                          # see the subclass
        self.engine = get_engine(engine)

    def __repr__(self):
        return f"{type(self).__name__}({self.k}, stride={self.stride})"


class MaxPool2d(_Pool2d):
    """The maximum of each window; the cache (x shape, k, stride, argmax) keeps where it was."""

    def forward(self, x):
        y, self.cache = self.engine.maxpool_forward(x, self.k, self.stride)
        return y

    def backward(self, dout):
        return self.engine.maxpool_backward(dout, self.cache)


class AvgPool2d(_Pool2d):
    """The mean of each window; the cache is (x shape, k, stride)."""

    def forward(self, x):
        y, self.cache = self.engine.avgpool_forward(x, self.k, self.stride)
        return y

    def backward(self, dout):
        return self.engine.avgpool_backward(dout, self.cache)


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
