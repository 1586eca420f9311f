"""The cases exercises/check.py runs for each function, simplest first, and the slips each can show.

For every function a learner writes there is a list of Cases. They grow one difficulty at
a time (windows that do not overlap, then windows that overlap, then several channels,
then padding and stride), so the first case that fails names what is new in it: "case 2
adds overlapping windows" after case 1 passed says more than any number. Each case also
lists the arrays that typical slips produce (built here from the reference engine, never
shown), so a match can be named: "dx is what `=` instead of `+=` gives".

All inputs are float64, drawn from fixed seeds: a run is reproducible. The cases are in
exercises/layer_cases.py (convolution, im2col, ReLU, pooling) and exercises/loss_cases.py
(the losses and the chain); this file lists them in reading order.
"""
from exercises.layer_cases import avgpool_cases, conv_cases, im2col_cases, maxpool_cases, relu_cases
from exercises.loss_cases import content_cases, style_cases, tv_cases, vgg_block_cases

EXERCISES = {  # name: (functions the learner writes, section of docs/backprop.md, cases)
    "conv": (["conv_backward"], "1. Convolution", conv_cases),
    "im2col": (["col2im", "conv_backward_im2col"], "1. Convolution, from \"As one matrix product\"",
               im2col_cases),
    "relu": (["relu_backward"], "2. ReLU", relu_cases),
    "maxpool": (["maxpool_backward"], "3. Pooling, \"Max pooling\"", maxpool_cases),
    "avgpool": (["avgpool_backward"], "3. Pooling, \"Average pooling\"", avgpool_cases),
    "content": (["content_loss_backward"], "4. Content loss (eqs. 1-2)", content_cases),
    "style": (["gram_backward", "style_loss_backward"], "5. Gram matrix and style loss (eqs. 3-6)",
              style_cases),
    "tv": (["tv_backward"], "6. Total variation", tv_cases),
    "vgg_block": (["vgg_block_backward"], "7. The whole network: VGG19.backward", vgg_block_cases),
}
