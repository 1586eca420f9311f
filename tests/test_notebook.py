"""notebooks/: the committed .ipynb says what its jupytext source says, and the source runs.

The notebook is executed at a tiny size (32 px, 3 L-BFGS steps) with nbclient, so it cannot
rot: every cell must run, its pictures must come out inline, and its own checks (the walk
down the network equals VGG19.backward and Objective's gradient) must hold. It uses the
real VGG-19 weights when weights/vgg19.h5 is present and never fetches them here; without
them it says so and runs on the random weights the other tests use.
"""
import re

import pytest

from .helpers import ROOT, load_script

NOTEBOOKS = ROOT / "notebooks"

pytest.importorskip("jupytext", reason="the notebook tests need the test extra (jupytext, nbclient)")
pytest.importorskip("nbclient", reason="the notebook tests need the test extra (jupytext, nbclient)")

build = load_script(NOTEBOOKS / "build.py", "notebook_build")


@pytest.mark.parametrize("name", ["content_loss"])
def test_the_ipynb_is_built_from_its_source(name):
    import nbformat
    source = build.read_source(NOTEBOOKS / f"{name}.py")
    built = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert build.cells_of(built) == build.cells_of(source), (
        f"notebooks/{name}.ipynb is out of step with notebooks/{name}.py: "
        f"run python notebooks/build.py {name}")


def test_the_committed_notebook_was_run_and_shows_its_pictures():
    import nbformat
    built = nbformat.read(NOTEBOOKS / "content_loss.ipynb", as_version=4)
    pictures = [o for c in built.cells if c.cell_type == "code" for o in c.get("outputs", [])
                if "image/png" in o.get("data", {})]
    assert len(pictures) >= 8
    text = "".join(o.get("text", "") for c in built.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    assert "with the ImageNet weights" in text, "the committed run must use the real weights"


@pytest.mark.slow
def test_the_notebook_runs_at_a_small_size():
    source = build.read_source(NOTEBOOKS / "content_loss.py")
    nb = build.with_parameters(source, {"SIZE": 32, "STEPS": 3, "SHOW_AT": (0, 1, 3),
                                        "ALLOW_FETCH": False})
    build.execute(nb, timeout=600)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pictures) >= 8, f"only {len(pictures)} inline pictures"
    text = "".join(o.get("text", "") for o in outputs)
    real = (ROOT / "weights" / "vgg19.h5").is_file()
    assert ("with the ImageNet weights" in text) == real
    assert ("NOTE: random VGG-19 weights" in text) == (not real)
    assert re.search(r"3 steps \(\d+ evaluations\) in", text)
    assert "the same gradient as the walk above" in text
    # the finite differences, at three pixels (the notebook asserts their agreement itself)
    assert len(re.findall(r"pixel \(0, \d, \d+, \d+\): the walk \S+, finite differences \S+", text)) == 3
    # the curve starts at the start: section 6's first loss is section 3's L at the noise
    start = re.search(r"L_content = 1/2 sum \(F - P\)\^2 = (\S+);", text).group(1)
    assert re.search(rf"L_content {re.escape(start)} -> ", text), (start, text[-600:])
