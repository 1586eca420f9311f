"""The run speaks as the README says: its "What you see" paragraph checked against a real run.

Each example the paragraph quotes in backticks (`12/100 evaluations, loss 0.284, ...`) is
turned into a pattern, its numbers into "any number", and must match a line of a real run's
stderr, in both languages' READMEs. Then the promises the examples can't show: one program
name on every line, no carriage return when stderr is not a terminal, the weighted terms
adding up to the total, --quiet leaving nothing, and on an 80-column terminal (a pseudo-
terminal of that width) a bar that fits whole.
"""
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import pytest

from vgg.run import WEIGHTS, Settings
from vgg.speak import changed_settings

from .helpers import ROOT, quick, run_stylize

PARAGRAPH = {"README.md": "What you see:", "README.ko.md": "화면에 나오는 줄은"}


def examples(readme):
    """The backticked examples of the "What you see" paragraph that are output, not options."""
    text = (ROOT / readme).read_text(encoding="utf-8")
    start = text.index(PARAGRAPH[readme])
    paragraph = text[start:text.index("\n\n", start)]
    quoted = re.findall(r"`([^`]+)`", paragraph.replace("\n", " "))
    return [q for q in quoted if not q.startswith("--") and q != "\\r"]


def pattern(example):
    """An example as a regular expression: each number stands for any number."""
    parts = re.split(r"(\d+(?:[.:]\d+)*(?:e[+-]?\d+)?)", example)
    return "".join(r"[\d.:e+-]+" if i % 2 else re.escape(p) for i, p in enumerate(parts))


def warning_run(files, folder, quiet):
    """A run that warns: a photo 4 pixels wide is too thin for conv5_1 and is upscaled."""
    from PIL import Image
    Image.new("RGB", (4, 200), "gray").save(folder / "thin.png")
    args = quick(files, "--content", folder / "thin.png", "-o", folder / "w.png")
    return [a for a in args if quiet or a != "--quiet"]


@pytest.fixture(scope="module")
def spoken(files, tmp_path_factory):
    """stderr of a run with a changed setting and progress lines at every step (in-process,
    PLAIN_EVERY 0), and of a run given a warning to print."""
    folder = tmp_path_factory.mktemp("spoken")
    code = ("import sys, stylize, vgg.speak; vgg.speak.PLAIN_EVERY = 0; "
            "sys.exit(stylize.main(sys.argv[1:], as_program=True))")
    args = [a for a in quick(files, "-o", folder / "o.png", "--iters", 6,
                             "--style-layers", "relu1_1", "block2_conv1") if a != "--quiet"]
    r = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                       text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    warned = run_stylize(*warning_run(files, folder, quiet=False))
    assert warned.returncode == 0, warned.stderr
    return r.stderr + warned.stderr


@pytest.mark.parametrize("readme", list(PARAGRAPH))
def test_every_example_of_what_you_see_is_printed(spoken, readme):
    found = examples(readme)
    assert len(found) >= 4, found
    for example in found:
        assert re.search(pattern(example), spoken), f"{readme}: `{example}` is not in:\n{spoken}"


def test_every_line_starts_with_one_program_name_and_none_with_a_carriage_return(spoken):
    lines = spoken.strip().splitlines()
    assert "\r" not in spoken
    assert all(line.startswith("stylize.py: ") for line in lines), lines


def test_the_weighted_terms_add_up_to_the_total(spoken):
    line = next(line for line in spoken.splitlines() if "final loss" in line)
    total, *parts = map(float, re.search(r"final loss (\S+) = content (\S+) \+ style (\S+) "
                                         r"\+ tv (\S+) \(weighted\)", line).groups())
    assert sum(parts) == pytest.approx(total, rel=2e-3)       # each printed to 4 digits


def test_the_opening_line_names_the_changes_in_the_papers_form(spoken):
    first = spoken.splitlines()[0]
    assert f"alpha {WEIGHTS['relative']['alpha']:g}, beta 1, tv {WEIGHTS['relative']['tv']:g}" in first
    assert first.endswith("changed from the defaults: --style-layers conv1_1,conv2_1"), first


def test_the_style_layers_weights_are_named_only_when_their_own_default_is_left():
    assert changed_settings(Settings(style_layers=["conv1_1", "conv2_1"])) == \
        [("--style-layers", "conv1_1,conv2_1")]              # their weights follow them: equal
    assert changed_settings(Settings(style_layer_weights=[1.0] * 5)) == \
        [("--style-layer-weights", "1,1,1,1,1")]


def test_quiet_prints_nothing_on_a_run_that_warns(files, tmp_path):
    loud = run_stylize(*warning_run(files, tmp_path, quiet=False))
    assert "warning" in loud.stderr
    r = run_stylize(*warning_run(files, tmp_path, quiet=True), "--overwrite")
    assert r.returncode == 0 and r.stderr == ""


def test_the_bar_fits_an_80_column_terminal(files, tmp_path):
    """stderr on a pseudo-terminal 80 columns wide: every state of the bar, as the terminal
    shows it after each carriage return, is whole (ends with its bracket) and fits."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    args = [str(a) for a in quick(files, "-o", tmp_path / "o.png", "--iters", 5) if a != "--quiet"]
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    p = subprocess.Popen([sys.executable, str(ROOT / "stylize.py"), *args], stdin=follower,
                         stdout=subprocess.DEVNULL, stderr=follower, cwd=ROOT, env=env)
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:                                      # the program has closed its end
            break
        if not chunk:
            break
        out += chunk
    assert p.wait(300) == 0
    os.close(leader)
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", out.decode())    # cursor moves, if any
    states = [s.rstrip() for line in text.split("\n") for s in line.split("\r")
              if "evaluation" not in s and "%|" in s]
    assert states, text
    for state in states:
        assert len(state) <= 80 and state.endswith("]"), repr(state)
