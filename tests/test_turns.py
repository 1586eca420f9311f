"""vgg/turns.py: a turned copy turns about the centre and fills its corners from the mirrored
painting; the blend gives each painting 1 - share and its copies the share; and a run with
turns captures the weighted mean of the copies' Gram matrices, the targets of eq. 4."""
import numpy as np
import pytest
from PIL import Image

from vgg import turns
from vgg.canvas import style_shapes
from vgg.images import preprocess, resize_to
from vgg.run import TURN_SHARE, TURNS, Settings, Stylization
from vgg.transfer import canvas_pixels, style_targets


def test_a_quarter_turn_is_numpys_rot90_and_any_turn_keeps_the_size_and_fills_the_corners():
    a = (np.random.default_rng(0).random((30, 30, 3)) * 255).astype(np.uint8)
    assert np.array_equal(np.asarray(turns.turned(Image.fromarray(a), 90)), np.rot90(a))
    flat = Image.new("RGB", (50, 30), (200, 120, 40))            # one colour, not square
    out = turns.turned(flat, 30)
    assert out.size == (50, 30)
    assert np.all(np.asarray(out) == (200, 120, 40))             # the mirrored borders fill it


def test_the_blend_gives_each_painting_one_minus_the_share_and_its_copies_the_rest():
    assert turns.blend_with_turns([1.0], [22.5, -22.5], 0.4) == pytest.approx([0.6, 0.2, 0.2])
    assert turns.blend_with_turns([3.0, 1.0], [10.0], 0.5) == pytest.approx([1.5, 1.5, 0.5, 0.5])
    assert turns.blend_with_turns([3.0, 1.0], [10.0], 0.0) == [3.0, 1.0]      # share 0: no copies
    assert turns.blend_with_turns([1.0], [], 0.4) == [1.0]


def test_with_turns_puts_each_paintings_copies_after_it_and_shrinks_a_large_one_first():
    rng = np.random.default_rng(1)
    big = Image.fromarray((rng.random((90, 120, 3)) * 255).astype(np.uint8))
    small = Image.fromarray((rng.random((20, 30, 3)) * 255).astype(np.uint8))
    styles, blend = turns.with_turns([big, small], [1.0, 1.0], [15.0, -15.0], 0.4, [40, 40])
    assert len(styles) == 6 and styles[0] is big and styles[3] is small
    assert [s.size for s in styles] == [(120, 90), (80, 60), (80, 60), (30, 20), (30, 20), (30, 20)]
    assert blend == pytest.approx([0.6, 0.2, 0.2, 0.6, 0.2, 0.2])
    same, blend = turns.with_turns([big], None, [15.0], 0.0, [40])
    assert same == [big] and blend == [1.0]


def test_the_default_turns_are_for_transfer_only_and_the_share_zero_turns_them_off():
    assert Settings().style_turns == TURNS and Settings().style_turn_share == TURN_SHARE == 0.6
    assert Settings(mode="style").style_turns == []
    assert Settings(mode="content").style_turns == []
    assert Settings(style_turns=[5.0], mode="style").style_turns == [5.0]   # given: kept


def test_a_run_with_turns_targets_the_blended_grams_of_the_painting_and_its_copies(model):
    rng = np.random.default_rng(2)
    photo = Image.fromarray((rng.random((24, 32, 3)) * 255).astype(np.uint8))
    painting = Image.fromarray((rng.random((30, 30, 3)) * 255).astype(np.uint8))
    settings = Settings(size=32, iters=1, style_turns=[20.0], style_turn_share=0.25)
    run = Stylization(model, settings, photo, [painting])
    objective = run.objective(run.shapes[-1])
    copy = turns.turned(painting, 20.0)
    shape = style_shapes(settings, run.shapes[-1], [painting])[0]
    layers = settings.style_layers
    want = style_targets(model, [preprocess(resize_to(painting, shape)), preprocess(resize_to(copy, shape))],
                         [0.75, 0.25], layers, canvas_pixels((1, 3) + run.shapes[-1], layers))
    for layer in layers:
        np.testing.assert_allclose(objective.A[layer], want[layer], rtol=1e-5)
