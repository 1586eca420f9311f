"""Winograd F(2x2, 3x3) (minigrad/winograd.py) against the naive convolution of conv.py.

Odd and even sizes (a half tile at the bottom or right), one pixel, several channels,
bands of one tile row and of the whole image, forward and both backward paths
(image gradient through Winograd, weight gradient through im2col), float64 and float32.
"""
import numpy as np
import pytest

from minigrad import backend as backend_mod
from minigrad import conv, winograd
from minigrad.gradcheck import relative_error

TOL = {"float64": 1e-12, "float32": 1e-5}

# (N, C, H, W, K)
CASES = [(1, 3, 7, 9, 4), (2, 5, 6, 5, 3), (1, 4, 1, 1, 2), (1, 2, 2, 3, 3),
         (2, 6, 8, 8, 7), (1, 17, 11, 13, 19)]
ids = ["N%dC%dH%dW%dK%d" % c for c in CASES]


def inputs(N, C, H, W, K, dtype, to_backend, seed=0):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((N, C, H, W)), rng.standard_normal((K, C, 3, 3))
    b, dout = rng.standard_normal(K), rng.standard_normal((N, K, H, W))
    return [to_backend(a.astype(dtype)) for a in (x, w, b, dout)]


@pytest.fixture(params=["one-band", "row-per-band", "row-per-band-3-threads"])
def band(request, monkeypatch):
    """Whole image in one band, or every tile row a band of its own (bands dealt to 3 threads)."""
    if request.param.endswith("threads"):
        monkeypatch.setenv("MINIGRAD_THREADS", "3")
    if request.param.startswith("row-per-band"):
        monkeypatch.setattr(winograd, "band_bytes", lambda xp: 1)
        monkeypatch.setattr(winograd, "MIN_TILES", 1)
    else:
        monkeypatch.setattr(winograd, "band_bytes", lambda xp: 2**40)
    return request.param


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_winograd_reference_equals_naive_conv(case, dtype, backend, to_backend):
    x, w, b, _ = inputs(*case, dtype, to_backend)
    ref, _ = conv.conv2d_forward_naive(x, w, b, 1, 1)
    assert relative_error(winograd.conv3x3_forward_naive(x, w, b), ref) < TOL[dtype]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_fast_winograd_conv_equals_naive(case, dtype, band, backend, to_backend, monkeypatch):
    monkeypatch.setenv("MINIGRAD_CONV", "winograd")           # the GPU's default is im2col
    monkeypatch.setattr(conv, "WINOGRAD_MIN_CHANNELS", 1)     # small test channels take the path
    x, w, b, dout = inputs(*case, dtype, to_backend)
    ref, ref_cache = conv.conv2d_forward_naive(x, w, b, 1, 1)
    ref_grads = conv.conv2d_backward_naive(dout, ref_cache)
    out, cache = conv.conv2d_forward(x, w, b, 1, 1)
    assert cache[5] is not None                                 # the Winograd path ran
    assert out.dtype == x.dtype and relative_error(out, ref) < TOL[dtype]
    dx, dw, db = conv.conv2d_backward(dout, cache)
    for g, g_ref in zip((dx, dw, db), ref_grads):
        assert g.dtype == x.dtype and relative_error(g, g_ref) < TOL[dtype]
    dx_only, none_w, none_b = conv.conv2d_backward(dout, cache, need_dw=False)
    assert none_w is None and none_b is None and relative_error(dx_only, ref_grads[0]) < TOL[dtype]


def test_backward_does_not_mutate_dout_or_cache(backend, to_backend, monkeypatch):
    monkeypatch.setenv("MINIGRAD_CONV", "winograd")
    monkeypatch.setattr(conv, "WINOGRAD_MIN_CHANNELS", 1)
    x, w, b, dout = inputs(1, 3, 5, 6, 4, "float64", to_backend)
    out, cache = conv.conv2d_forward(x, w, b, 1, 1)
    saved = [a.copy() for a in (dout, x, w, b, cache[5])]
    conv.conv2d_backward(dout, cache)
    for a, s in zip((dout, x, w, b, cache[5]), saved):
        assert relative_error(a, s) == 0


def test_vgg_shapes_take_the_winograd_path(monkeypatch):
    monkeypatch.delenv("MINIGRAD_CONV", raising=False)
    w = np.zeros((64, 64, 3, 3), dtype=np.float32)
    assert conv.uses_winograd(w, 1, 1)
    assert not conv.uses_winograd(np.zeros((64, 3, 3, 3)), 1, 1)      # conv1_1: im2col
    assert not conv.uses_winograd(w, 2, 1) and not conv.uses_winograd(w, 1, 0)


def test_the_3x3_algorithm_is_a_backend_decision_that_the_environment_overrides(monkeypatch):
    w = np.zeros((64, 64, 3, 3), dtype=np.float32)
    monkeypatch.setenv("MINIGRAD_CONV", "im2col")
    assert backend_mod.conv3x3_algorithm(np) == "im2col" and not conv.uses_winograd(w, 1, 1)
    monkeypatch.delenv("MINIGRAD_CONV")
    assert backend_mod.conv3x3_algorithm(np) == backend_mod.CONV3X3["numpy"]


def test_band_size_and_threads_are_backend_decisions(monkeypatch):
    assert backend_mod.band_bytes(np) > 0
    monkeypatch.setenv("MINIGRAD_THREADS", "2")
    assert backend_mod.host_threads(np) == 2
