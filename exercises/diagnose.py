"""What a wrong gradient usually means: the pattern readers of exercises/check.py are told about.

A gradient that disagrees with the reference rarely disagrees at random. Exactly minus the
right answer is a sign; exactly twice or half is a lost or doubled factor of 2; the right
numbers with two axes swapped is a transpose; wrong only where windows overlap is an `=`
that should be `+=`. `explain(name, got, want, signs)` finds such a pattern; `signs` is the
exercise's own list of (test, message) pairs, tried before the generic ones. Nothing here
knows an exercise's solution; the tests are built from the expected arrays by the checker.
"""
import traceback
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CHECKER_FILES = ("check.py", "cases.py", "layer_cases.py", "loss_cases.py", "harness.py", "diagnose.py",
                 "reference.py")
# Agreement demanded with the reference, relative to the largest entry. Both sides run in
# float64 on a few dozen numbers: summed in another order, they differ by at most
# gamma_n (about n 1e-16, n < 500 here) times the sum of the terms' sizes (Higham's bound,
# tests/error_model.py), far below 1e-8; a slip moves an entry by 5e-7 or more.
RTOL = 1e-8

# Two causes several exercises share.
OVERLAP = ("right where every input pixel is seen by one window, wrong where windows overlap: "
           "a pixel seen by several windows must collect the SUM of what each one sends back "
           "(`+=`, not `=`, which keeps only the last).")
IGNORED_UPSTREAM = ("your gradient does not depend on the upstream gradient: it equals what an "
                    "upstream gradient of 1 gives. Multiply by dout (for a loss, by dL: in the "
                    "real objective that is its weight, alpha, beta w_l or the TV weight).")


def scale_of(*arrays):
    return max([float(np.abs(a).max(initial=0.0)) for a in arrays] + [1e-300])


def off_entries(got, want):
    """Boolean array: where got and want differ by more than RTOL of the largest entry."""
    return np.abs(got - want) > RTOL * scale_of(got, want)


def close(got, want):
    return np.shape(got) == np.shape(want) and not off_entries(got, want).any()


def where(name, idx):
    return f"{name}[{', '.join(str(int(i)) for i in idx)}]"


def describe(name, got, want, shown=3):
    """'dx is off at 20 of 126 entries', then the largest differences, one line each."""
    off = off_entries(got, want)
    lines = [f"{name} is off at {int(off.sum())} of {off.size} entries; the largest differences:"]
    diff = np.abs(got - want)
    for flat in np.argsort(-diff, axis=None)[:shown]:
        idx = np.unravel_index(flat, got.shape)
        lines.append(f"    {where(name, idx)}: yours {got[idx]:.6g}, expected {want[idx]:.6g} "
                     f"(off by {got[idx] - want[idx]:+.3g})")
    return lines


# ------------------------------------------------------------------ signs an exercise can list

def looks_like(alternative, message):
    """A sign: the learner's array equals `alternative`, what a typical slip produces."""
    return (lambda got: close(got, alternative)), message


def only_where(zone, want, message):
    """A sign: every wrong entry lies in `zone` (a boolean array), which is not most of the array."""
    def test(got):
        off = off_entries(got, want)
        return off.any() and not (off & ~zone).any() and zone.mean() < 0.9
    return test, message


def factor(c, want, message):
    """A sign: the learner's array is c times the expected one."""
    return (lambda got: not close(want, 0 * want) and close(got, c * want)), message


# ------------------------------------------------------------------ the generic patterns

def _ratio(got, want):
    """c if got = c * want everywhere (to RTOL), else None."""
    ww = float((want * want).sum())
    if ww == 0.0:
        return None
    c = float((got * want).sum()) / ww
    return c if close(got, c * want) else None


def _axis_swaps(want):
    """(array, words) for want with two axes of equal length swapped, or flipped in space."""
    out = []
    nd = want.ndim
    names = {4: ["axis 0", "axis 1", "rows", "columns"]}.get(nd, [f"axis {i}" for i in range(nd)])
    for a in range(nd):
        for b in range(a + 1, nd):
            if want.shape[a] == want.shape[b] and want.shape[a] > 1:
                out.append((np.swapaxes(want, a, b), f"{names[a]} and {names[b]} swapped"))
    if nd >= 2 and want.shape[-1] * want.shape[-2] > 1:
        out.append((want[..., ::-1, ::-1], "rotated by 180 degrees in its last two axes"))
    return out


def generic(name, got, want):
    """The patterns any gradient can show, or None."""
    if not np.isfinite(got).all():
        return f"{name} holds NaN or infinity: a division by zero, or an array that was never filled."
    if np.issubdtype(got.dtype, np.floating) and got.dtype != np.float64:
        return (f"{name} is {got.dtype}, not float64: the checker works in float64 and compares to "
                f"{RTOL:g}; keep the dtype of the inputs (np.zeros_like(x), dtype=x.dtype).")
    if not got.any() and want.any():
        return (f"{name} is all zeros: nothing was added into it (an array created but never "
                "filled, or a loop that never ran).")
    c = _ratio(got, want)
    if c is not None:
        if abs(c + 1) < 1e-6:
            return (f"a sign: {name} is exactly minus the expected gradient. Check each "
                    "difference (which term is subtracted from which) and each minus sign.")
        if abs(c - 2) < 1e-6:
            return (f"a factor of 2: {name} is exactly twice the expected gradient: a 2 that "
                    "should have cancelled (the 1/2 in front of a square, the 4 of 1/(4...)), or "
                    "a term counted twice.")
        if abs(c - 0.5) < 1e-6:
            return (f"a factor of 2: {name} is exactly half the expected gradient: a lost 2 "
                    "(the derivative of a square is 2d, and a symmetric term appears twice).")
        if abs(c - 1) < 1e-3:
            return (f"{name} is {c:.10g} times the expected gradient: close, but a factor all "
                    "the same, far above float64's rounding. Look for a rounded constant (0.33 "
                    "for 1/3, 3.14 for pi), an eps added to a denominator, or a step done in "
                    "float32 in a float64 computation.")
        return (f"{name} is exactly {c:.6g} times the expected gradient: a constant factor, "
                "usually a normalisation constant (a 1/k^2, a 1/(N^2 M^2)) missing or doubled.")
    if got.ndim == 2 and got.shape[0] == got.shape[1] and close(got, want.T):
        return f"a transpose: {name} is the transpose of the expected gradient."
    for alternative, words in _axis_swaps(want):
        if close(got, alternative):
            return (f"a transpose: {name} holds the right numbers with {words}. Check which axis "
                    "of each array is which (the shape comments), and every .T and transpose().")
    return None


NO_PATTERN = ("no simple pattern (not a sign, a factor, a transpose). Take one entry from the "
              "list above and work out by hand which terms of the forward's sum it receives.")


def explain(name, got, want, signs=()):
    """The likely cause of got != want: the first of the exercise's signs that fits, else a
    generic pattern, else None."""
    for test, message in signs:
        if test(got):
            return message
    return generic(name, got, want)


def explain_shape(got, want):
    if 0 in got.shape and 0 not in want.shape:
        return ("an empty axis: a slice that takes nothing. With pad = 0, `a[pad:-pad]` is "
                "`a[0:0]`, since -0 is 0: the slice ends where it starts. Give the end from the "
                "start, `a[pad:pad + H]`, or from the shape, `a[pad:a.shape[2] - pad]`.")
    if sorted(got.shape) == sorted(want.shape):
        return "the same axes in another order: a transpose (or a reshape of a transposed matrix)."
    return ("a gradient has the shape of the array it belongs to. A sum over the wrong axes, or "
            "a reshape of the wrong product?")


# ------------------------------------------------------------------ exceptions

def learner_frames(exc):
    """The traceback lines in the learner's files (exercises/*.py, not the checker's)."""
    keep = []
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename).resolve()
        if path.parent == HERE and path.name not in CHECKER_FILES:
            keep.append(f"    exercises/{path.name}, line {frame.lineno}, in {frame.name}: "
                        f"{(frame.line or '').strip()}")
    return keep


def explain_exception(exc):
    """What an exception raised inside a learner's function usually means."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ValueError) and "broadcast" in str(exc):
        shapes = [tuple(int(d) for d in s.split(",") if d.strip())
                  for s in _parens(str(exc))]
        if len(shapes) >= 2 and sorted(shapes[0]) == sorted(shapes[1]):
            return text, ("two arrays with the same axes in another order: a missing or wrong "
                          "transpose. Write the shape of each side of the assignment beside it.")
        if len(shapes) >= 2 and len(shapes[0]) == len(shapes[1]) == 4:
            a, b = shapes[0], shapes[1]
            too_long = ("the strided view holds more positions than there are windows (OH, OW): "
                        "with stride s, a slice that runs to the end of the array also takes "
                        "positions where no window starts, when the last window stops short of "
                        "the border. Give the slice an end.")
            if a[:2] == b[:2]:
                return text, "the two sides differ in their last axes: " + too_long
            if a[:2] == b[:2][::-1]:
                return text, ("two slips at once. The first two axes are swapped, (N, C) against "
                              "(C, N): a missing transpose. And the last axes differ: " + too_long)
        return text, "the two sides of an assignment or a product have shapes that do not fit."
    if isinstance(exc, ValueError) and ("reshape" in str(exc) or "matmul" in str(exc)):
        return text, ("a product or a reshape of the wrong shape: write each matrix's shape "
                      "beside it and check it against the docstring.")
    if isinstance(exc, IndexError):
        return text, "an index ran past an array: check the loop bounds and the stride."
    return text, "an error inside your function; the lines above show where."


def _parens(text):
    """The contents of the (...) groups in an error message: '(2,3,4)' -> '2,3,4'."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth, start = depth + 1, i + 1
        elif ch == ")" and depth:
            depth -= 1
            out.append(text[start:i])
    return out
