"""L-BFGS with and without its line search, at the same budget of loss evaluations.

    python benchmarks/line_search.py                     # every case below, 100 evaluations
    python benchmarks/line_search.py --evals 30 --cases default
    python benchmarks/line_search.py --images ../shared/images --size 256

Each case is one `stylize.py` command run twice in this process, with
`--line-search strong-wolfe` and with `--line-search none` (the fixed step of
torch.optim.LBFGS), both with `--iters` = the budget of evaluations, and read back
from its `--log`. The cases, on the Tubingen photo:
  * default:      Starry Night at the defaults of stylize.py (content start);
  * alpha=1e-4:   the same with --content-weight 1e-4 (the style dominates);
  * fig3 conv1_1: Figure 3's top row at 128 px (figures.py): white noise, content at
                  conv4_2, style from conv1_1 alone, TV 0, alpha/beta 1e-3 ... 1;
  * fig1 conv1_1: Figure 1's first style tile: the texture of conv1_1 alone, 128 px;
  * pairs:        each of the other paintings in --images at the defaults.
Printed per case: the loss at the start (the first evaluation); for each mode the
loss after 25%, 50% and 100% of the budget (the last log line with at most that
many evaluations: with the line search the image the step ended on; without it the
image the last step started from, since a fixed step never evaluates where it
lands); the ratio of the two at the full budget; the steps the line search took;
and the highest loss logged after the start over the starting loss (above 1: a
spike). --keep DIR keeps the logs and images.
"""
import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import stylize  # noqa: E402  (the project root, inserted above)

PHOTO = "tubingen.jpg"
DEFAULT_STYLE = "starry_night.jpg"
FIG3_RATIOS = [1e-3, 1e-2, 1e-1, 1.0]


def cases(images, size, wanted):
    """[(name, stylize arguments)] for the cases asked for."""
    photo, starry = images / PHOTO, images / DEFAULT_STYLE
    base = ["--content", photo, "--size", size]
    out = []
    if "default" in wanted:
        out.append(("default", base + ["--style", starry]))
    if "alpha" in wanted:
        out.append(("alpha=1e-4", base + ["--style", starry, "--content-weight", 1e-4]))
    if "fig3" in wanted:
        for ratio in FIG3_RATIOS:
            out.append((f"fig3 conv1_1, a/b {ratio:g}",
                        ["--content", photo, "--style", starry, "--size", 128, "--init", "noise",
                         "--style-layers", "conv1_1", "--content-weight", ratio, "--tv-weight", 0]))
    if "fig1" in wanted:
        out.append(("fig1 conv1_1 texture", ["--mode", "style", "--style", starry, "--size", 128,
                                             "--style-layers", "conv1_1", "--tv-weight", 0]))
    if "pairs" in wanted:
        for painting in sorted(images.glob("*.jpg")):
            if painting.name not in (PHOTO, DEFAULT_STYLE):
                out.append((f"{painting.stem}", base + ["--style", painting]))
    return out


def run(arguments, line_search, evals, folder):
    """One stylize.py run; returns its log records and the seconds it took."""
    out, log = folder / f"{line_search}.png", folder / f"{line_search}.jsonl"
    argv = [str(a) for a in arguments] + ["--iters", str(evals), "--line-search", line_search,
                                          "--quiet", "--overwrite", "-o", str(out), "--log", str(log)]
    t0 = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()) as err:
        status = stylize.main(argv)
    if status != 0:
        raise RuntimeError(f"stylize.py {' '.join(argv)} failed:\n{err.getvalue()}")
    return [json.loads(line) for line in log.read_text().splitlines()], time.perf_counter() - t0


def loss_after(records, evals, start):
    """The loss of the last step that ended within `evals` evaluations (else the start's)."""
    return ([start] + [r["loss"] for r in records if r["evals"] <= evals])[-1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--evals", type=int, default=100, help="budget of loss evaluations per run")
    p.add_argument("--size", type=int, default=256, help="--size of the stylizations")
    p.add_argument("--images", type=Path, default=ROOT.parent / "shared" / "images")
    p.add_argument("--cases", nargs="+", choices=["default", "alpha", "fig3", "fig1", "pairs"],
                   default=["default", "alpha", "fig3", "fig1", "pairs"])
    p.add_argument("--keep", type=Path, metavar="DIR", help="keep every run's log and image here")
    args = p.parse_args(argv)
    if not (args.images / PHOTO).is_file():
        sys.exit(f"line_search.py: no {PHOTO} in {args.images} (give --images)")

    marks = [args.evals // 4, args.evals // 2, args.evals]
    print(f"{args.evals} evaluations per run; loss after {', '.join(map(str, marks))} evaluations. "
          "Peak: the highest loss logged after the start, over the starting loss.\n")
    print("| case | start | fixed step | strong Wolfe | SW / fixed | SW steps | peak fixed | peak SW | s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, arguments in cases(args.images, args.size, args.cases):
        with tempfile.TemporaryDirectory() as tmp:
            folder = args.keep / name.replace(" ", "_").replace("/", "-") if args.keep else Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            fixed, t_fixed = run(arguments, "none", args.evals, folder)
            wolfe, t_wolfe = run(arguments, "strong-wolfe", args.evals, folder)
        start = fixed[0]["loss"]                    # the fixed step's first evaluation is at x_0
        assert fixed[-1]["evals"] == args.evals and wolfe[-1]["evals"] <= args.evals
        losses = lambda records: " / ".join(f"{loss_after(records, m, start):.3e}" for m in marks)
        peak = lambda records: max(r["loss"] for r in records) / start
        print(f"| {name} | {start:.3e} | {losses(fixed)} | {losses(wolfe)} | "
              f"{wolfe[-1]['loss'] / fixed[-1]['loss']:.3f} | {wolfe[-1]['iter']} | "
              f"{peak(fixed[1:]):.3g} | {peak(wolfe):.3g} | {t_fixed + t_wolfe:.0f} |", flush=True)


if __name__ == "__main__":
    main()
