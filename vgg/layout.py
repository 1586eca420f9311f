"""VGG-19's layout: the names, shapes and order of its layers, and the image each needs.

Simonyan and Zisserman's network, as Gatys, Ecker and Bethge use it (CVPR 2016): the 16
convolutions (3x3, padding 1) with their ReLUs and the 5 poolings, no fully connected
layers. Names as the paper writes them: `conv1_1` is the ReLU output of the first
convolution (other tools call it relu1_1 or block1_conv1); `pool1` ... `pool5` the
poolings. This module imports nothing: the network (vgg/model.py) and the weights
package (vgg/weights/) both read it.
"""

# The 16 convolutions, as the paper names them, and their kernels' shapes (K, C, KH, KW).
CONV_NAMES = (
    "conv1_1", "conv1_2",
    "conv2_1", "conv2_2",
    "conv3_1", "conv3_2", "conv3_3", "conv3_4",
    "conv4_1", "conv4_2", "conv4_3", "conv4_4",
    "conv5_1", "conv5_2", "conv5_3", "conv5_4",
)
_CHANNELS = [(64, 3), (64, 64), (128, 64), (128, 128), (256, 128)] + [(256, 256)] * 3 \
    + [(512, 256)] + [(512, 512)] * 7                               # (K, C): out, in
CONV_SHAPES = {name: (K, C, 3, 3) for name, (K, C) in zip(CONV_NAMES, _CHANNELS)}

# conv1_1, conv1_2, pool1, conv2_1, ..., conv5_4, pool5: the order data flows.
LAYER_NAMES = []
for _block in range(1, 6):
    LAYER_NAMES += [n for n in CONV_NAMES if n.startswith(f"conv{_block}_")] + [f"pool{_block}"]

POOLINGS = ("max", "avg")


def min_input_size(tap):
    """Smallest image side that still leaves at least one pixel at `tap` (each pool halves)."""
    pools_before = sum(1 for n in LAYER_NAMES[:LAYER_NAMES.index(tap) + 1] if n.startswith("pool"))
    return 2 ** pools_before
