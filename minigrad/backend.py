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
import numpy as np

BACKENDS = ("numpy", "cupy")


class BackendUnavailable(RuntimeError):
    """Raised when the CuPy backend is asked for but cannot run here."""


_cupy = None            # the cupy module once it has been imported and checked
_cupy_error = None      # why it could not be, remembered to say it once and clearly


def _load_cupy():
    """Import CuPy and check that a CUDA device answers; cache the outcome."""
    global _cupy, _cupy_error
    if _cupy is None and _cupy_error is None:
        try:
            import cupy
            if cupy.cuda.runtime.getDeviceCount() < 1:
                _cupy_error = "CuPy is installed but no CUDA device was found"
            else:
                _cupy = cupy
        except Exception as e:  # not installed, a broken CUDA install, no driver, no device
            _cupy_error = f"CuPy cannot run here ({e.__class__.__name__}: {e})"
    return _cupy


def gpu_available():
    """True when CuPy imports and at least one CUDA device answers."""
    return _load_cupy() is not None


def get_cupy():
    """The cupy module, or BackendUnavailable with the reason it cannot run here."""
    if _load_cupy() is None:
        raise BackendUnavailable(
            f"the 'cupy' backend needs CuPy and a CUDA GPU: {_cupy_error}. "
            "Install CuPy for your CUDA version (pip install cupy-cuda12x) "
            "or use the 'numpy' backend.")
    return _cupy


def is_cupy_array(a):
    """True for a CuPy array, even one made before this module was asked for CuPy."""
    return type(a).__module__.startswith("cupy")


def get_array_module(*arrays):
    """numpy or cupy: the module that holds the given arrays (numpy if none is on a GPU)."""
    if any(is_cupy_array(a) for a in arrays):
        import cupy                     # already imported: whoever made the array did
        return cupy
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
    return backend_module(backend).asarray(x)


def to_numpy(x):
    """x as a NumPy array on the host (copies from the GPU when needed)."""
    if is_cupy_array(x):
        return get_array_module(x).asnumpy(x)
    return np.asarray(x)


def move_like(a, like):
    """a in the same memory (host or GPU) as the array `like`; a itself if already there."""
    return get_array_module(like).asarray(a) if is_cupy_array(like) else to_numpy(a)


def synchronize():
    """Wait for queued GPU work (for honest timings); nothing to do on NumPy."""
    if _cupy is not None:
        _cupy.cuda.Stream.null.synchronize()
