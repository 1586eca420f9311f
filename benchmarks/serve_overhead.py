"""What watching costs: stylize.py with --serve and a page polling it, against the same run without.

    python benchmarks/serve_overhead.py                      # 256 px, 30 evaluations, 2 pairs
    python benchmarks/serve_overhead.py --pairs 3 --browser  # the page in headless Chromium

Runs stylize.py in subprocesses, alternately without and with --serve (the machine may be
shared and busy: alternating spreads its moods over both), on the demo pair (vgg/demo.py)
with the real weights. During each --serve run a watcher loads the page: by default a
small client that does what the page's script does (/state.json every 0.5 s, /image.png
whenever its version moves on); with --browser, headless Chromium showing the page for
the whole run. Per run the time per evaluation comes from --log: from the end of the first
step (which also captures the targets) to the end of the last; and the processor time the
whole stylize.py process used (user + system, all its threads), which a busy machine
disturbs far less than the wall-clock time: what the server's thread costs shows there.
"""
import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def poll(url, stop, counts):
    """The page's script, in Python: the state every 0.5 s, the image when it changes."""
    shown = 0
    while not stop.is_set():
        try:
            state = json.load(urllib.request.urlopen(url + "state.json", timeout=5))
            counts["state"] += 1
            if state["image"] > shown:
                urllib.request.urlopen(url + "image.png", timeout=5).read()
                shown, counts["image"] = state["image"], counts["image"] + 1
        except OSError:
            pass
        stop.wait(0.5)


def one_run(args, files, serve, tmp):
    log = tmp / f"log-{time.monotonic_ns()}.jsonl"
    cmd = [sys.executable, str(ROOT / "stylize.py"), "--content", files["content"],
           "--style", files["style"], "--size", str(args.size), "--iters", str(args.iters),
           "--quiet", "--overwrite", "-o", str(tmp / "out.png"), "--log", str(log)]
    if serve:
        cmd += ["--serve", "0", "--no-browser"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    stop, counts, watcher = threading.Event(), {"state": 0, "image": 0}, None
    if serve:
        url = re.search(r"http://127\.0\.0\.1:\d+/", p.stderr.readline()).group(0)
        if args.browser:
            watcher = subprocess.Popen([args.browser, "--headless", "--no-sandbox", "--disable-gpu",
                                        f"--user-data-dir={tmp / 'profile'}",
                                        "--remote-debugging-port=0", url],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            watcher = threading.Thread(target=poll, args=(url, stop, counts))
            watcher.start()
    err = p.stderr.read()
    if p.wait() != 0:
        raise SystemExit(err)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)          # stylize.py's, now it is reaped
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stop.set()
    if isinstance(watcher, threading.Thread):
        watcher.join()
    elif watcher is not None:
        watcher.terminate()
        watcher.wait()
    steps = [json.loads(line) for line in log.read_text().splitlines()]
    first, last = steps[0], steps[-1]
    per_eval = (last["seconds"] - first["seconds"]) / (last["evals"] - first["evals"])
    return per_eval, cpu, counts


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--iters", type=int, default=30)
    p.add_argument("--pairs", type=int, default=2, help="runs without and with --serve, alternately")
    p.add_argument("--browser", nargs="?", const=shutil.which("chromium") or "chromium",
                   help="watch with headless Chromium (this path) instead of the Python client")
    args = p.parse_args()
    from vgg.demo import demo_photo_path, render_style
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        render_style().save(tmp / "style.png")
        files = {"content": demo_photo_path(), "style": str(tmp / "style.png")}
        times, cpus = {False: [], True: []}, {False: [], True: []}
        for k in range(args.pairs):
            for serve in (False, True):
                per_eval, cpu, counts = one_run(args, files, serve, tmp)
                times[serve].append(per_eval)
                cpus[serve].append(cpu)
                print(f"pair {k + 1}: {'with' if serve else 'without'} --serve: {per_eval:.3f} s per "
                      f"evaluation, {cpu:.1f} processor-seconds in all"
                      + (f" (page: {counts['state']} states, {counts['image']} images)"
                         if serve and not args.browser else ""), flush=True)

    def mean(values):
        return sum(values) / len(values)
    without, served = mean(times[False]), mean(times[True])
    print(f"mean: {without:.3f} s without, {served:.3f} s with --serve: "
          f"{100 * (served / without - 1):+.1f}% per evaluation")
    without, served = mean(cpus[False]), mean(cpus[True])
    print(f"processor time: {without:.1f} s without, {served:.1f} s with --serve: "
          f"{100 * (served / without - 1):+.1f}%")


if __name__ == "__main__":
    main()
