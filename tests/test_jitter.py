"""The jitter of issue 25: VGG sees the image rolled by a random shift each step.

vgg/transfer.py's Objective.shift_to moves the image (and the photo) on VGG's pooling
grid; vgg/run.py draws a new shift before each optimiser step and tells the optimiser
that f changed (minigrad/optim.py's objective_changed, tested in tests/test_optim.py).
Random VGG weights, small noise images (tests/conftest.py's model and pictures).
"""
import numpy as np
import pytest

from vgg import images
from vgg.run import Settings, Stylization
from vgg.transfer import Objective


def arrays(photo, painting, shape=(32, 48)):
    content = images.preprocess(images.resize_to(photo, shape))                    # (1, 3, 32, 48)
    style = images.preprocess(images.resize_to(painting, shape))
    x = content + np.random.default_rng(1).normal(0, 20, content.shape).astype(np.float32)
    return content, style, x


@pytest.mark.parametrize("shift", [(1, 0), (0, 3), (5, 7)], ids=str)
def test_a_shifted_objective_is_the_objective_of_the_rolled_images(model, pictures, shift):
    # Rolling is exact (a permutation of pixels), so the shifted objective on x must be,
    # bit for bit, the unshifted objective built on the rolled photo and evaluated at the
    # rolled x, its gradient rolled back. (TV is left out: it is taken on x itself.)
    content, style, x = arrays(*pictures)
    shifted = Objective(model, x.shape, content, [style], alpha=0.1, normalization="relative")
    shifted.shift_to(*shift)
    loss, grad = shifted(x)
    rolled = Objective(model, x.shape, np.roll(content, shift, axis=(2, 3)), [style], alpha=0.1,
                       normalization="relative")
    loss_r, grad_r = rolled(np.roll(x, shift, axis=(2, 3)))
    assert loss == loss_r
    assert np.array_equal(grad, np.roll(grad_r, (-shift[0], -shift[1]), axis=(2, 3)))
    unshifted_loss, _ = Objective(model, x.shape, content, [style], alpha=0.1, normalization="relative")(x)
    assert loss != unshifted_loss                                    # the grid did move


def test_shifting_back_to_zero_restores_the_objective_exactly(model, pictures):
    content, style, x = arrays(*pictures)
    objective = Objective(model, x.shape, content, [style], alpha=0.1, tv_weight=0.03,
                          normalization="relative")
    before = objective(x)
    objective.shift_to(2, 3)
    objective.shift_to(0, 0)
    after = objective(x)
    assert before[0] == after[0] and np.array_equal(before[1], after[1])


def run_with(model, pictures, **settings):
    """The shifts a run drew, one per step, and its result."""
    photo, painting = pictures
    run = Stylization(model, Settings(size=32, iters=10, **settings), photo, [painting])
    drawn = []
    real_objective = run.objective

    def objective(shape):                                            # records each shift_to
        o = real_objective(shape)
        real_shift_to = o.shift_to
        o.shift_to = lambda dy, dx: drawn.append((dy, dx)) or real_shift_to(dy, dx)
        return o
    run.objective = objective
    reports = list(run.reports())
    return drawn, reports, np.array(run.x)


def test_a_run_draws_a_new_shift_before_each_step_within_the_jitter(model, pictures):
    drawn, reports, _ = run_with(model, pictures, jitter=3)
    assert len(drawn) == len(reports) > 1
    assert all(0 <= dy <= 3 and 0 <= dx <= 3 for dy, dx in drawn)
    assert len({dy for dy, _ in drawn}) > 1 and len({dx for _, dx in drawn}) > 1   # both ways


def test_a_jittered_run_is_reproducible_from_its_seed(model, pictures):
    first, _, x1 = run_with(model, pictures, jitter=3, seed=5)
    again, _, x2 = run_with(model, pictures, jitter=3, seed=5)
    other, _, _ = run_with(model, pictures, jitter=3, seed=6)
    assert first == again and np.array_equal(x1, x2)
    assert other != first


def test_jitter_zero_never_moves_the_grid(model, pictures):
    drawn, reports, _ = run_with(model, pictures, jitter=0)
    assert drawn == [] and reports
