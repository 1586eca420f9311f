"""Planning a run's memory: how much it needs (`estimate_bytes`, `run_bytes`), how much there
is (`available_memory`), and a setting that fits (`plan_memory`), so that a run that cannot
fit is refused before it starts, with advice that works."""
import math
import os

from minigrad.backend import get_cupy
from minigrad.fast.engine import KERNEL_CACHE_BYTES

from .layout import CONV_SHAPES, LAYER_NAMES


def estimate_bytes(shape, taps, history=0, optimizer="lbfgs", engine="fast"):
    """A conservative estimate of the memory a run needs, for refusing one that cannot fit.

    Counted: the image-sized arrays of the optimiser (L-BFGS keeps 2 per history
    pair), the kept ReLU masks and pooling argmaxes (a byte a pixel), the tapped
    activations and content targets (float32), and the transient arrays of the
    widest layer (a few activations and an im2col band), plus the weights. The
    fast engine also keeps each used kernel's Winograd transforms (16 numbers for
    every 9 weights in F(2x2), 36 in F(4x4); at most its kernel cache,
    minigrad/fast/engine.py's KERNEL_CACHE_BYTES); the reference engine builds the whole im2col matrix of a
    layer at once (C*9 rows) and its gradient: twice 9 times the widest layer.
    optimizer=None counts one forward pass alone (a style image's targets).
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
            transforms += (16 + 36) * channels * inputs * 4       # F(2x2)'s U and F(4x4)'s
        n = channels * h * w
        kept += n + (8 * n if name in taps else 0)     # mask; a tap: activation + target
        widest = max(widest, n)
    image = 3 * H * W * 4
    per_image = {"lbfgs": 2 * history + 4, "adam": 5, None: 1}[optimizer]
    engine_bytes = min(transforms, KERNEL_CACHE_BYTES["numpy"]) if engine == "fast" \
        else 2 * 9 * widest * 4
    return per_image * image + kept + 5 * widest * 4 + engine_bytes + 80 * 2**20 + 16 * 2**20


def run_bytes(canvas, style_shapes, taps, history, optimizer="lbfgs", engine="fast"):
    """The peak of a run: the optimisation on the canvas (H, W), or the forward pass of the
    largest style image (H, W) that captures the targets, whichever is larger."""
    run = estimate_bytes((1, 3) + tuple(canvas), taps, history, optimizer, engine)
    styles = [estimate_bytes((1, 3) + tuple(s), taps, 0, None, engine) for s in style_shapes]
    return max([run] + styles)


def plan_memory(canvas, style_shapes, taps, history, optimizer, engine, have, size, style_scale):
    """(bytes needed, None) if the run fits in `have` bytes, else (bytes, a setting that fits).

    The advice is checked with the same estimate, against 90% of `have`: the largest
    --size (a multiple of 16, the style images shrinking with it) that fits; for
    L-BFGS, the largest --history; and a smaller --style-scale when a style image
    alone is the problem.
    """
    need = run_bytes(canvas, style_shapes, taps, history, optimizer, engine)
    if need <= have:
        return need, None
    have = 0.9 * have                      # advice with room to spare: free memory moves

    def fits(canvas_k=1.0, style_k=1.0, history=history):
        """Whether the run fits with the canvas and the style images scaled by these factors."""
        return run_bytes(_scaled(canvas, canvas_k), [_scaled(t, style_k) for t in style_shapes],
                         taps, history, optimizer, engine) <= have

    advice = [_smaller_size(fits, size)]
    if optimizer == "lbfgs":
        advice.append(_smaller_history(fits, history))
    run_alone = estimate_bytes((1, 3) + tuple(canvas), taps, history, optimizer, engine)
    if run_alone <= have < need and style_shapes:                   # a style image is the problem
        advice.append(_smaller_style_scale(fits, style_scale))
    advice = [a for a in advice if a]
    return need, " or ".join(advice) if advice else "a smaller --size (none fits here)"


def _scaled(shape, k):
    return tuple(max(1, round(n * k)) for n in shape)


def _largest(fits, lo, hi):
    """The largest whole n in [lo, hi] with fits(n), or None; fits must hold for every n
    below one that fits (memory grows with each setting). By bisection: a few dozen
    estimates, whatever the range."""
    if hi < lo or not fits(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _smaller_size(fits, size):
    """The largest --size below `size`, a multiple of 16, at which the run fits (the style
    images shrinking with the canvas), as advice; None if none does."""
    n = _largest(lambda n: fits(16 * n / size, 16 * n / size), 1, size // 16)
    return f"--size {16 * n}" if n else None


def _smaller_history(fits, history):
    """The largest --history that fits, or None."""
    n = _largest(lambda n: fits(history=n), 1, history)
    return f"--history {n}" if n else None


def _smaller_style_scale(fits, style_scale):
    """The largest --style-scale below `style_scale`, in tenths, that fits, or None."""
    n = _largest(lambda n: fits(style_k=n / 10 / style_scale), 1, math.ceil(style_scale * 10) - 1)
    return f"--style-scale {n / 10:g}" if n else None


def available_memory(backend):
    """Bytes that a new allocation can still get: free host RAM, or free GPU memory."""
    if backend == "cupy":
        cp = get_cupy()
        free, _ = cp.cuda.runtime.memGetInfo()
        return free + cp.get_default_memory_pool().free_bytes()
    free = None
    try:
        with open("/proc/meminfo") as f:                    # Linux: what the kernel can give
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
    except OSError:
        pass
    if free is None:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return min(free, _left_under_limits())


def _left_under_limits():
    """What this process may still map under its own limits (ulimit -v, -d), if it has any:
    the limit less what it has already mapped (/proc/self/status)."""
    try:
        import resource
        limits = [resource.getrlimit(r)[0] for r in (resource.RLIMIT_AS, resource.RLIMIT_DATA)]
        with open("/proc/self/status") as f:
            mapped = {k: int(v.split()[0]) * 1024 for k, v in
                      (line.split(":", 1) for line in f) if k in ("VmSize", "VmData")}
    except (ImportError, OSError, ValueError):
        return math.inf
    left = [limit - mapped.get(field, 0) for limit, field in zip(limits, ("VmSize", "VmData"))
            if limit != resource.RLIM_INFINITY]
    return max(0, min(left)) if left else math.inf
