"""benchmarks/precondition_probe.py, an experiment of docs/look.md's "Where the finest lines come
from": its P is the symmetric positive definite low-pass filter it says it is, and L-BFGS
started from gamma P still minimises."""
import importlib.util

import numpy as np

import minigrad.optim as optim
from vgg import run

from .helpers import ROOT

spec = importlib.util.spec_from_file_location("precondition_probe", ROOT / "benchmarks" / "precondition_probe.py")
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)


def cosine(k, n):
    """The k-th DCT-II basis vector of length n: cos(pi k (j + 1/2) / n), f = k / 2n cycles per pixel."""
    return np.cos(np.pi * k * (np.arange(n) + 0.5) / n)


def test_each_cosine_of_the_mirrored_image_is_scaled_by_the_filter():
    # The even extension turns cos(pi k (j + 1/2) / W) into a whole cosine of 2W samples at
    # f = k / 2W, which the FFT's multiplier scales by 1 / (1 + (f period)^2) exactly (to
    # float64 rounding, ~1e-15 of the values).
    H, W, period = 6, 10, 4.0
    P = probe.low_pass(period)
    for ki, kj in [(0, 0), (0, 3), (2, 0), (3, 7), (5, 9)]:
        x = np.outer(cosine(ki, H), cosine(kj, W))[None, None]            # (1, 1, H, W)
        f = np.hypot(ki / (2 * H), kj / (2 * W))
        assert np.allclose(P(x), x / (1 + (f * period) ** 2), atol=1e-12)


def test_the_filter_is_symmetric_and_positive_definite():
    # H_0 must be: <a, P b> = <P a, b> (the dot-product test), and <a, P a> > 0.
    P = probe.low_pass(3.0)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 1, 3, 9, 13))
    assert abs((a * P(b)).sum() - (P(a) * b).sum()) < 1e-12 * np.abs(a).sum() * np.abs(b).max()
    assert (a * P(a)).sum() > 0 and (b * P(b)).sum() > 0


def test_lbfgs_started_from_the_filter_steps_along_minus_p_g_and_still_minimises():
    P = probe.low_pass(4.0)
    rng = np.random.default_rng(1)
    target = rng.standard_normal((1, 1, 8, 8))
    scale = 1.0 + np.arange(64).reshape(target.shape) / 8        # an ill-conditioned quadratic

    def f(x):
        return float((scale * (x - target) ** 2).sum()), 2 * scale * (x - target)

    opt = optim.LBFGS(np.zeros_like(target), precondition=P)
    d, _ = opt._steepest(f(opt.x)[1])
    assert np.allclose(d, -P(f(opt.x)[1]))
    start = f(opt.x)[0]
    while opt.n_evals < 60:
        opt.step(f, max_evals=60 - opt.n_evals)
    assert f(opt.x)[0] < 1e-6 * start


def test_install_hands_the_filter_to_stylizes_lbfgs(monkeypatch, model, pictures):
    monkeypatch.setattr(run.Stylization, "optimiser", run.Stylization.optimiser)   # undone after
    probe.install(period=4.0)
    photo, painting = pictures
    stylization = run.Stylization(model, run.Settings(size=32), photo, [painting])
    stylization.x = stylization.start(stylization.shapes[-1])
    opt = stylization.optimiser(stylization.shapes[-1])
    q = np.random.default_rng(2).standard_normal(stylization.x.shape).astype(np.float32)
    assert np.array_equal(opt.precondition(q), probe.low_pass(4.0)(q))
