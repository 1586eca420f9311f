"""The paper's losses (eqs. 1-6) and total variation against PyTorch and finite differences."""
import numpy as np
import pytest

from minigrad import losses
from minigrad.backend import to_numpy
from minigrad.gradcheck import relative_error

from .error_model import (assert_finite_differences, content_limits, gram_limits,
                          loss_finite_difference_model, style_limits, tv_limits)
from .oracle import check_against_torch, torch_gram

DTYPES = ["float64", "float32"]
SHAPES = [(1, 3, 5, 7), (1, 8, 6, 4), (1, 1, 2, 9)]


def torch_style(F, A):
    _, N, H, W = F.shape
    return ((torch_gram(F) - A) ** 2).sum() / (4.0 * N ** 2 * (H * W) ** 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("relative", [False, True], ids=["eq. 1", "relative"])
def test_content_loss_matches_torch(shape, dtype, backend, relative):
    # eq. 1, 1/2 ||F - P||^2, or the relative form ||F - P||^2 / ||P||^2 (docs/backprop.md)
    rng = np.random.default_rng(10 if relative else 0)
    loss = losses.relative_content_loss if relative else losses.content_loss

    def ours(xs, dout):
        value, dF = loss(xs["F"], xs["P"])
        return np.array(value), {"F": dF * dout}

    def theirs(t):
        d = ((t["F"] - t["P"]) ** 2).sum()
        return d / (t["P"] ** 2).sum() if relative else 0.5 * d

    check_against_torch(ours, theirs,
                        {"F": rng.standard_normal(shape), "P": rng.standard_normal(shape)},
                        dtype, backend, f"{loss.__name__}[{shape}]", content_limits(dtype, relative))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_gram_matrix_and_its_backward_match_torch(shape, dtype, backend):
    def ours(xs, dout):
        return losses.gram_matrix(xs["F"]), {"F": losses.gram_backward(dout, xs["F"])}

    check_against_torch(ours, lambda t: torch_gram(t["F"]),
                        {"F": np.random.default_rng(1).standard_normal(shape)},
                        dtype, backend, f"gram_matrix[{shape}]", gram_limits(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_style_loss_matches_torch(shape, dtype, backend):
    rng = np.random.default_rng(2)
    S = rng.standard_normal(shape) + 0.5
    A = to_numpy(losses.gram_matrix(S))            # the style image's Gram matrix, a constant

    def ours(xs, dout):
        value, dF = losses.style_loss(xs["F"], xs["A"])
        return np.array(value), {"F": dF * dout}

    check_against_torch(ours, lambda t: torch_style(t["F"], t["A"]),
                        {"F": rng.standard_normal(shape), "A": A}, dtype, backend,
                        f"style_loss[{shape}]", style_limits(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 3, 5, 7), (2, 2, 4, 3)], ids=str)
def test_tv_loss_matches_torch(shape, dtype, backend):
    def ours(xs, dout):
        value, dx = losses.tv_loss(xs["x"])
        return np.array(value), {"x": dx * dout}

    def theirs(t):                            # below, right; down-right and down-left at 1/2
        x = t["x"]
        return (((x[:, :, 1:] - x[:, :, :-1]) ** 2).sum() + ((x[..., 1:] - x[..., :-1]) ** 2).sum()
                + 0.5 * ((x[:, :, 1:, 1:] - x[:, :, :-1, :-1]) ** 2).sum()
                + 0.5 * ((x[:, :, 1:, :-1] - x[:, :, :-1, 1:]) ** 2).sum())

    check_against_torch(ours, theirs, {"x": np.random.default_rng(3).standard_normal(shape)},
                        dtype, backend, f"tv_loss[{shape}]", tv_limits(dtype))


def test_losses_by_finite_differences(backend, to_backend):
    rng = np.random.default_rng(4)
    F = to_backend(rng.standard_normal((1, 4, 5, 6)))
    P = to_backend(rng.standard_normal((1, 4, 5, 6)))
    A = losses.gram_matrix(to_backend(rng.standard_normal((1, 4, 5, 6))))
    cases = {"content": lambda F_: losses.content_loss(F_, P),
             "style": lambda F_: losses.style_loss(F_, A),
             "tv": losses.tv_loss}
    for name, loss in cases.items():                  # error model: loss_finite_difference_model
        _, grad = loss(F)
        magnitude, n, third = loss_finite_difference_model(name, F, P, A)
        assert_finite_differences(lambda F_: loss(F_)[0], F, grad, magnitude, n, third)


def test_known_values(backend, to_backend):
    F = to_backend(np.arange(6.0).reshape(1, 2, 1, 3))           # F^l = [[0,1,2],[3,4,5]]
    assert losses.content_loss(F, F * 0)[0] == 0.5 * 55
    assert relative_error(losses.gram_matrix(F), np.array([[5.0, 14.0], [14.0, 50.0]])) == 0
    value, _ = losses.style_loss(F, losses.gram_matrix(F) * 0)   # E = sum G^2 / (4 * 2^2 * 3^2)
    exact = (25 + 2 * 196 + 2500) / 144                          # integers summed exactly, then
    assert abs(value - exact) <= 2 * 2.0 ** -53 * exact          # the scale and its product: 2 u
    x = to_backend(np.array([[[[0.0, 1.0], [3.0, 3.0]]]]))        # differences: 3, 2 and 1, 0,
    assert losses.tv_loss(x)[0] == 9 + 4 + 1 + 0 + 0.5 * (9 + 4)  # diagonals 3 and 2 (at 1/2)


def test_losses_reject_batched_feature_maps(backend, to_backend):
    with pytest.raises(ValueError, match="1, C, H, W"):
        losses.gram_matrix(to_backend(np.zeros((2, 3, 4, 4))))
