"""vgg/orientation.py: the power of conv1_1's response, and the preconditioner that evens it out.

The claim the preconditioner rests on: a gradient step on a loss through a convolution grows
a pattern of frequency f by P(f), the summed power of the filters at f, so a bank that prefers
the grid's axes grows axial lines faster than slanted ones of the same period; with M = P_min/P
applied to the step, both grow alike. These tests check P against its definition, that claim
on a real convolution's backward (minigrad's Conv2d, zero padding and all), and that M is the
symmetric positive definite matrix L-BFGS needs, on each backend.
"""
import numpy as np
import pytest

from minigrad.backend import backend_module, to_device, to_numpy
from minigrad.layers import Conv2d
from vgg.orientation import (axis_preference, first_layer_power, orientation_filter,
                             orientation_gain, ring_min, rings)


def axis_loving_bank(seed=0):
    """A (64, 3, 3, 3) bank of random filters plus smoothed second differences (a [1, -2, 1]
    across columns times a [1, 2, 1] down rows, and the same turned): fine axial lines answer
    it far more strongly than slanted ones, as conv1_1's fine filters do."""
    rng = np.random.default_rng(seed)
    W = 0.2 * rng.standard_normal((64, 3, 3, 3))
    lines = np.outer([1, 2, 1], [1, -2, 1])            # (3, 3): vertical lines
    W[:8] += lines
    W[8:16] += lines.T                                 # horizontal lines
    return W


def test_power_is_the_sum_of_the_filters_squared_responses():
    # P(f) = sum_o |sum_{c, dy, dx} W[o, c, dy, dx] e^{-i 2 pi (f_y dy + f_x dx)}|^2, summed
    # directly at a few frequencies of rfft2's grid, against the FFT's whole grid.
    W, shape = axis_loving_bank(), (20, 24)
    P = first_layer_power(W, shape)
    assert P.shape == (20, 13)
    dy, dx = np.meshgrid(np.arange(3), np.arange(3), indexing="ij")
    for ky, kx in [(0, 0), (0, 5), (3, 0), (7, 12), (15, 4)]:
        fy, fx = np.fft.fftfreq(20)[ky], kx / 24
        phase = np.exp(-2j * np.pi * (fy * dy + fx * dx))              # (3, 3)
        direct = sum(abs((W[o].sum(axis=0) * phase).sum()) ** 2 for o in range(64))
        assert P[ky, kx] == pytest.approx(direct, rel=1e-9)


def test_gain_equalises_each_ring_and_never_boosts():
    W, shape = axis_loving_bank(), (64, 64)
    P, M, ring = first_layer_power(W, shape), orientation_gain(W, shape), rings(shape)
    assert M.max() <= 1 + 1e-12 and M.min() > 0
    MP = M * P
    for r in np.unique(ring):
        here = MP[ring == r]
        assert here.max() == pytest.approx(here.min(), rel=1e-9)          # the same on the ring
        assert here.min() == pytest.approx(P[ring == r].min(), rel=1e-9)  # ... its least power
    assert np.array_equal(ring_min(np.array([3.0, 1.0, 2.0]), np.array([0, 0, 1])), [1, 1, 2])


def growth(W, pattern, precondition=None):
    """How much one gradient step on E = 1/2 |conv(x)|^2 (zero padding, no bias) grows `pattern`:
    <d, x> / <x, x> with d = dE/dx = conv^T conv x (times M with a preconditioner)."""
    conv = Conv2d(3, 64, 3, padding=1, dtype="float64")
    conv.W, conv.b = W, np.zeros(64)
    x = np.broadcast_to(pattern, (1, 3) + pattern.shape).copy()          # grey: (1, 3, H, W)
    d = conv.backward(conv.forward(x))                                  # dE/dout = out
    if precondition is not None:
        d = precondition(d)
    return float((d * x).sum() / (x * x).sum())


def test_a_step_grows_axial_and_slanted_lines_alike():
    # Period 2.56 px on a 128-px canvas: 50 cycles along an axis, (30, 40) cycles slanted,
    # the same radius exactly (30^2 + 40^2 = 50^2), so both lie on one ring.
    W, n = axis_loving_bank(), 128
    yy, xx = np.mgrid[:n, :n] / n
    axial, slanted = np.cos(2 * np.pi * 50 * xx), np.cos(2 * np.pi * (30 * yy + 40 * xx))
    plain = growth(W, axial) / growth(W, slanted)
    M = orientation_filter(W, (n, n))
    even = growth(W, axial, M) / growth(W, slanted, M)
    # Without M the bank grows the axial lines much faster (about 4.7 times with this bank).
    assert plain > 2
    # With M, M P is the same for both, up to the zero padding: the outermost pixel of each
    # side (2 rows and 2 columns of 128, 3% of the pattern's energy at most) sees fewer taps,
    # which moves each growth by a few per cent at most.
    assert even == pytest.approx(1, abs=0.05)


def test_filter_is_symmetric_positive_and_keeps_the_dtype(backend):
    rng = np.random.default_rng(2)
    W, shape = axis_loving_bank(1), (24, 30)
    M = orientation_filter(W, shape, backend_module(backend))
    a, b = (to_device(rng.standard_normal((1, 3) + shape).astype(np.float32), backend) for _ in "ab")
    Ma, Mb = M(a), M(b)
    assert Ma.dtype == a.dtype and Ma.shape == a.shape
    a_, b_, Ma_, Mb_ = (to_numpy(v).astype(np.float64) for v in (a, b, Ma, Mb))
    # <a, M b> = <M a, b>: M is real and even in frequency. float32 FFTs round each entry to
    # about log2(n) u relative; over 2160 entries the two sums agree to about 1e-5 of their size.
    scale = np.abs(a_).sum() * np.abs(Mb_).max() + np.abs(b_).sum() * np.abs(Ma_).max()
    assert abs((a_ * Mb_).sum() - (Ma_ * b_).sum()) <= 1e-5 * scale
    assert (a_ * Ma_).sum() > 0
    # A constant image is the zero frequency alone: M scales it by M(0).
    gain = orientation_gain(W, shape)
    flat = to_device(np.ones((1, 3) + shape, np.float32), backend)
    assert np.allclose(to_numpy(M(flat)), gain[0, 0], rtol=1e-5)


def test_real_conv1_1_prefers_the_axes_at_fine_periods():
    from vgg.weights import DEFAULT_PATH, load_weights
    if not DEFAULT_PATH.exists():
        pytest.skip(f"{DEFAULT_PATH} is not here (python -m vgg.weights fetches it)")
    W = load_weights(DEFAULT_PATH)["conv1_1"][0]
    shape = (512, 512)
    coarse, fine = axis_preference(first_layer_power(W, shape), shape, [16, 2.1])
    assert coarse == pytest.approx(1, abs=0.05)      # a 16-px pattern: no preference
    assert fine > 1.4                                # 2.1 px: the axes take much more
