"""The fast engine: minigrad's layers, the same numbers, several times faster.

It implements the contract of the reference engine (minigrad/reference.py) --
the same eight functions, arguments and caches -- and is chosen where a model is
built: `Conv2d(..., engine="fast")`, `VGG19.load(engine="fast")`. Read the
reference engine first; this one adds only speed:

    engine.py       FastEngine: the eight functions, and every speed choice as an argument
    threads.py      the worker threads (one per core) and their one-thread BLAS (threadpoolctl)
    conv.py         im2col in bands of output rows, spread over the workers
    winograd.py     Winograd's F(2x2, 3x3) and F(4x4, 3x3) for VGG's 3x3 convolutions, in bands
    elementwise.py  ReLU and max pooling, split over channels among the workers
    cuda.py         on CuPy: Winograd's tile transforms and ReLU as hand-written CUDA kernels
"""
from .engine import FastEngine  # noqa: F401
