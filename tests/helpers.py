"""What several test modules share that is not a fixture: the repository's paths, running
its scripts, small input files, a file-size limit, and the record of how much of its error
bound each comparison used. Fixtures built on these live in conftest.py; tests/oracle.py
holds PyTorch's side. No test module imports another: they all import from here.
"""
import contextlib
import importlib.util
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from minigrad.engines import get_engine

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "images"              # the maintainers' images, if present


# The engines every layer test runs on (the `engine` fixture), each built the only way
# engines are built, minigrad.engines.get_engine:
ENGINES = {
    "reference": lambda: get_engine("reference"),
    "fast": lambda: get_engine("fast", frozen=True),          # as VGG19 and stylize.py run it
    "fast-every-path": lambda: get_engine("fast", conv3x3="winograd", winograd_min_channels=1,
                                          band_bytes=1, min_tiles=1, threads=3),
}


def run_script(script, *args, timeout=300):
    """Run one of the repository's scripts (stylize.py, figures.py, ...) as a user would,
    from the repository root; its CompletedProcess, output as text."""
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def run_stylize(*args, timeout=300):
    return run_script("stylize.py", *args, timeout=timeout)


def quick(files, *extra):
    """stylize.py's arguments for a small quick run on the `files` fixture's inputs."""
    return ["--content", files / "content.png", "--style", files / "style.jpg",
            "--weights", files / "random.h5", "--size", 32, "--iters", 3, "--quiet", *extra]


def write_inputs(folder, photo=(40, 52), painting=(36, 36), photo_name="content.png",
                 painting_name="style.jpg", weights_name="random.h5"):
    """A noise photo and painting of the given (height, width), or the photo's own pixels
    (an (h, w, 3) uint8 array), and VGG-19 weights drawn at random (seed 0) as an .h5,
    written into `folder`; returns the folder."""
    from vgg.weights import write_h5
    from vgg.weights.testing import random_params
    rng = np.random.default_rng(0)
    for name, pixels in ((photo_name, photo), (painting_name, painting)):
        if not isinstance(pixels, np.ndarray):
            pixels = rng.integers(0, 256, (*pixels, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / name)
    write_h5(random_params(seed=0), folder / weights_name)
    return folder


def load_script(path, name):
    """A script that is not in a package (docs/check_links.py, notebooks/build.py), as a module."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


_errors = defaultdict(lambda: (0.0, ""))                  # (kind, dtype) -> (largest used, where)


def record_error(kind, dtype, used, where=""):
    """Keep the largest fraction of its error bound (tests/error_model.py) a test used."""
    key = (kind, str(dtype))
    if used >= _errors[key][0]:
        _errors[key] = (used, where)


def largest_errors():
    """Lines for pytest's closing summary: per kind and dtype, the largest fraction used."""
    return [f"{kind:<28} {dtype:<8} {used:8.2e}   {where}"
            for (kind, dtype), (used, where) in sorted(_errors.items())]
