"""vgg/run.py, the importable run: its settings, its budget, its reports, its result.

Random VGG weights (no download), small images; stylize.py's own tests drive the same
run through the command line.
"""
import numpy as np
import pytest
from PIL import Image

from minigrad.adam import Adam
from minigrad.backend import to_numpy
from vgg import images
from vgg.canvas import canvas_shapes, style_shapes
from vgg.orientation import orientation_filter
from vgg.run import WEIGHTS, NonFinite, Settings, Stylization, default_alpha, white_noise

from .error_model import assert_within, bound


def test_settings_fill_in_the_defaults_of_their_normalisation():
    s = Settings()
    assert (s.content_weight, s.style_weight, s.tv_weight) == \
        (WEIGHTS["relative"]["alpha"], WEIGHTS["relative"]["beta"], WEIGHTS["relative"]["tv"])
    assert s.lr == 1.0 and Settings(optimizer="adam").lr == 10.0
    paper = Settings(normalization="paper", size=512)
    assert paper.content_weight == default_alpha(512) == 1e-2 * (256 / 512) ** 2   # the same operations
    assert Settings(content_weight=0.5, tv_weight=0.0).content_weight == 0.5
    assert Settings(normalization="paper", tv_weight=0.0).tv_weight == 0.0   # 0: a value, not "unset"


def test_conv4_1_leads_the_default_style_layers_in_transfer_mode_only():
    assert Settings().style_layer_weights == WEIGHTS["relative"]["layers"] == [0.25, 1, 1, 4, 0.25]
    assert Settings(style_layer_weights=[1, 2, 3, 4, 5]).style_layer_weights == [1, 2, 3, 4, 5]
    assert Settings(normalization="paper").style_layer_weights is None      # eq. 5's 1/5 each
    assert Settings(mode="style").style_layer_weights is None               # the paper's texture
    assert Settings(style_layers=["conv1_1", "conv2_1"]).style_layer_weights is None
    Settings().style_layer_weights[3] = 0                                   # a copy, not the table's
    assert WEIGHTS["relative"]["layers"][3] == 4


def test_the_objective_weighs_the_style_layers_as_the_settings_say(model, pictures):
    photo, painting = pictures
    run = Stylization(model, Settings(size=32), photo, [painting])
    w = run.objective(run.shapes[-1]).w                                     # eq. 5's w_l, summing to 1
    assert w == pytest.approx({"conv1_1": 0.25 / 6.5, "conv2_1": 1 / 6.5, "conv3_1": 1 / 6.5,
                               "conv4_1": 4 / 6.5, "conv5_1": 0.25 / 6.5})
    texture = Stylization(model, Settings(size=32, mode="style"), None, [painting])
    assert texture.objective(texture.shapes[-1]).w == pytest.approx(dict.fromkeys(w, 0.2))


def test_settings_start_style_and_content_modes_from_noise():
    assert Settings(mode="style").init == "noise"
    assert Settings(mode="content", init="style").init == "noise"
    assert Settings(mode="transfer").init == "content"


def test_lbfgs_steps_favour_no_orientation_in_transfer_mode_only(model, pictures):
    # The mesh's cure is the default of a transfer with L-BFGS; Fig. 1 (--mode content), the
    # paper's textures (--mode style) and Adam, which has no H_0, take none.
    assert Settings().precondition == "orientation"
    assert Settings(mode="content").precondition == Settings(mode="style").precondition == "none"
    assert Settings(optimizer="adam").precondition == "none"
    with pytest.raises(ValueError, match="Adam"):
        Settings(optimizer="adam", precondition="orientation")
    photo, painting = pictures
    run = Stylization(model, Settings(size=32), photo, [painting])
    run.x = run.start(run.shapes[-1])
    shape = run.shapes[-1]
    opt = run.optimiser(shape)
    q = np.random.default_rng(0).standard_normal((1, 3) + shape).astype(np.float32)
    expected = orientation_filter(model.params()["conv1_1"][0], shape)(q)
    assert np.array_equal(to_numpy(opt.precondition(q)), expected)     # conv1_1's M at this size
    plain = Stylization(model, Settings(size=32, precondition="none"), photo, [painting])
    plain.x = run.x
    assert plain.optimiser(shape).precondition is None
    adam = Stylization(model, Settings(size=32, optimizer="adam"), photo, [painting])
    adam.x = run.x
    assert isinstance(adam.optimiser(shape), Adam)


def test_canvas_shapes_coarse_to_fine_and_upscaled_for_the_deepest_layer(pictures):
    photo, _ = pictures
    assert canvas_shapes(Settings(size=64, scales=3), photo, []) == [(16, 21), (25, 32), (49, 64)]
    told = []
    shapes = canvas_shapes(Settings(size=20), photo, [], told.append)       # 15x20 < 16 for conv5_1
    assert shapes == [(16, 21)] and "too small for conv5_1" in told[0]


def test_each_painting_gets_the_canvass_pixel_count_in_its_own_proportions():
    square, wide = Image.new("RGB", (300, 300)), Image.new("RGB", (400, 100))
    assert style_shapes(Settings(), (512, 437), [square, wide]) == [(473, 473), (237, 946)]
    assert style_shapes(Settings(style_scale=2.0), (512, 437), [square]) == [(946, 946)]
    assert style_shapes(Settings(), (20, 10), [wide]) == [(16, 64)]     # upscaled for conv5_1


def test_the_budget_is_evaluations_and_each_report_counts_them(model, pictures):
    photo, painting = pictures
    run = Stylization(model, Settings(size=32, iters=12), photo, [painting])
    reports = list(run.reports())
    assert sum(r.new_evals for r in reports) == run.evals == reports[-1].evals <= 12
    assert run.evals >= 12 - max(r.new_evals for r in reports)          # spent, or nothing left
    assert [r.step for r in reports] == list(range(1, len(reports) + 1)) == list(range(1, run.steps + 1))
    assert all(np.isfinite(r.loss) and set(r.terms) == {"content", "style", "tv"} for r in reports)
    assert run.x.shape == (1, 3, 25, 32) and run.image().size == (32, 25)
    # It optimises: compared on one grid, since with the jitter each step's loss is taken at
    # its own shift, and at 32 px that wobble can be larger than what 12 evaluations gain.
    still = [r.loss for r in Stylization(model, Settings(size=32, iters=12, jitter=0), photo,
                                         [painting]).reports()]
    assert still[-1] < still[0]


def test_scales_upsample_and_each_spends_its_own_budget(model, pictures):
    photo, painting = pictures
    run = Stylization(model, Settings(size=64, scales=2, iters=3, line_search="none"), photo, [painting])
    reports = list(run.reports())
    assert [r.scale for r in reports] == [0, 0, 0, 1, 1, 1]             # fixed step: 1 eval a step
    assert run.x.shape == (1, 3, 49, 64)


def test_noise_start_is_the_seeded_white_noise(model, pictures):
    photo, painting = pictures
    run = Stylization(model, Settings(size=32, init="noise", seed=3), photo, [painting])
    np.testing.assert_array_equal(to_numpy(run.start((24, 32))), white_noise((24, 32), 3))
    # the sample deviation of 2304 unit normals has a standard error of 1/sqrt(2 n) = 0.015:
    # 0.05 is 3.4 of them (and the seed fixes the draw on every machine: NumPy's PCG64)
    assert white_noise((24, 32), 3).std() == pytest.approx(1.0, abs=0.05)


def test_a_given_image_is_the_start(model, pictures):
    photo, painting = pictures
    run = Stylization(model, Settings(size=32), photo, [painting], init=painting)
    start = run.image(run.start((24, 32)))
    expected = images.resize_to(painting, (24, 32))
    assert np.abs(np.asarray(start, float) - np.asarray(expected, float)).max() <= 1   # rounding


def test_a_nan_loss_stops_the_run_keeping_the_last_good_image(model, pictures):
    photo, painting = pictures
    run = Stylization(model, Settings(size=32, iters=50, style_weight=1e38, line_search="none",
                                      lr=1e30), photo, [painting])
    with pytest.raises(NonFinite, match="the loss became") as caught:
        for _ in run.reports():
            pass
    good = caught.value.last_good
    assert good is None or np.isfinite(to_numpy(good)).all()
    assert run.good is good


def test_preserve_colors_puts_the_photos_colours_back(model):
    photo = Image.new("RGB", (32, 32), (200, 40, 40))                # red
    painting = Image.new("RGB", (32, 32), (40, 40, 200))             # blue
    for mode in ("luminance", "histogram"):
        run = Stylization(model, Settings(size=32, iters=2, preserve_colors=mode), photo, [painting])
        list(run.reports())
        r, g, b = np.asarray(run.image(), float).reshape(-1, 3).mean(0)
        assert r > b + 40, (mode, r, b)


def test_the_run_prints_nothing(model, pictures, capsys):
    photo, painting = pictures
    list(Stylization(model, Settings(size=32, iters=3), photo, [painting]).reports())
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_a_diverging_run_warns_nothing_from_the_engines_threads(model, pictures, recwarn):
    photo, painting = pictures
    run = Stylization(model, Settings(size=32, iters=50, style_weight=1e38, line_search="none",
                                      lr=1e30), photo, [painting])
    with pytest.raises(NonFinite):
        list(run.reports())
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_each_report_carries_every_layers_own_term(model, pictures):
    photo, painting = pictures
    settings = Settings(size=32, iters=4, style_layer_weights=[4, 3, 2, 1, 0])
    run = Stylization(model, settings, photo, [painting])
    for r in run.reports():
        assert list(r.layers["style"]) == settings.style_layers
        assert list(r.layers["content"]) == settings.content_layers
        w = np.array([4, 3, 2, 1, 0]) / 10                              # normalised w_l of eq. 5
        # the same five products, summed in another order (model 1, float64: gamma_6)
        terms = w * np.array(list(r.layers["style"].values()))
        assert_within(r.terms["style"], terms.sum(), bound(np.abs(terms).sum(), 6, "float64"))
        assert r.terms["content"] == r.layers["content"]["conv4_2"]      # one layer, weight 1
