"""Winograd F(2x2, 3x3) and F(4x4, 3x3) (minigrad/fast/winograd.py) against the naive
convolution of conv.py.

First the algebra, in float64: each tile size's matrices compute a 1-D correlation
exactly. Then odd and even sizes (a half tile at the bottom or right), one pixel, several channels,
bands of one tile row and of the whole image, one worker or three, forward and both
backward paths (image gradient through Winograd, weight gradient through im2col),
float64 and float32. The fast engine is steered by its constructor's arguments.
"""
import weakref

import numpy as np
import pytest

from minigrad import conv
from minigrad.engines import get_engine
from minigrad.fast import winograd
from minigrad.fast.threads import Workers
from minigrad.gradcheck import relative_error

from .error_model import (LAMBDA_NORM, assert_within, bound, conv_backward_spread,
                          conv_pair_limits, conv_spread, norm, normwise_error)

TILES = [2, 4]

# (N, C, H, W, K)
CASES = [(1, 3, 7, 9, 4), (2, 5, 6, 5, 3), (1, 4, 1, 1, 2), (1, 2, 2, 3, 3),
         (2, 6, 8, 8, 7), (1, 17, 11, 13, 19)]
ids = ["N%dC%dH%dW%dK%d" % c for c in CASES]

# Whole image in one band, or every tile row a band of its own (dealt to 3 threads or not).
BANDS = {"one-band": dict(band_bytes=2**40, threads=1),
         "row-per-band": dict(band_bytes=1, min_tiles=1, threads=1),
         "row-per-band-3-threads": dict(band_bytes=1, min_tiles=1, threads=3)}


def inputs(N, C, H, W, K, dtype, to_backend, seed=0):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((N, C, H, W)), rng.standard_normal((K, C, 3, 3))
    b, dout = rng.standard_normal(K), rng.standard_normal((N, K, H, W))
    return [to_backend(a.astype(dtype)) for a in (x, w, b, dout)]


def winograd_engine(**settings):
    """The fast engine taking Winograd for every 3x3 convolution, even of one channel."""
    return get_engine("fast", conv3x3="winograd", winograd_min_channels=1, **settings)


@pytest.mark.parametrize("m", TILES)
def test_matrices_compute_a_1d_correlation(m):
    """F(m, 3): A^T [(G g) * (B^T d)] = the m outputs y_i = sum_k d[i + k] g[k]."""
    BT, G, AT = winograd.MATRICES[m]
    rng = np.random.default_rng(m)
    for _ in range(20):
        d, g = rng.standard_normal(m + 2), rng.standard_normal(3)
        y = np.array([d[i:i + 3] @ g for i in range(m)])
        # model 1, float64: G g (3 roundings), B^T d (a), their product (1), A^T (a), and the
        # direct sums (3), both within gamma of the exact correlation
        magnitude = np.abs(AT) @ ((np.abs(G) @ np.abs(g)) * (np.abs(BT) @ np.abs(d)))
        assert_within(AT @ ((G @ g) * (BT @ d)), y, bound(magnitude, 2 * (m + 2) + 7, "float64"))


@pytest.mark.parametrize("m", TILES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_winograd_reference_equals_naive_conv(case, dtype, m, backend, to_backend):
    x, w, b, dout = inputs(*case, dtype, to_backend)
    ref, _ = conv.conv2d_forward_naive(x, w, b, 1, 1)
    assert_within(winograd.conv3x3_forward_naive(x, w, b, m), ref,
                  conv_pair_limits(x, w, b, dout, (m, m), dtype)["out"], "forward")


@pytest.mark.parametrize("m", TILES)
@pytest.mark.parametrize("band", list(BANDS))
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_banded_conv3x3_equals_naive(case, band, m, backend, to_backend):
    x, w, b, dout = inputs(*case, "float64", to_backend)
    settings = {"band_bytes": 8 * 2**20, "min_tiles": 256, **BANDS[band]}
    workers = Workers(settings["threads"] if backend == "numpy" else 1)   # the engine's choice
    U = winograd.kernel_transform(w, m, workers)
    out = winograd.conv3x3(x, U, b, None, workers, settings["band_bytes"], settings["min_tiles"])
    ref, _ = conv.conv2d_forward_naive(x, w, b, 1, 1)
    assert_within(out, ref, conv_pair_limits(x, w, b, dout, (m, m), "float64")["out"], "forward")


@pytest.mark.parametrize("m", TILES + [(2, 4)], ids=["F2", "F4", "F2-forward-F4-backward"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("band", list(BANDS))
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_fast_winograd_conv_equals_naive(case, dtype, band, m, backend, to_backend):
    engine = winograd_engine(winograd_tile=m, **BANDS[band])
    x, w, b, dout = inputs(*case, dtype, to_backend)
    assert engine._algorithm(w, 1, 1, x.shape, forward=True) == (m if m in TILES else m[0])
    ref, ref_cache = conv.conv2d_forward_naive(x, w, b, 1, 1)
    ref_grads = conv.conv2d_backward_naive(dout, ref_cache)
    tiles = (m, m) if m in TILES else m
    limit = conv_pair_limits(x, w, b, dout, tiles, dtype)
    out, cache = engine.conv2d_forward(x, w, b, 1, 1)
    assert out.dtype == x.dtype
    assert_within(out, ref, limit["out"], "forward")
    dx, dw, db = engine.conv2d_backward(dout, cache)
    for g, g_ref, key in zip((dx, dw, db), ref_grads, "xwb"):
        assert g.dtype == x.dtype
        assert_within(g, g_ref, limit[key], f"d{key}")
    dx_only, none_w, none_b = engine.conv2d_backward(dout, cache, need_dw=False)
    assert none_w is None and none_b is None
    assert_within(dx_only, ref_grads[0], limit["x"], "dx alone")


def test_backward_does_not_mutate_dout_or_cache(backend, to_backend):
    engine = winograd_engine()
    x, w, b, dout = inputs(1, 3, 5, 6, 4, "float64", to_backend)
    out, cache = engine.conv2d_forward(x, w, b, 1, 1)
    saved = [a.copy() for a in (dout, x, w, b)]
    engine.conv2d_backward(dout, cache)
    for a, s in zip((dout, x, w, b), saved):
        assert relative_error(a, s) == 0


def test_vgg_shapes_take_the_winograd_path_on_the_cpu():
    engine = get_engine("fast")
    w = np.zeros((64, 64, 3, 3), dtype=np.float32)
    shape = (1, 64, 64, 64)
    assert engine._algorithm(w, 1, 1, shape, forward=True) == 2
    assert engine._algorithm(w, 1, 1, shape, forward=False) == 4
    assert engine._algorithm(np.zeros((64, 3, 3, 3)), 1, 1, shape, True) == "im2col"   # conv1_1
    assert engine._algorithm(w, 2, 1, shape, True) == engine._algorithm(w, 1, 0, shape, True) == "im2col"
    assert get_engine("fast", conv3x3="im2col")._algorithm(w, 1, 1, shape, True) == "im2col"   # asked for
    with pytest.raises(ValueError, match="conv3x3"):
        get_engine("fast", conv3x3="fft")
    for bad in (3, (2,), (2, 6), "4"):
        with pytest.raises(ValueError, match="winograd_tile"):
            get_engine("fast", winograd_tile=bad)
    assert get_engine("fast", winograd_tile=4).winograd_tile == (4, 4)


def test_images_of_few_tiles_take_im2col_unless_winograd_is_asked_for(monkeypatch):
    """By default (CPU: F(2x2) forward, F(4x4) image gradient, winograd_min_tiles 32) a
    16 x 16 image has 64 F(2x2) tiles and 16 F(4x4) ones: Winograd forward, im2col back;
    an 8 x 8 one im2col both ways. conv3x3='winograd' takes Winograd for all four. The
    results are the reference's either way."""
    seen = []
    real = winograd.conv3x3
    monkeypatch.setattr(winograd, "conv3x3", lambda x, *rest: seen.append(x.shape[2:]) or real(x, *rest))
    rng = np.random.default_rng(0)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    for engine, expected in [(get_engine("fast"), [(16, 16)]),
                             (get_engine("fast", conv3x3="winograd"), [(16, 16), (16, 16), (8, 8), (8, 8)])]:
        seen.clear()
        for size in (16, 8):
            x = rng.standard_normal((1, 16, size, size)).astype(np.float32)
            dout = rng.standard_normal((1, 16, size, size)).astype(np.float32)
            out, cache = engine.conv2d_forward(x, w, b, 1, 1)
            dx = engine.conv2d_backward(dout, cache, need_dw=False)[0]
            ref, ref_cache = conv.conv2d_forward_im2col(x, w, b, 1, 1)
            ref_dx = conv.conv2d_backward_im2col(dout, ref_cache, need_dw=False)[0]
            algorithms = tuple(engine._algorithm(w, 1, 1, x.shape, f) for f in (True, False))
            limit = conv_pair_limits(x, w, b, dout, algorithms, "float32")       # both float32: the sum
            assert_within(out, ref, limit["out"], "forward")
            assert_within(dx, ref_dx, limit["x"], "dx")
        assert seen == expected


def test_the_3x3_algorithm_is_a_backend_decision(backend, to_backend):
    w = to_backend(np.zeros((64, 64, 3, 3), dtype=np.float32))
    from minigrad.fast.engine import CONV3X3
    chosen = get_engine("fast")._algorithm(w, 1, 1, (1, 64, 64, 64), forward=True)
    assert (chosen != "im2col") == (CONV3X3[backend] == "winograd")


def test_fixed_weights_transform_each_kernel_once_and_forget_it_with_the_kernel(backend, to_backend):
    x, w, b, dout = inputs(1, 17, 6, 6, 18, "float32", to_backend)
    try:
        weakref.ref(w)
    except TypeError:
        pytest.skip(f"{type(w)} cannot be watched: the fast engine recomputes its transform")
    fixed, free = get_engine("fast", conv3x3="winograd", fixed_weights=True), get_engine("fast", conv3x3="winograd")
    m = fixed._algorithm(w, 1, 1, x.shape, forward=True)                 # the tile this image takes
    assert fixed._kernel(w, m) is fixed._kernel(w, m)                     # kept
    assert free._kernel(w, m) is not free._kernel(w, m)                   # computed each time
    out, cache = fixed.conv2d_forward(x, w, b, 1, 1)
    assert relative_error(out, free.conv2d_forward(x, w, b, 1, 1)[0]) == 0
    assert len(fixed._kernels) == 1
    del w, cache
    assert len(fixed._kernels) == 0                                     # gone with its kernel
    kept = to_backend(np.ones((18, 17, 3, 3), np.float32))
    transform = weakref.ref(fixed._kernel(kept, m))
    del fixed
    assert transform() is None                  # a weight array that stays keeps no transform


def test_kept_transforms_stay_within_their_budget(backend, to_backend):
    x, w, b, dout = inputs(1, 17, 6, 6, 18, "float32", to_backend)
    w2 = to_backend(np.ones((18, 17, 3, 3), np.float32))
    one = 36 * 18 * 17 * 4                                              # bytes of one F(4x4) U
    engine = get_engine("fast", fixed_weights=True, winograd_tile=4, kernel_cache_bytes=one)
    try:
        weakref.ref(w)
    except TypeError:
        pytest.skip(f"{type(w)} cannot be watched: the fast engine recomputes its transform")
    assert engine._kernel(w, 4) is engine._kernel(w, 4)                   # the first fits: kept
    assert engine._kernel(w2, 4) is not engine._kernel(w2, 4)             # the second would not
    assert engine._kept_bytes == one
    del w
    assert engine._kept_bytes == 0 and engine._kernel(w2, 4) is engine._kernel(w2, 4)


def test_float32_rounding_on_a_vgg_layer_stays_within_its_model_and_grows_with_the_tile():
    """A 256-channel layer (conv3_x's shape) on ReLU-like input, against the float64 sums:
    each tile size's float32 error, forward and image gradient, within model 2 of
    tests/error_model.py (the norm of independent roundings, LAMBDA_NORM u sqrt(n / 3) T2,
    which counts every constant of the transforms); and F(4x4)'s model several times
    F(2x2)'s, the cost of its larger tiles (minigrad/fast/winograd.py)."""
    rng = np.random.default_rng(4)
    x = np.maximum(rng.standard_normal((1, 256, 16, 16)), 0)
    w, b = 0.03 * rng.standard_normal((256, 256, 3, 3)), 0.1 * rng.standard_normal(256)
    dout = rng.standard_normal((1, 256, 16, 16))
    ref, cache = conv.conv2d_forward_im2col(x, w, b, 1, 1)
    ref_dx = conv.conv2d_backward_im2col(dout, cache, need_dw=False)[0]
    models = {}
    for m in TILES:
        engine = get_engine("fast", conv3x3="winograd", winograd_tile=m)
        out, c32 = engine.conv2d_forward(*(a.astype(np.float32) for a in (x, w, b)), 1, 1)
        dx = engine.conv2d_backward(dout.astype(np.float32), c32, need_dw=False)[0]
        spread = conv_spread(x, w, b, 1, 1, m, "float32")[0]
        spread_dx = conv_backward_spread(dout, w, 1, 1, x.shape, m, "float32")[0]
        models[m] = LAMBDA_NORM * norm(spread) / norm(ref), LAMBDA_NORM * norm(spread_dx) / norm(ref_dx)
        assert normwise_error(out, ref) <= models[m][0], (m, normwise_error(out, ref), models[m])
        assert normwise_error(dx, ref_dx) <= models[m][1], (m, normwise_error(dx, ref_dx), models[m])
    assert models[4][0] > 3 * models[2][0] and models[4][1] > 3 * models[2][1]
