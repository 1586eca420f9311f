"""The one helper every engine test uses: run the same computation here and in PyTorch.

`check_against_torch` feeds the same inputs to our forward/backward and to a
PyTorch function, sends a random upstream gradient dout back through both
(PyTorch differentiates sum(out * dout)), and asserts that the output and every
input gradient lie within their error bounds of PyTorch's. PyTorch computes in
float64 on our (possibly float32-rounded) inputs, so what is measured is our error.

The bounds come from tests/error_model.py: the test passes `limits(arrays, dout)`,
which returns, for "out" and for each gradient, the largest error the computation may
make entry by entry (model 1: gamma_n times the magnitude of the sum). The pytest
summary prints, per operation, the largest fraction of its bound any test used.

With layout="transposed", every 4-D array we are given (inputs and dout) is a
non-contiguous view with the same values: `as_layout` stores it with H and W
swapped in memory and hands out the transposed view.
"""
import numpy as np
import pytest

from minigrad.backend import get_array_module, to_device, to_numpy

from .helpers import record_error
from .error_model import assert_within


def as_layout(a, layout):
    """a itself ("contiguous"), or for 4-D a, a transposed view with a's values ("transposed")."""
    if layout == "contiguous" or a.ndim != 4:
        return a
    xp = get_array_module(a)
    view = xp.ascontiguousarray(a.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)   # (N, C, H, W)
    assert (view == a).all() and (min(a.shape[2:]) == 1 or not view.flags.c_contiguous)
    return view


def check_against_torch(ours, theirs, inputs, dtype, backend, label, limits, seed=0,
                        layout="contiguous"):
    """ours(xs, dout) -> (out, {name: grad}); theirs(ts) -> out tensor; inputs: {name: float64 array};
    limits(arrays, dout) -> {"out": bound, name: bound} (float64, elementwise), given the inputs
    as the test rounded them and dout, both float64 NumPy arrays.

    Only the gradients that `ours` returns are compared. Returns the largest fraction of
    a bound used.
    """
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle; install the test extra")
    arrays = {k: np.asarray(v, dtype=dtype) for k, v in inputs.items()}
    ts = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in arrays.items()}
    out_t = theirs(ts)
    dout = np.random.default_rng(seed).standard_normal(tuple(out_t.shape)).astype(dtype)
    (out_t * torch.tensor(dout.astype(np.float64))).sum().backward()

    xs = {k: as_layout(to_device(v, backend), layout) for k, v in arrays.items()}
    out, grads = ours(xs, as_layout(to_device(dout, backend), layout))
    for k, v in xs.items():
        assert np.array_equal(to_numpy(v), arrays[k]), f"{label}: our code changed its input {k}"

    bounds = limits({k: v.astype(np.float64) for k, v in arrays.items()}, dout.astype(np.float64))
    used = assert_within(out, out_t.detach().numpy(), bounds["out"], f"{label}: forward")
    for name, g in grads.items():
        used = max(used, assert_within(g, ts[name].grad.numpy(), bounds[name], f"{label}: d{name}"))
    record_error(label.split("[")[0], np.dtype(dtype).name, used, label)
    return used


# ----------------------------------------------------------------------------- VGG-19 and eq. 7

def torch_vgg19(params, pooling="max", dtype="float32", device="cpu", upto="pool5"):
    """VGG-19 in plain torch.nn layers named like ours, [(name, module)], one per tap name
    (a convolution with its ReLU, or a pooling) up to `upto`, weights as given and frozen
    (no parameter asks for a gradient), in `dtype`, on `device`."""
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle; install the test extra")
    from vgg.layout import LAYER_NAMES
    nn = torch.nn
    layers = []
    for name in LAYER_NAMES[:LAYER_NAMES.index(upto) + 1]:
        if name.startswith("pool"):
            layers.append((name, nn.MaxPool2d(2) if pooling == "max" else nn.AvgPool2d(2)))
        else:
            W, b = params[name]
            conv = nn.Conv2d(W.shape[1], W.shape[0], 3, padding=1)
            conv.weight.data, conv.bias.data = torch.tensor(W), torch.tensor(b)
            layers.append((name, nn.Sequential(conv, nn.ReLU())))
    for _, module in layers:
        module.to(device, torch.float64 if dtype == "float64" else torch.float32)
        module.requires_grad_(False)
    return layers


def torch_features(layers, image):
    """{name: activation} of every layer, image a torch tensor."""
    out, h = {}, image
    for name, layer in layers:
        h = layer(h)
        out[name] = h
    return out


def torch_taps_backward(layers, x, grads):
    """One pass of a style-transfer iteration in PyTorch: the forward as far as the deepest
    tap of `grads` ({name: upstream gradient}, tensors), then the image's gradient of
    sum_l <F_l, grads[l]> by autograd. x a tensor; returns ({tap: F_l}, dx)."""
    import torch
    x = x.detach().requires_grad_(True)
    feats, h = {}, x
    for name, layer in layers:
        h = layer(h)
        if name in grads:
            feats[name] = h
        if len(feats) == len(grads):
            break
    (dx,) = torch.autograd.grad(list(feats.values()), x, [grads[n] for n in feats])
    return feats, dx


def torch_gram(F):
    Fm = F.reshape(F.shape[1], -1)                                    # (N_l, M_l)
    return Fm @ Fm.T


def torch_objective(params, content, style, x, content_layers, style_layers, alpha, beta, tv,
                    normalization="paper", content_weights=None, style_weights=None):
    """Eq. 7 in PyTorch, float64, written from the paper and docs/backprop.md alone.

    Returns (total, {"content", "style", "tv"} unweighted, dL/dx, {tap: the loss's own
    gradient at that tap, dL/dF_l with F_l a leaf}, features of x, of the photo, of the
    painting), all NumPy. Layer weights are normalised to sum to 1; the painting's Gram
    matrices are rescaled to the canvas's pixels; "relative" divides each term by its
    target's size (TV by the photo's)."""
    import torch
    layers = torch_vgg19(params, "max", "float64")
    v = content_weights or [1.0] * len(content_layers)
    w = style_weights or [1.0] * len(style_layers)
    with torch.no_grad():
        ct, st = (torch.tensor(a, dtype=torch.float64) for a in (content, style))
        P, S = torch_features(layers, ct), torch_features(layers, st)

    def tv_of(t):                             # below, right; the two diagonals at 1/2
        return (((t[:, :, 1:] - t[:, :, :-1]) ** 2).sum() + ((t[..., 1:] - t[..., :-1]) ** 2).sum()
                + 0.5 * ((t[:, :, 1:, 1:] - t[:, :, :-1, :-1]) ** 2).sum()
                + 0.5 * ((t[:, :, 1:, :-1] - t[:, :, :-1, 1:]) ** 2).sum())

    def terms(F, image):
        content_term, style_term = 0, 0
        for l, vl in zip(content_layers, v):
            d = ((F[l] - P[l]) ** 2).sum()
            content_term = content_term + vl / sum(v) * (
                d / (P[l] ** 2).sum() if normalization == "relative" else 0.5 * d)      # eq. 1
        for l, wl in zip(style_layers, w):
            _, N, h, ww = F[l].shape
            A = torch_gram(S[l]) * (h * ww) / (S[l].shape[2] * S[l].shape[3])      # eq. 3, rescaled
            e = ((torch_gram(F[l]) - A) ** 2).sum()
            style_term = style_term + wl / sum(w) * (
                e / (A ** 2).sum() if normalization == "relative" else e / (4 * N ** 2 * (h * ww) ** 2))
        tv_term = tv_of(image) / tv_of(ct) if normalization == "relative" else tv_of(image)
        return content_term, style_term, tv_term                                   # eq. 7's parts

    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    F = torch_features(layers, xt)
    c, s_, t = terms(F, xt)
    total = alpha * c + beta * s_ + tv * t
    total.backward()
    taps = list(dict.fromkeys(content_layers + style_layers))
    leaves = {k: f.detach().clone().requires_grad_(k in taps) for k, f in F.items()}
    c2, s2, _ = terms(leaves, xt.detach())
    (alpha * c2 + beta * s2).backward()
    return (float(total.detach()), {"content": float(c.detach()), "style": float(s_.detach()),
                                      "tv": float(t.detach())},
            xt.grad.numpy(), {k: leaves[k].grad.numpy() for k in taps},
            {k: f.detach().numpy() for k, f in F.items()},
            {k: f.numpy() for k, f in P.items()}, {k: f.numpy() for k, f in S.items()})


def check_objective_against_torch(params, content, style, x, content_layers, style_layers, alpha,
                                  beta, tv, normalization="paper", content_weights=None,
                                  style_weights=None):
    """vgg.transfer.Objective against torch_objective, both in float64, on the fast engine:
    the loss, each term and the image gradient within model 2 (tests/error_model.py,
    objective_limits and Network). In float64 every bound is near 1e-12; a wrong weight,
    normalisation, target or tap is off by its own size. Returns our Objective and the
    bound on the loss's error (which bounds each weighted term's too)."""
    from minigrad.engines import get_engine
    from vgg.model import VGG19
    from vgg.transfer import Objective

    from .error_model import Network, algorithms_of, normwise_error, objective_limits, vgg_chain
    p64 = {k: (W.astype(np.float64), b.astype(np.float64)) for k, (W, b) in params.items()}
    content, style, x = (np.asarray(a, np.float64) for a in (content, style, x))
    model = VGG19(p64, engine=get_engine("fast", frozen=True))
    objective = Objective(model, x.shape, content, [style], None, content_layers, style_layers,
                          alpha, beta, tv, normalization, content_weights, style_weights)
    loss, grad = objective(x)
    total, terms, dx, dF, F, P, S = torch_objective(
        p64, content, style, x, content_layers, style_layers, alpha, beta, tv, normalization,
        content_weights, style_weights)

    taps = list(dict.fromkeys(content_layers + style_layers))
    chain, choose = vgg_chain(p64, "max"), algorithms_of(model.engine)
    exact = Network(chain, x, choose, taps, "float64")
    canvas = {l: S[l] for l in style_layers}
    bounds = {name: Network(chain, image, choose, taps, "float64").forward
              for name, image in (("photo", content), ("painting", style))}
    tv_value = terms["tv"]
    loss_error, grad_errors = objective_limits(
        F, P, canvas, exact.forward, bounds["photo"], bounds["painting"], content_layers,
        style_layers, content_weights or [1.0] * len(content_layers),
        style_weights or [1.0] * len(style_layers), alpha, beta, tv, tv_value, normalization,
        "float64")
    assert abs(loss - total) <= loss_error, (loss, total, loss_error)
    used = abs(loss - total) / loss_error
    decisions = {}
    for name, block in model.blocks[:model.depth]:
        decisions[name] = block.cache[3] if name.startswith("pool") else block[1].mask
    flipped = exact.check_decisions(decisions)
    vgg_dx, bound = exact.backward({t: dF[t] for t in taps}, decisions, grad_errors)
    tv_dx = tv * (1 / tv_of(content) if normalization == "relative" else 1) * tv_gradient(x)
    limit = bound * normwise_norm(vgg_dx) + 8 * 2.0 ** -53 * normwise_norm(np.abs(tv_dx) * 8)
    for reference in [vgg_dx + tv_dx] + ([dx] if not flipped else []):
        err = normwise_error(grad, reference) * normwise_norm(reference)
        assert err <= limit, f"image gradient off by {err:.2e} (bound {limit:.2e}, {flipped} flips)"
        used = max(used, err / limit)
    record_error("whole objective", "float64", used, normalization)
    return objective, loss_error


# TV's pairs, written out: (the later pixel, the earlier one, the weight) for the neighbour
# below, to the right, and the two diagonal ones below at 1/2 (minigrad/losses.py's NEIGHBOURS).
TV_PAIRS = [((slice(1, None), slice(None)), (slice(None, -1), slice(None)), 1.0),
            ((slice(None), slice(1, None)), (slice(None), slice(None, -1)), 1.0),
            ((slice(1, None), slice(1, None)), (slice(None, -1), slice(None, -1)), 0.5),
            ((slice(1, None), slice(None, -1)), (slice(None, -1), slice(1, None)), 0.5)]


def tv_of(x):
    return float(sum(w * ((x[..., a[0], a[1]] - x[..., b[0], b[1]]) ** 2).sum() for a, b, w in TV_PAIRS))


def tv_gradient(x):
    """d TV / dx, TV = sum of w d^2 over the pairs of neighbours: +2wd to one end, -2wd to the other."""
    g = np.zeros_like(x)
    for a, b, w in TV_PAIRS:
        d = x[..., a[0], a[1]] - x[..., b[0], b[1]]
        g[..., a[0], a[1]] += 2 * w * d
        g[..., b[0], b[1]] -= 2 * w * d
    return g


def normwise_norm(a):
    return float(np.linalg.norm(np.asarray(to_numpy(a), np.float64)))
