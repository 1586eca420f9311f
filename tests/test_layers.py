"""Every layer against PyTorch autograd, the engines against each other and against the
naive references, and by finite differences.

Shapes are odd on purpose (H != W, several N, strides 1 and 2, padding 0 and 1,
kernels 1, 3 and 5). Every test runs on NumPy and, where a GPU is present, CuPy;
the layer tests run on every engine (conftest.ENGINES), with contiguous inputs
and with transposed views, in float64 and float32.
"""
import numpy as np
import pytest

from minigrad import conv, pool, reference
from minigrad.backend import to_device, to_numpy
from minigrad.gradcheck import relative_error
from minigrad.layers import AvgPool2d, Conv2d, MaxPool2d, ReLU, Sequential

from .helpers import ENGINES, record_error
from .error_model import (Network, algorithms_of, assert_finite_differences, assert_within,
                          conv_limits, conv_terms, exact_limits, normwise_error, pool_limits)
from .oracle import as_layout, check_against_torch

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
CONV_IDS = ["N%dC%dH%dW%dK%dk%ds%dp%d" % c for c in CONV_CASES]
POOL_CASES = [((2, 3, 7, 9), 2, 2), ((1, 2, 8, 8), 2, 2), ((2, 3, 7, 9), 3, 2),
              ((1, 2, 6, 7), 3, 1), ((3, 1, 5, 8), 2, 1)]


def conv_inputs(N, C, H, W, K, k, seed=0):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((N, C, H, W)), "w": rng.standard_normal((K, C, k, k)),
            "b": rng.standard_normal(K)}


# ---------------------------------------------------------------- against PyTorch

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv2d_matches_torch(case, dtype, layout, engine, backend):
    import torch.nn.functional as tF
    N, C, H, W, K, k, stride, pad = case

    def ours(xs, dout):
        layer = Conv2d(C, K, k, stride=stride, padding=pad, engine=engine)
        layer.W, layer.b = xs["w"], xs["b"]
        out = layer.forward(xs["x"])
        dx = layer.backward(dout)
        return out, {"x": dx, "w": layer.dW, "b": layer.db}

    choose = algorithms_of(engine)
    w = np.zeros((K, C, k, k))
    algorithms = tuple(choose(w, stride, pad, (N, C, H, W), forward) for forward in (True, False))
    check_against_torch(ours, lambda t: tF.conv2d(t["x"], t["w"], t["b"], stride=stride, padding=pad),
                        conv_inputs(N, C, H, W, K, k), dtype, backend, f"conv2d[{case}]",
                        conv_limits(stride, pad, algorithms, dtype), layout=layout)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_matches_torch_with_exact_zeros(dtype, layout, engine, backend):
    import torch
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 4))
    x[0, 0, 0, :] = 0.0                       # the kink: ReLU'(0) = 0, as in PyTorch

    def ours(xs, dout):
        layer = ReLU(engine=engine)
        return layer.forward(xs["x"]), {"x": layer.backward(dout)}

    check_against_torch(ours, lambda t: torch.relu(t["x"]), {"x": x}, dtype, backend, "relu",
                        exact_limits, layout=layout)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pool_matches_torch(case, kind, dtype, layout, engine, backend):
    import torch.nn.functional as tF
    shape, k, stride = case
    Layer, torch_pool = {"max": (MaxPool2d, tF.max_pool2d), "avg": (AvgPool2d, tF.avg_pool2d)}[kind]

    def ours(xs, dout):
        layer = Layer(k, stride, engine=engine)
        return layer.forward(xs["x"]), {"x": layer.backward(dout)}

    check_against_torch(ours, lambda t: torch_pool(t["x"], k, stride),
                        {"x": np.random.default_rng(1).standard_normal(shape)},
                        dtype, backend, f"{kind}pool[{case}]", pool_limits(kind, k, stride, dtype),
                        layout=layout)


@pytest.mark.parametrize("stride", [1, 2])
def test_maxpool_tie_sends_gradient_to_first_maximum_like_torch(stride, engine, backend):
    import torch.nn.functional as tF
    x = np.zeros((1, 1, 4, 4))                 # every window is one big tie
    x[0, 0, 3, 3] = -1.0

    def ours(xs, dout):
        layer = MaxPool2d(2, stride, engine=engine)
        return layer.forward(xs["x"]), {"x": layer.backward(dout)}

    check_against_torch(ours, lambda t: tF.max_pool2d(t["x"], 2, stride), {"x": x},
                        "float64", backend, "maxpool-ties", pool_limits("max", 2, stride, "float64"))
    layer = MaxPool2d(2, 2, engine=engine)
    layer.forward(to_device(x, backend))
    dx = to_numpy(layer.backward(to_device(np.ones((1, 1, 2, 2)), backend)))
    assert dx[0, 0, 0, 0] == 1 and dx[0, 0, 0, 1] == 0 and dx.sum() == 4


@pytest.mark.parametrize("dtype", DTYPES)
def test_sequential_matches_torch(dtype, layout, engine, backend):
    """conv, ReLU, max pool, conv, ReLU, average pool: model 2 of tests/error_model.py, as
    for VGG-19 (test_vgg.py): the output against PyTorch's, ReLU's and max pooling's
    decisions within rounding's reach of the exact ones, and the input gradient against the
    exact one through our decisions."""
    import torch
    import torch.nn.functional as tF
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 13, 10)).astype(dtype)
    w1, b1 = rng.standard_normal((4, 3, 3, 3)).astype(dtype), rng.standard_normal(4).astype(dtype)
    w2, b2 = rng.standard_normal((5, 4, 3, 3)).astype(dtype), rng.standard_normal(5).astype(dtype)
    c1 = Conv2d(3, 4, 3, padding=1, frozen=True, engine=engine)
    c2 = Conv2d(4, 5, 3, padding=1, frozen=True, engine=engine)
    c1.W, c1.b, c2.W, c2.b = (to_device(a, backend) for a in (w1, b1, w2, b2))
    relu1, pool1, relu2 = ReLU(engine=engine), MaxPool2d(2, engine=engine), ReLU(engine=engine)
    net = Sequential(c1, relu1, pool1, c2, relu2, AvgPool2d(2, engine=engine))
    out = net.forward(as_layout(to_device(x, backend), layout))
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx = net.backward(as_layout(to_device(dout, backend), layout))

    t = [torch.tensor(a.astype(np.float64)) for a in (x, w1, b1, w2, b2)]
    h = tF.max_pool2d(tF.relu(tF.conv2d(t[0], t[1], t[2], padding=1)), 2)
    ref = tF.avg_pool2d(tF.relu(tF.conv2d(h, t[3], t[4], padding=1)), 2).numpy()
    chain = [("conv1", ("conv", w1, b1, 1, 1)), ("relu1", ("relu",)), ("pool1", ("maxpool", 2)),
             ("conv2", ("conv", w2, b2, 1, 1)), ("relu2", ("relu",)), ("pool2", ("avgpool", 2))]
    exact = Network(chain, x, algorithms_of(engine), ["pool2"], dtype)
    err, limit = normwise_error(out, ref), exact.forward["pool2"]
    assert err <= limit, f"output off by {err:.2e} (bound {limit:.2e})"
    decisions = {"relu1": relu1.mask, "pool1": pool1.cache[3], "relu2": relu2.mask}
    exact.check_decisions(decisions)
    ref_dx, dx_limit = exact.backward({"pool2": dout}, decisions)
    dx_err = normwise_error(dx, ref_dx)
    assert dx_err <= dx_limit, f"input gradient off by {dx_err:.2e} (bound {dx_limit:.2e})"
    record_error("sequential", dtype, max(err / limit, dx_err / dx_limit), f"{layout}")


# ---------------------------------------------------------------- the engines against each other

def operations(rng):
    """(name, forward args, forward name, backward name): every operation of the contract."""
    x = rng.standard_normal((2, 17, 9, 11))
    return [
        ("conv 3x3 p1", (x, rng.standard_normal((19, 17, 3, 3)), rng.standard_normal(19), 1, 1),
         "conv2d_forward", "conv2d_backward"),
        ("conv 5x5 s2", (x, rng.standard_normal((3, 17, 5, 5)), rng.standard_normal(3), 2, 0),
         "conv2d_forward", "conv2d_backward"),
        ("relu", (x,), "relu_forward", "relu_backward"),
        ("maxpool 2", (x, 2, 2), "maxpool_forward", "maxpool_backward"),
        ("maxpool 3/1", (x, 3, 1), "maxpool_forward", "maxpool_backward"),
        ("avgpool 2", (x, 2, 2), "avgpool_forward", "avgpool_backward"),
    ]


def op_limits(name, args, dout, choose, dtype):
    """Model 1's limits for one operation of operations(): conv_limits or pool_limits."""
    if name.startswith("conv"):
        x, w, b, stride, pad = args
        algorithms = tuple(choose(w, stride, pad, x.shape, f) for f in (True, False))
        return conv_limits(stride, pad, algorithms, dtype)({"x": x, "w": w, "b": b}, dout)
    if name == "relu":
        return exact_limits(None, None)
    kind, (x, k, stride) = name[:3], args
    return pool_limits(kind, k, stride, dtype)({"x": x}, dout)


def same_cache(a, b, tol):
    """Caches are tuples of arrays and numbers; two are the same if every entry is."""
    if hasattr(a, "shape") and not isinstance(a, tuple):
        return relative_error(a, b) <= tol
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same_cache(u, v, tol) for u, v in zip(a, b))
    return a == b


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fast", [n for n in ENGINES if n != "reference"])
@pytest.mark.parametrize("op", range(6), ids=[o[0] for o in operations(np.random.default_rng(0))])
def test_fast_engine_equals_reference_and_their_caches_are_interchangeable(op, fast, dtype, layout,
                                                                          backend):
    """Same outputs, same caches; either engine's backward on the other's cache gives the same dx."""
    rng = np.random.default_rng(3)
    name, args, fwd, bwd = operations(rng)[op]
    args = tuple(as_layout(to_device(a.astype(dtype), backend), layout) if hasattr(a, "shape")
                 else a for a in args)
    engines = {"reference": reference, "fast": ENGINES[fast]()}
    out, cache = {}, {}
    for e, engine in engines.items():
        out[e], cache[e] = getattr(engine, fwd)(*args)
    dout = rng.standard_normal(out["reference"].shape).astype(dtype)
    # Model 1 (tests/error_model.py): each engine within its own bound of the exact result,
    # the float64 reference computation of the float64 inputs; caches hold the inputs
    # themselves, ReLU masks and max-pool winners, which only exact computations make.
    exact_args = tuple(to_numpy(a).astype(np.float64) if hasattr(a, "shape") else a for a in args)
    exact_out, exact_cache = getattr(reference, fwd)(*exact_args)
    exact_grads = getattr(reference, bwd)(dout.astype(np.float64), exact_cache)
    exact_grads = exact_grads if isinstance(exact_grads, tuple) else (exact_grads,)
    limits = {e: op_limits(name, exact_args, dout.astype(np.float64), algorithms_of(engine), dtype)
              for e, engine in engines.items()}
    for e in engines:
        assert_within(out[e], exact_out, limits[e]["out"], f"{name}: {e} forward")
        assert same_cache(cache[e], cache["reference"], 0), name
    dout = as_layout(to_device(dout, backend), layout)
    for (e, engine), c in [(pair, c) for pair in engines.items() for c in cache]:
        got = getattr(engine, bwd)(dout, cache[c])
        got = got if isinstance(got, tuple) else (got,)
        for g, g_exact, key in zip(got, exact_grads, ["x", "w", "b"]):
            assert g.dtype == np.dtype(dtype)
            assert_within(g, g_exact, limits[e][key], f"{name}: {e}'s backward on {c}'s cache, d{key}")


@pytest.mark.parametrize("need_dw", [True, False])
def test_conv_backward_without_dw_returns_dx_alone(need_dw, engine, backend, to_backend):
    a = {n: to_backend(v) for n, v in conv_inputs(2, 17, 6, 7, 18, 3, seed=9).items()}
    out, cache = engine.conv2d_forward(a["x"], a["w"], a["b"], 1, 1)
    dout = to_backend(np.random.default_rng(10).standard_normal(out.shape))
    dx, dw, db = engine.conv2d_backward(dout, cache, need_dw=need_dw)
    ref = conv.conv2d_backward_naive(dout, cache)                     # float64, as ours
    arrays = {k: to_numpy(v) for k, v in a.items()}
    algorithms = tuple(algorithms_of(engine)(arrays["w"], 1, 1, arrays["x"].shape, f)
                       for f in (True, False))
    # Model 1, float64: ours and the naive loops each within the bound of the exact sums
    limit = conv_limits(1, 1, algorithms, "float64")(arrays, to_numpy(dout))
    naive = conv_limits(1, 1, ("im2col", "im2col"), "float64")(arrays, to_numpy(dout))
    assert_within(dx, ref[0], limit["x"] + naive["x"], "dx")
    if need_dw:
        assert_within(dw, ref[1], limit["w"] + naive["w"], "dw")
        assert_within(db, ref[2], limit["b"] + naive["b"], "db")
    else:
        assert dw is None and db is None


def test_frozen_conv_skips_weight_gradient_and_keeps_no_input(engine, backend, to_backend):
    rng = np.random.default_rng(5)
    x, dout = to_backend(rng.standard_normal((1, 3, 6, 6))), to_backend(rng.standard_normal((1, 4, 6, 6)))
    free = Conv2d(3, 4, 3, padding=1, engine=engine)
    frozen = Conv2d(3, 4, 3, padding=1, frozen=True, engine=engine)
    free.forward(x), frozen.forward(x)
    assert frozen.cache[0] is not x and frozen.cache[0].shape == x.shape
    assert relative_error(free.backward(dout), frozen.backward(dout)) == 0
    assert free.dW is not None and frozen.dW is None and frozen.db is None


def test_layers_take_an_engine_by_name():
    from minigrad.fast import FastEngine
    from minigrad.engines import get_engine
    assert Conv2d(1, 1, 1).engine is reference                        # the default
    assert isinstance(ReLU(engine="fast").engine, FastEngine)
    with pytest.raises(ValueError, match="unknown engine 'turbo'"):
        MaxPool2d(2, engine="turbo")
    engine = get_engine("fast", threads=1)
    assert get_engine(engine) is engine


# ---------------------------------------------------------------- naive against vectorised

@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_im2col_conv_equals_naive(case, backend, to_backend):
    N, C, H, W, K, k, stride, pad = case
    a = {n: to_backend(v) for n, v in conv_inputs(N, C, H, W, K, k, seed=3).items()}
    ref, ref_cache = conv.conv2d_forward_naive(a["x"], a["w"], a["b"], stride, pad)
    dout = to_backend(np.random.default_rng(4).standard_normal(ref.shape))
    out, cache = conv.conv2d_forward_im2col(a["x"], a["w"], a["b"], stride, pad)
    assert same_cache(cache, ref_cache, 0)
    # Model 1, float64: the same sums in two orders, each within the bound of the exact one
    limit = conv_limits(stride, pad, ("im2col", "im2col"), "float64")(
        {k: to_numpy(v) for k, v in a.items()}, to_numpy(dout))
    assert_within(out, ref, 2 * limit["out"], "forward")
    for g, g_ref, key in zip(conv.conv2d_backward_im2col(dout, cache),
                             conv.conv2d_backward_naive(dout, ref_cache), "xwb"):
        assert_within(g, g_ref, 2 * limit[key], f"d{key}")


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_vectorised_pool_equals_naive(case, kind, backend, to_backend):
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
    # Model 1, float64: max pooling is exact (a copy; the same argmax); average pooling
    # sums the k^2 terms in another order, each within the bound of the exact sum
    limit = pool_limits(kind, k, stride, "float64")({"x": to_numpy(x)}, to_numpy(dout))
    assert_within(out, ref, 2 * limit["out"], "forward")
    assert same_cache(cache, ref_cache, 0)
    assert_within(bwd(dout, cache), bwd_naive(dout, ref_cache), 2 * limit["x"], "backward")


# ---------------------------------------------------------------- finite differences

def layer_cases():
    return [("conv s1 p1", lambda e: Conv2d(2, 3, 3, padding=1, engine=e), (2, 2, 5, 6)),
            ("conv s2 p0 k5", lambda e: Conv2d(2, 3, 5, stride=2, engine=e), (1, 2, 9, 8)),
            ("relu", lambda e: ReLU(engine=e), (2, 3, 4, 5)),
            ("maxpool 2", lambda e: MaxPool2d(2, engine=e), (2, 3, 6, 5)),
            ("maxpool 3/1", lambda e: MaxPool2d(3, 1, engine=e), (1, 2, 6, 7)),
            ("avgpool 2", lambda e: AvgPool2d(2, engine=e), (2, 3, 6, 5))]


@pytest.mark.parametrize("name,make,shape", layer_cases(), ids=[c[0] for c in layer_cases()])
def test_layer_gradients_by_finite_differences(name, make, shape, engine, backend, to_backend):
    """f = sum(layer(x) * dout) is linear in x and in W along every coordinate (the samples
    stay clear of ReLU's and pooling's kinks), so the centred differences err by rounding
    alone: model 1 with the magnitude of f, sum |dout| times the magnitude of each output
    (tests/error_model.py, assert_finite_differences)."""
    rng = np.random.default_rng(8)
    layer = make(engine)
    if isinstance(layer, Conv2d):
        layer.W, layer.b = to_backend(layer.W.astype(np.float64)), to_backend(rng.standard_normal(3))
    x = to_backend(rng.standard_normal(shape))
    out = layer.forward(x)
    dout = to_backend(rng.standard_normal(out.shape))
    dx = layer.backward(dout)

    def f(x_):
        return float((layer.forward(x_) * dout).sum())
    abs_dout = np.abs(to_numpy(dout))
    if isinstance(layer, Conv2d):
        w = np.abs(to_numpy(layer.W))
        n = conv_terms(*w.shape[1:]) + out.size                      # each output, then the sum
        outputs = conv.conv2d_forward_im2col(np.abs(to_numpy(x)), w, np.abs(to_numpy(layer.b)),
                                             layer.stride, layer.padding)[0]
    else:                                     # a copy (ReLU, max) or a mean of <= 9 (average)
        n = 9 + 1 + out.size
        outputs = np.abs(to_numpy(x)).max()
    assert_finite_differences(f, x, dx, float((abs_dout * outputs).sum()), n)
    if isinstance(layer, Conv2d):
        dW = layer.dW

        def f_w(w_):
            layer.W = w_
            return float((layer.forward(x) * dout).sum())
        assert_finite_differences(f_w, layer.W, dW, float((abs_dout * outputs).sum()), n)
