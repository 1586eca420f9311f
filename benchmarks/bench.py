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
resident set during two passes minus the resident set just before them, with the
weights, the image and the upstream gradients in place (benchmarks/peak_memory.py).
On a GPU it is CuPy's memory-pool peak against torch.cuda.max_memory_allocated.

The pass is in benchmarks/passes.py, the whole runs in benchmarks/whole_runs.py, what
they share in benchmarks/common.py; PyTorch's side of each is tests/oracle.py.
"""
import argparse
import shutil

from common import best_times, bench_params, describe_machine, device_sync, make_engine, \
    match_torch_threads
from passes import Pass, conv_gflop, pass_memory
from whole_runs import bench_pastiche, bench_stylize


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
    return p.parse_args(argv)


def bench_pass(args, sizes, engines, sync):
    """Print one row per size and engine: times, GFLOP/s, peak memory, each against PyTorch's."""
    print(describe_machine(args.backend, make_engine("fast", args.backend, args.conv3x3, args.threads)))
    print(f"{'size':>5} {'engine':>9} {'ours s':>8} {'torch s':>8} {'ratio':>6} {'ours GF/s':>9} "
          f"{'torch GF/s':>10} {'ours MB':>8} {'torch MB':>8} {'mem ratio':>9}", flush=True)
    for size in sizes:
        gf = conv_gflop(size)
        for engine, t, t_torch, (m_ours, m_torch) in time_one_size(args, size, engines, sync):
            print(f"{size:5d} {engine:>9} {t:8.3f} {t_torch:8.3f} {t / t_torch:6.2f} "
                  f"{gf / t:9.0f} {gf / t_torch:10.0f} {m_ours / 2**20:8.0f} "
                  f"{m_torch / 2**20:8.0f} {m_ours / m_torch:9.2f}", flush=True)


def time_one_size(args, size, engines, sync):
    """[(engine, our seconds, PyTorch's seconds, (our peak bytes, PyTorch's))] at one size."""
    bench = Pass(size, args.backend, args.seed, engines, args.conv3x3, args.threads)
    for engine in engines:
        bench.check_same_gradient(engine)
    # One round times every engine and PyTorch in turn: all see the same load.
    fns = [lambda e=e: bench.ours(e) for e in engines] + [bench.theirs]
    *t_ours, t_torch = best_times(fns, args.repeats, sync)
    memory = {} if args.no_memory else pass_memory(bench, args.backend, size, args.seed,
                                                    args.conv3x3, args.threads)
    nan = (float("nan"), float("nan"))
    return [(e, t, t_torch, memory.get(e, nan)) for e, t in zip(engines, t_ours)]


def describe_plan(args, engines):
    """The first lines: which weights, and which plan the fast engine runs."""
    print(bench_params(args.seed)[1])
    if args.backend == "numpy" and "fast" in engines and not (args.conv3x3 or args.threads):
        from minigrad.fast import tune
        plan = tune.kept_plan() or tune.plan_for_this_machine(say=print)
        print(f"fast engine: the plan measured on this machine ({tune.cache_path()}):")
        for line in plan.table():
            print("    " + line)


def main(argv=None):
    args = parse_args(argv)
    match_torch_threads(args.threads)
    engines = ["fast", "reference"] if args.engine == "both" else [args.engine]
    sizes = args.sizes or ([256, 512] if args.backend == "numpy" else [512, 1024])
    sync = device_sync(args.backend)
    describe_plan(args, engines)
    if args.mode in ("pass", "all"):
        bench_pass(args, sizes, engines, sync)
    if args.mode in ("stylize", "all"):
        bench_stylize(args, sizes, engines, sync)
        if args.backend == "numpy":
            for size in sizes:
                bench_pastiche(args.pastiche, size, args.iterations)


if __name__ == "__main__":
    main()
