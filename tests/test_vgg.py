"""VGG-19 on minigrad against the same network written in plain torch.nn layers.

Random weights in the project's h5 layout (no download): activations at the taps
and the image gradient agree at an odd image size, for both poolings, for one
deep tap and for several taps at once, on the fast engine and on the reference one.
"""
import numpy as np
import pytest

from minigrad.backend import to_device, to_numpy
from vgg.layout import CONV_NAMES, LAYER_NAMES, min_input_size
from vgg.model import VGG19
from vgg.weights import write_h5
from vgg.weights.testing import random_params

from .helpers import record_error
from .error_model import Network, algorithms_of, normwise_error, vgg_chain
from .oracle import torch_taps_backward, torch_vgg19

STYLE = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
TAP_SETS = {"one deep tap": ["conv4_2"], "paper's taps": STYLE + ["conv4_2"],
            "pool and conv": ["pool2", "conv3_3", "conv1_2"]}


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "vgg19-random.h5"
    write_h5(random_params(seed=0), path)
    return path


def our_decisions(model):
    """{name: the ReLU mask or the max-pool argmax} of the model's last forward pass."""
    out = {}
    for name, block in model.blocks[:model.depth]:
        if name.startswith("pool"):
            if hasattr(block.cache, "__len__") and len(block.cache) == 4:   # max pooling
                out[name] = block.cache[3]
        else:
            out[name] = block[1].mask
    return out


@pytest.mark.parametrize("engine", ["fast", "reference"])
@pytest.mark.parametrize("pooling", ["max", "avg"])
@pytest.mark.parametrize("taps", list(TAP_SETS.values()), ids=list(TAP_SETS))
def test_vgg_taps_and_image_gradient_match_torch(taps, pooling, engine, weights_file, backend):
    """Model 2 of tests/error_model.py, through up to 13 layers, its bounds computed
    exactly from this very input: the activations at the taps against PyTorch's; every
    ReLU and max-pool decision that differs from the exact one within rounding's reach of
    its edge; and the image gradient against the exact one taken through our decisions
    (where rounding flips one, the gradient at that pixel is gone or moved whole, a change
    no rounding bound covers). A wrong layer, tap or backward is off by its own size."""
    model = VGG19.load(weights_file, pooling=pooling, engine=engine)
    params = {k: (to_numpy(W), to_numpy(b)) for k, (W, b) in model.params().items()}
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((1, 3, 37, 45)) * 50).astype(np.float32)   # Caffe scale
    feats = model.forward(to_device(x, backend), taps)
    grads = {t: rng.standard_normal(feats[t].shape).astype(np.float32) for t in taps}
    dx = model.backward({t: to_device(g, backend) for t, g in grads.items()})

    torch = pytest.importorskip("torch")
    ref_feats, _ = torch_taps_backward(torch_vgg19(params, pooling), torch.tensor(x),
                                       {t: torch.tensor(g) for t, g in grads.items()})
    ref_feats = {t: f.detach().numpy() for t, f in ref_feats.items()}
    chain = vgg_chain(params, pooling)
    exact = Network(chain, x, algorithms_of(model.engine), taps, "float32")
    assert sorted(feats) == sorted(taps)
    used = 0.0
    for t in taps:
        err = normwise_error(feats[t], ref_feats[t])
        bound = exact.forward[t]
        assert err < bound, f"{t}: activation off by {err:.2e} (bound {bound:.2e})"
        used = max(used, err / bound)
    record_error("vgg activation", "float32", used, f"{pooling} {taps}")
    decisions = our_decisions(model)
    exact.check_decisions(decisions)
    ref_dx, bound = exact.backward(grads, decisions)
    err = normwise_error(dx, ref_dx)
    assert err < bound, f"image gradient off by {err:.2e} (bound {bound:.2e})"
    record_error("vgg image gradient", "float32", err / bound, f"{pooling} {taps}")


def test_forward_runs_only_as_deep_as_the_deepest_tap(weights_file):
    model = VGG19.load(weights_file)
    model.forward(np.zeros((1, 3, 20, 20), np.float32), ["conv2_1", "conv1_1"])
    assert model.depth == LAYER_NAMES.index("conv2_1") + 1
    assert all(layer[0].cache is None for name, layer in model.blocks[model.depth:]
               if not name.startswith("pool"))


def test_backward_with_a_subset_of_taps_equals_zero_gradients_for_the_rest(weights_file):
    model = VGG19.load(weights_file)
    x = np.random.default_rng(2).standard_normal((1, 3, 24, 20)).astype(np.float32) * 50
    feats = model.forward(x, ["conv1_1", "conv3_1"])
    g = np.random.default_rng(3).standard_normal(feats["conv1_1"].shape).astype(np.float32)
    only = model.backward({"conv1_1": g})
    both = model.backward({"conv1_1": g, "conv3_1": np.zeros_like(feats["conv3_1"])})
    # exact: the zero gradient stays exactly zero down to conv1_1 (no bias in a backward),
    # where 0 + g is g, and the rest is the same computation
    assert np.array_equal(to_numpy(only), to_numpy(both))


def test_params_have_the_paper_names_and_shapes(weights_file):
    params = VGG19.load(weights_file).params()
    assert list(params) == list(CONV_NAMES)
    assert params["conv1_1"][0].shape == (64, 3, 3, 3)
    assert params["conv5_4"][0].shape == (512, 512, 3, 3)


def test_clear_errors_for_bad_taps_and_small_images(weights_file):
    model = VGG19.load(weights_file)
    with pytest.raises(ValueError, match="unknown layer name"):
        model.forward(np.zeros((1, 3, 32, 32), np.float32), ["relu4_2"])
    assert min_input_size("conv1_1") == 1 and min_input_size("conv5_1") == 16
    with pytest.raises(ValueError, match="too small for conv5_1"):
        model.forward(np.zeros((1, 3, 15, 40), np.float32), ["conv5_1"])
    with pytest.raises(ValueError, match="unknown pooling"):
        VGG19.load(weights_file, pooling="median")


def test_the_engine_is_chosen_where_the_model_is_built(weights_file):
    from minigrad import reference
    from minigrad.fast import FastEngine
    ref, fast = VGG19.load(weights_file), VGG19.load(weights_file, engine="fast")
    assert ref.engine is reference                                # the default: the code to read
    assert isinstance(fast.engine, FastEngine) and fast.engine.fixed_weights   # a frozen network's
    for model in (fast, ref):
        assert all(layer.engine is model.engine for _, block in model.blocks
                   for layer in (block if hasattr(block, "layers") else [block]))
    with pytest.raises(ValueError, match="unknown engine"):
        VGG19.load(weights_file, engine="turbo")


def test_a_pool_tap_needs_twice_the_side_of_the_layer_before(weights_file):
    # Each pooling halves the side (rounding down), so its output exists from 2^p pixels on,
    # p counting this pooling too; the convolutions after it need the same.
    sizes = {"conv1_2": 1, "pool1": 2, "conv2_1": 2, "pool2": 4, "pool4": 16, "conv5_1": 16,
             "pool5": 32}
    for tap, side in sizes.items():
        assert min_input_size(tap) == side, tap
    model = VGG19.load(weights_file)
    for tap in ("pool1", "pool2"):
        side = min_input_size(tap)
        out = model.forward(np.zeros((1, 3, side, side), np.float32), [tap])[tap]
        assert out.shape[2:] == (1, 1)                        # the smallest image that works
        with pytest.raises(ValueError, match=f"too small for {tap}"):
            model.forward(np.zeros((1, 3, side - 1, side - 1), np.float32), [tap])
