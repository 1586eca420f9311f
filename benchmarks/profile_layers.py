"""Per-layer profile of one VGG-19 pass: the project's kernels against PyTorch's, layer by layer.

    python benchmarks/profile_layers.py --size 256 [--repeats 5] [--threads 2] [--engine reference]

For every convolution, ReLU and pooling up to conv5_1 it times the forward and the
image-gradient backward of the project (an engine's eight functions: the fast
engine, as VGG19 builds it, unless --engine reference) and of
PyTorch (torch.nn.functional and its autograd), best of --repeats, and prints
milliseconds and the ratio. Use it to see where a pass spends its time before
changing code; benchmarks/bench.py gives the whole-pass figures.
"""
import argparse
import time

import numpy as np

from common import bench_params, device_sync, make_engine, match_torch_threads


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=None,
                   help="the fast engine's worker threads and PyTorch's (default: one per core)")
    p.add_argument("--engine", choices=["fast", "reference"], default="fast")
    p.add_argument("--backend", choices=["numpy", "cupy"], default="numpy")
    return p.parse_args(argv)


class Profiler:
    """Times one engine's functions and PyTorch's on the same arrays, best of `repeats`."""

    def __init__(self, args):
        import torch

        from minigrad.backend import backend_module
        self.engine = make_engine(args.engine, args.backend, threads=args.threads)
        self.xp, self.torch = backend_module(args.backend), torch
        self.device = "cuda" if args.backend == "cupy" else "cpu"
        self.sync, self.repeats = device_sync(args.backend), args.repeats
        self.rng = np.random.default_rng(0)                # the arrays are random: only time counts

    def best(self, fn):
        """Milliseconds: the best of `repeats` calls, after one untimed call."""
        fn()
        self.sync()
        t = float("inf")
        for _ in range(self.repeats):
            t0 = time.perf_counter()
            fn()
            self.sync()
            t = min(t, time.perf_counter() - t0)
        return t * 1e3

    def both(self, *arrays):
        """The arrays on the chosen backend, and as torch tensors on the same device."""
        return ([self.xp.asarray(a) for a in arrays],
                [self.torch.from_numpy(a).to(self.device) for a in arrays])

    def pool(self, x_host):
        """Rows for a 2x2 max pooling of x_host: forward and backward, ours and PyTorch's."""
        import torch.nn.functional as tF
        torch, E = self.torch, self.engine
        (x,), (tx,) = self.both(x_host)
        out, cache = E.maxpool_forward(x, 2, 2)
        (d,), (td,) = self.both(self.rng.standard_normal(out.shape).astype(np.float32))
        _, tidx = tF.max_pool2d_with_indices(tx, 2)
        return [("fwd", self.best(lambda: E.maxpool_forward(x, 2, 2)),
                 self.best(lambda: tF.max_pool2d_with_indices(tx, 2))),
                ("bwd", self.best(lambda: E.maxpool_backward(d, cache)),
                 self.best(lambda: torch.ops.aten.max_pool2d_with_indices_backward(
                     td, tx, [2, 2], [2, 2], [0, 0], [1, 1], False, tidx)))]

    def conv_relu(self, x_host, W_host, b_host, d_host):
        """Rows for a 3x3 convolution and its ReLU: forward and backward, ours and PyTorch's."""
        import torch.nn.functional as tF
        torch, E = self.torch, self.engine
        (x, W, b, d), (tx, tW, tb, td) = self.both(x_host, W_host, b_host, d_host)
        out, cache = E.conv2d_forward(x, W, b, 1, 1)
        _, mask = E.relu_forward(out)
        ty = torch.as_tensor(out, device=self.device) if self.device == "cuda" else torch.from_numpy(out)
        rows = [("conv", self.best(lambda: E.conv2d_forward(x, W, b, 1, 1)),
                 self.best(lambda: tF.conv2d(tx, tW, tb, padding=1))),
                ("dconv", self.best(lambda: E.conv2d_backward(d, cache, need_dw=False)),
                 self.best(lambda: torch.nn.grad.conv2d_input(tx.shape, tW, td, padding=1))),
                ("relu", self.best(lambda: E.relu_forward(out)), self.best(lambda: torch.relu(ty))),
                ("drelu", self.best(lambda: E.relu_backward(d, mask)),
                 self.best(lambda: torch.ops.aten.threshold_backward(td, ty, 0)))]
        return rows


def main(argv=None):
    from vgg.layout import CONV_SHAPES, LAYER_NAMES
    args = parse_args(argv)
    match_torch_threads(args.threads)
    params, line = bench_params(0)
    print(line)
    profiler, side, channels = Profiler(args), args.size, 3
    random = lambda *shape: profiler.rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    total = {"ours": 0.0, "torch": 0.0}
    print(f"{'layer':12} {'op':5} {'ours ms':>8} {'torch ms':>8} {'ratio':>6}")
    for name in LAYER_NAMES[:LAYER_NAMES.index("conv5_1") + 1]:
        if name.startswith("pool"):
            rows = profiler.pool(random(1, channels, side, side))
            side //= 2
        else:
            K, C = CONV_SHAPES[name][:2]
            rows = profiler.conv_relu(random(1, C, side, side), *params[name], random(1, K, side, side))
            channels = K
        for op, ours, theirs in rows:
            total["ours"] += ours
            total["torch"] += theirs
            print(f"{name:12} {op:5} {ours:8.1f} {theirs:8.1f} {ours / theirs:6.2f}", flush=True)
    print(f"{'total':12} {'':5} {total['ours']:8.1f} {total['torch']:8.1f} "
          f"{total['ours'] / total['torch']:6.2f}")


if __name__ == "__main__":
    main()
