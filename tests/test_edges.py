"""stylize.py at the edges: every file it writes, every signal, every failure after a run.

Each case runs the real program in a subprocess (the behaviour is the process's:
exit status, message, what is on disk afterwards) and checks the md5 of every
input before and after. Random VGG weights, tiny images: each run takes seconds.
"""
import hashlib
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest
from PIL import Image


from .helpers import ROOT, write_inputs

STYLIZE = [sys.executable, str(ROOT / "stylize.py")]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_inputs(tmp_path_factory.mktemp("edges-inputs"), photo_name="photo.png",
                        painting_name="paint.png")


def md5s(folder):
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in Path(folder).iterdir()
            if p.is_file()}


def base(inputs, *extra, content=None, style=None):
    return ["--content", str(content or inputs / "photo.png"), "--style", str(style or inputs / "paint.png"),
            "--weights", str(inputs / "random.h5"), "--size", "32", "--iters", "3", "--quiet",
            *map(str, extra)]


def run(args, cwd=ROOT, **kw):
    return subprocess.run(STYLIZE + list(args), capture_output=True, text=True, timeout=300,
                          cwd=cwd, **kw)


def start(args, **kw):
    return subprocess.Popen(STYLIZE + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, **kw)


def one_line_error(r, status=2):
    lines = r.stderr.strip().splitlines()
    assert r.returncode == status, (r.returncode, r.stderr)
    assert len(lines) == 1 and "error" in lines[0] and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def wait_for(condition, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def handles_signals(pid):
    """True once the process catches SIGINT and SIGTERM (its SigCgt mask in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = int(next(line for line in status.splitlines() if line.startswith("SigCgt")).split()[1], 16)
    return all(mask >> (s - 1) & 1 for s in (signal.SIGINT, signal.SIGTERM))


def lines(path):
    return path.read_text().count("\n") if path.exists() else 0


def no_temporaries(folder):
    return [p.name for p in Path(folder).iterdir() if p.name.startswith(".stylize-")] == []


# ----------------------------------------------------------------------------- the plan

def test_an_input_named_like_a_snapshot_is_never_replaced(inputs, tmp_path):
    photo = tmp_path / "out-0002.png"
    photo.write_bytes((inputs / "photo.png").read_bytes())
    before = md5s(tmp_path)
    r = run(base(inputs, "--save-every", 2, "--iters", 6, "-o", tmp_path / "out.png", "--overwrite",
                 content=photo))
    assert "out-0002.png" in one_line_error(r) and "input" in r.stderr
    assert md5s(tmp_path) == before


def test_an_input_named_like_the_plot_is_never_replaced(inputs, tmp_path):
    paint = tmp_path / "out-loss.png"
    paint.write_bytes((inputs / "paint.png").read_bytes())
    before = md5s(tmp_path)
    one_line_error(run(base(inputs, "--plot", "-o", tmp_path / "out.png", "--overwrite", style=paint)))
    assert md5s(tmp_path) == before


@pytest.mark.parametrize("target", ["photo.png", "random.h5"])
def test_the_log_may_not_be_an_input(inputs, tmp_path, target):
    before = md5s(inputs)
    line = one_line_error(run(base(inputs, "-o", tmp_path / "o.png", "--log", inputs / target,
                                   "--overwrite")))
    assert "input" in line and md5s(inputs) == before and not (tmp_path / "o.png").exists()


def test_the_log_may_not_be_the_output(inputs, tmp_path):
    out = tmp_path / "o.png"
    assert "also --output" in one_line_error(run(base(inputs, "-o", out, "--log", out, "--overwrite")))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("how", ["symlink", "hardlink"])
def test_an_output_linked_to_an_input_is_refused(inputs, tmp_path, how):
    out = tmp_path / "o.png"
    (os.symlink if how == "symlink" else os.link)(inputs / "paint.png", out)
    before = md5s(inputs)
    assert "input" in one_line_error(run(base(inputs, "-o", out, "--overwrite")))
    assert md5s(inputs) == before


def test_the_log_may_not_be_a_snapshot(inputs, tmp_path):
    one_line_error(run(base(inputs, "--save-every", 1, "--iters", 3, "-o", tmp_path / "o.png",
                            "--log", tmp_path / "o-0001.png")))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("log", ["missing/run.jsonl", "."])
def test_a_log_in_a_missing_folder_or_naming_a_folder_is_refused_before_loading(inputs, tmp_path, log):
    r = run(base(inputs, "-o", tmp_path / "o.png", "--log", log), cwd=tmp_path)
    one_line_error(r)
    assert list(tmp_path.iterdir()) == []


def test_a_name_longer_than_the_file_system_allows_is_refused(inputs, tmp_path):
    assert "longer than" in one_line_error(run(base(inputs, "-o", tmp_path / ("x" * 300 + ".png"))))


def test_a_name_near_the_limit_is_written_the_temporary_name_stays_short(inputs, tmp_path):
    out = tmp_path / ("y" * (255 - 4) + ".png")                       # exactly 255 bytes
    r = run(base(inputs, "-o", out))
    assert r.returncode == 0, r.stderr
    assert Image.open(out).size == (32, 25) and no_temporaries(tmp_path)


def test_an_existing_dangling_link_is_not_replaced_without_overwrite(inputs, tmp_path):
    out = tmp_path / "o.png"
    os.symlink(tmp_path / "nowhere.png", out)
    assert "already exists" in one_line_error(run(base(inputs, "-o", out)))
    assert out.is_symlink()


def test_an_output_inside_a_file_is_refused(inputs, tmp_path):
    (tmp_path / "file").write_text("x")
    assert "does not exist" in one_line_error(run(base(inputs, "-o", tmp_path / "file" / "o.png")))


# ----------------------------------------------------------------------------- arguments

@pytest.mark.parametrize("extra", [
    ["--seed", "-1"], ["--style-blend", "1e308", "1e308", "--style", "{paint}", "{paint}"],
    ["--style-layer-weights", "1e308,1e308,1,1,1"], ["--content-weight", "nan"],
    ["--content-weight", "inf"], ["--lr", "inf"], ["--iters", "0"], ["--size", "-5"],
    ["--weights", "{folder}"], ["--weights", "{missing}"], ["--weights", "{photo}"],
    ["--content", "{folder}"], ["--content", "{empty}"], ["--content", "{truncated}"],
    ["--init", "{missing}"], ["-o", "{out_gif}"],
], ids=lambda e: " ".join(e))
def test_a_value_that_cannot_be_used_is_one_line_and_exit_2(inputs, tmp_path, extra):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "truncated.png").write_bytes((inputs / "photo.png").read_bytes()[:200])
    names = {"paint": inputs / "paint.png", "folder": tmp_path, "missing": tmp_path / "nope.h5",
             "photo": inputs / "photo.png", "empty": tmp_path / "empty.png",
             "truncated": tmp_path / "truncated.png", "out_gif": tmp_path / "o.gif"}
    extra = [e.format(**names) for e in extra]
    before = md5s(tmp_path)
    one_line_error(run(base(inputs, "-o", tmp_path / "o.png") + extra))
    assert md5s(tmp_path) == before


@pytest.mark.parametrize("problem", ["group", "text"])
def test_weights_with_a_group_or_text_where_a_tensor_belongs_are_one_line(inputs, tmp_path, problem):
    bad = tmp_path / "bad.h5"
    bad.write_bytes((inputs / "random.h5").read_bytes())
    with h5py.File(bad, "r+") as f:
        del f["conv3_1/W"]
        if problem == "group":
            f.create_group("conv3_1/W")
        else:
            f.create_dataset("conv3_1/W", data="not numbers")
    line = one_line_error(run(base(inputs, "-o", tmp_path / "o.png", "--weights", bad)))
    assert "conv3_1/W" in line and not (tmp_path / "o.png").exists()


def test_a_diverging_run_says_one_line_and_no_numpy_warnings(inputs, tmp_path):
    out = tmp_path / "o.png"
    r = run(base(inputs, "-o", out, "--style-weight", "1e38", "--lr", "1e30", "--line-search", "none",
                 "--iters", "20"))
    assert r.returncode == 1 and "RuntimeWarning" not in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize("value", ["abc", "100000"])
def test_a_bad_thread_count_is_one_line_and_the_run_goes_on(inputs, tmp_path, value):
    r = run(base(inputs, "-o", tmp_path / "o.png"), env=dict(os.environ, MINIGRAD_THREADS=value))
    assert r.returncode == 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "MINIGRAD_THREADS" in r.stderr and (tmp_path / "o.png").exists()


def test_a_large_image_that_fits_in_memory_runs_without_a_bomb_warning(inputs, tmp_path):
    # 90 megapixels is past Pillow's warning (89): the declared size is checked against the
    # memory free instead (vgg/images.py), so a photo that fits is simply read.
    big = tmp_path / "big.png"
    Image.new("1", (9500, 9500)).save(big)
    r = run(base(inputs, "-o", tmp_path / "o.png", "--iters", 1, content=big))
    assert r.returncode == 0, r.stderr
    assert "Decompression" not in r.stderr and "warning" not in r.stderr, r.stderr


# ----------------------------------------------------------------------------- memory

def test_memory_advice_is_a_setting_that_fits(inputs, tmp_path):
    r = run(base(inputs, "-o", tmp_path / "o.png", "--history", 100000000))
    line = one_line_error(r)
    assert "--history" in line
    advice = line.split("try ")[1].split(" or ")
    for setting in advice:
        option, value = setting.split()
        r = run(base(inputs, "-o", tmp_path / f"o{value}.png", "--history", 100000000, option, value))
        assert "GiB" not in r.stderr, (setting, r.stderr)


def test_a_huge_style_scale_is_refused_with_a_smaller_one(inputs, tmp_path):
    line = one_line_error(run(base(inputs, "-o", tmp_path / "o.png", "--style-scale", 5000)))
    assert "GiB" in line and "--style-scale" in line


def test_memory_is_planned_on_the_upscaled_canvas():
    from vgg.memory import estimate_bytes, plan_memory
    from vgg.canvas import canvas_shapes
    from vgg.run import Settings
    strip = Image.new("RGB", (4000, 10))                              # upscaled to 6400 x 16
    canvas = canvas_shapes(Settings(size=4000), strip, [])[-1]
    assert canvas == (16, 6400)
    taps = Settings().layers_used()
    original = estimate_bytes((1, 3, 10, 4000), taps, 100)
    need, advice = plan_memory(canvas, [], taps, 100, "lbfgs", "fast", original, 4000, 1.0)
    assert need > original and advice                                # refused, with advice


# ----------------------------------------------------------------------------- claims

def test_a_second_run_with_the_same_output_is_refused_while_the_first_works(inputs, tmp_path):
    out, log = tmp_path / "o.png", tmp_path / "log.jsonl"
    first = start(base(inputs, "-o", out, "--log", log, "--iters", 100000))
    try:
        wait_for(lambda: lines(log) >= 1)
        second = run(base(inputs, "-o", out))
        assert "already exists" in one_line_error(second)
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=60)
        assert first.returncode == 130 and str(out) in err
        assert Image.open(out).size == (32, 25)
    finally:
        first.kill()


def test_the_empty_output_of_a_killed_run_is_taken_over_by_the_next(inputs, tmp_path):
    out, log = tmp_path / "o.png", tmp_path / "log.jsonl"
    first = start(base(inputs, "-o", out, "--log", log, "--iters", 100000))
    try:
        wait_for(lambda: lines(log) >= 1)
        first.kill()                                  # SIGKILL: nothing can remove its claim
        first.wait(timeout=60)
    finally:
        first.kill()
    assert out.exists() and out.stat().st_size == 0
    second = run(base(inputs, "-o", out))             # no --overwrite needed: the file is empty
    assert second.returncode == 0, second.stderr
    assert Image.open(out).size == (32, 25)


def test_a_claim_is_taken_over_only_when_empty_and_unlocked(tmp_path):
    from vgg import claims
    mine = claims.claim(tmp_path / "live.png")                 # this run's claim, locked
    assert not claims.abandoned(tmp_path / "live.png")
    with pytest.raises(FileExistsError):
        claims.claim(tmp_path / "live.png")                    # another run cannot take it
    (tmp_path / "left.png").write_bytes(b"")                   # a killed run's, unlocked
    assert claims.abandoned(tmp_path / "left.png")
    taken = claims.claim(tmp_path / "left.png")
    (tmp_path / "full.png").write_bytes(b"x")                  # anything with bytes in it
    assert not claims.abandoned(tmp_path / "full.png")
    with pytest.raises(FileExistsError):
        claims.claim(tmp_path / "full.png")
    for name, identity in (("live.png", mine), ("left.png", taken)):
        claims.release(tmp_path / name, identity)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full.png"]


def test_the_cpu_time_limit_ends_the_run_like_ctrl_c(inputs, tmp_path):
    out, log = tmp_path / "o.png", tmp_path / "log.jsonl"
    cpu_seconds = 8        # well past start-up (about 1 s of CPU, however loaded the machine)

    def limit_cpu():
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, resource.RLIM_INFINITY))
    r = run(base(inputs, "-o", out, "--log", log, "--iters", 10 ** 7), preexec_fn=limit_cpu)
    assert r.returncode == 128 + signal.SIGXCPU, r.stderr
    assert "Traceback" not in r.stderr and str(out) in r.stderr
    assert Image.open(out).size == (32, 25) and lines(log) >= 1


def test_an_output_replaced_during_the_run_is_kept_and_ours_is_rescued(inputs, tmp_path):
    out, log = tmp_path / "o.png", tmp_path / "log.jsonl"
    p = start(base(inputs, "-o", out, "--log", log, "--iters", 100000))
    try:
        wait_for(lambda: lines(log) >= 1)
        out.unlink()
        out.write_bytes(b"someone else's file")
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        assert out.read_bytes() == b"someone else's file"
        rescued = next(tmp_path.glob("o-rescued-*.png"))
        assert str(rescued) in err and Image.open(rescued).size == (32, 25)
    finally:
        p.kill()


# ----------------------------------------------------------------------------- failures after the run

def test_a_removed_output_folder_sends_the_result_to_the_temporary_folder(inputs, tmp_path):
    folder, spare, log = tmp_path / "out", tmp_path / "tmp", tmp_path / "log.jsonl"
    folder.mkdir()
    spare.mkdir()
    p = start(base(inputs, "-o", folder / "o.png", "--log", log, "--iters", 100000),
              env=dict(os.environ, TMPDIR=str(spare)))
    try:
        wait_for(lambda: lines(log) >= 1)
        (folder / "o.png").unlink()
        folder.rmdir()
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        rescued = list(spare.glob("o-rescued-*.png"))
        assert len(rescued) == 1 and str(rescued[0]) in err and "Traceback" not in err
        assert p.returncode == 130
    finally:
        p.kill()


def limit_file_size(size):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


def test_a_file_size_limit_is_one_line_never_a_traceback(inputs, tmp_path):
    r = run(base(inputs, "-o", tmp_path / "o.png", "--size", 64), preexec_fn=limit_file_size(1000),
            env=dict(os.environ, TMPDIR=str(tmp_path)))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "could not write the image anywhere" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert no_temporaries(tmp_path) and not (tmp_path / "o.png").exists()


@pytest.fixture
def small_disk(tmp_path):
    """A 48 KiB file system (tmpfs), as root; skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs",
                                            str(mount)], capture_output=True).returncode != 0:
        pytest.skip("needs root and mount (a small tmpfs) to fill a disk")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_after_the_run_rescues_the_result(inputs, tmp_path, small_disk):
    spare = tmp_path / "spare"
    spare.mkdir()
    r = run(base(inputs, "-o", small_disk / "o.bmp", "--size", 160, "--iters", 1),
            env=dict(os.environ, TMPDIR=str(spare)))        # 160 x 123 px: a 59 KB BMP
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    rescued = list(spare.glob("o-rescued-*.bmp"))
    assert len(rescued) == 1 and str(rescued[0]) in r.stderr and "No space" in r.stderr
    assert not (small_disk / "o.bmp").exists() and no_temporaries(small_disk)


def test_a_read_only_folder_is_refused_before_loading(inputs, small_disk):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    assert "cannot write in" in one_line_error(run(base(inputs, "-o", small_disk / "o.png")))


# ----------------------------------------------------------------------------- signals

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_starting_is_one_line_and_writes_nothing(inputs, tmp_path, sig):
    p = start(base(inputs, "-o", tmp_path / "o.png"))
    wait_for(lambda: handles_signals(p.pid), 30)
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 128 + sig and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and "nothing was written" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_before_the_first_step_writes_nothing(inputs, tmp_path, sig):
    out = tmp_path / "o.png"
    p = start(base(inputs, "-o", out, "--size", 512, "--iters", 5, "--log", tmp_path / "l.jsonl"))
    wait_for(lambda: out.exists())                 # claimed: the network loads, then step 1
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 128 + sig and "Traceback" not in err, err
    assert "before the first step; nothing was written" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_run_saves_the_current_image(inputs, tmp_path, sig):
    out, log = tmp_path / "o.png", tmp_path / "log.jsonl"
    p = start(base(inputs, "-o", out, "--log", log, "--iters", 3000, "--save-every", 1))
    try:
        wait_for(lambda: lines(log) >= 3)
        p.send_signal(sig)
        time.sleep(0.05)
        p.send_signal(sig)                          # a second, impatient one
        _, err = p.communicate(timeout=60)
        assert p.returncode == 128 + sig and "Traceback" not in err, err
        assert str(out) in err and Image.open(out).size == (32, 25)
        assert no_temporaries(tmp_path)
        for snapshot in tmp_path.glob("o-*.png"):
            Image.open(snapshot).load()             # every snapshot whole
    finally:
        p.kill()


def test_a_signal_while_the_result_is_written_waits_for_it(tmp_path, monkeypatch):
    from vgg import files
    from vgg.console import Signals
    from vgg.outputs import Outputs
    real = files.write_atomic

    def write_then_signal(path, data, replace=True):
        os.kill(os.getpid(), signal.SIGINT)          # arrives in the middle of the save
        time.sleep(0.01)
        return real(path, data, replace)
    monkeypatch.setattr(files, "write_atomic", write_then_signal)
    with Signals() as signals:
        outputs = Outputs(tmp_path / "o.png", signals=signals)
        outputs.claim()
        where, why = outputs.save_result(Image.new("RGB", (8, 8), (1, 2, 3)))
    assert where == tmp_path / "o.png" and why is None and signals.held == signal.SIGINT
    assert Image.open(where).getpixel((0, 0)) == (1, 2, 3)


# ----------------------------------------------------------------------------- stderr

def test_a_reader_that_stops_reading_never_costs_the_image(inputs, tmp_path):
    out = tmp_path / "o.png"
    args = [a for a in base(inputs, "-o", out, "--iters", 40) if a != "--quiet"]
    p = start(args)
    p.stderr.readline()                             # `2>&1 | head -1`: one line, then gone
    p.stderr.close()
    p.wait(timeout=120)
    assert p.returncode == 0 and Image.open(out).size == (32, 25)


def test_a_closed_stderr_never_costs_the_image(inputs, tmp_path):
    out = tmp_path / "o.png"
    args = [a for a in base(inputs, "-o", out) if a != "--quiet"]
    r = subprocess.run(STYLIZE + args, cwd=ROOT, timeout=300, stdout=subprocess.DEVNULL,
                       preexec_fn=lambda: os.close(2))     # `2>&-`
    assert r.returncode == 0 and Image.open(out).size == (32, 25)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.png"]


# ----------------------------------------------------------------------------- more of the same kind

def test_a_log_that_cannot_be_written_is_a_warning_and_the_run_goes_on(inputs, tmp_path):
    out = tmp_path / "o.png"
    args = base(inputs, "-o", out, "--log", "/dev/full", "--overwrite")     # every write: ENOSPC
    r = run([a for a in args if a != "--quiet"])
    assert r.returncode == 0 and Image.open(out).size == (32, 25)
    warnings = [line for line in r.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "log" in warnings[0]
    quiet = run(args)                                  # --quiet: errors only, not warnings
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_a_plot_name_that_is_a_folder_is_refused(inputs, tmp_path):
    (tmp_path / "o-loss.png").mkdir()
    assert "folder" in one_line_error(run(base(inputs, "-o", tmp_path / "o.png", "--plot",
                                                "--overwrite")))


def test_a_closed_stdin_changes_nothing(inputs, tmp_path):
    out = tmp_path / "o.png"
    r = subprocess.run(STYLIZE + base(inputs, "-o", out), cwd=ROOT, timeout=300, capture_output=True,
                       text=True, preexec_fn=lambda: os.close(0))
    assert r.returncode == 0 and Image.open(out).size == (32, 25), r.stderr


def test_names_with_spaces_and_accents_are_written(inputs, tmp_path):
    out = tmp_path / "mon résultat final.png"
    r = run(base(inputs, "-o", out, "--save-every", 2, "--log", tmp_path / "journal été.jsonl"))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        ["journal été.jsonl", "mon résultat final-0002.png", "mon résultat final.png"]


def test_snapshots_beyond_the_budget_are_not_planned(inputs, tmp_path):
    (tmp_path / "o-0010.png").write_bytes(b"not ours")          # --save-every 10 > --iters 3
    r = run(base(inputs, "-o", tmp_path / "o.png", "--save-every", 10))
    assert r.returncode == 0 and (tmp_path / "o-0010.png").read_bytes() == b"not ours"


def test_a_bad_argument_with_stderr_closed_still_exits_2(inputs, tmp_path):
    r = subprocess.run(STYLIZE + ["--size", "-1", "-o", str(tmp_path / "o.png")], cwd=ROOT,
                       timeout=120, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(2))
    assert r.returncode == 2 and list(tmp_path.iterdir()) == []


def test_a_stop_lost_in_a_callback_is_delivered_at_the_next_check(capsys):
    from vgg.console import Signals, Stop

    class Collected:
        def __del__(self):                           # as a weakref callback or __del__ would
            signals._handler(signal.SIGINT, None)
    with Signals() as signals:
        Collected()                                  # the Stop is raised in __del__, and lost
        assert "Stop" not in capsys.readouterr().err  # ... silently, not as "Exception ignored"
        with pytest.raises(Stop):
            signals.check()
