"""Shared test fixtures: the backend switch, the engines, the PyTorch oracle, error bookkeeping.

Every engine test is written once and parametrised over the `backend` fixture:
"numpy" always runs, "cupy" runs where a CUDA device answers and is skipped
with a reason elsewhere. MINIGRAD_TEST_BACKEND=cupy runs only the CuPy half.

Layer tests are also parametrised over the `engine` fixture, every one built by
minigrad.engines.get_engine: the reference engine, the fast engine with a frozen
network's preset (as VGG19 and stylize.py run it; this suite's plan is the defaults),
and the fast engine built to take every one of its paths on small test arrays
(Winograd from one channel up, bands of one row, three worker threads).

Each comparison's largest fraction of its error bound (tests/error_model.py) is
recorded with `record_error` and printed in pytest's closing summary, per dtype.
"""
import atexit
import contextlib
import os
import shutil
import tempfile
from collections import defaultdict

import numpy as np
import pytest

from minigrad.backend import gpu_available, to_device, to_numpy
from minigrad.fast import tune
from minigrad.engines import get_engine

# The fast engine's measured plan (minigrad/fast/tune.py) lives in the user's cache folder.
# The tests take the engine's defaults instead, on any machine, and never wait for a
# measurement: a cache folder of their own (for this process and the stylize.py runs it
# starts) whose plan for this machine is the defaults. Only tests/test_tune.py measures,
# on purpose, into folders of its own.
os.environ["MINIGRAD_CACHE_DIR"] = tempfile.mkdtemp(prefix="minigrad-test-cache-")
atexit.register(shutil.rmtree, os.environ["MINIGRAD_CACHE_DIR"], ignore_errors=True)
tune.keep(tune.default_plan())

_only = os.environ.get("MINIGRAD_TEST_BACKEND")
BACKENDS = [b for b in ("numpy", "cupy") if _only in (None, "", b)]

_errors = defaultdict(lambda: (0.0, ""))


@pytest.fixture(params=BACKENDS)
def backend(request):
    if request.param == "cupy" and not gpu_available():
        pytest.skip("no CUDA device (or CuPy) here: the CuPy backend is tested on a GPU machine")
    return request.param


ENGINES = {
    "reference": lambda: get_engine("reference"),
    "fast": lambda: get_engine("fast", frozen=True),          # as VGG19 and stylize.py run it
    "fast-every-path": lambda: get_engine("fast", conv3x3="winograd", winograd_min_channels=1,
                                          band_bytes=1, min_tiles=1, threads=3),
}


@pytest.fixture(params=list(ENGINES))
def engine(request):
    return ENGINES[request.param]()


@pytest.fixture(params=["contiguous", "transposed"])
def layout(request):
    """How 4-D inputs are laid out in memory: fresh arrays, or transposed views of them."""
    return request.param


@pytest.fixture
def to_backend(backend):
    """Move a NumPy array to the test's backend."""
    return lambda a: to_device(a, backend)


def record_error(kind, dtype, used, where=""):
    """Keep the largest fraction of its error bound (tests/error_model.py) a test used."""
    key = (kind, str(dtype))
    if used >= _errors[key][0]:
        _errors[key] = (used, where)


def pytest_terminal_summary(terminalreporter):
    if not _errors:
        return
    terminalreporter.section("largest fraction of its error bound used (tests/error_model.py)")
    for (kind, dtype), (used, where) in sorted(_errors.items()):
        terminalreporter.write_line(f"{kind:<28} {dtype:<8} {used:8.2e}   {where}")


__all__ = ["record_error", "to_numpy", "np"]


@contextlib.contextmanager
def file_size_limit(limit):
    """Writes past `limit` bytes of any file fail (EFBIG), as on a full disk, while inside:
    a failure that strikes in the middle of writing a file, wherever the bytes go. POSIX
    only (RLIMIT_FSIZE); SIGXFSZ, which would kill the process, is ignored meanwhile."""
    import resource
    import signal
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
