"""The one place where the exercises meet the project: its reference engine, in the exercises' terms.

exercises/check.py compares a learner's functions with these, and `check.py --solutions`
runs the checker on them. Every import from minigrad sits here, so when a function of the
reference engine is renamed or moves, this file is the one edit. Only the reference
functions are used (naive loops, im2col/col2im, the one-line ReLU, the losses), never the
fast engine.

The exercises keep the cs231n layout, `*_forward(...) -> (out, cache)` and
`*_backward(dout, cache)`; where the project's convention differs (a loss returns its value
and its gradient for an upstream gradient of 1; the ReLU keeps its mask, not its input), a
wrapper of one or two lines converts.
"""
from minigrad import losses
from minigrad.conv import (col2im, conv2d_backward_im2col, conv2d_backward_naive,  # noqa: F401
                           conv2d_forward_im2col, conv2d_forward_naive, im2col)
from minigrad.gradcheck import numerical_gradient, sample_indices  # noqa: F401
from minigrad.relu import relu_backward as _relu_backward
from minigrad.relu import relu_forward as _relu_forward
from minigrad.pool import (avgpool_backward_naive, avgpool_forward_naive,  # noqa: F401
                           maxpool_backward_naive, maxpool_forward_naive)

# ---------------------------------------------------------------- layers (same contract)
conv_forward, conv_backward = conv2d_forward_naive, conv2d_backward_naive
conv_forward_im2col, conv_backward_im2col = conv2d_forward_im2col, conv2d_backward_im2col


def maxpool_forward(x, k, stride):
    """The engine's max pooling with the exercise's cache (x, k, stride): the learner finds the
    argmax themselves, where the engine's cache (x.shape, k, stride, argmax) would hand it over."""
    return maxpool_forward_naive(x, k, stride)[0], (x, k, stride)


def maxpool_backward(dout, cache):
    x, k, stride = cache
    return maxpool_backward_naive(dout, maxpool_forward_naive(x, k, stride)[1])


avgpool_forward, avgpool_backward = avgpool_forward_naive, avgpool_backward_naive


def relu_forward(x):
    """The exercise's ReLU keeps its input x as the cache; the project keeps the mask."""
    return _relu_forward(x)[0], x


def relu_backward(dout, x):
    return _relu_backward(dout, x > 0)


# ---------------------------------------------------------------- losses: (value, grad) -> forward/backward
def gram_forward(F):
    return losses.gram_matrix(F), F


def gram_backward(dG, F):
    return losses.gram_backward(dG, F)


def style_loss_forward(F, A):
    return losses.style_loss(F, A)[0], (F, A)


def style_loss_backward(dE, cache):
    return dE * losses.style_loss(*cache)[1]


def content_loss_forward(F, P):
    return losses.content_loss(F, P)[0], (F, P)


def content_loss_backward(dL, cache):
    return dL * losses.content_loss(*cache)[1]


def tv_forward(x):
    return losses.tv_loss(x)[0], x


def tv_backward(dL, x):
    return dL * losses.tv_loss(x)[1]


# ---------------------------------------------------------------- the chain (exercises/vgg_block.py)
def vgg_block_backward(dloss, cache):
    """dL/dx for exercises/vgg_block.py's forward, walked as vgg.model.VGG19.backward walks:
    top down, each tap's loss gradient added where the walk reaches it."""
    c = cache
    d = dloss * c["alpha"] * content_loss_backward(1.0, c["content"])   # at conv2_1's ReLU output
    d = relu_backward(d, c["relu2_1"])
    d = conv_backward(d, c["conv2_1"])[0]
    d = maxpool_backward(d, c["pool1"])
    d = relu_backward(d, c["relu1_2"])
    d = conv_backward(d, c["conv1_2"])[0]
    d = d + dloss * c["beta"] * style_loss_backward(1.0, c["style"])    # conv1_1's tap joins
    d = relu_backward(d, c["relu1_1"])
    d = conv_backward(d, c["conv1_1"])[0]
    return d + dloss * c["tv_weight"] * tv_backward(1.0, c["tv"])       # TV at the pixels
