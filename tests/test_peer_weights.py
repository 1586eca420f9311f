"""benchmarks/peer_weights.py: pastiche's loss, as its code writes it, is the same number as
this project's relative terms weighted by the c and w_l the script reports."""
import importlib

import numpy as np

from .helpers import ROOT


def test_pastiches_loss_is_its_weights_times_the_relative_terms(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    peer_weights = importlib.import_module("peer_weights")
    rng = np.random.default_rng(0)
    P, F = rng.random((2, 6, 20))                                   # content features (N, M)
    feats = {"conv1_1": rng.random((2, 4, 30)), "conv2_1": rng.random((2, 7, 12))}

    def gram(X):                                                     # pastiche's: F F^T / M
        return X @ X.T / X.shape[1]

    A = {l: gram(S) for l, (S, _) in feats.items()}
    # pastiche 1.6.0's _calc_loss at its defaults, with numpy's mean for torch's mse_loss:
    theirs = 0.01 * ((F - P) ** 2).mean() + sum(
        10.0 / X.shape[0] ** 2 * ((gram(X) - A[l]) ** 2).mean() for l, (_, X) in feats.items())
    c, w = peer_weights.weights(P, A)
    ours = c * ((F - P) ** 2).sum() / (P ** 2).sum() + sum(
        w[l] * ((gram(X) - A[l]) ** 2).sum() / (A[l] ** 2).sum() for l, (_, X) in feats.items())
    assert abs(theirs - ours) < 1e-12 * theirs
