"""stylize.py's scale-free objective and its controls: normalisation, layer weights, colours.

The objective with relative terms is checked against PyTorch autograd like the
paper's (tests/test_stylize.py); the options through real (random-weight) runs.
"""
import sys

import numpy as np
import pytest
from PIL import Image

from minigrad.backend import to_numpy
from vgg import colour
from vgg.layout import LAYER_NAMES
from vgg.model import VGG19
from vgg.transfer import Objective, layer_weights

from .oracle import check_objective_against_torch, torch_objective
from .helpers import run_stylize, write_inputs


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A colourful photo (a red-to-blue ramp with noise), a painting, random weights."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 1, 52)[None, :, None]
    photo = 255 * (ramp * [1.0, 0.1, 0.1] + (1 - ramp) * [0.1, 0.2, 1.0]) + rng.normal(0, 12, (40, 52, 3))
    return write_inputs(tmp_path_factory.mktemp("options"), np.clip(photo, 0, 255).astype(np.uint8),
                        painting_name="style.png")


def quick(files, *extra):
    return ["--content", files / "content.png", "--style", files / "style.png",
            "--weights", files / "random.h5", "--size", 32, "--iters", 2, "--quiet", *extra]


def test_relative_objective_gradient_matches_torch(files):
    """Eq. 7 with the relative terms, layer weights and TV relative to the photo's, against
    PyTorch in float64, within model 2 (tests/oracle.py's check); the terms the run reports."""
    params = {k: (to_numpy(W), to_numpy(b)) for k, (W, b) in VGG19.load(files / "random.h5").params().items()}
    rng = np.random.default_rng(1)
    content = rng.standard_normal((1, 3, 34, 38)) * 40
    style = rng.standard_normal((1, 3, 40, 32)) * 40                  # another size
    x = rng.standard_normal((1, 3, 34, 38)) * 40
    c_layers, s_layers = ["conv4_2", "conv2_2"], ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
    v, w = [3.0, 1.0], [16.0, 8.0, 4.0, 2.0, 1.0]
    objective, loss_error = check_objective_against_torch(params, content, style, x, c_layers,
                                                          s_layers, 0.7, 2.0, 0.3, "relative", v, w)
    _, terms, *_ = torch_objective(params, content, style, x, c_layers, s_layers, 0.7, 2.0, 0.3,
                                   "relative", v, w)
    # the terms the run reports: each weighted term's error is part of the loss's bound
    for key, weight in (("content", 0.7), ("style", 2.0), ("tv", 0.3)):
        assert abs(objective.terms[key] - terms[key]) <= loss_error / weight, key


def test_layer_weights_are_normalised_and_checked():
    assert layer_weights(["a", "b"]) == {"a": 0.5, "b": 0.5}
    assert layer_weights(["a", "b"], [3, 1]) == {"a": 0.75, "b": 0.25}
    for bad in ([1], [0, 0], [-1, 2]):
        with pytest.raises(ValueError):
            layer_weights(["a", "b"], bad)


def settings_line(files, tmp_path, *extra):
    """The opening line a run prints (it is silent with --quiet)."""
    args = [a for a in quick(files, "-o", tmp_path / "o.png", "--iters", 1, *extra) if a != "--quiet"]
    r = run_stylize(*args)
    assert r.returncode == 0, r.stderr
    return r.stderr.splitlines()[0]


@pytest.mark.parametrize("size", [32, 64])
def test_relative_defaults_do_not_depend_on_the_size(files, tmp_path, size):
    from vgg.run import WEIGHTS
    rel = WEIGHTS["relative"]
    line = settings_line(files, tmp_path, "--size", size)
    assert f"alpha {rel['alpha']:g}, beta {rel['beta']:g}, tv {rel['tv']:g}" in line, line
    assert "--normalization" not in line                # the default: not among the changes


def test_paper_normalization_keeps_the_size_scaled_alpha(files, tmp_path):
    line = settings_line(files, tmp_path, "--normalization", "paper", "--size", 64)
    assert "alpha 0.16, beta 1, tv 0.001" in line and "normalization paper" in line, line


def test_layer_weight_options(files, tmp_path):
    out = tmp_path / "w.png"
    r = run_stylize(*quick(files, "-o", out, "--style-layers", "conv1_1,conv2_1",
                           "--style-layer-weights", "3,1", "--content-layers", "conv2_2,conv3_1",
                           "--content-layer-weights", "1,0"))
    assert r.returncode == 0, r.stderr
    assert out.exists()
    for extra, says in [(["--style-layer-weights", "1,2,3"], "--style-layer-weights has 3 weights for 5"),
                        (["--content-layer-weights", "0"], "must be finite numbers >= 0, not all zero"),
                        (["--style-layer-weights", "a,b"], "must be numbers")]:
        r = run_stylize(*quick(files, "-o", tmp_path / "bad.png", *extra))
        assert r.returncode == 2 and says in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "bad.png").exists()


def test_list_layers_prints_every_name(files):
    r = run_stylize("--list-layers")
    assert r.returncode == 0, r.stderr
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert names == LAYER_NAMES
    assert "conv4_2" in r.stdout and "(content default)" in r.stdout


def chroma(img):
    """Mean absolute I and Q (YIQ colour) of an image: 0 for grey."""
    yiq = colour.rgb_to_yiq(np.asarray(img.convert("RGB"), np.float32))
    return float(np.abs(yiq[..., 1:]).mean())


@pytest.mark.parametrize("how", ["luminance", "histogram"])
def test_preserve_colors_keeps_the_photos_colours_in_snapshots_too(files, tmp_path, how):
    out = tmp_path / f"{how}.png"
    r = run_stylize(*quick(files, "--preserve-colors", how, "--iters", 3, "--save-every", 1, "-o", out))
    assert r.returncode == 0, r.stderr
    photo = Image.open(files / "content.png").resize((32, 25))
    for path in [out, tmp_path / f"{how}-0001.png", tmp_path / f"{how}-0002.png"]:
        img = Image.open(path)
        assert chroma(img) > 0.5 * chroma(photo), f"{path.name} lost the colours"
    if how == "luminance":                      # the photo's own I and Q, exactly (up to rounding)
        iq = colour.rgb_to_yiq(np.asarray(Image.open(out), np.float32))[..., 1:]
        iq_photo = colour.rgb_to_yiq(np.asarray(photo, np.float32))[..., 1:]
        assert np.abs(iq - iq_photo).mean() < 4


def test_preserve_colors_alone_means_luminance(files, tmp_path):
    assert "changed from the defaults: --preserve-colors luminance" in \
        settings_line(files, tmp_path, "--preserve-colors")


def test_precondition_orientation_with_adam_is_refused(files, tmp_path):
    r = run_stylize(*quick(files, "--optimizer", "adam", "--precondition", "orientation",
                           "-o", tmp_path / "o.png"))
    assert r.returncode == 2 and "--precondition orientation" in r.stderr and "adam" in r.stderr
    assert not (tmp_path / "o.png").exists()


def test_adam_alone_runs_without_the_preconditioner_and_says_nothing_of_it(files, tmp_path):
    line = settings_line(files, tmp_path, "--optimizer", "adam")
    assert "--optimizer adam" in line and "--precondition" not in line
    assert (tmp_path / "o.png").exists()
    assert "--precondition none" in settings_line(files, tmp_path, "--precondition", "none",
                                                  "--overwrite")


@pytest.mark.parametrize("mode", ["style", "content"])
def test_preserve_colors_without_a_photo_and_painting_is_refused(files, tmp_path, mode):
    image = ["--style", files / "style.png"] if mode == "style" else ["--content", files / "content.png"]
    r = run_stylize("--mode", mode, *image, "--weights", files / "random.h5", "--size", 32,
                    "--iters", 1, "--preserve-colors", "-o", tmp_path / "o.png")
    assert r.returncode == 2 and "--preserve-colors" in r.stderr
    assert not (tmp_path / "o.png").exists()


def test_demo_reads_the_argv_given_to_main(tmp_path, monkeypatch):
    from vgg import cli, demo
    monkeypatch.chdir(tmp_path)
    argv = ["--demo", "--size", "48", "--iters=7"]
    args = cli.build_parser().parse_args(argv)
    monkeypatch.setattr(sys, "argv", ["stylize.py"])             # what main(argv) must not read
    demo.configure_demo(args, argv)
    assert (args.size, args.iters) == (48, 7)
    args = cli.build_parser().parse_args(["--demo"])
    demo.configure_demo(args, ["--demo"])
    assert (args.size, args.iters) == (256, 100)


def test_relative_tv_without_a_photo_is_the_paintings_per_pixel_of_the_canvas(files):
    # --mode style has no photo: TV's yardstick is the painting's own TV, per pixel of the
    # canvas, so a painting twice the canvas's side (four times its pixels) counts a
    # quarter of its TV: TV = 1 is "as busy as the painting", whatever its size.
    from minigrad import losses
    model = VGG19.load(files / "random.h5")
    style = (np.random.default_rng(3).standard_normal((1, 3, 32, 32)) * 40).astype(np.float32)
    objective = Objective(model, (1, 3, 16, 16), None, [style], None, [], ["conv1_1"],
                          0.0, 1.0, 0.5, "relative")
    per_canvas = losses.tv_loss(style)[0] * (16 * 16) / (32 * 32)     # the same operations
    assert objective.tv_scale == 1 / per_canvas
