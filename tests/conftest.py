"""Shared test fixtures: the backend switch, the engines, small input files, a random-weight VGG
and noise pictures for the runs, error bookkeeping.

Every engine test is written once and parametrised over the `backend` fixture:
"numpy" always runs, "cupy" runs where a CUDA device answers and is skipped
with a reason elsewhere. MINIGRAD_TEST_BACKEND=cupy runs only the CuPy half.

Layer tests are also parametrised over the `engine` fixture, every one built by
minigrad.engines.get_engine: the reference engine, the fast engine with a frozen
network's preset (as VGG19 and stylize.py run it; this suite's plan is the defaults),
and the fast engine built to take every one of its paths on small test arrays
(Winograd from one channel up, bands of one row, three worker threads).

Each comparison's largest fraction of its error bound (tests/error_model.py) is
recorded with helpers.record_error and printed in pytest's closing summary, per dtype.
"""
import atexit
import os
import shutil
import tempfile

import numpy as np
import pytest
from PIL import Image

from minigrad.backend import gpu_available, to_device
from minigrad.fast import tune
from vgg.model import VGG19
from vgg.weights.testing import random_params

from .helpers import ENGINES, largest_errors, write_inputs

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


@pytest.fixture(params=BACKENDS)
def backend(request):
    if request.param == "cupy" and not gpu_available():
        pytest.skip("no CUDA device (or CuPy) here: the CuPy backend is tested on a GPU machine")
    return request.param


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


@pytest.fixture(scope="module")
def model():
    """VGG-19 on random weights (no download), for the runs of tests/test_run.py and test_jitter.py."""
    return VGG19(random_params(seed=0))


@pytest.fixture(scope="module")
def pictures():
    """(photo, painting): small PIL images of noise, 52x40 and 36x36."""
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (40, 52, 3), dtype=np.uint8))     # W 52, H 40
    painting = Image.fromarray(rng.integers(0, 256, (36, 36, 3), dtype=np.uint8))
    return photo, painting


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Small inputs for stylize.py (helpers.quick): a noise photo and painting, random weights."""
    return write_inputs(tmp_path_factory.mktemp("stylize"))


def pytest_terminal_summary(terminalreporter):
    lines = largest_errors()
    if lines:
        terminalreporter.section("largest fraction of its error bound used (tests/error_model.py)")
        for line in lines:
            terminalreporter.write_line(line)
