"""The scale-free loss terms (minigrad.losses.relative_*) against PyTorch and finite differences.

They are the paper's eqs. 1 and 4 divided by the size of their target
(docs/backprop.md, "Scale-free terms"); these tests also pin down that they
stay unchanged when the features and targets are scaled together. The relative
content term is checked against PyTorch beside eq. 1, in tests/test_losses.py.
"""
import numpy as np
import pytest

from minigrad import losses
from minigrad.backend import to_numpy

from .error_model import (assert_finite_differences, assert_within, loss_finite_difference_model,
                          style_limits, unit_roundoff)
from .oracle import check_against_torch, torch_gram

DTYPES = ["float64", "float32"]
SHAPES = [(1, 3, 5, 7), (1, 8, 6, 4), (1, 1, 2, 9)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_relative_style_loss_matches_torch(shape, dtype, backend):
    rng = np.random.default_rng(11)
    A = to_numpy(losses.gram_matrix(rng.standard_normal(shape) + 0.5))   # a constant target

    def ours(xs, dout):
        value, dF = losses.relative_style_loss(xs["F"], xs["A"])
        return np.array(value), {"F": dF * dout}

    check_against_torch(ours, lambda t: ((torch_gram(t["F"]) - t["A"]) ** 2).sum() / (t["A"] ** 2).sum(),
                        {"F": rng.standard_normal(shape), "A": A}, dtype, backend,
                        f"relative_style_loss[{shape}]", style_limits(dtype, relative=True))


def test_relative_losses_by_finite_differences(backend, to_backend):
    rng = np.random.default_rng(12)
    F = to_backend(rng.standard_normal((1, 4, 5, 6)))
    P = to_backend(rng.standard_normal((1, 4, 5, 6)))
    A = losses.gram_matrix(to_backend(rng.standard_normal((1, 4, 5, 6))))
    for name, loss in {"relative content": lambda F_: losses.relative_content_loss(F_, P),
                       "relative style": lambda F_: losses.relative_style_loss(F_, A)}.items():
        _, grad = loss(F)                             # error model: loss_finite_difference_model
        magnitude, n, third = loss_finite_difference_model(name, F, P, A)
        assert_finite_differences(lambda F_: loss(F_)[0], F, grad, magnitude, n, third)


def test_relative_losses_are_the_papers_times_a_constant(backend, to_backend):
    rng = np.random.default_rng(13)
    F = to_backend(rng.standard_normal((1, 4, 5, 6)))
    P = to_backend(rng.standard_normal((1, 4, 5, 6)))
    A = losses.gram_matrix(to_backend(rng.standard_normal((1, 4, 5, 6))))
    N, M = 4, 30
    # Both sides take the same sums in the same order (sum d^2, ||P||^2, ||A||^2), so they
    # differ only by the few roundings of the constants: at most 4 u of the value. The
    # content gradients are the very same product; the style gradients are matrix products
    # of differently scaled d, each within model 1's bound (style_limits).
    u = unit_roundoff("float64")
    c, dc = losses.content_loss(F, P)
    rc, drc = losses.relative_content_loss(F, P)
    k = 2.0 / float((P * P).sum())                                # C = eq. 1 * 2 / ||P||^2
    assert abs(rc - k * c) <= 4 * u * rc
    assert_within(drc, k * to_numpy(dc), 2 * u * np.abs(to_numpy(drc)), "content gradient")
    e, de = losses.style_loss(F, A)
    rs, drs = losses.relative_style_loss(F, A)
    k = 4.0 * N * N * M * M / float((A * A).sum())                # S = eq. 4 * 4 N^2 M^2 / ||A||^2
    assert abs(rs - k * e) <= 4 * u * rs
    limit = style_limits("float64", relative=True)({"F": to_numpy(F), "A": to_numpy(A)}, 1.0)["F"]
    assert_within(drs, k * to_numpy(de), 2 * limit, "style gradient")


def test_relative_losses_ignore_the_scale_of_the_maps(backend, to_backend):
    """Scaling features and targets together (a brighter painting, a bigger image) changes nothing."""
    rng = np.random.default_rng(14)
    F = to_backend(rng.standard_normal((1, 4, 5, 6)))
    S = to_backend(rng.standard_normal((1, 4, 5, 6)))
    # Exact: times a power of two, every rounded sum and product is the unscaled one times a
    # power of two, so the ratios are bit for bit the same (on any processor).
    for a in (2.0 ** -10, 8.0, 2.0 ** 10):
        assert losses.relative_style_loss(a * F, losses.gram_matrix(a * S))[0] == \
            losses.relative_style_loss(F, losses.gram_matrix(S))[0]
        assert losses.relative_content_loss(a * F, a * S)[0] == losses.relative_content_loss(F, S)[0]
    assert losses.relative_content_loss(F, F)[0] == 0
    assert losses.relative_content_loss(F * 0, S)[0] == 1.0       # a blank map: 1, exactly (x / x)
    assert losses.relative_style_loss(F * 0, losses.gram_matrix(S))[0] == 1.0


def test_relative_losses_refuse_an_all_zero_target(backend, to_backend):
    F = to_backend(np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="all zeros"):
        losses.relative_content_loss(F, F * 0)
    with pytest.raises(ValueError, match="all zeros"):
        losses.relative_style_loss(F, losses.gram_matrix(F) * 0)
