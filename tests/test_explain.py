"""explain.py: one traced iteration at a tiny size with random VGG weights (no download).

It must print every layer on the way down and on the way up, every loss term, and
end with its own check that the replayed gradient equals vgg.transfer.Objective's.
"""
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vgg.layout import LAYER_NAMES
from vgg.transfer import STYLE_LAYERS
from vgg.weights import write_h5
from vgg.weights.testing import random_params

ROOT = Path(__file__).resolve().parent.parent
USED = LAYER_NAMES[:LAYER_NAMES.index("conv5_1") + 1]          # conv1_1 ... pool4, conv5_1


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("explain") / "random.h5"
    write_h5(random_params(seed=0), path)
    return path


def run_explain(*args):
    result = subprocess.run([sys.executable, str(ROOT / "explain.py"), *map(str, args)],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def sections(out):
    """{FORWARD: text, LOSSES: text, BACKWARD: text, ...} split at the capitalised headings."""
    parts = re.split(r"^([A-Z][A-Z ]+):", out, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_default_images_trace_every_layer_both_ways(weights):
    out = run_explain("--size", 32, "--weights", weights)
    part = sections(out)
    down = [line.split()[0] for line in part["FORWARD"].splitlines()[2:] if line.strip()]
    assert down == ["input"] + USED                                        # in order, nothing above
    up = [line.split()[0] for line in part["BACKWARD"].splitlines() if line.startswith("  ")
          and line.split()[0] in USED]
    assert list(dict.fromkeys(up)) == USED[::-1]                          # every layer, top down
    last = [line for line in part["BACKWARD"].splitlines() if line.strip()][-1]
    assert last.split()[0] == "pixels" and "(1, 3, 32, 32)" in last        # ends at the pixels
    assert "sum of the parts vs dL/dx" in part["EACH TERM ALONE"]
    assert "content conv4_2: L_content" in part["LOSSES"]
    for layer in STYLE_LAYERS:
        assert re.search(rf"style   {layer}: N_l = .* E_l = ", part["LOSSES"]), layer
    assert "TV: " in part["LOSSES"] and "total (eq. 7)" in part["LOSSES"]
    assert "CHECK passed" in out


def test_the_fast_engine_traces_the_same_numbers(weights):
    ref, fast = (run_explain("--size", 32, "--weights", weights, "--engine", e)
                 for e in ("reference", "fast"))
    numbers = lambda out: [float(v) for v in re.findall(r"= (-?\d+\.?\d*(?:e[-+]\d+)?)", out)]
    # Each number is printed to 4 significant digits; the two engines' float32 values are
    # within model 2's bound of each other (about 1e-5 at 32 px, tests/error_model.py), so
    # their printed forms differ by at most one unit of the 4th digit: 1e-3 relative.
    assert len(numbers(ref)) > 20 and numbers(fast) == pytest.approx(numbers(ref), rel=1e-3)
    assert "CHECK passed" in fast


def test_user_images_of_another_shape(weights, tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)).save(tmp_path / "c.png")
    Image.fromarray(rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)).save(tmp_path / "s.png")
    out = run_explain("--content", tmp_path / "c.png", "--style", tmp_path / "s.png",
                      "--size", 40, "--weights", weights, "--tv-weight", 0)
    assert "(1, 3, 24, 40)" in out and "CHECK passed" in out
