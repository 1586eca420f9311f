"""benchmarks/rotation_probe.py, the experiment of docs/look.md's "What the mesh still counts":
its rotation is a rotation, and its backward pass is the forward's adjoint."""
import importlib.util

import numpy as np
import pytest

from .helpers import ROOT

spec = importlib.util.spec_from_file_location("rotation_probe", ROOT / "benchmarks" / "rotation_probe.py")
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)


def test_no_turn_is_the_identity():
    x = np.random.default_rng(0).standard_normal((1, 3, 9, 12))
    assert np.allclose(probe.rotate(x, probe.rotation(9, 12, 0.0)), x)


def test_a_quarter_turn_of_a_square_moves_every_pixel_as_rot90():
    # On a square the grid maps onto itself: bilinear sampling lands on whole pixels (cos and
    # sin of pi/2 are exact to 1e-16, far below the tolerance). Output pixel (i, j) samples
    # the source at (ci - (j - cj), cj + (i - ci)): a quarter turn clockwise, numpy's k=-1.
    x = np.random.default_rng(1).standard_normal((1, 2, 8, 8))
    turned = probe.rotate(x, probe.rotation(8, 8, np.pi / 2))
    assert np.allclose(turned, np.rot90(x, k=-1, axes=(2, 3)), atol=1e-9)
    assert not np.allclose(turned, x)


@pytest.mark.parametrize("borders", ["mirror", "clamp"])
def test_the_backward_pass_is_the_adjoint(borders):
    # <R x, g> = <x, R^T g> for any x and g: the dot-product test, in float64 (agreement to
    # about 1e-12 of the sums' size).
    rng = np.random.default_rng(2)
    x, g = rng.standard_normal((2, 1, 3, 11, 14))
    R = probe.rotation(11, 14, np.deg2rad(7.0), borders)
    left, right = (probe.rotate(x, R) * g).sum(), (x * probe.rotate_adjoint(g, R)).sum()
    assert abs(left - right) < 1e-9 * np.abs(x).sum()
