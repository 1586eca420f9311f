"""minigrad: a small, hand-written backpropagation engine for convolutional networks.

Read in this order: backend.py (NumPy or CuPy), conv.py (convolution, naive then
fast), pool.py (pooling), layers.py (ReLU and the layer classes), losses.py
(the paper's content, Gram/style and total-variation losses), gradcheck.py
(finite differences), optim.py (L-BFGS and Adam).
"""
from .backend import get_array_module, to_device, to_numpy, gpu_available  # noqa: F401
from .layers import Conv2d, ReLU, MaxPool2d, AvgPool2d, Sequential  # noqa: F401
