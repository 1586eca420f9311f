"""docs/worked-example.md (and its Korean twin) print the numbers the project computes.

Every table row named after a quantity (`y` row 0, `dw`, ...) is compared with
docs/worked_example.py's computation by minigrad's own functions, and the printed block
with that script's output. The hand-worked page can't drift from the code.
"""
import re

import numpy as np
import pytest

from .helpers import ROOT, load_script

PAGES = ["docs/worked-example.md", "docs/worked-example.ko.md"]
example = load_script(ROOT / "docs" / "worked_example.py", "worked_example")


def table_rows(text):
    """{(name, row or None): [numbers]} from the rows whose first cell is `name` [row k]."""
    rows = {}
    for line in text.splitlines():
        match = re.match(r"\|\s*`(\w+)`(?:\s*(?:row|행)\s*(\d))?\s*\|(.*)\|\s*$", line)
        if match:
            name, row, cells = match.groups()
            rows[(name, None if row is None else int(row))] = \
                [float(c) for c in cells.split("|") if c.strip()]
    return rows


def expected():
    numbers = {"x": example.X, **example.worked()}
    out = {}
    for name, value in numbers.items():
        value = np.asarray(value, dtype=np.float64)
        if value.ndim == 2:
            out.update({(name, i): list(value[i]) for i in range(value.shape[0])})
        else:
            out[(name, None)] = list(np.atleast_1d(value))
    return out


@pytest.mark.parametrize("page", PAGES)
def test_every_table_holds_the_computed_numbers(page):
    rows, want = table_rows((ROOT / page).read_text(encoding="utf-8")), expected()
    assert set(rows) == set(want), (sorted(set(want) - set(rows)), sorted(set(rows) - set(want)))
    for key, numbers in rows.items():
        assert numbers == want[key], (page, key, numbers, want[key])


@pytest.mark.parametrize("page", PAGES)
def test_the_printed_block_is_the_scripts_output(page):
    text = (ROOT / page).read_text(encoding="utf-8")
    assert "\n".join(example.report()) in text


def test_the_backward_agrees_with_finite_differences_everywhere():
    dx = example.worked()["dx"]
    numeric = np.array([[example.finite_difference(i, j) for j in range(4)] for i in range(2)])
    assert np.allclose(numeric, dx, atol=1e-9)       # exact between kinks, up to rounding
