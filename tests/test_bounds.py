"""Inputs checked before they are read, work bounded whatever the options say, the demo's edges.

Every case here once cost a user minutes, gigabytes or a file (issue 22): a weights file
whose metadata declares a huge array was read in full before its shape was checked; a
named pipe given as an input hung the run; --save-every 1 with a huge --iters built every
snapshot name first, and an absurd --size kept the memory plan busy for minutes; the demo
wrote its style image before checking the other options, and took abbreviated options
only to replace them with its own defaults.
"""
import os
import resource
import subprocess
import sys
import threading
import time

import h5py
import numpy as np
import pytest

from vgg.layout import CONV_NAMES, CONV_SHAPES

from .helpers import ROOT, run_stylize, write_inputs

ANSWER_SECONDS = 30       # a start or a refusal: well under a second here, minutes before the fix


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_inputs(tmp_path_factory.mktemp("bounds"))


def base(inputs, out, *extra):
    return ["--content", inputs / "content.png", "--style", inputs / "style.jpg",
            "--weights", inputs / "random.h5", "--size", 32, "--iters", 2, "-o", out, "--quiet",
            *extra]


def one_line_refusal(r):
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stylize.py: error:"), r.stderr
    return lines[0]


def limited(megabytes):
    """preexec_fn: the child may map at most this much (ulimit -v)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (megabytes * 2**20, resource.RLIM_INFINITY))
    return limit


# ----------------------------------------------------------------------------- inputs

def test_weights_declaring_a_huge_kernel_are_refused_from_their_metadata(inputs, tmp_path):
    # A few KB on disk; conv1_1/W declares 100000 x 3 x 3 x 3 x ... = 4 GB of float32.
    bad = tmp_path / "bad.h5"
    with h5py.File(inputs / "random.h5", "r") as good, h5py.File(bad, "w") as f:
        f.attrs.update(dict(good.attrs))
        for name in CONV_NAMES:
            K, C, KH, KW = CONV_SHAPES[name]
            shape = (K * 1000, C * 20, KH, KW) if name == "conv1_1" else (K, C, KH, KW)
            f.create_dataset(f"{name}/W", shape=shape, dtype="f4", chunks=True, compression="gzip")
            f.create_dataset(f"{name}/b", data=np.zeros(K, np.float32))
    assert bad.stat().st_size < 1_000_000
    cmd = [sys.executable, str(ROOT / "stylize.py"),
           *map(str, base(inputs, tmp_path / "o.png")[:4]), "--weights", str(bad),
           "--size", "32", "--iters", "2", "-o", str(tmp_path / "o.png")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT,
                       preexec_fn=limited(3000))
    line = one_line_refusal(r)
    assert "conv1_1/W declares shape" in line and "out of memory" not in line


@pytest.mark.parametrize("option", ["--content", "--style", "--weights", "--init"])
def test_a_named_pipe_given_as_an_input_is_refused_before_it_is_opened(inputs, tmp_path, option):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    args = [str(a) for a in base(inputs, tmp_path / "o.png")]
    if option == "--init":
        args += ["--init", str(fifo)]
    else:
        args[args.index(option) + 1] = str(fifo)
    r = run_stylize(*args, timeout=ANSWER_SECONDS)             # before the fix: waits forever
    assert "named pipe" in one_line_refusal(r)
    assert not (tmp_path / "o.png").exists()


def test_a_device_is_not_an_image(inputs, tmp_path):
    args = [str(a) for a in base(inputs, tmp_path / "o.png")]
    args[args.index("--style") + 1] = "/dev/zero"                # would never end
    assert "device" in one_line_refusal(run_stylize(*args, timeout=ANSWER_SECONDS))


def test_an_image_that_declares_more_pixels_than_memory_holds_is_refused(inputs, tmp_path):
    from PIL import Image
    wide = tmp_path / "wide.png"
    Image.new("L", (12000, 12000)).save(wide)     # 144 M pixels, under Pillow's own bomb limit
    assert wide.stat().st_size < 2_000_000
    args = [str(a) for a in base(inputs, tmp_path / "o.png")]
    args[args.index("--content") + 1] = str(wide)
    r = subprocess.run([sys.executable, str(ROOT / "stylize.py"), *args], capture_output=True,
                       text=True, timeout=120, cwd=ROOT, preexec_fn=limited(900))
    line = one_line_refusal(r)                    # before: "out of memory; try a smaller --size"
    assert "declares 12000 x 12000 pixels" in line, line


# ----------------------------------------------------------------------------- bounded work

def answers_quickly(args, cwd):
    """Start stylize.py through tests/hooked.py; seconds until it either started the run (the
    weights began to load: it is held there) or ended; and how it ended (None: it started)."""
    p = subprocess.Popen([sys.executable, "-m", "tests.hooked", "--at", "load", "wait", "--",
                          *map(str, args)], cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    t0 = time.perf_counter()
    deadline = threading.Timer(ANSWER_SECONDS, p.kill)          # never waits past the limit
    deadline.start()
    try:
        for line in p.stdout:
            if line.startswith("phase load"):
                return time.perf_counter() - t0, None
        p.wait()
        return time.perf_counter() - t0, (p.returncode, p.stderr.read())
    finally:
        deadline.cancel()
        p.kill()
        p.communicate()


@pytest.mark.parametrize("extra", [
    ["--iters", 10**8, "--save-every", 1],              # every snapshot name, made up front
    ["--iters", 10**18, "--save-every", 7, "--scales", 2],
    ["--history", 10**15],
])
def test_huge_option_values_start_at_once(inputs, tmp_path, extra):
    args = [a for a in base(inputs, tmp_path / "o.png") if a not in ("--iters", 2)] + extra
    seconds, ended = answers_quickly(args, tmp_path)
    assert seconds < ANSWER_SECONDS
    assert ended is None or ended[0] == 2, ended


@pytest.mark.parametrize("extra,advice", [
    (["--size", 10**8], "--size"),                      # the memory plan stepped 16 px at a time
    (["--size", 4096, "--style-scale", 10**9], "--style-scale"),
    (["--size", 10**12, "--scales", 3], "--size"),
])
def test_absurd_sizes_are_refused_at_once_with_advice(inputs, tmp_path, extra, advice):
    args = [a for a in base(inputs, tmp_path / "o.png") if a not in ("--size", 32)] + extra
    t0 = time.perf_counter()
    r = run_stylize(*args, timeout=ANSWER_SECONDS)
    assert time.perf_counter() - t0 < ANSWER_SECONDS
    line = one_line_refusal(r)
    assert "GiB" in line and f"try {advice}" in line or "a smaller --size" in line, line


def test_a_million_scales_are_refused_without_building_a_power_of_two(inputs, tmp_path):
    line = one_line_refusal(run_stylize(*base(inputs, tmp_path / "o.png", "--scales", 10**9),
                                        timeout=ANSWER_SECONDS))
    assert "--scales" in line


# ----------------------------------------------------------------------------- the demo

def test_the_demo_writes_nothing_when_an_option_is_refused(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "stylize.py"), "--demo", "--size", "8"],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    one_line_refusal(r)
    assert list(tmp_path.iterdir()) == []                       # before the fix: demo-style.png


def test_the_demo_in_a_folder_it_cannot_write_is_one_line(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):            # root writes anywhere, but not in sysfs
            if not os.path.isdir("/sys/kernel"):
                pytest.skip("root here, and no sysfs: no folder is read-only to this user")
            locked = "/sys/kernel"
        r = subprocess.run([sys.executable, str(ROOT / "stylize.py"), "--demo"],
                           capture_output=True, text=True, timeout=60, cwd=locked)
        assert "Traceback" not in r.stderr
        assert "cannot write in" in one_line_refusal(r)
    finally:
        (tmp_path / "locked").chmod(0o755)


def test_abbreviated_options_are_refused_not_replaced_by_the_demos(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "stylize.py"), "--demo", "--siz", "64",
                        "--iter", "2"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 2 and "unrecognized arguments: --siz 64 --iter 2" in r.stderr
    assert list(tmp_path.iterdir()) == []
