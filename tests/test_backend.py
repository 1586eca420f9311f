"""minigrad/backend.py: the array module follows the data, whoever made the array."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minigrad.backend import (BackendUnavailable, backend_module, get_array_module,
                              gpu_available, is_cupy_array, to_numpy)

ROOT = Path(__file__).resolve().parent.parent


def test_numpy_and_plain_values_give_numpy():
    assert get_array_module(np.zeros(3)) is np
    assert get_array_module(np.zeros(3), 2.0, [1]) is np
    assert get_array_module() is np
    assert not is_cupy_array(np.zeros(3))


def test_an_array_is_recognised_as_cupy_by_its_type():
    CuPyLike = type("ndarray", (), {"__module__": "cupy._core.core"})    # how cupy names its type
    assert is_cupy_array(CuPyLike())
    assert not is_cupy_array(type("ndarray", (), {"__module__": "numpy"})())


def test_a_learners_own_cupy_array_takes_the_cupy_path():
    """cupy.asarray(x) made before minigrad was ever asked for CuPy: a fresh process."""
    if not gpu_available():
        pytest.skip("no CUDA device (or CuPy) here: needs a real CuPy array")
    code = ("import cupy, numpy as np\n"
            "from minigrad.backend import get_array_module, to_numpy\n"
            "x = cupy.asarray(np.arange(3.0))\n"
            "xp = get_array_module(x)\n"
            "print(xp.__name__, type(xp.maximum(x, 1)).__module__.split('.')[0], to_numpy(x).sum())")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["cupy", "cupy", "3.0"]


def test_to_numpy_and_unknown_backends():
    a = np.arange(4.0)
    assert to_numpy(a) is a
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        backend_module("tpu")
    if not gpu_available():
        with pytest.raises(BackendUnavailable, match="cupy"):
            backend_module("cupy")
