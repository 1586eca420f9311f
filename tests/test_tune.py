"""The fast engine's plan (minigrad/fast/plan.py) and its measurement (minigrad/fast/tune.py):
a plan changes which algorithm runs, never a result; it is kept per machine and found
again only on that machine; a missing, damaged or foreign one gives the defaults; a kept
one is never measured again; stylize.py measures once, the first time.

Every test here works in a cache folder of its own (the other tests use conftest.py's,
whose plan is the defaults).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from minigrad import conv
from minigrad.engines import get_engine
from minigrad.fast import tune
from minigrad.fast.plan import Conv, Plan

from .error_model import assert_within, conv_pair_limits
from vgg.layout import CONV_SHAPES, LAYER_NAMES, min_input_size
from vgg.model import VGG19

from .helpers import ROOT, quick


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache folder of the test's own, empty; the plan's path in it."""
    monkeypatch.setenv("MINIGRAD_CACHE_DIR", str(tmp_path / "cache"))
    return tune.cache_path()


PLAN = Plan(threads=1, band_bytes=2**20, convs=(
    Conv(16, 16, 32, forward="im2col", backward=4, forward_tiles=128, backward_tiles=512),
    Conv(16, 16, 8, forward=2, backward="im2col")))


def test_the_shapes_measured_are_vgg19s():
    shapes = set()
    for name in LAYER_NAMES[:LAYER_NAMES.index("conv5_1") + 1]:
        if name in CONV_SHAPES and CONV_SHAPES[name][1] >= 16:       # conv1_1 takes im2col
            K, C = CONV_SHAPES[name][:2]
            shapes.add((C, K, 256 // min_input_size(name)))
    assert shapes == set(tune.VGG_SHAPES)


def test_a_plan_is_data_that_survives_its_file():
    assert Plan.from_dict(json.loads(json.dumps(PLAN.to_dict()))) == PLAN
    lines = PLAN.table()
    assert lines[0] == "worker threads: 1" and lines[1] == "band size: 1 MB"
    assert any("im2col" in line and "F(4x4), 512 tiles" in line for line in lines)
    for bad in [dict(threads=0, band_bytes=1), dict(threads=1, band_bytes=0)]:
        with pytest.raises(ValueError):
            Plan(**bad)
    with pytest.raises(ValueError, match="unknown algorithm"):
        Plan(1, 1, (Conv(1, 1, 1, "fft", 2),))


def test_a_layer_takes_the_entry_of_its_shape_nearest_in_size():
    assert PLAN.conv(16, 16, 30).side == 32 and PLAN.conv(16, 16, 64).side == 32
    assert PLAN.conv(16, 16, 9).side == 8 and PLAN.conv(16, 16, 2).side == 8
    assert PLAN.conv(16, 32, 32) is None                               # a shape it never saw


def test_the_engine_follows_the_plan_and_gives_the_reference_numbers():
    engine = get_engine("fast", plan=PLAN)
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((16, 16, 3, 3)), rng.standard_normal(16)
    for side, forward, backward in [(32, "im2col", 4), (8, 2, "im2col")]:
        x = rng.standard_normal((1, 16, side, side))
        dout = rng.standard_normal((1, 16, side, side))
        assert engine._algorithm(w, 1, 1, x.shape, forward=True) == forward
        assert engine._algorithm(w, 1, 1, x.shape, forward=False) == backward
        out, cache = engine.conv2d_forward(x, w, b, 1, 1)
        dx = engine.conv2d_backward(dout, cache, need_dw=False)[0]
        ref, ref_cache = conv.conv2d_forward_naive(x, w, b, 1, 1)
        ref_dx = conv.conv2d_backward_naive(dout, ref_cache, need_dw=False)[0]
        # float64, model 1 (tests/error_model.py): each algorithm and the naive loops within
        # their bounds of the exact sums
        limit = conv_pair_limits(x, w, b, dout, (forward, backward), "float64")
        assert_within(out, ref, limit["out"], "forward")
        assert_within(dx, ref_dx, limit["x"], "dx")
    assert engine._tiles_per_band(w, (1, 16, 32, 32), True) == 128
    assert engine._tiles_per_band(w, (1, 16, 32, 32), False) == 512
    # explicit arguments are what a test or a benchmark asked for: they beat the plan
    assert get_engine("fast", plan=PLAN, conv3x3="winograd", winograd_tile=2)._algorithm(
        w, 1, 1, (1, 16, 32, 32), forward=True) == 2


def test_the_plans_threads_give_way_to_minigrad_threads(monkeypatch):
    monkeypatch.delenv("MINIGRAD_THREADS", raising=False)
    assert get_engine("fast", plan=PLAN).threads == 1
    assert get_engine("fast", plan=Plan(threads=10**4, band_bytes=1)).threads == tune.cores()
    monkeypatch.setenv("MINIGRAD_THREADS", "1")
    assert get_engine("fast", plan=Plan(threads=2, band_bytes=1)).threads == 1


def test_a_kept_plan_is_found_again_only_on_the_same_machine(cache, monkeypatch):
    assert tune.kept_plan() is None                                    # nothing kept yet
    tune.keep(PLAN)
    assert tune.kept_plan() == PLAN
    assert [p.name for p in cache.parent.iterdir()] == [cache.name]    # no temporary file left
    record = json.loads(cache.read_text())
    for field in ("processor", "cores", "numpy", "blas"):              # another machine
        other = dict(record, machine=dict(record["machine"], **{field: "elsewhere"}))
        cache.write_text(json.dumps(other))
        assert tune.kept_plan() is None, field
    cache.write_text(json.dumps(dict(record, format="minigrad-fast-plan-v0")))
    assert tune.kept_plan() is None                                    # an older format
    for damaged in ["{", "[]", json.dumps(dict(record, plan={"threads": 1})), "null"]:
        cache.write_text(damaged)
        assert tune.kept_plan() is None, damaged
    cache.unlink()
    cache.mkdir()                                                      # unreadable: a folder
    assert tune.kept_plan() is None


QUIET = (lambda: (False, 0.1))      # the machine as tune.machine_busy would find it
BUSY = (lambda: (True, 3.0))


def test_a_kept_plan_is_never_measured_again_and_a_missing_one_once(cache, monkeypatch):
    measured = []
    monkeypatch.setattr(tune, "calibrate", lambda seconds=10: measured.append(seconds) or PLAN)
    monkeypatch.setattr(tune, "machine_busy", QUIET)
    said = []
    assert tune.plan_for_this_machine(say=said.append, busy=QUIET) == PLAN   # measured, kept
    assert len(measured) == 1 and len(said) == 1 and "measuring" in said[0]
    assert tune.plan_for_this_machine(say=said.append) == PLAN        # found: not measured
    assert len(measured) == 1 and len(said) == 1
    assert tune.main(["--forget"]) == 0 and not cache.exists()


def test_without_a_kept_plan_a_library_network_takes_the_defaults(cache, files):  # noqa: F811
    tune.keep(PLAN)
    assert VGG19.load(files / "random.h5", engine="fast").engine.plan == PLAN
    assert tune.main(["--forget"]) == 0 and not cache.exists()
    engine = VGG19.load(files / "random.h5", engine="fast").engine
    assert engine.plan is None                                         # deleting it: the defaults
    w = np.zeros((64, 64, 3, 3), np.float32)
    assert engine._algorithm(w, 1, 1, (1, 64, 64, 64), True) == 2       # F(2x2) forward ...
    assert engine._algorithm(w, 1, 1, (1, 64, 64, 64), False) == 4      # ... F(4x4) backward


def test_a_busy_machine_is_not_measured_and_keeps_nothing(cache, monkeypatch):
    monkeypatch.setattr(tune, "calibrate", lambda seconds=10: pytest.fail("measured while busy"))
    said = []
    assert tune.plan_for_this_machine(say=said.append, busy=BUSY) == tune.default_plan()
    assert said == [] and not cache.exists()                           # the next quiet run measures


def test_the_load_average_decides_busy(monkeypatch):
    monkeypatch.setattr(tune, "cores", lambda: 2)
    monkeypatch.setattr(tune.os, "getloadavg", lambda: (1.0, 0.5, 0.2))
    assert tune.machine_busy() == (True, 1.0)                          # half the cores: busy
    monkeypatch.setattr(tune.os, "getloadavg", lambda: (0.4, 0.5, 0.2))
    assert tune.machine_busy() == (False, 0.4)


def test_a_plan_that_cannot_be_kept_is_used_for_the_run(cache, monkeypatch):
    monkeypatch.setattr(tune, "calibrate", lambda seconds=10: PLAN)
    cache.parent.parent.mkdir(exist_ok=True)
    cache.parent.write_text("a file where the folder should be")
    said = []
    assert tune.plan_for_this_machine(say=said.append, busy=QUIET) == PLAN
    assert len(said) == 2 and "could not keep" in said[1]


def test_a_short_calibration_gives_a_valid_plan_of_vgg_shapes(cache):
    plan = tune.calibrate(seconds=0.5)                                 # stops at its deadline
    assert isinstance(plan, Plan) and 1 <= plan.threads <= tune.cores()
    assert plan.band_bytes in tune.BANDS
    assert {(c.C, c.K) for c in plan.convs} <= {(C, K) for C, K, _ in tune.VGG_SHAPES}


def test_the_command_prints_its_choices_and_stylize_measures_only_once(cache, files, tmp_path):  # noqa: F811
    env = {**os.environ, "MINIGRAD_CACHE_DIR": str(cache.parent)}

    def run(*args):
        return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True,
                              text=True, env=env, timeout=300)

    def stylize(out):                      # not --quiet: it speaks; the machine taken as quiet
        quiet = ("import runpy, sys, minigrad.fast.tune as t; t.machine_busy = lambda: (False, 0.0); "
                 "sys.argv[0] = 'stylize.py'; runpy.run_path('stylize.py', run_name='__main__')")
        return run("-c", quiet, *[a for a in quick(files, "-o", out) if a != "--quiet"])
    shown = run("-m", "minigrad.fast.tune", "--show")
    assert "no plan for this machine" in shown.stdout and "Warning" not in shown.stderr
    first = stylize(tmp_path / "one.png")
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("measuring the fast engine") == 1 and cache.exists()
    kept = cache.read_bytes()
    second = stylize(tmp_path / "two.png")
    assert second.returncode == 0 and "measuring" not in second.stderr
    assert cache.read_bytes() == kept                                  # not measured again
    shown = run("-m", "minigrad.fast.tune", "--show").stdout
    assert "worker threads:" in shown and "band size:" in shown
