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
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
p.add_argument("--size", type=int, default=256)
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--threads", type=int, default=None,
               help="the fast engine's worker threads and PyTorch's (default: one per core)")
p.add_argument("--engine", choices=["fast", "reference"], default="fast")
p.add_argument("--backend", choices=["numpy", "cupy"], default="numpy")
ARGS = p.parse_args()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as tF  # noqa: E402

from minigrad import reference  # noqa: E402
from minigrad.backend import backend_module, synchronize  # noqa: E402
from minigrad.fast import FastEngine  # noqa: E402
from vgg.layout import CONV_SHAPES, LAYER_NAMES  # noqa: E402
from vgg.run import engine_for  # noqa: E402
from vgg.weights import DEFAULT_PATH, read_weights  # noqa: E402
from vgg.weights.testing import random_params  # noqa: E402

if ARGS.engine == "reference":
    ENGINE = reference
elif ARGS.threads:
    ENGINE = FastEngine(threads=ARGS.threads, fixed_weights=True)
else:                     # as stylize.py runs it: the plan measured for this machine
    ENGINE = engine_for("fast", ARGS.backend, print)
torch.set_num_threads(ARGS.threads or FastEngine().threads)


GPU = ARGS.backend == "cupy"
xp = backend_module(ARGS.backend)
DEVICE = "cuda" if GPU else "cpu"
if GPU:
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False


def sync():
    if GPU:
        synchronize()
        torch.cuda.synchronize()


def best(fn):
    fn()
    sync()
    t = float("inf")
    for _ in range(ARGS.repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        t = min(t, time.perf_counter() - t0)
    return t * 1e3


def both(*arrays):
    """The arrays on the chosen backend, and as torch tensors on the same device."""
    return ([xp.asarray(a) for a in arrays],
            [torch.from_numpy(a).to(DEVICE) for a in arrays])


def main():
    if DEFAULT_PATH.exists():
        params = read_weights(DEFAULT_PATH)
        print(f"weights: the real VGG-19 ({DEFAULT_PATH})")
    else:
        params = random_params(0)
        print(f"weights: random (seed 0); {DEFAULT_PATH} is absent (python -m vgg.weights fetches it)")
    rng = np.random.default_rng(0)
    side = ARGS.size
    total = {"ours": 0.0, "torch": 0.0}
    print(f"{'layer':12} {'op':5} {'ours ms':>8} {'torch ms':>8} {'ratio':>6}")
    for name in LAYER_NAMES[:LAYER_NAMES.index("conv5_1") + 1]:
        rows = []
        if name.startswith("pool"):
            C = x.shape[1]
            (x,), (tx,) = both(rng.standard_normal((1, C, side, side)).astype(np.float32))
            out, cache = ENGINE.maxpool_forward(x, 2, 2)
            (d,), (td,) = both(rng.standard_normal(out.shape).astype(np.float32))
            tout, tidx = tF.max_pool2d_with_indices(tx, 2)
            rows.append(("fwd", best(lambda: ENGINE.maxpool_forward(x, 2, 2)),
                         best(lambda: tF.max_pool2d_with_indices(tx, 2))))
            rows.append(("bwd", best(lambda: ENGINE.maxpool_backward(d, cache)),
                         best(lambda: torch.ops.aten.max_pool2d_with_indices_backward(
                             td, tx, [2, 2], [2, 2], [0, 0], [1, 1], False, tidx))))
            side //= 2
        else:
            K, C = CONV_SHAPES[name][:2]
            (x, W, b, d), (tx, tW, tb, td) = both(
                rng.standard_normal((1, C, side, side)).astype(np.float32), *params[name],
                rng.standard_normal((1, K, side, side)).astype(np.float32))
            out, cache = ENGINE.conv2d_forward(x, W, b, 1, 1)
            rows.append(("conv", best(lambda: ENGINE.conv2d_forward(x, W, b, 1, 1)),
                         best(lambda: tF.conv2d(tx, tW, tb, padding=1))))
            rows.append(("dconv", best(lambda: ENGINE.conv2d_backward(d, cache, need_dw=False)),
                         best(lambda: torch.nn.grad.conv2d_input(tx.shape, tW, td, padding=1))))
            y, mask = ENGINE.relu_forward(out)
            ty = torch.as_tensor(out, device=DEVICE) if GPU else torch.from_numpy(out)
            rows.append(("relu", best(lambda: ENGINE.relu_forward(out)), best(lambda: torch.relu(ty))))
            rows.append(("drelu", best(lambda: ENGINE.relu_backward(d, mask)),
                         best(lambda: torch.ops.aten.threshold_backward(td, ty, 0))))
            x = y
        for op, a, t in rows:
            total["ours"] += a
            total["torch"] += t
            print(f"{name:12} {op:5} {a:8.1f} {t:8.1f} {a / t:6.2f}", flush=True)
    print(f"{'total':12} {'':5} {total['ours']:8.1f} {total['torch']:8.1f} "
          f"{total['ours'] / total['torch']:6.2f}")


if __name__ == "__main__":
    main()
