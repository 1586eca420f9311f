"""What the benchmark scripts share: the weights they time, the engines they build, the
device's clock, and the line that says which machine a figure came from.

Every engine is built by minigrad.engines.get_engine, as VGG19 and stylize.py build
theirs (vgg.model.engine_for: on the CPU, the fast engine with the plan measured for this
machine), unless a script's options ask for another 3x3 algorithm or thread count.
PyTorch's side of every benchmark is the tests' oracle (tests/oracle.py).
"""
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))                 # run as `python benchmarks/NAME.py`

THREAD_VARIABLES = ("MINIGRAD_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def bench_params(seed):
    """The real VGG-19 weights when weights/vgg19.h5 is there (as users run it), else random
    ones in the same layout; and a line that says which."""
    from vgg.weights import DEFAULT_PATH, read_weights
    from vgg.weights.testing import random_params
    if DEFAULT_PATH.exists():
        return read_weights(DEFAULT_PATH), f"weights: the real VGG-19 ({DEFAULT_PATH})"
    return random_params(seed), (f"weights: random (seed {seed}), {DEFAULT_PATH} is absent; "
                                 "PyTorch's speed differs on them: python -m vgg.weights fetches it")


def make_engine(name, backend, conv3x3=None, threads=None, say=print):
    """The engine stylize.py runs, unless conv3x3 or threads ask for something else (then
    the fast engine with a frozen network's preset, those settings and no measured plan)."""
    from minigrad.engines import get_engine
    from vgg.model import engine_for
    if name == "fast" and (conv3x3 or threads):
        return get_engine("fast", frozen=True, plan=None, conv3x3=conv3x3, threads=threads)
    return get_engine(engine_for(name, backend, say), frozen=True)


def match_torch_threads(threads):
    """PyTorch gets as many threads as the fast engine has workers (one per core by default)."""
    import torch
    from minigrad.engines import get_engine
    torch.set_num_threads(threads or get_engine("fast").threads)


def device_sync(backend):
    """A function that waits for the device's queued work (CuPy's and PyTorch's) on a GPU,
    and does nothing on the CPU; on a GPU also PyTorch's float32 without TF32."""
    if backend != "cupy":
        return lambda: None
    import torch
    from minigrad.backend import synchronize
    if os.environ.get("CUPY_TF32", "0") != "0":
        sys.exit("set CUPY_TF32=0: the comparison is float32 on both sides")
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False

    def sync():
        synchronize()
        torch.cuda.synchronize()
    return sync


def best_times(fns, repeats, sync):
    """Best wall time of each function over `repeats` rounds, run in turn within each
    round, so that every side sees the same background load on a shared machine."""
    for fn in fns:
        fn()                                                          # warm-up (allocator, caches)
    sync()
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            sync()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def describe_machine(backend, fast):
    """One line: NumPy's BLAS, PyTorch's threads, the cores, any thread variables set, the
    GPU, and how the fast engine `fast` runs (its workers, its 3x3 algorithm at 256 px)."""
    import numpy as np
    import torch
    from threadpoolctl import threadpool_info

    from minigrad.backend import backend_module
    blas = ", ".join(f"{i['internal_api']} {i['num_threads']} threads"
                     for i in threadpool_info() if i["user_api"] == "blas")
    xp = backend_module(backend)
    winograd = fast._algorithm(xp.zeros((64, 64, 3, 3), dtype=xp.float32), 1, 1,
                               (1, 64, 256, 256), forward=True) != "im2col"
    variables = ", ".join(f"{n}={os.environ[n]}" for n in THREAD_VARIABLES if n in os.environ)
    text = (f"numpy {np.__version__} (BLAS: {blas} outside the workers, 1 inside), "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"{os.cpu_count()} cores, environment variables: {variables or 'none'}")
    if backend == "cupy":
        name = xp.cuda.runtime.getDeviceProperties(0)["name"].decode()
        text += f", GPU {name}, cupy {xp.__version__}, cuDNN {torch.backends.cudnn.version()}"
    return (text + f"; fast engine: {fast.threads} worker threads, 3x3 convolutions by "
            f"{'Winograd' if winograd else 'im2col'}")
