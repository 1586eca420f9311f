"""The command line people expect: other tools' layer names, lists with commas or spaces,
--version, the console command and `python -m stylize`, a --help that reads well, --mode
content as the paper's Figure 1, plurals.
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vgg import __version__
from vgg.cli import build_parser

from .helpers import ROOT, quick, run_stylize


def parse(*argv):
    return build_parser().parse_args([str(a) for a in argv])


@pytest.mark.parametrize("typed,canonical", [
    ("conv4_2", "conv4_2"), ("relu4_2", "conv4_2"), ("block4_conv2", "conv4_2"),
    ("RELU1_1", "conv1_1"), ("block3_pool", "pool3")])
def test_other_tools_layer_names_mean_the_same_layer(typed, canonical):
    assert parse("--content-layers", typed).content_layers == [canonical]


@pytest.mark.parametrize("typed,weights", [
    (["conv1_1,conv2_1", "relu3_1"], ["1,2", "3"]),
    (["conv1_1", "conv2_1,", "block3_conv1"], ["1", "2,", "3"]),
    (["conv1_1, conv2_1 ,conv3_1"], ["1, 2 ,3"])])
def test_lists_take_commas_spaces_or_both(typed, weights):
    assert parse("--style-layers", *typed).style_layers == ["conv1_1", "conv2_1", "conv3_1"]
    assert parse("--style-layer-weights", *weights).style_layer_weights == [1.0, 2.0, 3.0]


def test_style_blend_takes_commas_too():
    assert parse("--style-blend", "3,1").style_blend == [3.0, 1.0]


@pytest.mark.parametrize("argv,says", [
    (["--style-layers", "relu9_9"], "unknown layer name relu9_9"),
    (["--style-layers", ","], "needs at least one value"),
    (["--style-layer-weights", "1", "x"], "must be numbers"),
    (["--style-layer-weights", "0,0"], "not all zero")])
def test_a_bad_list_is_one_line(files, tmp_path, argv, says):
    r = run_stylize(*quick(files, "-o", tmp_path / "o.png", *argv))
    assert r.returncode == 2 and says in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_other_tools_names_run_and_the_run_prints_the_papers(files, tmp_path):
    args = [a for a in quick(files, "-o", tmp_path / "o.png", "--iters", 1, "--content-layers",
                             "relu4_2", "--style-layers", "block1_conv1", "conv2_1")
            if a != "--quiet"]
    r = run_stylize(*args)
    assert r.returncode == 0, r.stderr
    assert "--content-layers" not in r.stderr            # relu4_2 is conv4_2: the default
    assert "--style-layers conv1_1,conv2_1" in r.stderr


def test_version_names_the_program_and_the_version():
    r = run_stylize("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"stylize.py {__version__}"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'version = { attr = "vgg.__version__" }' in pyproject    # one place for the number


def test_python_dash_m_stylize_is_the_same_program(tmp_path):
    r = subprocess.run([sys.executable, "-m", "stylize", "--version"], capture_output=True,
                       text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"stylize.py {__version__}"


def test_the_console_command_is_the_same_program(files, tmp_path):
    command = Path(sys.executable).parent / "minigrad-stylize"
    if not command.exists():
        pytest.skip("the project is not installed in this environment (pip install -e .)")
    r = subprocess.run([str(command), "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"minigrad-stylize {__version__}"
    run = subprocess.run([str(command), *map(str, quick(files, "-o", tmp_path / "o.png"))],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0 and (tmp_path / "o.png").exists(), run.stderr
    bad = subprocess.run([str(command), "--siz", "3"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("minigrad-stylize: error:")


def test_help_gives_each_default_once_and_every_option_its_help():
    text = build_parser().format_help()
    assert "(default: None)" not in text and "['" not in text and "default_alpha" not in text
    for action in build_parser()._actions:
        assert action.help, f"{action.option_strings} has no help"
    # each option's own text, up to the next option: at most one "(default:"
    for block in re.split(r"\n  (?=-)", text):
        assert block.count("(default:") <= 1, block
    assert "(default: conv1_1,conv2_1,conv3_1,conv4_1,conv5_1)" in " ".join(text.split())


@pytest.mark.parametrize("extra,tv", [([], "tv 0;"), (["--tv-weight", "0.1"], "tv 0.1;")])
def test_mode_content_is_the_content_loss_alone_unless_tv_is_asked(files, tmp_path, extra, tv):
    args = [a for a in quick(files, "-o", tmp_path / "o.png", "--mode", "content", *extra)
            if a != "--quiet"]
    r = run_stylize(*args)
    assert r.returncode == 0 and tv in r.stderr.splitlines()[0], r.stderr
    summary = r.stderr.strip().splitlines()[-1]
    if not extra:
        assert "+ style 0 + tv 0 (weighted)" in summary, summary


def test_one_is_singular(files, tmp_path):
    args = [a for a in quick(files, "-o", tmp_path / "o.png", "--iters", 1) if a != "--quiet"]
    r = run_stylize(*args)
    first, last = r.stderr.splitlines()[0], r.stderr.strip().splitlines()[-1]
    assert ", 1 evaluation," in first and "done: 1 step, 1 evaluation in" in last, r.stderr


def test_quiet_silences_the_demo_and_the_first_fetch_of_the_weights(files, tmp_path, monkeypatch,
                                                                      capsys):
    import stylize
    import vgg.weights
    from vgg.weights import write_h5
    from vgg.weights.testing import random_params

    def fetch(path, say):                     # the real one downloads; this one says the same
        say("VGG-19 weights: downloading (a stand-in for the test)")
        write_h5(random_params(seed=0), path)
    monkeypatch.setattr(vgg.weights, "DEFAULT_PATH", tmp_path / "vgg19.h5")
    monkeypatch.setattr(vgg.weights, "fetch", fetch)
    monkeypatch.chdir(tmp_path)
    demo = ["--demo", "--size", "32", "--iters", "1"]
    assert stylize.main(demo + ["--quiet"]) == 0
    assert capsys.readouterr().err == ""
    (tmp_path / "vgg19.h5").unlink()                         # fetched again, now aloud
    assert stylize.main(demo) == 0
    said = capsys.readouterr().err.strip().splitlines()
    assert any("downloading" in line for line in said) and any("demo:" in line for line in said)
    assert all(line.startswith("stylize.py: ") for line in said), said
