"""Time the project's VGG-19 against PyTorch's, in one process, on the same weights.

One "pass" is what a style-transfer iteration costs: the forward up to conv5_1,
collecting the taps conv1_1, conv2_1, conv3_1, conv4_1, conv5_1 (style) and
conv4_2 (content), then the backward from random upstream gradients at those
taps down to the image. The network is frozen: neither side computes weight
gradients (PyTorch: requires_grad=False on every parameter, only the image
requires a gradient).

    python benchmarks/bench.py                       # per pass, 256 and 512 px, CPU, both engines
    python benchmarks/bench.py --sizes 512 --repeats 5 --engine fast
    python benchmarks/bench.py --backend cupy --sizes 512 1024   # GPU vs cuDNN, float32, no TF32
    python benchmarks/bench.py --backend cupy --conv3x3 winograd # the other 3x3 algorithm
    python benchmarks/bench.py --mode stylize        # whole stylization (see bench_stylize)
    python benchmarks/bench.py --mode stylize --pastiche ../peer/bin/pastiche   # and the peer's
    python benchmarks/bench.py --mode all            # all of the above for one backend, one run

It is a plain script: no environment variable is set, before or after NumPy is
imported, so the project runs as it does in any learner's script (the fast
engine's defaults: one worker thread per core, each with a one-thread BLAS).
Printed per size and engine: the best time of --repeats runs for each side, the
GFLOP/s that time means (convolution arithmetic only: the 13 forward convolutions
up to conv5_1 plus their 13 image-gradient convolutions, 2 flops per multiply-add),
the ratio project / PyTorch, and the peak memory of one pass on each side.
Peak memory on the CPU is measured in a fresh subprocess per side: the peak
resident set (VmHWM, reset just before) during two passes minus the resident set
just before them, with the weights, the image and the upstream gradients in place.
On a GPU it is CuPy's memory-pool peak against torch.cuda.max_memory_allocated.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TAPS = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1", "conv4_2"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=["pass", "stylize", "all"], default="pass",
                   help="pass: one forward+backward (default); stylize: whole stylizations "
                        "(--iterations L-BFGS steps), and pastiche's where installed; all: both")
    p.add_argument("--backend", choices=["numpy", "cupy"], default="numpy",
                   help="numpy: CPU against PyTorch CPU; cupy: GPU against PyTorch with cuDNN")
    p.add_argument("--sizes", type=int, nargs="+", default=None,
                   help="image sides in pixels (default: 256 512 on numpy, 512 1024 on cupy)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per side; the best counts")
    p.add_argument("--engine", choices=["both", "fast", "reference"], default="both",
                   help="the project's engine(s) to time (default: both, in the same rounds)")
    p.add_argument("--conv3x3", choices=["winograd", "im2col"], default=None,
                   help="the fast engine's 3x3 algorithm (default: its choice for the backend)")
    p.add_argument("--threads", type=int, default=None,
                   help="the fast engine's worker threads and PyTorch's threads "
                        "(default: the fast engine's own default, one per core)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--iterations", type=int, default=100,
                   help="--mode stylize: L-BFGS iterations (and evaluations against pastiche)")
    p.add_argument("--pastiche", default=shutil.which("pastiche"),
                   help="--mode stylize on the CPU: also time a whole stylize.py run against "
                        "this pastiche 1.6.0 CLI (default: pastiche on the PATH, if any)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--_memory-child", dest="memory_child",
                   choices=["fast", "reference", "torch"], help=argparse.SUPPRESS)
    return p.parse_args(argv)


ARGS = parse_args()

import numpy as np  # noqa: E402
import torch  # noqa: E402

from minigrad.backend import backend_module, synchronize, to_numpy  # noqa: E402
from minigrad.fast import FastEngine, tune  # noqa: E402
from vgg.layout import CONV_SHAPES, LAYER_NAMES  # noqa: E402
from vgg.model import VGG19  # noqa: E402
from vgg.run import engine_for  # noqa: E402
from vgg.weights import DEFAULT_PATH, read_weights  # noqa: E402
from vgg.weights.testing import random_params  # noqa: E402

ENGINES = ["fast", "reference"] if ARGS.engine == "both" else [ARGS.engine]


def make_engine(name):
    """The engine stylize.py runs (vgg.run.engine_for: on the CPU, the fast engine with the
    plan measured for this machine, measured now if there is none), unless --conv3x3 or
    --threads ask for something else."""
    if name == "fast" and (ARGS.conv3x3 or ARGS.threads):
        return FastEngine(conv3x3=ARGS.conv3x3, threads=ARGS.threads, fixed_weights=True)
    return engine_for(name, ARGS.backend, print)


# PyTorch gets as many threads as the fast engine's workers.
torch.set_num_threads(ARGS.threads or FastEngine().threads)


# ---------------------------------------------------------------------------
# The two networks, on the same weights
# ---------------------------------------------------------------------------

def torch_vgg(params, depth, device):
    """torch.nn VGG-19 up to LAYER_NAMES[depth - 1], plain layers, frozen weights."""
    layers = []
    for name in LAYER_NAMES[:depth]:
        if name.startswith("pool"):
            layers.append(torch.nn.MaxPool2d(2))
        else:
            W, b = params[name]
            conv = torch.nn.Conv2d(W.shape[1], W.shape[0], 3, padding=1)
            conv.weight.data = torch.from_numpy(np.ascontiguousarray(W))
            conv.bias.data = torch.from_numpy(np.ascontiguousarray(b))
            layers += [conv, torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers).to(device)
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def tap_shapes(size):
    """{tap: (1, C, h, w)} at an image side `size` (each pool halves, rounding down)."""
    shapes, side = {}, size
    for name in LAYER_NAMES:
        if name.startswith("pool"):
            side //= 2
        elif name in TAPS:
            shapes[name] = (1, CONV_SHAPES[name][0], side, side)
    return shapes


def conv_gflop(size, depth):
    """GFLOP of one pass: every conv forward plus its image-gradient conv (same count)."""
    flop, side = 0, size
    for name in LAYER_NAMES[:depth]:
        if name.startswith("pool"):
            side //= 2
        else:
            K, C, KH, KW = CONV_SHAPES[name]
            flop += 2 * (2 * K * C * KH * KW * side * side)          # forward + dx
    return flop / 1e9


def make_inputs(size, seed):
    rng = np.random.default_rng(seed)
    x = (50 * rng.standard_normal((1, 3, size, size))).astype(np.float32)
    grads = {t: rng.standard_normal(s).astype(np.float32) for t, s in tap_shapes(size).items()}
    return x, grads


def ours_pass(model, x, grads):
    """Project: forward to the taps, backward to the image."""
    model.forward(x, TAPS)
    return model.backward(grads)


def torch_pass(net, x, grads, depth):
    """PyTorch: the same pass with autograd, gradient for the image only."""
    x = x.detach().requires_grad_(True)
    feats, h = [], x
    tap_index = {LAYER_NAMES.index(t) for t in TAPS}
    i = 0                                                             # index into LAYER_NAMES
    for layer in net:
        h = layer(h)
        if isinstance(layer, (torch.nn.ReLU, torch.nn.MaxPool2d)):   # a named block ends here
            if i in tap_index:
                feats.append((LAYER_NAMES[i], h))
            i += 1
    (dx,) = torch.autograd.grad([f for _, f in feats], x, [grads[n] for n, _ in feats])
    return dx


def bench_params(seed):
    """The real VGG-19 weights when weights/vgg19.h5 is there (as users run it), else random
    ones in the same layout; and a line that says which."""
    if DEFAULT_PATH.exists():
        return read_weights(DEFAULT_PATH), f"weights: the real VGG-19 ({DEFAULT_PATH})"
    return random_params(seed), (f"weights: random (seed {seed}), {DEFAULT_PATH} is absent; "
                                 "PyTorch's speed differs on them: python -m vgg.weights fetches it")


def setup(size, xp, device, seed, engines=ENGINES):
    """{engine: our model}, PyTorch's net, the depth, and each side's inputs."""
    params, _ = bench_params(seed)
    depth = max(LAYER_NAMES.index(t) for t in TAPS) + 1
    models = {e: VGG19({n: (xp.asarray(W), xp.asarray(b)) for n, (W, b) in params.items()},
                       engine=make_engine(e)) for e in engines}
    net = torch_vgg(params, depth, device)
    x, grads = make_inputs(size, seed)
    ours_in = (xp.asarray(x), {n: xp.asarray(g) for n, g in grads.items()})
    torch_in = (torch.from_numpy(x).to(device), {n: torch.from_numpy(g).to(device)
                                                 for n, g in grads.items()})
    return models, net, depth, ours_in, torch_in


def best_times(fns, repeats, sync):
    """Best wall time of each function over `repeats` rounds, run in turn within each
    round, so that both sides see the same background load on a shared machine."""
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


# ---------------------------------------------------------------------------
# Peak memory, one fresh process per side (CPU), or the GPU allocators' peaks
# ---------------------------------------------------------------------------

def _status_bytes(field):
    """VmRSS (resident now) or VmHWM (its peak) of this process, from /proc/self/status."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024                    # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_child(side, size, seed):
    """Runs in the subprocess: print the peak resident-set increase of two passes, in bytes.

    VmHWM rather than getrusage's ru_maxrss: ru_maxrss survives exec, so a child
    would inherit the parent's peak. Writing 5 to clear_refs resets VmHWM to the
    current resident set just before the passes.
    """
    models, net, depth, ours_in, torch_in = setup(size, np, "cpu", seed,
                                                  [] if side == "torch" else [side])
    if side != "torch":
        del net
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _status_bytes("VmRSS")
    for _ in range(2):
        if side != "torch":
            ours_pass(models[side], *ours_in)
        else:
            torch_pass(net, *torch_in, depth)
    print(json.dumps({"peak": _status_bytes("VmHWM") - base}))


def cpu_peak(side, size):
    cmd = [sys.executable, __file__, "--_memory-child", side, "--sizes", str(size),
           "--seed", str(ARGS.seed)]
    cmd += ["--threads", str(ARGS.threads)] if ARGS.threads else []
    cmd += ["--conv3x3", ARGS.conv3x3] if ARGS.conv3x3 else []
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["peak"]


def gpu_peaks(model, net, depth, ours_in, torch_in):
    xp = backend_module("cupy")
    pool = xp.get_default_memory_pool()
    pool.free_all_blocks()
    base = pool.used_bytes()
    # CuPy's pool keeps no high-water mark: total_bytes() after a pass (blocks are
    # kept, not returned) is an upper bound of the peak use during it.
    ours_pass(model, *ours_in)
    synchronize()
    peak = pool.total_bytes()
    torch.cuda.reset_peak_memory_stats()
    t_base = torch.cuda.memory_allocated()
    torch_pass(net, *torch_in, depth)
    torch.cuda.synchronize()
    return peak - base, torch.cuda.max_memory_allocated() - t_base


# ---------------------------------------------------------------------------
# Modes
# ---------------------------------------------------------------------------

def bench_pass(sizes, backend):
    xp = backend_module(backend)
    device = "cuda" if backend == "cupy" else "cpu"
    if backend == "cupy":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        if os.environ.get("CUPY_TF32", "0") != "0":
            sys.exit("set CUPY_TF32=0: the comparison is float32 on both sides")
        def sync():
            synchronize()
            torch.cuda.synchronize()
    else:
        def sync():
            pass
    print(describe_machine(backend))
    head = (f"{'size':>5} {'engine':>9} {'ours s':>8} {'torch s':>8} {'ratio':>6} {'ours GF/s':>9} "
            f"{'torch GF/s':>10} {'ours MB':>8} {'torch MB':>8} {'mem ratio':>9}")
    print(head, flush=True)
    rows = []
    for size in sizes:
        models, net, depth, ours_in, torch_in = setup(size, xp, device, ARGS.seed)
        for model in models.values():
            check_same_gradient(model, net, depth, ours_in, torch_in)
        # One round times every engine and PyTorch in turn: all see the same load.
        fns = [lambda m=m: ours_pass(m, *ours_in) for m in models.values()]
        *t_ours, t_torch = best_times(fns + [lambda: torch_pass(net, *torch_in, depth)],
                                      ARGS.repeats, sync)
        gf = conv_gflop(size, depth)
        if not ARGS.no_memory and backend == "numpy":
            m_torch = cpu_peak("torch", size)
        for (engine, model), t in zip(models.items(), t_ours):
            if ARGS.no_memory:
                m_ours = m_torch = float("nan")
            elif backend == "cupy":
                m_ours, m_torch = gpu_peaks(model, net, depth, ours_in, torch_in)
            else:
                m_ours = cpu_peak(engine, size)
            row = dict(size=size, engine=engine, ours=t, torch=t_torch, ratio=t / t_torch,
                       ours_gflops=gf / t, torch_gflops=gf / t_torch,
                       ours_mb=m_ours / 2**20, torch_mb=m_torch / 2**20,
                       mem_ratio=m_ours / m_torch)
            rows.append(row)
            print(f"{size:5d} {engine:>9} {t:8.3f} {t_torch:8.3f} {row['ratio']:6.2f} "
                  f"{row['ours_gflops']:9.0f} {row['torch_gflops']:10.0f} {row['ours_mb']:8.0f} "
                  f"{row['torch_mb']:8.0f} {row['mem_ratio']:9.2f}", flush=True)
        del models, net
    return rows


def check_same_gradient(model, net, depth, ours_in, torch_in):
    """Both sides must compute the same image gradient, or the timing means nothing."""
    a = to_numpy(ours_pass(model, *ours_in)).astype(np.float64)
    b = torch_pass(net, *torch_in, depth).cpu().numpy().astype(np.float64)
    err = np.linalg.norm(a - b) / np.linalg.norm(b)
    if not err < 1e-2:                # float32 through 13 layers: ~1e-3 is normal
        sys.exit(f"the two image gradients differ (relative error {err:.2e}): not timing")


def bench_stylize(sizes, backend, iterations=100):
    """Whole stylizations: `iterations` L-BFGS steps (history 100, fixed step, no line
    search) of eq. 7 (alpha 1e-2, beta 1, TV 0, content conv4_2, the paper's five style
    layers), from the content image, on both sides; same weights, same images.

    Ours: vgg.transfer.Objective + minigrad.optim.LBFGS, as stylize.py runs them.
    PyTorch: the same objective with autograd and torch.optim.LBFGS(max_iter=1,
    line_search_fn=None, tolerances off), which takes the same steps. Prints seconds,
    seconds per iteration, the ratio, and both final losses (they should agree)."""
    from minigrad.optim import LBFGS
    from vgg.transfer import CONTENT_LAYERS, STYLE_LAYERS, Objective
    xp = backend_module(backend)
    device = "cuda" if backend == "cupy" else "cpu"
    sync = (lambda: (synchronize(), torch.cuda.synchronize())) if backend == "cupy" else (lambda: None)
    params, _ = bench_params(ARGS.seed)
    print(describe_machine(backend))
    print(f"{'size':>5} {'engine':>9} {'ours s':>8} {'torch s':>8} {'ratio':>6} {'ours s/it':>9} "
          f"{'torch s/it':>10} {'ours loss':>11} {'torch loss':>11}")
    parts = []
    for size in sizes:
        rng = np.random.default_rng(ARGS.seed)
        yy, xx = np.mgrid[0:size, 0:size] / size
        content = (np.stack([100 * xx - 50, 100 * yy - 50, 80 * np.sin(6 * xx * yy)])[None]
                   ).astype(np.float32)                                 # a smooth "photo"
        style = (60 * rng.standard_normal((1, 3, size, size))).astype(np.float32)

        torch_s, torch_loss = torch_stylize(params, content, style, iterations, device, sync)
        for engine in ENGINES:
            model = VGG19(params, engine=make_engine(engine)).to(backend)
            objective = Objective(model, content.shape, xp.asarray(content), [xp.asarray(style)],
                                  None, CONTENT_LAYERS, STYLE_LAYERS, 1e-2, 1.0, 0.0)
            opt = LBFGS(xp.asarray(content), lr=1.0, history=100, line_search=None)   # as torch
            watch = Stopwatch(sync)
            watch.around(objective.model, "forward", "network")
            watch.around(objective.model, "backward", "network")
            watch.around(objective, "content_term", "losses")
            watch.around(objective, "style_term", "losses")
            watch.around(objective, "__call__", "objective")
            sync()
            t0 = time.perf_counter()
            for _ in range(iterations):
                ours_loss = opt.step(objective.__call__)
            sync()
            ours_s = time.perf_counter() - t0
            del model, objective, opt
            print(f"{size:>5} {engine:>9} {ours_s:>8.1f} {torch_s:>8.1f} {ours_s / torch_s:>6.2f} "
                  f"{ours_s / iterations:>9.3f} {torch_s / iterations:>10.3f} "
                  f"{ours_loss:>11.4g} {torch_loss:>11.4g}")
            parts.append((size, engine, ours_s, watch.seconds))
    print("where our time went, per iteration (ms): the network's forward and backward; the "
          "loss terms (Gram matrices, their gradients); the rest of the objective (TV, "
          "summing the taps' gradients); L-BFGS's own arithmetic (history 100)")
    print(f"{'size':>5} {'engine':>9} {'network':>8} {'losses':>8} {'rest':>8} {'L-BFGS':>8}")
    for size, engine, total, sec in parts:
        ms = {k: 1e3 * v / iterations for k, v in sec.items()}
        print(f"{size:>5} {engine:>9} {ms['network']:>8.0f} {ms['losses']:>8.0f} "
              f"{ms['objective'] - ms['network'] - ms['losses']:>8.0f} "
              f"{1e3 * total / iterations - ms['objective']:>8.0f}")


class Stopwatch:
    """Seconds spent inside chosen methods of an object, summed per label (the device
    synchronised before each reading, so that a GPU's queued work is counted where it runs).
    around(obj, name, label) replaces obj.name by a timed version on that instance only."""

    def __init__(self, sync):
        self.sync, self.seconds = sync, {}

    def around(self, obj, name, label):
        inner = getattr(obj, name)
        self.seconds.setdefault(label, 0.0)

        def timed(*args, **kwargs):
            self.sync()
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.sync()
                self.seconds[label] += time.perf_counter() - t0
        setattr(obj, name, timed)


def torch_stylize(params, content, style, iterations, device, sync):
    """The same stylization in PyTorch; returns (seconds, loss at the last step)."""
    depth = LAYER_NAMES.index("conv5_1") + 1
    net = torch_vgg(params, depth, device)
    names = []                                        # the layer name after each module
    for name in LAYER_NAMES[:depth]:
        names += [None, name] if not name.startswith("pool") else [name]

    def features(x):
        out, h = {}, x
        for module, name in zip(net, names):
            h = module(h)
            if name in ("conv4_2", "conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"):
                out[name] = h
        return out

    def gram(F):
        Fm = F.reshape(F.shape[1], -1)
        return Fm @ Fm.T

    with torch.no_grad():
        P = features(torch.from_numpy(content).to(device))["conv4_2"]
        S = features(torch.from_numpy(style).to(device))
        A = {l: gram(S[l]) for l in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")}
    x = torch.from_numpy(content.copy()).to(device).requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=100, tolerance_grad=-1,
                            tolerance_change=-float("inf"), line_search_fn=None)

    def closure():
        opt.zero_grad()
        F = features(x)
        loss = 1e-2 * 0.5 * ((F["conv4_2"] - P) ** 2).sum()
        for l, target in A.items():
            _, N, h, w = F[l].shape
            loss = loss + 0.2 * ((gram(F[l]) - target) ** 2).sum() / (4.0 * N ** 2 * (h * w) ** 2)
        loss.backward()
        return loss

    sync()
    t0 = time.perf_counter()
    for _ in range(iterations):
        loss = opt.step(closure)
    sync()
    return time.perf_counter() - t0, float(loss.detach())


def bench_pastiche(size, evaluations):
    """The command against the peer, each as a user runs it: `stylize.py` at its defaults
    and `pastiche` 1.6.0 at its own (PyTorch, CPU), on the same photo and painting (the
    shared Tübingen and Starry Night, or else the demo pair), `evaluations` evaluations of
    the loss and its gradient each, plain subprocesses, no environment variables added.

    Per evaluation: from each one's own clock, first step excluded (stylize.py's --log,
    pastiche's elapsed column at every step), so that start-up (imports, weights, the
    painting's Gram matrices) is apart; the whole wall time is printed too. Peak memory:
    the child's VmHWM, read every 0.1 s while it runs. pastiche is benchmark-only: never
    a dependency (`pip install pastiche==1.6.0 torch==2.13.0` in a separate venv)."""
    weights = ROOT / "weights" / "vgg19.h5"
    if not ARGS.pastiche:
        print("pastiche: not installed (--pastiche PATH to compare against it); skipped")
        return
    if evaluations < 10:
        print("pastiche: skipped, timing per evaluation needs --iterations 10 or more")
        return
    if not weights.exists():
        print(f"pastiche: skipped, the real weights ({weights}) are needed: python stylize.py --demo fetches them")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        photo, painting = ROOT.parent / "shared" / "images" / "tubingen.jpg", \
            ROOT.parent / "shared" / "images" / "starry_night.jpg"
        if not (photo.exists() and painting.exists()):
            from vgg.demo import demo_photo_path, render_style
            photo, painting = Path(demo_photo_path()), tmp / "demo-style.png"
            render_style().save(painting)
        log = tmp / "ours.jsonl"
        ours = watch([sys.executable, str(ROOT / "stylize.py"), "--content", str(photo), "--style",
                      str(painting), "--size", str(size), "--iters", str(evaluations),
                      "-o", str(tmp / "ours.png"), "--log", str(log), "--quiet"])
        steps = [json.loads(line) for line in log.read_text().splitlines()]
        ours_each = (steps[-1]["seconds"] - steps[0]["seconds"]) / (steps[-1]["evals"] - steps[0]["evals"])
        peer = watch([ARGS.pastiche, "--content", str(photo), "--styles", str(painting),
                      "--size", str(size), "--num-steps", str(evaluations), "--device", "cpu",
                      "--seed", "0", "--info-step", "1", "--output", str(tmp / "peer.png")])
        elapsed = []                                            # (step, seconds) from "step elapsed loss"
        for words in (line.split() for line in peer["stdout"].splitlines()):
            if len(words) == 3 and words[0].isdigit():
                elapsed.append((int(words[0]), float(words[1])))
        peer_each = (elapsed[-1][1] - elapsed[1][1]) / (elapsed[-1][0] - elapsed[1][0])
    print(f"whole runs against pastiche 1.6.0 ({photo.name} + {painting.name}, {size} px, "
          f"{evaluations} evaluations each, both at their defaults)")
    print(f"{'size':>5} {'ours s':>7} {'peer s':>7} {'ours s/eval':>11} {'peer s/eval':>11} "
          f"{'ratio':>6} {'ours MB':>8} {'peer MB':>8} {'mem ratio':>9}")
    print(f"{size:>5} {ours['seconds']:>7.1f} {peer['seconds']:>7.1f} {ours_each:>11.3f} "
          f"{peer_each:>11.3f} {ours_each / peer_each:>6.2f} {ours['peak'] / 2**20:>8.0f} "
          f"{peer['peak'] / 2**20:>8.0f} {ours['peak'] / peer['peak']:>9.2f}")


def watch(cmd):
    """Run cmd; its wall time, stdout, and peak resident set (VmHWM, polled every 0.1 s)."""
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, status = 0, Path(f"/proc/{child.pid}/status")
    while child.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):               # "VmHWM:   123456 kB"
                    peak = max(peak, int(line.split()[1]) * 1024)
        except OSError:                                     # it has just ended
            pass
        time.sleep(0.1)
    out, err = child.communicate()
    if child.returncode != 0:
        sys.exit(f"bench.py: {cmd[0]} failed ({child.returncode}):\n{err[-2000:]}")
    return {"seconds": time.perf_counter() - t0, "stdout": out, "peak": peak}


def describe_run(backend):
    """The first lines: which weights, and which plan the fast engine runs."""
    print(bench_params(ARGS.seed)[1])
    if backend == "numpy" and "fast" in ENGINES and not (ARGS.conv3x3 or ARGS.threads):
        plan = tune.kept_plan() or tune.plan_for_this_machine(say=print)
        print(f"fast engine: the plan measured on this machine ({tune.cache_path()}):")
        for line in plan.table():
            print("    " + line)


def describe_machine(backend):
    from threadpoolctl import threadpool_info
    blas = ", ".join(f"{i['internal_api']} {i['num_threads']} threads"
                     for i in threadpool_info() if i["user_api"] == "blas")
    fast = make_engine("fast")
    fast = FastEngine() if fast == "fast" else fast
    xp = backend_module(backend)
    winograd = fast._algorithm(xp.zeros((64, 64, 3, 3), dtype=xp.float32), 1, 1,
                              (1, 64, 256, 256), forward=True) != "im2col"
    text = (f"numpy {np.__version__} (BLAS: {blas} outside the workers, 1 inside), "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"{os.cpu_count()} cores, environment variables: {thread_variables() or 'none'}")
    if backend == "cupy":
        cp = backend_module("cupy")
        name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
        text += f", GPU {name}, cupy {cp.__version__}, cuDNN {torch.backends.cudnn.version()}"
    return (text + f"; fast engine: {fast.threads} worker threads, 3x3 convolutions by "
            f"{'Winograd' if winograd else 'im2col'}")


def thread_variables():
    """Environment variables that change thread counts, if any are set (the default run sets none)."""
    names = ("MINIGRAD_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")
    return ", ".join(f"{n}={os.environ[n]}" for n in names if n in os.environ)


def main():
    if ARGS.memory_child:
        memory_child(ARGS.memory_child, ARGS.sizes[0], ARGS.seed)
        return
    sizes = ARGS.sizes or ([256, 512] if ARGS.backend == "numpy" else [512, 1024])
    describe_run(ARGS.backend)
    if ARGS.mode in ("pass", "all"):
        bench_pass(sizes, ARGS.backend)
    if ARGS.mode in ("stylize", "all"):
        bench_stylize(sizes, ARGS.backend, ARGS.iterations)
        if ARGS.backend == "numpy":
            for size in sizes:
                bench_pastiche(size, ARGS.iterations)


if __name__ == "__main__":
    main()
