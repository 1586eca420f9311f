"""Planning a run's memory: how much it needs (`estimate_bytes`) and how much there is
(`available_memory`), so that a run that cannot fit is refused before it starts."""
import os

from minigrad.backend import get_cupy

from .model import CONV_SHAPES, LAYER_NAMES


def estimate_bytes(shape, taps, history, optimizer="lbfgs", engine="fast"):
    """A conservative estimate of the memory a run needs, for refusing one that cannot fit.

    Counted: the image-sized arrays of the optimiser (L-BFGS keeps 2 per history
    pair), the kept ReLU masks and pooling argmaxes (a byte a pixel), the tapped
    activations and content targets (float32), and the transient arrays of the
    widest layer (a few activations and an im2col band), plus the weights. The
    fast engine also keeps each used kernel's Winograd transform (16 numbers for
    every 9 weights); the reference engine builds the whole im2col matrix of a
    layer at once (C*9 rows) and its gradient: twice 9 times the widest layer.
    """
    _, _, H, W = shape
    depth = max(LAYER_NAMES.index(t) for t in taps) + 1
    kept, widest, transforms = 0, 0, 0
    h, w = H, W
    channels = 3
    for name in LAYER_NAMES[:depth]:
        if name.startswith("pool"):
            h, w = h // 2, w // 2
        else:
            channels, inputs = CONV_SHAPES[name][:2]
            transforms += 16 * channels * inputs * 4
        n = channels * h * w
        kept += n + (8 * n if name in taps else 0)     # mask; a tap: activation + target
        widest = max(widest, n)
    image = 3 * H * W * 4
    per_image = {"lbfgs": 2 * history + 4, "adam": 5}[optimizer]
    engine_bytes = transforms if engine == "fast" else 2 * 9 * widest * 4
    return per_image * image + kept + 5 * widest * 4 + engine_bytes + 80 * 2**20 + 16 * 2**20


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
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
