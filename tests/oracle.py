"""The one helper every engine test uses: run the same computation here and in PyTorch.

`check_against_torch` feeds the same inputs to our forward/backward and to a
PyTorch function, sends a random upstream gradient dout back through both
(PyTorch differentiates sum(out * dout)), and asserts that the outputs and all
the input gradients agree to the dtype's tolerance. PyTorch always computes in
float64 on our (possibly float32-rounded) inputs, so the error measured is ours.

With layout="transposed", every 4-D array we are given (inputs and dout) is a
non-contiguous view with the same values: `as_layout` stores it with H and W
swapped in memory and hands out the transposed view.
"""
import numpy as np
import pytest

from minigrad.backend import get_array_module, to_device, to_numpy
from minigrad.gradcheck import relative_error

from .conftest import TOLERANCE, record_error


def as_layout(a, layout):
    """a itself ("contiguous"), or for 4-D a, a transposed view with a's values ("transposed")."""
    if layout == "contiguous" or a.ndim != 4:
        return a
    xp = get_array_module(a)
    view = xp.ascontiguousarray(a.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)   # (N, C, H, W)
    assert (view == a).all() and (min(a.shape[2:]) == 1 or not view.flags.c_contiguous)
    return view


def check_against_torch(ours, theirs, inputs, dtype, backend, label, seed=0, layout="contiguous"):
    """ours(xs, dout) -> (out, {name: grad}); theirs(ts) -> out tensor; inputs: {name: float64 array}.

    Only the gradients that `ours` returns are compared. Returns the largest error.
    """
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle; install the test extra")
    arrays = {k: np.asarray(v, dtype=dtype) for k, v in inputs.items()}
    ts = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in arrays.items()}
    out_t = theirs(ts)
    dout = np.random.default_rng(seed).standard_normal(tuple(out_t.shape)).astype(dtype)
    (out_t * torch.tensor(dout.astype(np.float64))).sum().backward()

    xs = {k: as_layout(to_device(v, backend), layout) for k, v in arrays.items()}
    out, grads = ours(xs, as_layout(to_device(dout, backend), layout))
    for k, v in xs.items():
        assert np.array_equal(to_numpy(v), arrays[k]), f"{label}: our code changed its input {k}"

    tol = TOLERANCE[np.dtype(dtype).name]
    worst = relative_error(out, out_t.detach().numpy())
    assert worst < tol, f"{label}: forward differs from PyTorch by {worst:.2e} (tolerance {tol})"
    for name, g in grads.items():
        err = relative_error(g, ts[name].grad.numpy())
        assert err < tol, f"{label}: d{name} differs from PyTorch by {err:.2e} (tolerance {tol})"
        worst = max(worst, err)
    record_error(label.split("[")[0], np.dtype(dtype).name, worst, label)
    return worst
