"""Whole stylizations timed: the project's loop against PyTorch's, and stylize.py against pastiche.

bench_stylize: `iterations` L-BFGS steps (history 100, fixed step, no line search) of
eq. 7 (alpha 1e-2, beta 1, TV 0, content conv4_2, the paper's five style layers), from
the content image, on both sides; same weights, same images. Ours is
vgg.transfer.Objective with minigrad.optim.LBFGS, as stylize.py runs them; PyTorch's is
the same objective with autograd and torch.optim.LBFGS(max_iter=1, line_search_fn=None,
tolerances off), which takes the same steps, on the tests' oracle network
(tests/oracle.py). Prints seconds, seconds per iteration, the ratio, both final losses
(they should agree), and where our time went.

bench_pastiche: the command against the peer, each as a user runs it (plain
subprocesses, no environment variables added, each at its defaults), per evaluation of
the loss and its gradient from each one's own clock, first step excluded, and the peak
memory of each (benchmarks/peak_memory.py). pastiche is benchmark-only, never a
dependency: `pip install pastiche==1.6.0 torch==2.13.0` in a separate venv.
"""
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import ROOT, bench_params, describe_machine, make_engine
from peak_memory import watch

ALPHA, BETA = 1e-2, 1.0
CONTENT, STYLE = "conv4_2", ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]


def synthetic_pair(size, seed):
    """A smooth "photo" and a noise "painting", (1, 3, size, size) float32 in Caffe space."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    content = np.stack([100 * xx - 50, 100 * yy - 50, 80 * np.sin(6 * xx * yy)])[None]
    style = 60 * rng.standard_normal((1, 3, size, size))
    return content.astype(np.float32), style.astype(np.float32)


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


def our_stylize(model, content, style, iterations, xp, sync):
    """Our loop; returns (seconds, loss at the last step, {part: seconds})."""
    from minigrad.optim import LBFGS
    from vgg.transfer import Objective
    objective = Objective(model, content.shape, xp.asarray(content), [xp.asarray(style)],
                          None, [CONTENT], STYLE, ALPHA, BETA, 0.0)
    opt = LBFGS(xp.asarray(content), lr=1.0, history=100, line_search=None)   # as torch
    watch = Stopwatch(sync)
    for method in ("forward", "backward"):
        watch.around(objective.model, method, "network")
    for method in ("content_term", "style_term"):
        watch.around(objective, method, "losses")
    watch.around(objective, "__call__", "objective")
    sync()
    t0 = time.perf_counter()
    for _ in range(iterations):
        loss = opt.step(objective.__call__)
    sync()
    return time.perf_counter() - t0, loss, watch.seconds


def torch_stylize(params, content, style, iterations, device, sync):
    """The same stylization in PyTorch; returns (seconds, loss at the last step)."""
    import torch

    from tests.oracle import torch_features, torch_gram, torch_vgg19
    layers = torch_vgg19(params, "max", device=device, upto="conv5_1")
    with torch.no_grad():
        P = torch_features(layers, torch.from_numpy(content).to(device))[CONTENT]
        S = torch_features(layers, torch.from_numpy(style).to(device))
        A = {l: torch_gram(S[l]) for l in STYLE}
    x = torch.from_numpy(content.copy()).to(device).requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=100, tolerance_grad=-1,
                            tolerance_change=-float("inf"), line_search_fn=None)

    def closure():
        opt.zero_grad()
        F = torch_features(layers, x)
        loss = ALPHA * 0.5 * ((F[CONTENT] - P) ** 2).sum()                    # eq. 1
        for l, target in A.items():
            _, N, h, w = F[l].shape
            E = ((torch_gram(F[l]) - target) ** 2).sum() / (4.0 * N ** 2 * (h * w) ** 2)
            loss = loss + BETA / len(STYLE) * E                                # eqs. 4-5
        loss.backward()
        return loss

    sync()
    t0 = time.perf_counter()
    for _ in range(iterations):
        loss = opt.step(closure)
    sync()
    return time.perf_counter() - t0, float(loss.detach())


def bench_stylize(args, sizes, engines, sync):
    """Print the whole-run table and where our time went; args as benchmarks/bench.py's."""
    from minigrad.backend import backend_module
    from vgg.model import VGG19
    xp, device = backend_module(args.backend), "cuda" if args.backend == "cupy" else "cpu"
    params, _ = bench_params(args.seed)
    print(describe_machine(args.backend, make_engine("fast", args.backend, args.conv3x3, args.threads)))
    print(f"{'size':>5} {'engine':>9} {'ours s':>8} {'torch s':>8} {'ratio':>6} {'ours s/it':>9} "
          f"{'torch s/it':>10} {'ours loss':>11} {'torch loss':>11}")
    parts, n = [], args.iterations
    for size in sizes:
        content, style = synthetic_pair(size, args.seed)
        torch_s, torch_loss = torch_stylize(params, content, style, n, device, sync)
        for engine in engines:
            model = VGG19(params, engine=make_engine(engine, args.backend, args.conv3x3,
                                                     args.threads)).to(args.backend)
            ours_s, ours_loss, seconds = our_stylize(model, content, style, n, xp, sync)
            print(f"{size:>5} {engine:>9} {ours_s:>8.1f} {torch_s:>8.1f} {ours_s / torch_s:>6.2f} "
                  f"{ours_s / n:>9.3f} {torch_s / n:>10.3f} {ours_loss:>11.4g} {torch_loss:>11.4g}")
            parts.append((size, engine, ours_s, seconds))
    print_parts(parts, n)


def print_parts(parts, iterations):
    print("where our time went, per iteration (ms): the network's forward and backward; the "
          "loss terms (Gram matrices, their gradients); the rest of the objective (TV, "
          "summing the taps' gradients); L-BFGS's own arithmetic (history 100)")
    print(f"{'size':>5} {'engine':>9} {'network':>8} {'losses':>8} {'rest':>8} {'L-BFGS':>8}")
    for size, engine, total, sec in parts:
        ms = {k: 1e3 * v / iterations for k, v in sec.items()}
        print(f"{size:>5} {engine:>9} {ms['network']:>8.0f} {ms['losses']:>8.0f} "
              f"{ms['objective'] - ms['network'] - ms['losses']:>8.0f} "
              f"{1e3 * total / iterations - ms['objective']:>8.0f}")


def pastiche_pair(tmp):
    """The shared Tübingen and Starry Night, or else the demo pair (written into tmp)."""
    photo, painting = (ROOT.parent / "shared" / "images" / name
                       for name in ("tubingen.jpg", "starry_night.jpg"))
    if photo.exists() and painting.exists():
        return photo, painting
    from vgg.demo import demo_photo_path, render_style
    render_style().save(tmp / "demo-style.png")
    return Path(demo_photo_path()), tmp / "demo-style.png"


def ours_per_evaluation(photo, painting, size, evaluations, tmp):
    """stylize.py at its defaults: (watch's record, seconds per evaluation from its --log)."""
    log = tmp / "ours.jsonl"
    run = watch([sys.executable, str(ROOT / "stylize.py"), "--content", str(photo), "--style",
                 str(painting), "--size", str(size), "--iters", str(evaluations),
                 "-o", str(tmp / "ours.png"), "--log", str(log), "--quiet"])
    steps = [json.loads(line) for line in log.read_text().splitlines()]
    first, last = steps[0], steps[-1]
    return run, (last["seconds"] - first["seconds"]) / (last["evals"] - first["evals"])


def peer_per_evaluation(pastiche, photo, painting, size, evaluations, tmp):
    """pastiche at its defaults: (watch's record, seconds per evaluation from its own
    elapsed column, "step elapsed loss", printed at every step)."""
    run = watch([pastiche, "--content", str(photo), "--styles", str(painting),
                 "--size", str(size), "--num-steps", str(evaluations), "--device", "cpu",
                 "--seed", "0", "--info-step", "1", "--output", str(tmp / "peer.png")])
    elapsed = [(int(w[0]), float(w[1])) for w in (line.split() for line in run["stdout"].splitlines())
               if len(w) == 3 and w[0].isdigit()]
    return run, (elapsed[-1][1] - elapsed[1][1]) / (elapsed[-1][0] - elapsed[1][0])


def bench_pastiche(pastiche, size, evaluations):
    """Print one row: stylize.py against pastiche 1.6.0, `evaluations` evaluations each."""
    if not pastiche:
        return print("pastiche: not installed (--pastiche PATH to compare against it); skipped")
    if evaluations < 10:
        return print("pastiche: skipped, timing per evaluation needs --iterations 10 or more")
    if not (ROOT / "weights" / "vgg19.h5").exists():
        return print("pastiche: skipped, the real weights (weights/vgg19.h5) are needed: "
                     "python stylize.py --demo fetches them")
    with tempfile.TemporaryDirectory() as tmp:
        photo, painting = pastiche_pair(Path(tmp))
        ours, ours_each = ours_per_evaluation(photo, painting, size, evaluations, Path(tmp))
        peer, peer_each = peer_per_evaluation(pastiche, photo, painting, size, evaluations, Path(tmp))
    print(f"whole runs against pastiche 1.6.0 ({photo.name} + {painting.name}, {size} px, "
          f"{evaluations} evaluations each, both at their defaults)")
    print(f"{'size':>5} {'ours s':>7} {'peer s':>7} {'ours s/eval':>11} {'peer s/eval':>11} "
          f"{'ratio':>6} {'ours MB':>8} {'peer MB':>8} {'mem ratio':>9}")
    print(f"{size:>5} {ours['seconds']:>7.1f} {peer['seconds']:>7.1f} {ours_each:>11.3f} "
          f"{peer_each:>11.3f} {ours_each / peer_each:>6.2f} {ours['peak'] / 2**20:>8.0f} "
          f"{peer['peak'] / 2**20:>8.0f} {ours['peak'] / peer['peak']:>9.2f}")
