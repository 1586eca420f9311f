"""The fast engine's machinery: its workers, their one-thread BLAS, and the thread count.

The engine's results are tested in test_layers.py (every layer, both engines) and
test_winograd.py; here, what makes it fast must not change a result, must restore
what it changes, and must never stop a run over a bad MINIGRAD_THREADS.
"""
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from minigrad.engines import get_engine
from minigrad.fast.elementwise import maxpool_backward, maxpool_forward, relu_backward, relu_forward
from minigrad.fast.threads import Workers, cores, default_threads
from minigrad import pool
from minigrad.backend import to_numpy
from minigrad.gradcheck import relative_error

from .error_model import assert_within, pool_limits

ROOT = Path(__file__).resolve().parent.parent


def blas_threads():
    from threadpoolctl import threadpool_info
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_slices_cover_the_range_once_in_uneven_parts():
    seen, lock = [], threading.Lock()

    def fn(i0, i1):
        with lock:
            seen.append((i0, i1, threading.current_thread().name))
    Workers(3).map_slices(fn, 7)
    assert sorted((a, b) for a, b, _ in seen) == [(0, 2), (2, 4), (4, 7)]
    assert all(name.startswith("minigrad") for *_, name in seen)        # the engine's threads
    seen.clear()
    Workers(3).map_slices(fn, 1)                                        # less work than threads
    assert [(a, b) for a, b, _ in seen] == [(0, 1)]


def test_jobs_are_dealt_like_cards():
    shares = []
    Workers(3).deal(shares.append, list(range(8)))
    assert sorted(shares) == [[0, 3, 6], [1, 4, 7], [2, 5]]
    shares.clear()
    Workers(1).deal(shares.append, [1, 2])
    assert shares == [[1, 2]]


def test_a_workers_error_reaches_the_caller():
    def fn(i0, i1):
        if i0 > 0:
            raise RuntimeError("worker failed")
    with pytest.raises(RuntimeError, match="worker failed"):
        Workers(2).map_slices(fn, 4)


def test_blas_runs_one_thread_inside_the_workers_and_gets_its_threads_back():
    pytest.importorskip("threadpoolctl")
    before = blas_threads()
    inside = []
    Workers(2).map_slices(lambda i0, i1: inside.append(blas_threads()), 2)
    assert inside and all(all(n == 1 for n in counts) for counts in inside)
    assert blas_threads() == before


def test_the_blas_is_warmed_by_all_workers_at_once_and_only_once(monkeypatch):
    """warm_blas(n): n products inside the BLAS at the same time (so that OpenBLAS gives
    each its own scratch buffer to write), once per process, and none for fewer workers."""
    from minigrad.fast import threads
    monkeypatch.setattr(threads, "_warmed", 0)
    real, lock, names, inside, most = np.matmul, threading.Lock(), [], [0], [0]

    def matmul(*args, **kwargs):
        with lock:
            names.append(threading.current_thread().name)
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        try:
            return real(*args, **kwargs)
        finally:
            with lock:
                inside[0] -= 1
    monkeypatch.setattr(threads.np, "matmul", matmul)
    threads.warm_blas(3)
    assert len(names) == 3 and len(set(names)) == 3 and most[0] == 3
    threads.warm_blas(3)
    threads.warm_blas(2)
    Workers(2).map_slices(lambda i0, i1: None, 2)
    assert len(names) == 3                                            # nothing more


def test_one_thread_per_core_unless_minigrad_threads_says_fewer(capsys):
    assert default_threads({}) == cores()
    assert default_threads({"MINIGRAD_THREADS": "1"}) == 1
    assert default_threads({"MINIGRAD_THREADS": f" {cores()} "}) == cores()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("value", ["abc", "0", "-2", "1.5", "100000"])
def test_a_bad_thread_count_is_said_in_one_line_and_replaced(value, capsys):
    assert default_threads({"MINIGRAD_THREADS": value}) == cores()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "MINIGRAD_THREADS" in err and value in err


@pytest.mark.parametrize("value", ["abc", "0", "100000"])
def test_a_bad_thread_count_does_not_stop_or_hang_a_script(value):
    """A learner's own script, as it runs: one line on stderr, no traceback, a result."""
    code = ("import numpy as np; from minigrad.layers import Conv2d, ReLU\n"
            "x = np.ones((1, 16, 20, 20), np.float32)\n"
            "y = ReLU(engine='fast').forward(Conv2d(16, 16, 3, padding=1, engine='fast').forward(x))\n"
            "print(y.shape)")
    env = {**os.environ, "MINIGRAD_THREADS": value}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       cwd=ROOT, env=env)
    assert r.returncode == 0 and r.stdout.strip() == "(1, 16, 20, 20)", r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "MINIGRAD_THREADS" in r.stderr
    assert "Traceback" not in r.stderr


def test_an_explicit_thread_count_must_be_sensible():
    assert get_engine("fast", threads=2).threads == 2
    for bad in [0, -1, 2.0, "2", 100 * cores()]:
        with pytest.raises(ValueError, match="threads"):
            get_engine("fast", threads=bad)


def three(backend):
    """Three workers on the CPU; one on a GPU, the only count the engine uses there."""
    return Workers(3 if backend == "numpy" else 1)


@pytest.mark.parametrize("shape", [(1, 5, 7, 9), (2, 3, 4, 4), (7,)], ids=str)
def test_relu_on_three_threads(shape, backend, to_backend):
    rng = np.random.default_rng(0)
    x, dout = to_backend(rng.standard_normal(shape)), to_backend(rng.standard_normal(shape))
    y, mask = relu_forward(x, three(backend))
    assert relative_error(y, x * (x > 0)) == 0
    assert relative_error(relu_backward(dout, mask, three(backend)), dout * (x > 0)) == 0


@pytest.mark.parametrize("case", [((2, 5, 7, 9), 2, 2), ((1, 7, 6, 7), 3, 1)], ids=str)
def test_maxpool_on_three_threads(case, backend, to_backend):
    shape, k, stride = case
    rng = np.random.default_rng(1)
    x = to_backend(rng.standard_normal(shape))
    out, cache = maxpool_forward(x, k, stride, three(backend))
    ref, ref_cache = pool.maxpool_forward_naive(x, k, stride)
    dout = to_backend(rng.standard_normal(ref.shape))
    assert relative_error(out, ref) == 0 and relative_error(cache[3], ref_cache[3]) == 0
    # model 1, float64: overlapping windows sum up to ceil(k/stride)^2 routed values, in
    # another order on each side
    limit = pool_limits("max", k, stride, "float64")({"x": to_numpy(x)}, to_numpy(dout))["x"]
    assert_within(maxpool_backward(dout, cache, three(backend)),
                  pool.maxpool_backward_naive(dout, ref_cache), 2 * limit, "dx")
