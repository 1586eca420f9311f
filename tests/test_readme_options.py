"""The options tables of README.md and README.ko.md say what stylize.py's parser does.

Each table row names an option (`--pooling max\\|avg`), its default and what it does. Every
option of the parser (vgg/cli.py, whose defaults come from vgg.run.Settings) has a row and
every row an option; the choices written in the row are the parser's choices; and the
default written is the parser's, read as a number, a word or a list. The defaults the run
computes (the loss weights per --normalization, the learning rate per optimiser) are
compared with the tables they come from (vgg.run.WEIGHTS, LEARNING_RATES). A stale README
fails here.
"""
import argparse
import re

import pytest

from vgg import cli
from vgg.run import INITS, LEARNING_RATES, WEIGHTS, Settings

from .helpers import ROOT

HEADERS = {"README.md": "| option | default | what it does |",
           "README.ko.md": "| 옵션 | 기본값 | 하는 일 |"}
OFF = {"README.md": {"off", "equal", ""}, "README.ko.md": {"꺼짐", "균등", ""}}
PAPER = {"README.md": "paper:", "README.ko.md": "paper일 때"}


def table_rows(name):
    """{option: (the option cell, the default cell)} of the options table of `name`."""
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADERS[name]) + 2
    rows = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        options = re.findall(r"`(--[a-z-]+)", cells[0])
        if options:                                          # not a group's heading row
            rows[options[0]] = (cells[0], cells[1])
    return rows


def parser_actions():
    return {a.option_strings[0]: a for a in cli.build_parser()._actions
            if a.option_strings and a.option_strings[0] != "-h"}


def choices_written(cell):
    """The choices in `--pooling max\\|avg` or `--preserve-colors [luminance\\|histogram]`."""
    spec = cell.split("`")[1].split(" ", 1)
    if len(spec) == 1 or "\\|" not in spec[1]:
        return None
    return set(spec[1].strip("[]").split("\\|"))


def numbers(text):
    return [float(n) for n in re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?:e-?\d+)?", text)]


def computed_default(option, cell, name):
    """The defaults the run computes: written as 'RELATIVE; paper: PAPER' (the weights)
    or '1 (L-BFGS), 10 (Adam)' (the learning rate) or '15; `--mode content`: 0' (the jitter)
    or '22.5,-22.5; `--mode style`: none' (the turns) or '0.25,1,1,4,0.25; paper, `--mode
    style` or other `--style-layers`: equal' (the style layers' weights) or 'orientation;
    `--mode content`, `--mode style`, `--optimizer adam`: none' (the preconditioner)."""
    if option == "--precondition":
        first, cases = re.split(r"[;,]", cell, maxsplit=1)    # 'orientation; ...' / 'orientation, ...'
        assert first.strip() == Settings().precondition == "orientation", cell
        for case in ("`--mode content`", "`--mode style`", "`--optimizer adam`"):
            assert case in cases, cell
        assert cases.rstrip().endswith("none"), cell
        assert {Settings(mode="content").precondition, Settings(mode="style").precondition,
                Settings(optimizer="adam").precondition} == {"none"}
        return
    if option == "--style-layer-weights":                     # transfer, relative, the default layers
        given, _, otherwise = cell.partition("paper")
        assert numbers(given) == Settings().style_layer_weights == WEIGHTS["relative"]["layers"], cell
        assert "`--mode style`" in otherwise and any(word in otherwise for word in OFF[name]), cell
        assert Settings(normalization="paper").style_layer_weights is None
        assert Settings(mode="style").style_layer_weights is None
        return
    if option == "--lr":
        assert numbers(cell) == list(LEARNING_RATES.values()), cell
        return
    if option == "--style-turns":                             # 22.5,-22.5; `--mode style`: none
        before, mode_style, _ = cell.partition("`--mode style`")
        assert [float(t) for t in re.findall(r"-?\d+(?:\.\d+)?", before)] == Settings().style_turns
        assert mode_style and Settings(mode="style").style_turns == [], cell
        return
    if option == "--jitter":                                  # 15; `--mode content`: 0
        assert numbers(cell)[0] == Settings().jitter, cell
        mode_content = re.search(r"`--mode content`\D*?(\d+)", cell)
        assert mode_content and int(mode_content.group(1)) == Settings(mode="content").jitter, cell
        return
    key = {"--content-weight": "alpha", "--style-weight": "beta", "--tv-weight": "tv"}[option]
    relative, _, paper = cell.partition(PAPER[name])
    assert numbers(relative)[0] == WEIGHTS["relative"][key], cell
    if WEIGHTS["paper"][key] is None:                        # alpha: 1e-2 (256 / size)^2
        assert "1e-2 x (256 / size)^2" in paper, cell
    elif paper:
        assert numbers(paper)[0] == WEIGHTS["paper"][key], cell
    if key == "tv":                                           # Fig. 1: the content loss alone
        mode_content = re.search(r"`--mode content`\D*?(\d[\d.e-]*)", cell)
        assert mode_content and float(mode_content.group(1)) == Settings(mode="content").tv_weight


def check_default(option, action, cell, name):
    default = action.default
    if option in ("--lr", "--content-weight", "--style-weight", "--tv-weight", "--jitter",
                  "--style-turns", "--style-layer-weights", "--precondition"):
        computed_default(option, cell, name)
    elif option == "--weights":
        assert cell == "weights/vgg19.h5"
    elif default is None or default is False or default == argparse.SUPPRESS:    # --version
        assert cell in OFF[name], f"{option}: the parser has no default, the table says {cell!r}"
    elif isinstance(default, list):
        assert cell == ",".join(default), f"{option}: {cell!r} against {default}"
    elif isinstance(default, (int, float)) and not isinstance(default, bool):
        assert numbers(cell)[:1] == [default], f"{option}: {cell!r} against {default}"
    else:
        assert cell == str(default), f"{option}: {cell!r} against {default!r}"


@pytest.mark.parametrize("name", list(HEADERS))
def test_every_option_has_a_row_and_every_row_an_option(name):
    rows, actions = table_rows(name), parser_actions()
    assert sorted(rows) == sorted(actions)


@pytest.mark.parametrize("name", list(HEADERS))
def test_the_choices_written_are_the_parsers(name):
    rows, actions = table_rows(name), parser_actions()
    for option, (cell, _) in rows.items():
        written = choices_written(cell)
        if option == "--init":                               # a choice or a PATH
            assert written == set(INITS) | {"PATH"}, cell
        elif actions[option].choices is not None:
            assert written == set(actions[option].choices), f"{option}: {cell}"
        else:
            assert written is None, f"{option} takes no fixed choices: {cell}"


@pytest.mark.parametrize("name", list(HEADERS))
def test_the_defaults_written_are_the_parsers(name):
    rows, actions = table_rows(name), parser_actions()
    for option, (_, cell) in rows.items():
        check_default(option, actions[option], cell, name)


def test_a_stale_default_is_caught(monkeypatch):
    monkeypatch.setitem(WEIGHTS["relative"], "tv", 0.1)
    with pytest.raises(AssertionError):
        check_default("--tv-weight", parser_actions()["--tv-weight"], "0.03; paper: 1e-3",
                      "README.md")
    with pytest.raises(AssertionError):
        check_default("--size", parser_actions()["--size"], "256", "README.md")
