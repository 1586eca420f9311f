"""Exercise 9: a small VGG, forward and backward, chaining your backward passes.

Read first: docs/backprop.md, section 7 "The whole network: VGG19.backward".
Check:      python exercises/check.py vgg_block   (after the exercises it uses pass)

VGG-19's first two blocks in miniature (3x3 convolutions with padding 1, each followed by
a ReLU; a 2x2 max pooling with stride 2), with the losses of style transfer on top:

    x (1, 3, H, W)
      -> conv1_1 (3 -> C1) -> ReLU = F1 (1, C1, H, W)           style tap: E = style loss(F1, A)
      -> conv1_2 (C1 -> C1) -> ReLU -> pool1 (1, C1, H/2, W/2)
      -> conv2_1 (C1 -> C2) -> ReLU = F2 (1, C2, H/2, W/2)      content tap: L = content loss(F2, P)
    loss = alpha * L + beta * E + tv_weight * TV(x)               (eq. 7, plus total variation)

The forward is given, built from the given forwards of the other exercises. Write
`vgg_block_backward`: dL/dx, calling YOUR backward functions (conv.conv_backward,
relu.relu_backward, ...; call them through their modules, as the forward does).

Hints
  * Walk the layers top down, from the deepest tap to the pixels, one backward a layer.
  * A tap's loss gradient joins the gradient coming down at the layer the loss reads.
    The total loss is a sum: what happens to two gradients that reach the same array?
  * The style loss reads F1, the ReLU's OUTPUT: on which side of that ReLU does its
    gradient join?
  * Each loss gradient carries its weight (alpha, beta, tv_weight) and the upstream dloss.
"""
from exercises import content, conv, maxpool, relu, style, tv


def vgg_block_forward(x, params, P, A, alpha=1.0, beta=1.0, tv_weight=0.0):
    """x (1, 3, H, W); params {name: (w, b)}; P (1, C2, H/2, W/2); A (C1, C1) -> loss, cache. (Given.)"""
    cache = {"alpha": alpha, "beta": beta, "tv_weight": tv_weight}
    h, cache["conv1_1"] = conv.conv_forward(x, *params["conv1_1"], 1, 1)     # (1, C1, H, W)
    F1, cache["relu1_1"] = relu.relu_forward(h)                             # style tap
    h, cache["conv1_2"] = conv.conv_forward(F1, *params["conv1_2"], 1, 1)    # (1, C1, H, W)
    h, cache["relu1_2"] = relu.relu_forward(h)
    h, cache["pool1"] = maxpool.maxpool_forward(h, 2, 2)                    # (1, C1, H/2, W/2)
    h, cache["conv2_1"] = conv.conv_forward(h, *params["conv2_1"], 1, 1)     # (1, C2, H/2, W/2)
    F2, cache["relu2_1"] = relu.relu_forward(h)                             # content tap
    E, cache["style"] = style.style_loss_forward(F1, A)
    L, cache["content"] = content.content_loss_forward(F2, P)
    T, cache["tv"] = tv.tv_forward(x)
    return alpha * L + beta * E + tv_weight * T, cache


def vgg_block_backward(dloss, cache):
    """dloss (a scalar), cache from vgg_block_forward -> dx (1, 3, H, W)."""
    # YOUR CODE HERE
    raise NotImplementedError("vgg_block_backward: chain your backward passes")
