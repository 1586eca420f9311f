"""The engines a layer can run on, the contract they keep, and the one way to get one.

A layer (minigrad/layers.py) does no arithmetic itself: it calls an *engine*, an
object with the eight functions of `Engine` below. There are two:

    reference   minigrad/reference.py: the plain versions from conv.py, pool.py and
                relu.py, written to be read -- naive loops, im2col/col2im, one-line ReLU
    fast        minigrad/fast/: the same functions, arguments and caches, several times
                faster (Winograd, bands, worker threads, CUDA kernels on a GPU)

Either engine's backward runs on the other's cache, and the tests compare the two
(tests/test_layers.py) and check both against this contract (tests/test_engines.py).

    engine = get_engine("reference")
    engine = get_engine("fast")                   # the defaults of minigrad/fast/engine.py
    engine = get_engine("fast", frozen=True)      # a frozen network's: weights never change
                                                  # in place, and the plan measured here

Imports run one way: layers -> engines -> reference -> conv, pool, relu; the fast
engine uses the reference's pieces and is never imported by them.
"""
from typing import Protocol, runtime_checkable

from . import reference
from .fast import FastEngine

ENGINES = ("reference", "fast")


@runtime_checkable
class Engine(Protocol):
    """The eight functions every engine implements, with the same arguments and caches.

    Arrays are NCHW (N images, C channels, H rows, W columns), of any memory layout;
    outputs are new arrays, and backward never changes dout or a cache.
    """

    def conv2d_forward(self, x, w, b, stride, pad):
        """x (N, C, H, W), w (K, C, KH, KW), b (K,) -> out (N, K, OH, OW), cache (x, w, b, stride, pad)."""

    def conv2d_backward(self, dout, cache, need_dw=True):
        """dout (N, K, OH, OW) -> dx (N, C, H, W), dw (K, C, KH, KW), db (K,); dw, db None unless need_dw."""

    def relu_forward(self, x):
        """x -> y = max(x, 0), mask = 1[x > 0] (bool)."""

    def relu_backward(self, dout, mask):
        """dout -> dx = dout * mask."""

    def maxpool_forward(self, x, k, stride):
        """x (N, C, H, W) -> out (N, C, OH, OW), cache (x shape, k, stride, argmax (N, C, OH, OW) uint8)."""

    def maxpool_backward(self, dout, cache):
        """dout (N, C, OH, OW) -> dx (N, C, H, W): dout routed to each window's argmax."""

    def avgpool_forward(self, x, k, stride):
        """x (N, C, H, W) -> out (N, C, OH, OW), cache (x shape, k, stride)."""

    def avgpool_backward(self, dout, cache):
        """dout (N, C, OH, OW) -> dx (N, C, H, W): dout / k^2 spread over each window."""


def get_engine(engine, frozen=False, **options):
    """The engine a layer calls: 'reference', 'fast', or an engine object (returned as it is).

    For 'fast', options go to minigrad.fast.FastEngine; frozen=True is the preset of a
    frozen network such as vgg.model.VGG19 (its weights are never changed in place, so
    the engine keeps each kernel's Winograd transform; and the plan measured on this
    machine, if one is kept: minigrad/fast/tune.py). The reference engine has no options.
    """
    if engine == "reference":
        return reference
    if engine == "fast":
        if frozen:
            from .fast import tune          # here, so `python -m minigrad.fast.tune` runs it first
            options = {"fixed_weights": True, "plan": tune.kept_plan(), **options}
        return FastEngine(**options)
    if isinstance(engine, str):
        raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    return engine
