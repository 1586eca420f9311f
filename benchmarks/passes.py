"""One VGG-19 pass, the project's against PyTorch's, timed in one process on the same weights.

A pass is what a style-transfer iteration costs: the forward up to conv5_1, collecting
the taps conv1_1, conv2_1, conv3_1, conv4_1, conv5_1 (style) and conv4_2 (content),
then the backward from random upstream gradients at those taps down to the image. The
network is frozen on both sides: no weight gradients. PyTorch's pass is the tests'
oracle (tests/oracle.py: torch_vgg19, torch_taps_backward).

benchmarks/bench.py runs bench_pass; this file, run as a script, is the child process
that measures one side's peak memory (benchmarks/peak_memory.py):

    python benchmarks/passes.py SIDE SIZE SEED [--threads N] [--conv3x3 ALGORITHM]
"""
import argparse
import sys

import numpy as np

from common import bench_params, make_engine, match_torch_threads   # puts the repository on the path
from peak_memory import gpu_peaks, peak_of_child, report_peak_of

TAPS = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1", "conv4_2"]
DEEPEST = "conv5_1"


def tap_shapes(size):
    """{tap: (1, C, h, w)} at an image side `size` (each pool halves, rounding down)."""
    from vgg.layout import CONV_SHAPES, LAYER_NAMES
    shapes, side = {}, size
    for name in LAYER_NAMES:
        if name.startswith("pool"):
            side //= 2
        elif name in TAPS:
            shapes[name] = (1, CONV_SHAPES[name][0], side, side)
    return shapes


def conv_gflop(size):
    """GFLOP of one pass: every conv forward up to conv5_1 plus its image-gradient conv
    (the same count), 2 flops per multiply-add."""
    from vgg.layout import CONV_SHAPES, LAYER_NAMES
    flop, side = 0, size
    for name in LAYER_NAMES[:LAYER_NAMES.index(DEEPEST) + 1]:
        if name.startswith("pool"):
            side //= 2
        else:
            K, C, KH, KW = CONV_SHAPES[name]
            flop += 2 * (2 * K * C * KH * KW * side * side)          # forward + dx
    return flop / 1e9


class Pass:
    """Both sides of one pass at one size: our models ({engine name: VGG19}), PyTorch's
    layers, and each side's image and upstream gradients on its own device."""

    def __init__(self, size, backend, seed, engines, conv3x3=None, threads=None):
        import torch

        from minigrad.backend import backend_module
        from tests.oracle import torch_vgg19
        from vgg.model import VGG19
        xp, device = backend_module(backend), "cuda" if backend == "cupy" else "cpu"
        params, _ = bench_params(seed)
        on_device = {n: (xp.asarray(W), xp.asarray(b)) for n, (W, b) in params.items()}
        self.models = {e: VGG19(on_device, engine=make_engine(e, backend, conv3x3, threads))
                       for e in engines}
        self.layers = torch_vgg19(params, "max", device=device, upto=DEEPEST)
        rng = np.random.default_rng(seed)
        x = (50 * rng.standard_normal((1, 3, size, size))).astype(np.float32)
        grads = {t: rng.standard_normal(s).astype(np.float32) for t, s in tap_shapes(size).items()}
        self.ours_in = (xp.asarray(x), {n: xp.asarray(g) for n, g in grads.items()})
        self.torch_in = (torch.from_numpy(x).to(device),
                         {n: torch.from_numpy(g).to(device) for n, g in grads.items()})

    def ours(self, engine):
        """Project: forward to the taps, backward to the image."""
        x, grads = self.ours_in
        model = self.models[engine]
        model.forward(x, TAPS)
        return model.backward(grads)

    def theirs(self):
        """PyTorch: the same pass with autograd, the gradient of the image only."""
        from tests.oracle import torch_taps_backward
        return torch_taps_backward(self.layers, *self.torch_in)[1]

    def check_same_gradient(self, engine):
        """Both sides must compute the same image gradient, or the timing means nothing."""
        from minigrad.backend import to_numpy
        a = to_numpy(self.ours(engine)).astype(np.float64)
        b = self.theirs().cpu().numpy().astype(np.float64)
        err = np.linalg.norm(a - b) / np.linalg.norm(b)
        if not err < 1e-2:                # float32 through 13 layers: ~1e-3 is normal
            sys.exit(f"the two image gradients differ (relative error {err:.2e}): not timing")


def cpu_peak(side, size, seed, conv3x3=None, threads=None):
    """Peak resident-set increase (bytes) of two passes of one side ('torch' or an engine
    name), in a fresh process: this file run as a script."""
    cmd = [sys.executable, __file__, side, str(size), str(seed)]
    cmd += ["--threads", str(threads)] if threads else []
    cmd += ["--conv3x3", conv3x3] if conv3x3 else []
    return peak_of_child(cmd)


def pass_memory(bench, backend, size, seed, conv3x3=None, threads=None):
    """{engine: (ours, PyTorch's) peak bytes of one pass}: fresh processes on the CPU,
    the memory pools' peaks on a GPU."""
    if backend == "cupy":
        return {e: gpu_peaks(lambda e=e: bench.ours(e), bench.theirs) for e in bench.models}
    theirs = cpu_peak("torch", size, seed, conv3x3, threads)
    return {e: (cpu_peak(e, size, seed, conv3x3, threads), theirs) for e in bench.models}


def main(argv=None):
    """The memory child: set up one side, then two passes under report_peak_of."""
    p = argparse.ArgumentParser(description="peak memory of one side's pass (benchmarks/bench.py's child)")
    p.add_argument("side", choices=["fast", "reference", "torch"])
    p.add_argument("size", type=int)
    p.add_argument("seed", type=int)
    p.add_argument("--threads", type=int)
    p.add_argument("--conv3x3")
    args = p.parse_args(argv)
    match_torch_threads(args.threads)
    engines = [] if args.side == "torch" else [args.side]
    bench = Pass(args.size, "numpy", args.seed, engines, args.conv3x3, args.threads)
    if args.side == "torch":
        report_peak_of(lambda: [bench.theirs() for _ in range(2)])
    else:
        del bench.layers
        report_peak_of(lambda: [bench.ours(args.side) for _ in range(2)])


if __name__ == "__main__":
    main()
