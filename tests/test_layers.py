"""Every layer against PyTorch autograd, against its naive reference, and by finite differences.

Shapes are odd on purpose (H != W, several N, strides 1 and 2, padding 0 and 1,
kernels 1, 3 and 5), and every test runs on NumPy and, where a GPU is present, CuPy.
"""
import numpy as np
import pytest

from minigrad import conv, pool
from minigrad.backend import to_numpy
from minigrad.gradcheck import check_gradient, relative_error
from minigrad.layers import AvgPool2d, Conv2d, MaxPool2d, ReLU, Sequential

from .oracle import check_against_torch

DTYPES = ["float64", "float32"]

# (N, C, H, W, K, kernel, stride, pad)
CONV_CASES = [
    (1, 3, 7, 9, 4, 3, 1, 1),
    (2, 3, 8, 5, 5, 3, 2, 1),
    (3, 2, 6, 7, 3, 1, 1, 0),
    (2, 4, 9, 8, 3, 5, 1, 1),
    (1, 2, 11, 7, 2, 5, 2, 0),
    (2, 1, 5, 6, 2, 3, 1, 0),
    (1, 3, 10, 10, 2, 1, 2, 1),
]
POOL_CASES = [((2, 3, 7, 9), 2, 2), ((1, 2, 8, 8), 2, 2), ((2, 3, 7, 9), 3, 2),
              ((1, 2, 6, 7), 3, 1), ((3, 1, 5, 8), 2, 1)]


def conv_inputs(N, C, H, W, K, k, seed=0):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((N, C, H, W)), "w": rng.standard_normal((K, C, k, k)),
            "b": rng.standard_normal(K)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "N%dC%dH%dW%dK%dk%ds%dp%d" % c)
def test_conv2d_matches_torch(case, dtype, backend):
    import torch.nn.functional as tF
    N, C, H, W, K, k, stride, pad = case

    def ours(xs, dout):
        layer = Conv2d(C, K, k, stride=stride, padding=pad)
        layer.W, layer.b = xs["w"], xs["b"]
        out = layer.forward(xs["x"])
        dx = layer.backward(dout)
        return out, {"x": dx, "w": layer.dW, "b": layer.db}

    check_against_torch(ours, lambda t: tF.conv2d(t["x"], t["w"], t["b"], stride=stride, padding=pad),
                        conv_inputs(N, C, H, W, K, k), dtype, backend, f"conv2d[{case}]")


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_matches_torch_with_exact_zeros(dtype, backend):
    import torch
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 4))
    x[0, 0, 0, :] = 0.0                       # the kink: ReLU'(0) = 0, as in PyTorch

    def ours(xs, dout):
        layer = ReLU()
        return layer.forward(xs["x"]), {"x": layer.backward(dout)}

    check_against_torch(ours, lambda t: torch.relu(t["x"]), {"x": x}, dtype, backend, "relu")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pool_matches_torch(case, kind, dtype, backend):
    import torch.nn.functional as tF
    shape, k, stride = case
    Layer, torch_pool = {"max": (MaxPool2d, tF.max_pool2d), "avg": (AvgPool2d, tF.avg_pool2d)}[kind]

    def ours(xs, dout):
        layer = Layer(k, stride)
        return layer.forward(xs["x"]), {"x": layer.backward(dout)}

    check_against_torch(ours, lambda t: torch_pool(t["x"], k, stride),
                        {"x": np.random.default_rng(1).standard_normal(shape)},
                        dtype, backend, f"{kind}pool[{case}]")


@pytest.mark.parametrize("stride", [1, 2])
def test_maxpool_tie_sends_gradient_to_first_maximum_like_torch(stride, backend):
    import torch.nn.functional as tF
    x = np.zeros((1, 1, 4, 4))                 # every window is one big tie
    x[0, 0, 3, 3] = -1.0

    def ours(xs, dout):
        layer = MaxPool2d(2, stride)
        return layer.forward(xs["x"]), {"x": layer.backward(dout)}

    check_against_torch(ours, lambda t: tF.max_pool2d(t["x"], 2, stride), {"x": x},
                        "float64", backend, "maxpool-ties")
    layer = MaxPool2d(2, 2)
    from minigrad.backend import to_device
    layer.forward(to_device(x, backend))
    dx = to_numpy(layer.backward(to_device(np.ones((1, 1, 2, 2)), backend)))
    assert dx[0, 0, 0, 0] == 1 and dx[0, 0, 0, 1] == 0 and dx.sum() == 4


@pytest.mark.parametrize("dtype", DTYPES)
def test_sequential_matches_torch(dtype, backend):
    import torch.nn.functional as tF
    rng = np.random.default_rng(2)
    inputs = {"x": rng.standard_normal((2, 3, 13, 10)),
              "w1": rng.standard_normal((4, 3, 3, 3)), "b1": rng.standard_normal(4),
              "w2": rng.standard_normal((5, 4, 3, 3)), "b2": rng.standard_normal(5)}

    def ours(xs, dout):
        c1, c2 = Conv2d(3, 4, 3, padding=1, frozen=True), Conv2d(4, 5, 3, padding=1, frozen=True)
        c1.W, c1.b, c2.W, c2.b = xs["w1"], xs["b1"], xs["w2"], xs["b2"]
        net = Sequential(c1, ReLU(), MaxPool2d(2), c2, ReLU(), AvgPool2d(2))
        return net.forward(xs["x"]), {"x": net.backward(dout)}

    def theirs(t):
        h = tF.max_pool2d(tF.relu(tF.conv2d(t["x"], t["w1"], t["b1"], padding=1)), 2)
        return tF.avg_pool2d(tF.relu(tF.conv2d(h, t["w2"], t["b2"], padding=1)), 2)

    check_against_torch(ours, theirs, inputs, dtype, backend, "sequential")


# ---------------------------------------------------------------- naive vs fast

@pytest.mark.parametrize("band_bytes", [conv.BAND_BYTES, 1], ids=["one-band", "row-per-band"])
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "N%dC%dH%dW%dK%dk%ds%dp%d" % c)
def test_fast_conv_equals_naive(case, band_bytes, backend, to_backend, monkeypatch):
    monkeypatch.setattr(conv, "BAND_BYTES", band_bytes)   # 1 byte: every output row its own band
    N, C, H, W, K, k, stride, pad = case
    a = {n: to_backend(v) for n, v in conv_inputs(N, C, H, W, K, k, seed=3).items()}
    ref, ref_cache = conv.conv2d_forward_naive(a["x"], a["w"], a["b"], stride, pad)
    dout = to_backend(np.random.default_rng(4).standard_normal(ref.shape))
    ref_grads = conv.conv2d_backward_naive(dout, ref_cache)
    for forward, backward in [(conv.conv2d_forward, conv.conv2d_backward),
                              (conv.conv2d_forward_im2col, conv.conv2d_backward_im2col)]:
        out, cache = forward(a["x"], a["w"], a["b"], stride, pad)
        assert relative_error(out, ref) < 1e-13
        for g, g_ref in zip(backward(dout, cache), ref_grads):
            assert relative_error(g, g_ref) < 1e-13


def test_frozen_conv_skips_weight_gradient_and_keeps_no_input(backend, to_backend):
    rng = np.random.default_rng(5)
    x, dout = to_backend(rng.standard_normal((1, 3, 6, 6))), to_backend(rng.standard_normal((1, 4, 6, 6)))
    free, frozen = Conv2d(3, 4, 3, padding=1), Conv2d(3, 4, 3, padding=1, frozen=True)
    free.forward(x), frozen.forward(x)
    assert frozen.cache[0] is not x and frozen.cache[0].shape == x.shape
    assert relative_error(free.backward(dout), frozen.backward(dout)) == 0
    assert free.dW is not None and frozen.dW is None and frozen.db is None


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_fast_pool_equals_naive(case, kind, backend, to_backend):
    shape, k, stride = case
    fwd, bwd, fwd_naive, bwd_naive = {
        "max": (pool.maxpool_forward, pool.maxpool_backward,
                pool.maxpool_forward_naive, pool.maxpool_backward_naive),
        "avg": (pool.avgpool_forward, pool.avgpool_backward,
                pool.avgpool_forward_naive, pool.avgpool_backward_naive)}[kind]
    x = to_backend(np.random.default_rng(6).standard_normal(shape))
    out, cache = fwd(x, k, stride)
    ref, ref_cache = fwd_naive(x, k, stride)
    dout = to_backend(np.random.default_rng(7).standard_normal(ref.shape))
    assert relative_error(out, ref) < 1e-15          # avg: the same sum in another order
    assert relative_error(bwd(dout, cache), bwd_naive(dout, ref_cache)) < 1e-15


# ---------------------------------------------------------------- finite differences

def layer_cases():
    return [("conv s1 p1", lambda: Conv2d(2, 3, 3, padding=1), (2, 2, 5, 6)),
            ("conv s2 p0 k5", lambda: Conv2d(2, 3, 5, stride=2), (1, 2, 9, 8)),
            ("relu", ReLU, (2, 3, 4, 5)),
            ("maxpool 2", lambda: MaxPool2d(2), (2, 3, 6, 5)),
            ("maxpool 3/1", lambda: MaxPool2d(3, 1), (1, 2, 6, 7)),
            ("avgpool 2", lambda: AvgPool2d(2), (2, 3, 6, 5))]


@pytest.mark.parametrize("name,make,shape", layer_cases(), ids=[c[0] for c in layer_cases()])
def test_layer_gradients_by_finite_differences(name, make, shape, backend, to_backend):
    rng = np.random.default_rng(8)
    layer = make()
    if isinstance(layer, Conv2d):
        layer.W, layer.b = to_backend(layer.W.astype(np.float64)), to_backend(rng.standard_normal(3))
    x = to_backend(rng.standard_normal(shape))
    out = layer.forward(x)
    dout = to_backend(rng.standard_normal(out.shape))
    dx = layer.backward(dout)

    def f(x_):
        return float((layer.forward(x_) * dout).sum())
    assert check_gradient(f, x, dx) < 1e-6
    if isinstance(layer, Conv2d):
        dW = layer.dW

        def f_w(w_):
            layer.W = w_
            return float((layer.forward(x) * dout).sum())
        assert check_gradient(f_w, layer.W, dW) < 1e-6
