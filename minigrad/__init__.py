"""minigrad: a small, hand-written backpropagation engine for convolutional networks.

Two engines compute every layer, with the same functions, arguments and caches:
the reference engine, written to be read, and the fast engine (minigrad/fast/),
chosen where a model is built (`Conv2d(..., engine="fast")`). Read the reference
engine in this order: backend.py (NumPy or CuPy), conv.py (convolution, naive then
im2col), relu.py, layers.py (the layer classes) with reference.py (the functions a
layer calls) and engines.py (the contract of both engines), pool.py (pooling),
losses.py (the paper's content, Gram/style and total-variation losses), gradcheck.py
(finite differences), optim.py (L-BFGS; adam.py beside it) with two_loop.py (L-BFGS's direction)
and line_search.py (its step length).
"""
from .backend import get_array_module, to_device, to_numpy, gpu_available  # noqa: F401
from .layers import Conv2d, ReLU, MaxPool2d, AvgPool2d, Sequential  # noqa: F401
