"""Measure the fast engine's choices on this machine, keep them, reuse them.

    python -m minigrad.fast.tune            # measure again (at most about 10 s), keep, print
    python -m minigrad.fast.tune --show     # print the kept plan, measuring nothing
    python -m minigrad.fast.tune --forget   # delete it: the engine's defaults come back

The way FFTW's planner and cuDNN's benchmark mode do it: time the candidates on
the layer shapes that will run, on this processor, and keep the fastest
(minigrad/fast/plan.py says what a plan holds). Here the shapes are VGG-19's 3x3
layers as they are at a 256 px and a 64 px canvas, the candidates per layer and
direction im2col, Winograd F(2x2) and F(4x4) (then, for Winograd, the fewest tiles
in a band), and before them the band size and the worker threads on two probe layers. Candidates are timed in turns within each
round, best of three, so that all see the same background load.

The plan is kept in the user's cache folder ($MINIGRAD_CACHE_DIR, else
$XDG_CACHE_HOME/minigrad, else ~/.cache/minigrad) with what it was measured on: the
processor, the cores this process may use, NumPy's version, its BLAS and the BLAS's
kernel. `kept_plan()` returns it only on that same machine; anything else (no file,
an unreadable or damaged one, another machine) gives None, and the engine then
uses its defaults. stylize.py measures once, the first time it runs on a quiet machine
(`plan_for_this_machine`); a library user gets a kept plan, never a measurement. A machine
busy with other work (a load average of half its cores or more) is not measured: timings
taken beside another program favour fewer threads, and a plan is kept for good (measured so,
a 2-core EPYC kept 1 worker thread and ran 1.4 times slower than with its defaults). The
defaults serve that run, and the next quiet one measures.
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .plan import Conv, Plan
from .threads import cores

FORMAT = "minigrad-fast-plan-v1"       # bump when a plan's meaning changes: old ones then refit
FILE_NAME = "fast-engine-plan.json"
SECONDS = 10.0                         # the most a calibration may take

# VGG-19's 3x3 convolutions up to conv5_1, (C in, K out, side at a 256 px canvas), one per
# distinct shape (vgg/model.py; tests/test_tune.py checks the two agree). conv1_1 (3 channels
# in) always takes im2col. At a 64 px canvas every side is a quarter.
VGG_SHAPES = ((64, 64, 256), (64, 128, 128), (128, 128, 128), (128, 256, 64),
              (256, 256, 64), (256, 512, 32), (512, 512, 32), (512, 512, 16))
CANVASES = (1, 4)                      # the sides above, divided by these
BANDS = (4 * 2**20, 8 * 2**20, 16 * 2**20)
PROBES = ((128, 128, 128),)            # the layer the band size and threads are timed on
ROUNDS = 3
CLEARLY = 0.03                         # a candidate must beat the default by 3% to replace it
BUSY = 0.5                             # load average per core from which a machine is busy


# ----------------------------------------------------------------------------- the machine

def machine():
    """What a plan depends on: processor, cores, NumPy, its BLAS and the BLAS's kernel."""
    from threadpoolctl import threadpool_info
    blas = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}"
            for i in threadpool_info() if i.get("user_api") == "blas"]
    return {"processor": processor(), "cores": cores(), "numpy": np.__version__,
            "blas": "; ".join(blas) or "unknown"}


def processor():
    """The processor's model name (Linux's /proc/cpuinfo, else what platform knows)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def cache_path(environ=os.environ):
    """Where the plan is kept."""
    if environ.get("MINIGRAD_CACHE_DIR"):
        folder = Path(environ["MINIGRAD_CACHE_DIR"])
    elif environ.get("XDG_CACHE_HOME"):
        folder = Path(environ["XDG_CACHE_HOME"]) / "minigrad"
    else:
        folder = Path.home() / ".cache" / "minigrad"
    return folder / FILE_NAME


# ----------------------------------------------------------------------------- keeping it

def kept_plan(path=None):
    """The plan kept for this machine, or None (no file, unreadable, damaged, another machine)."""
    path = Path(path or cache_path())
    try:
        with open(path, encoding="utf-8") as f:
            kept = json.load(f)
        if kept.get("format") != FORMAT or kept.get("machine") != machine():
            return None
        return Plan.from_dict(kept["plan"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def keep(plan, path=None, seconds=None):
    """Write the plan with this machine's description, atomically (a temporary file, then a
    rename). OSError if the folder cannot be written."""
    path = Path(path or cache_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"format": FORMAT, "machine": machine(), "plan": plan.to_dict(),
              "measured": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": seconds}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".plan-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def default_plan():
    """The engine's defaults as a plan: what a machine gets that has never been measured."""
    from .engine import BAND_BYTES
    return Plan(threads=cores(), band_bytes=BAND_BYTES["numpy"], convs=())


def machine_busy():
    """(busy, the load average over the last minute): busy from BUSY per core."""
    try:
        load = os.getloadavg()[0]
    except OSError:                                  # no load average here: take it as quiet
        return False, 0.0
    return load >= BUSY * cores(), load


def plan_for_this_machine(say=None, path=None, seconds=SECONDS, busy=None):
    """The kept plan; if there is none for this machine, measure one now and keep it, unless
    the machine is busy: then the defaults, for this run only.

    say(message) is told once before a measurement. A plan that cannot be kept (a
    read-only home) is still used for this run, and say is told why.
    """
    plan = kept_plan(path)
    if plan is not None:
        return plan
    if (busy or machine_busy)()[0]:
        return default_plan()
    if say:
        say(f"measuring the fast engine on this machine, once (at most {seconds:g} s; "
            "python -m minigrad.fast.tune shows what it chose)")
    t0 = time.perf_counter()
    plan = calibrate(seconds)
    try:
        keep(plan, path, round(time.perf_counter() - t0, 1))
    except OSError as e:
        if say:
            say(f"could not keep the measured plan in {path or cache_path()} ({e.strerror or e}); "
                "it is used for this run only")
    return plan


# ----------------------------------------------------------------------------- measuring

def calibrate(seconds=SECONDS):
    """A Plan for this machine, from at most about `seconds` of timings. Shapes not reached
    before the deadline are left out of the plan: they take the engine's defaults."""
    from .engine import BAND_BYTES
    deadline = time.perf_counter() + seconds
    rng = np.random.default_rng(0)
    n = cores()
    threads = sorted({n, max(1, n // 2)}, reverse=True)
    # 1. Threads and band size, on the probe layers with Winograd F(4x4) both ways.
    probes = [_layer(rng, C, K, side) for C, K, side in PROBES]

    def probe(t, band):
        engine = _engine(4, t, band)
        return [lambda p=p: _both_ways(engine, *p) for p in probes]
    setups = [(t, band) for t in threads for band in BANDS]
    totals = _best([fn for t, band in setups for fn in probe(t, band)], deadline)
    per_setup = [sum(totals[i * len(probes):(i + 1) * len(probes)]) for i in range(len(setups))]
    t, band = _clear_winner(setups, per_setup, (n, BAND_BYTES["numpy"]))
    # 2. Each layer shape, each direction: im2col, F(2x2), F(4x4).
    convs = []
    for divide in CANVASES:
        for C, K, side in VGG_SHAPES:
            if time.perf_counter() > deadline:
                break
            layer = _layer(rng, C, K, side // divide)
            forward, f_tiles = _fastest(layer, True, t, band, deadline)
            backward, b_tiles = _fastest(layer, False, t, band, deadline)
            convs.append(Conv(C, K, side // divide, forward, backward, f_tiles, b_tiles))
    return Plan(t, band, tuple(convs))


def _fastest(layer, forward, threads, band_bytes, deadline):
    """(algorithm, tiles per band) that runs this layer fastest in one direction: im2col,
    F(2x2) or F(4x4); then, for Winograd, bands of at least 128, 256 or 512 tiles. The
    engine's default wins unless another is clearly faster (CLEARLY), so that a plan
    does not follow the noise of a busy machine."""
    from .engine import WINOGRAD_TILE
    x, w, b, dout = layer

    def timed(engine):
        if forward:
            return lambda: engine.conv2d_forward(x, w, b, 1, 1)
        cache = engine.conv2d_forward(x, w, b, 1, 1)[1]
        return lambda: engine.conv2d_backward(dout, cache, need_dw=False)
    algorithms = ("im2col", 2, 4)
    times = _best([timed(_engine(a, threads, band_bytes)) for a in algorithms], deadline)
    best = _clear_winner(algorithms, times, WINOGRAD_TILE["numpy"][0 if forward else 1])
    if best == "im2col":
        return best, 256
    tiles = (128, 256, 512)
    times = _best([timed(_engine(best, threads, band_bytes, n)) for n in tiles], deadline)
    return best, _clear_winner(tiles, times, 256)


def _clear_winner(candidates, times, default):
    """The fastest candidate if it beats the default by more than CLEARLY, else the default."""
    best = min(range(len(candidates)), key=times.__getitem__)
    if times[best] < (1 - CLEARLY) * times[candidates.index(default)]:
        return candidates[best]
    return default


def _engine(algorithm, threads, band_bytes, min_tiles=256):
    """A fast engine that takes `algorithm` ("im2col", 2 or 4) for every 3x3 convolution."""
    from .engine import FastEngine
    if algorithm == "im2col":
        return FastEngine(conv3x3="im2col", threads=threads, band_bytes=band_bytes)
    return FastEngine(conv3x3="winograd", winograd_tile=algorithm, threads=threads,
                      band_bytes=band_bytes, fixed_weights=True, min_tiles=min_tiles)


def _layer(rng, C, K, side):
    """Random float32 input, kernel, bias and upstream gradient of a C -> K layer, side x side."""
    x = np.maximum(rng.standard_normal((1, C, side, side)), 0).astype(np.float32)   # ReLU-like
    w = (rng.standard_normal((K, C, 3, 3)) * (2 / (9 * C)) ** 0.5).astype(np.float32)
    b = np.zeros(K, np.float32)
    dout = rng.standard_normal((1, K, side, side)).astype(np.float32)
    return x, w, b, dout


def _both_ways(engine, x, w, b, dout):
    _, cache = engine.conv2d_forward(x, w, b, 1, 1)
    engine.conv2d_backward(dout, cache, need_dw=False)


def _best(fns, deadline, rounds=ROUNDS):
    """The best time of each function: one untimed call each (transforms, buffers), then
    `rounds` rounds calling each in turn; fewer rounds once the deadline has passed."""
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for r in range(rounds):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
        if time.perf_counter() > deadline:
            break
    return best


# ----------------------------------------------------------------------------- the command

def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m minigrad.fast.tune",
                                description="Measure the fast engine's choices on this machine "
                                            "and keep them (minigrad/fast/tune.py).")
    p.add_argument("--show", action="store_true", help="print the kept plan; measure nothing")
    p.add_argument("--forget", action="store_true",
                   help="delete the kept plan: the engine's defaults come back")
    p.add_argument("--seconds", type=float, default=SECONDS,
                   help=f"the most the measurement may take (default: {SECONDS:g})")
    args = p.parse_args(argv)
    path = cache_path()
    if args.forget:
        try:
            path.unlink()
            print(f"deleted {path}; the fast engine takes its defaults until the next measurement")
        except FileNotFoundError:
            print(f"no plan kept at {path}; the fast engine takes its defaults")
        return 0
    if args.show:
        plan = kept_plan(path)
        if plan is None:
            print(f"no plan for this machine at {path}; the fast engine takes its defaults")
            return 0
    else:
        busy, load = machine_busy()
        if busy:
            print(f"the machine is busy (load average {load:.1f} on {cores()} cores): timings "
                  "taken now favour fewer threads; measure again when it is quiet",
                  file=sys.stderr)
        t0 = time.perf_counter()
        plan = calibrate(args.seconds)
        seconds = time.perf_counter() - t0
        try:
            keep(plan, path, round(seconds, 1))
            print(f"measured in {seconds:.1f} s, kept in {path}")
        except OSError as e:
            print(f"measured in {seconds:.1f} s; could not keep it in {path} ({e.strerror or e})",
                  file=sys.stderr)
    m = machine()
    print(f"on {m['processor']}, {m['cores']} cores, NumPy {m['numpy']}, BLAS {m['blas']}:")
    for line in plan.table():
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
