"""exercises/check.py: it passes the project's own code, names unfinished work, and catches slips.

Each deliberately wrong implementation below is a correct one with ONE typical slip (an `=`
for a `+=`, a lost factor of 2, a mask taken from the wrong array, ...). The checker must
fail it and name the slip: the test looks for the words of the right diagnosis.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from exercises import check

ROOT = Path(__file__).resolve().parent.parent
ALL = [f for fnames, _, _ in check.EXERCISES.values() for f in fnames]


def run_checker(*args):
    return subprocess.run([sys.executable, str(ROOT / "exercises" / "check.py"), *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_solutions_pass_from_the_command_line():
    r = run_checker("--solutions")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{len(ALL)} of {len(ALL)} functions pass" in r.stdout


def test_untouched_exercises_fail_naming_each_unfinished_function():
    r = run_checker()
    assert r.returncode == 1, r.stdout + r.stderr
    unfinished = r.stdout.split("Unfinished:")[1]
    for f in ALL:
        assert f in unfinished, f
    for line in r.stdout.splitlines()[1:len(ALL) + 1]:
        assert "unfinished" in line and "NotImplementedError" in line, line


def test_one_exercise_by_name_and_a_bad_name():
    r = run_checker("relu", "--solutions")
    assert r.returncode == 0 and "1 of 1 functions pass" in r.stdout, r.stdout
    r = run_checker("nonsense")
    assert r.returncode == 2 and "unknown exercise nonsense" in r.stderr


def test_a_chain_whose_parts_are_unfinished_is_blocked_not_failed():
    """The chain below calls the exercises' own (untouched) conv_backward, relu_backward ..."""
    [r] = check.check(["vgg_block"], functions={"vgg_block_backward": vgg_block_backward})
    assert r.status == "blocked" and "which is unfinished" in r.lines[0], r.lines


# ------------------------------------------------------------------ slips, one each
# Correct implementations, each with one slip marked SLIP.

def pad(x, p):
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))


def conv_backward(dout, cache, slip=None):
    x, w, b, stride, p = cache
    N, C, H, W = x.shape
    K, _, KH, KW = w.shape
    xpad = pad(x, p)
    dxpad, dw = np.zeros_like(xpad), np.zeros_like(w)
    wk = w[..., ::-1, ::-1] if slip == "flipped kernel" else w
    for n in range(N):
        for k in range(K):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows, cols = slice(i * stride, i * stride + KH), slice(j * stride, j * stride + KW)
                    if slip == "=":
                        dxpad[n, :, rows, cols] = dout[n, k, i, j] * wk[k]        # SLIP
                    else:
                        dxpad[n, :, rows, cols] += dout[n, k, i, j] * wk[k]
                    dw[k] += dout[n, k, i, j] * xpad[n, :, rows, cols]
    if slip == "dw flipped":
        dw = dw[..., ::-1, ::-1]                                                   # SLIP
    dx = dxpad[:, :, :H, :W] if slip == "crop" else dxpad[:, :, p:p + H, p:p + W]  # SLIP: crop
    if slip == "pad:-pad":
        dx = dxpad[:, :, p:-p, p:-p]                     # SLIP: empty when p = 0 (-0 is 0)
    if slip == "sign":
        dx = -dx                                                                   # SLIP
    return dx, dw, dout.sum(axis=(0, 2, 3))


def col2im(cols, shape, KH, KW, stride, OH, OW, slip=None):
    N, C = shape[:2]
    cols = cols.reshape(C, KH, KW, N, OH, OW)
    xpad = np.zeros(shape)
    for p in range(KH):
        for q in range(KW):
            block = cols[:, p, q] if slip == "no transpose" else cols[:, p, q].transpose(1, 0, 2, 3)
            if slip == "no bounds":                          # backprop.md's old snippet, taken literally
                xpad[..., p::stride, q::stride] += block                                       # SLIP
            elif slip == "=":
                xpad[:, :, p:p + stride * OH:stride, q:q + stride * OW:stride] = block          # SLIP
            else:
                xpad[:, :, p:p + stride * OH:stride, q:q + stride * OW:stride] += block
    return xpad


def conv_backward_im2col(dout, cache, slip=None):
    from exercises.im2col import im2col
    x, w, b, stride, p = cache
    N, C, H, W = x.shape
    K, _, KH, KW = w.shape
    _, _, OH, OW = dout.shape
    d = dout.transpose(1, 0, 2, 3).reshape(K, -1)                          # (K, N*OH*OW)
    cols = im2col(pad(x, p), KH, KW, stride, OH, OW)
    dw = (cols @ d.T).reshape(w.shape) if slip == "dw transposed" else (d @ cols.T).reshape(w.shape)
    dxpad = col2im(w.reshape(K, -1).T @ d, (N, C, H + 2 * p, W + 2 * p), KH, KW, stride, OH, OW)
    return dxpad[:, :, p:p + H, p:p + W], dw, d.sum(axis=1)


def relu_backward(dout, x, slip=None):
    if slip == "mask from dout":
        return dout * (dout > 0)                                                   # SLIP
    if slip == ">=":
        return dout * (x >= 0)                                                     # SLIP
    if slip == "in place":
        dout[x <= 0] = 0                                                           # SLIP
        return dout
    return dout * (x > 0)


def maxpool_backward(dout, cache, slip=None):
    x, k, s = cache
    dx = np.zeros_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    win = x[n, c, i * s:i * s + k, j * s:j * s + k]
                    if slip == "every pixel":
                        dx[n, c, i * s:i * s + k, j * s:j * s + k] += dout[n, c, i, j]  # SLIP
                        continue
                    if slip == "all ties":
                        dx[n, c, i * s:i * s + k, j * s:j * s + k] += dout[n, c, i, j] * (win == win.max())  # SLIP
                        continue
                    p, q = divmod(int(win.argmax()), k)
                    if slip == "p, q swapped":
                        p, q = q, p                                                           # SLIP
                    if slip == "=":
                        dx[n, c, i * s + p, j * s + q] = dout[n, c, i, j]                    # SLIP
                    else:
                        dx[n, c, i * s + p, j * s + q] += dout[n, c, i, j]
    return dx


def avgpool_backward(dout, cache, slip=None):
    shape, k, s = cache
    dx = np.zeros(shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            scale = {"no 1/k^2": 1.0, "1/k": 1.0 / k}.get(slip, 1.0 / (k * k))                  # SLIP
            share = dout[:, :, i:i + 1, j:j + 1] * scale
            if slip == "=":
                dx[:, :, i * s:i * s + k, j * s:j * s + k] = share                      # SLIP
            else:
                dx[:, :, i * s:i * s + k, j * s:j * s + k] += share
    return dx


def content_loss_backward(dL, cache, slip=None):
    F, P = cache
    return {"sign": dL * (P - F), "factor 2": dL * 2 * (F - P), "ignores dL": F - P,
            "mask": dL * (F - P) * (F > 0),
            "5e-7 off": dL * (F - P) * (1 + 5e-7)}.get(slip, dL * (F - P))   # SLIP: barely


def gram_backward(dG, F, slip=None):
    Fm = F.reshape(F.shape[1], -1)
    dF = {"symmetric": 2 * dG @ Fm, "one term": dG @ Fm}.get(slip, (dG + dG.T) @ Fm)
    return dF.reshape(F.shape)


def style_loss_backward(dE, cache, slip=None):
    F, A = cache
    _, N, H, W = F.shape
    M = H * W
    Fm = F.reshape(N, -1)
    scale = {"half": 0.5, "no normalisation": N * N * M * M}.get(slip, 1.0) / (N * N * M * M)
    return dE * scale * ((Fm @ Fm.T - A) @ Fm).reshape(F.shape)


def tv_backward(dL, x, slip=None):
    from minigrad.losses import NEIGHBOURS, pair_views
    two = 1.0 if slip == "no 2" else 2.0                                           # SLIP
    g = np.zeros_like(x)
    for (di, dj), w in NEIGHBOURS:
        a, b = pair_views(x, di, dj)
        d = x[a] - x[b]
        g[a] += two * w * d
        if slip != "one end":                                                      # SLIP: no -2wd
            g[b] -= two * w * d
    return dL * g


def vgg_block_backward(dloss, c, slip=None):
    from exercises import content, conv, maxpool, relu, style, tv
    d = relu.relu_backward(dloss * c["alpha"] * content.content_loss_backward(1.0, c["content"]),
                           c["relu2_1"])
    d = conv.conv_backward(d, c["conv2_1"])[0]
    d = maxpool.maxpool_backward(d, c["pool1"])
    d = conv.conv_backward(relu.relu_backward(d, c["relu1_2"]), c["conv1_2"])[0]
    g_style = dloss * c["beta"] * style.style_loss_backward(1.0, c["style"])
    if slip == "=":
        d = relu.relu_backward(g_style, c["relu1_1"])                              # SLIP
    elif slip == "below the ReLU":
        d = relu.relu_backward(d, c["relu1_1"]) + g_style                          # SLIP
    else:
        d = relu.relu_backward(d + g_style, c["relu1_1"])
    dx = conv.conv_backward(d, c["conv1_1"])[0]
    if slip == "no TV":
        return dx                                                                  # SLIP
    return dx + dloss * c["tv_weight"] * tv.tv_backward(1.0, c["tv"])


SLIPS = [  # (exercise, function, slip, words the diagnosis must contain)
    ("conv", conv_backward, "=", "`+=`, not `=`"),
    ("conv", conv_backward, "flipped kernel", "kernel rotated by 180"),
    ("conv", conv_backward, "dw flipped", "dw is rotated by 180"),
    ("conv", conv_backward, "crop", "cut `pad` rows and columns off every side"),
    ("conv", conv_backward, "sign", "a sign"),
    ("conv", conv_backward, "pad:-pad", "-0 is 0"),
    ("im2col", col2im, "=", "`+=`, not `=`"),
    ("im2col", col2im, "no transpose", "transpose"),
    ("im2col", col2im, "no bounds", "Give the slice an end"),
    ("im2col", conv_backward_im2col, "dw transposed", "transposed before the reshape"),
    ("relu", relu_backward, "mask from dout", "mask was taken on the wrong side"),
    ("relu", relu_backward, ">=", "x > 0, strictly"),
    ("relu", relu_backward, "in place", "changed its input in place"),
    ("maxpool", maxpool_backward, "=", "SUM of their dout"),
    ("maxpool", maxpool_backward, "every pixel", "only it receives dout"),
    ("maxpool", maxpool_backward, "all ties", "ONE position"),
    ("maxpool", maxpool_backward, "p, q swapped", "to the wrong pixel"),
    ("avgpool", avgpool_backward, "no 1/k^2", "times too large"),
    ("avgpool", avgpool_backward, "1/k", "divided by k, not by k*k"),
    ("avgpool", avgpool_backward, "=", "`+=`, not `=`"),
    ("content", content_loss_backward, "sign", "a sign"),
    ("content", content_loss_backward, "factor 2", "1/2 of eq. 1"),
    ("content", content_loss_backward, "ignores dL", "does not depend on the upstream gradient"),
    ("content", content_loss_backward, "mask", "the ReLU's backward"),
    # A gradient 5e-7 too large (relative): far above float64's rounding (the checker's
    # 1e-8 of the largest entry), far below what an eye or a loose tolerance would see.
    ("content", content_loss_backward, "5e-7 off", "1.0000005 times the expected gradient"),
    ("style", gram_backward, "symmetric", "assumed dG is symmetric"),
    ("style", gram_backward, "one term", "only one of the two terms"),
    ("style", style_loss_backward, "half", "a factor of 2 lost"),
    ("style", style_loss_backward, "no normalisation", "normalisation is missing"),
    ("tv", tv_backward, "no 2", "a factor of 2"),
    ("tv", tv_backward, "one end", "only one end of each difference"),
    ("vgg_block", vgg_block_backward, "=", "REPLACED the gradient"),
    ("vgg_block", vgg_block_backward, "below the ReLU", "wrong side of conv1_1's ReLU"),
    ("vgg_block", vgg_block_backward, "no TV", "TV gradient is missing"),
]


@pytest.mark.parametrize("exercise, fn, slip, words", SLIPS,
                         ids=[f"{s[1].__name__}: {s[2]}" for s in SLIPS])
def test_each_slip_fails_with_its_diagnosis(exercise, fn, slip, words):
    wrong = {fn.__name__: lambda *a: fn(*a, slip=slip)}
    correct = {fn.__name__: fn}
    [good] = [r for r in check.check([exercise], use_solutions=True, functions=correct)
              if r.function == fn.__name__]
    assert good.status == "pass", ("the test's own implementation without the slip must pass",
                                   good.lines)
    [r] = [r for r in check.check([exercise], use_solutions=True, functions=wrong)
           if r.function == fn.__name__]
    text = "\n".join(r.lines)
    assert r.status == "fail", text
    assert words in text, text


def test_an_edited_forward_is_named_alone(monkeypatch):
    """A forward edited so that only the second case sees it: the checker says the forward
    was edited, and nothing about what the second case adds (the `+=` of overlapping windows),
    which has nothing to do with it."""
    from exercises import maxpool
    given = maxpool.maxpool_forward

    def edited(x, k, s):
        out, cache = given(x, k, s)
        return (out * 1.001 if k == 3 else out), cache
    monkeypatch.setattr(maxpool, "maxpool_forward", edited)
    [r] = [r for r in check.check(["maxpool"], use_solutions=True) if r.function == "maxpool_backward"]
    text = "\n".join(r.lines)
    assert r.status == "fail" and "the forward was edited" in text, text
    assert "What this case adds" not in text and "+=" not in text, text


def test_the_checker_prints_no_solution():
    """A failure report holds numbers and words, not the reference engine's code."""
    import inspect
    from exercises import reference
    results = check.check(use_solutions=True, functions={
        "conv_backward": lambda *a: conv_backward(*a, slip="="),
        "relu_backward": lambda *a: relu_backward(*a, slip=">="),
        "gram_backward": lambda *a: gram_backward(*a, slip="symmetric")})
    text = "\n".join(line for r in results for line in r.lines)
    source = inspect.getsource(reference) + "".join(
        inspect.getsource(f) for f in (reference.conv_backward, reference.relu_backward))
    code_lines = {line.strip() for line in source.splitlines() if len(line.strip()) > 25}
    assert not [line for line in code_lines if line in text]


def test_a_reference_that_disagrees_with_finite_differences_is_reported(monkeypatch):
    """The checker's last line of defence: the learner's gradient matches the reference
    engine, but both are 1e-4 (relative) off the function's true derivative -- finite
    differences, accurate to about 1e-9 here (tests/error_model.py's model), must say so
    (the checker allows 1e-6), naming the checker itself as the suspect."""
    from exercises import reference
    real = reference.content_loss_backward
    skewed = lambda dL, cache: real(dL, cache) * (1 + 1e-4)
    monkeypatch.setattr(reference, "content_loss_backward", skewed)
    [r] = [r for r in check.check(["content"], use_solutions=True,
                                  functions={"content_loss_backward": skewed})
           if r.function == "content_loss_backward"]
    text = "\n".join(r.lines)
    assert r.status == "fail" and "not with finite differences" in text, text
    assert "the checker's bug" in text, text
