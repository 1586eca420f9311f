"""VGG-19's convolutional part (Simonyan and Zisserman, 2015) on minigrad layers.

The network of Gatys, Ecker and Bethge (CVPR 2016): the 16 convolutions (3x3,
padding 1) with their ReLUs and the 5 pooling layers, no fully connected layers.
Names as the paper writes them: `conv1_1` is the ReLU output of the first
convolution (other tools call it relu1_1); `pool1` ... `pool5` the poolings.

    model = VGG19.load(pooling="max")             # weights/vgg19.h5, fetched on first use
    model = VGG19.load(engine="fast")             # the same network on the fast engine
    feats = model.forward(x, ["conv1_1", "conv4_2"])   # {tap name: activation}
    dx = model.backward({"conv4_2": dL_dF, "conv1_1": dL_dG})   # dL/d(image)

The network is frozen: no weight gradients are ever computed, and each layer
keeps only what the image gradient needs (a ReLU mask, a pooling argmax).
Input: a (1, 3, H, W) float32 image in the Caffe convention (vgg/images.py).

The layers run on the reference engine (minigrad/reference.py), every step readable,
unless the model is built with `engine="fast"` (minigrad/fast/): the same numbers
within float rounding, several times faster. stylize.py and figures.py build it on
the fast one (engine_for, below).
"""
from minigrad.backend import backend_module, move_like
from minigrad.engines import get_engine
from minigrad.layers import AvgPool2d, Conv2d, MaxPool2d, ReLU, Sequential

from .layout import CONV_SHAPES, LAYER_NAMES, POOLINGS, min_input_size
from .weights import load_weights


def engine_for(name, backend, say=None):
    """The engine a program runs VGG-19 on: the fast one on the CPU takes the plan measured
    for this machine (minigrad/fast/tune.py: measured once, the first time, then kept)."""
    if name != "fast" or backend != "numpy":
        return name
    from minigrad.fast import tune
    return get_engine("fast", frozen=True, plan=tune.plan_for_this_machine(say=say))


class VGG19:
    def __init__(self, params, pooling="max", engine="reference"):
        """params: {conv name: (W (out, in, 3, 3), b (out,))}, as vgg.weights.load_weights gives;
        engine: 'reference' (the code to read), 'fast', or an engine object
        (minigrad/engines.py; a name takes the preset of a frozen network)."""
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}: choose 'max' or 'avg'")
        self.pooling = pooling
        # The weights never change in place (frozen; `to` assigns new arrays): the fast
        # engine may keep its transform of each kernel.
        self.engine = get_engine(engine, frozen=True)
        self.blocks = []                    # [(name, layer)] in the order data flows
        for name in LAYER_NAMES:
            if name.startswith("pool"):
                Pool = MaxPool2d if pooling == "max" else AvgPool2d
                layer = Pool(2, engine=self.engine)
            else:
                out_ch, in_ch = CONV_SHAPES[name][:2]
                conv = Conv2d(in_ch, out_ch, 3, padding=1, frozen=True, engine=self.engine)
                conv.W, conv.b = params[name]
                layer = Sequential(conv, ReLU(engine=self.engine))   # "conv1_1" is the ReLU's output
            self.blocks.append((name, layer))
        self.depth = 0                      # how many blocks the last forward ran

    @classmethod
    def load(cls, path=None, pooling="max", engine="reference", say=None):
        """The network with the weights at `path` (default: weights/vgg19.h5, fetched if
        missing; `say` tells the fetch's progress, stderr if None)."""
        return cls(load_weights(path, **({"say": say} if say else {})), pooling, engine)

    def params(self):
        """{conv name: (W, b)} as the layers hold them now (host or GPU arrays)."""
        return {name: (layer[0].W, layer[0].b) for name, layer in self.blocks
                if not name.startswith("pool")}

    def to(self, backend):
        """Move the weights to 'numpy' or 'cupy' now (they also follow the data by themselves)."""
        like = backend_module(backend).zeros(1)
        for name, layer in self.blocks:
            if not name.startswith("pool"):
                conv = layer[0]
                conv.W, conv.b = move_like(conv.W, like), move_like(conv.b, like)
        return self

    def forward(self, x, taps):
        """Run x up to the deepest of `taps`; return {tap: activation}."""
        unknown = [t for t in taps if t not in LAYER_NAMES]
        if unknown:
            raise ValueError(f"unknown layer name(s) {', '.join(unknown)}; "
                             f"VGG-19 has {', '.join(LAYER_NAMES)}")
        self.depth = max(LAYER_NAMES.index(t) for t in taps) + 1
        for tap in taps:
            if min(x.shape[2:]) < min_input_size(tap):
                raise ValueError(f"a {x.shape[2]}x{x.shape[3]} image is too small for {tap}: "
                                 f"each side must be at least {min_input_size(tap)} pixels")
        features = {}
        for name, layer in self.blocks[:self.depth]:
            x = layer.forward(x)                                      # (1, C, H, W) -> (1, C', H', W')
            if name in taps:
                features[name] = x
        return features

    def backward(self, grads):
        """dL/d(image) from {tap: dL/d(activation)} for taps of the last forward.

        Walk the layers top-down. The gradient that flows down is zero until the
        deepest tap that has a loss; at each tap, that tap's own gradient joins
        the flow (the total loss is a sum, so its gradients add); then each
        layer's backward carries the sum one layer further down.
        """
        names = [name for name, _ in self.blocks[:self.depth]]
        missing = [t for t in grads if t not in names]
        if missing:
            raise ValueError(f"no forward activation for {', '.join(missing)}: "
                             "backward takes gradients only for taps of the last forward")
        dx = None
        for name, layer in reversed(self.blocks[:self.depth]):
            if name in grads:                                         # this tap's loss joins in
                if dx is None:
                    dx = grads[name]
                else:                     # dx is a layer's own new array: add in place
                    dx += grads[name]
            if dx is not None:
                dx = layer.backward(dx)                               # one layer down
        return dx
