"""The one place that knows about CuPy: pick the array module, move arrays.

Every other module in this project writes `xp = get_array_module(x)` and then
`xp.zeros(...)`, `xp.maximum(...)`, `xp.arange(...)` -- never `np.` on an array
that might live on the GPU. The array module follows the data, as in DeZero's
`dezero/cuda.py`: a CuPy array gives CuPy, anything else gives NumPy.

    >>> xp = get_array_module(x)          # numpy or cupy, whichever holds x
    >>> x_gpu = to_device(x, "cupy")      # host -> device (clear error without a GPU)
    >>> x_cpu = to_numpy(x_gpu)           # device -> host (a no-op for NumPy arrays)

CuPy is imported lazily, so `import minigrad` never needs a GPU.
"""
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

BACKENDS = ("numpy", "cupy")


class BackendUnavailable(RuntimeError):
    """Raised when the CuPy backend is asked for but cannot run here."""


_cupy = None            # the cupy module once it has been imported and checked
_cupy_error = None      # why it could not be, remembered to say it once and clearly


def _load_cupy():
    """Import CuPy and check that a CUDA device answers; cache the outcome."""
    global _cupy, _cupy_error
    if _cupy is not None or _cupy_error is not None:
        return _cupy
    try:
        import cupy
    except Exception as e:  # ImportError, or a broken CUDA install raising at import
        _cupy_error = f"CuPy is not installed or does not import ({e.__class__.__name__}: {e})"
        return None
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # no driver, no device
        _cupy_error = f"CuPy is installed but no CUDA device answers ({e.__class__.__name__}: {e})"
        return None
    if n < 1:
        _cupy_error = "CuPy is installed but no CUDA device was found"
        return None
    _cupy = cupy
    return _cupy


def gpu_available():
    """True when CuPy imports and at least one CUDA device answers."""
    return _load_cupy() is not None


def get_cupy():
    """The cupy module, or BackendUnavailable with the reason it cannot run here."""
    cp = _load_cupy()
    if cp is None:
        raise BackendUnavailable(
            f"the 'cupy' backend needs CuPy and a CUDA GPU: {_cupy_error}. "
            "Install CuPy for your CUDA version (pip install cupy-cuda12x) "
            "or use the 'numpy' backend.")
    return cp


def get_array_module(*arrays):
    """numpy or cupy: the module that holds the given arrays (numpy if none is on a GPU)."""
    if _cupy is not None:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


def backend_module(name):
    """The array module for a backend name, 'numpy' or 'cupy'."""
    if name == "numpy":
        return np
    if name == "cupy":
        return get_cupy()
    raise ValueError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")


def to_device(x, backend):
    """A copy of x (any array-like) in the given backend's memory; x itself if already there."""
    xp = backend_module(backend)
    return xp.asarray(x)


def to_numpy(x):
    """x as a NumPy array on the host (copies from the GPU when needed)."""
    if _cupy is not None and isinstance(x, _cupy.ndarray):
        return _cupy.asnumpy(x)
    return np.asarray(x)


def move_like(a, like):
    """a in the same memory (host or GPU) as the array `like`; a itself if already there."""
    if get_array_module(like) is np:
        return to_numpy(a)
    return _cupy.asarray(a)


def available_memory(backend):
    """Bytes that a new allocation can still get: free host RAM, or free GPU memory."""
    if backend == "cupy":
        cp = get_cupy()
        free, _ = cp.cuda.runtime.memGetInfo()
        return free + cp.get_default_memory_pool().free_bytes()
    try:
        with open("/proc/meminfo") as f:                    # Linux: what the kernel can give
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def synchronize(x=None):
    """Wait for queued GPU work (for honest timings); nothing to do on NumPy."""
    if _cupy is not None:
        _cupy.cuda.Stream.null.synchronize()


def band_bytes(xp):
    """Working-set size a convolution aims for in one band of rows, per backend.

    On a CPU a band should stay near the caches (8 MB: an im2col band; Winograd
    splits it among its scratch arrays); a GPU wants few launches with much work
    in each, so its bands are as large as memory comfortably allows.
    """
    return 8 * 2**20 if xp is np else 2 * 2**30


# Which algorithm VGG's 3x3 convolutions use on each backend. On the CPU, Winograd's
# 2.25x fewer multiplications win; on a GPU at 512 px its many small transform
# kernels cost more in launches than im2col's one large matrix product saves
# (measured on an H200: see benchmarks/RESULTS.md). MINIGRAD_CONV overrides both.
CONV3X3 = {"numpy": "winograd", "cupy": "im2col"}


def conv3x3_algorithm(xp):
    """'winograd' or 'im2col' for 3x3 stride-1 convolutions of arrays from module xp."""
    choice = os.environ.get("MINIGRAD_CONV", "")
    if choice in ("winograd", "im2col"):
        return choice
    return CONV3X3["numpy" if xp is np else "cupy"]


def host_threads(xp):
    """Threads the convolutions spread their bands over: MINIGRAD_THREADS (default 1) on
    NumPy, 1 on CuPy (the GPU runs one band's kernels in parallel by itself).

    With MINIGRAD_THREADS=n, also give the BLAS one thread (OPENBLAS_NUM_THREADS=1):
    each of the n threads then runs whole bands -- tile transforms and matrix products --
    on its own core, instead of every matrix product being split and re-joined.
    """
    if xp is not np:
        return 1
    return max(1, int(os.environ.get("MINIGRAD_THREADS", "1")))


_pools = {}             # {thread count: ThreadPoolExecutor}, made on first use, then reused


def host_pool(xp):
    """The worker threads for host_threads(xp) > 1 (None for one thread).

    Made once and kept: starting fresh threads for every convolution costs more than
    a small layer's arithmetic on a busy machine.
    """
    n = host_threads(xp)
    if n == 1:
        return None
    if n not in _pools:
        _pools[n] = ThreadPoolExecutor(n, thread_name_prefix="minigrad")
    return _pools[n]


def host_map(xp, fn, n):
    """Call fn(i0, i1) on contiguous slices [i0, i1) covering range(n), one per host
    thread, in parallel (NumPy releases the GIL inside its loops); fn(0, n) when there
    is one thread. For element-wise layers, split over channels."""
    pool = host_pool(xp)
    parts = min(host_threads(xp), n)
    if pool is None or parts < 2:
        fn(0, n)
        return
    cuts = [n * i // parts for i in range(parts + 1)]
    list(pool.map(fn, cuts[:-1], cuts[1:]))
