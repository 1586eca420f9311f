"""The host-thread split (minigrad.backend.host_map / MINIGRAD_THREADS) changes no result:
ReLU and pooling on 3 threads, slices of uneven size, against the naive references."""
import numpy as np
import pytest

from minigrad import pool
from minigrad.gradcheck import relative_error
from minigrad.layers import relu_backward, relu_forward


@pytest.fixture
def three_threads(monkeypatch):
    monkeypatch.setenv("MINIGRAD_THREADS", "3")


@pytest.mark.parametrize("shape", [(1, 5, 7, 9), (2, 3, 4, 4), (7,)], ids=str)
def test_relu_on_threads(shape, three_threads, backend, to_backend):
    rng = np.random.default_rng(0)
    x, dout = to_backend(rng.standard_normal(shape)), to_backend(rng.standard_normal(shape))
    y, mask = relu_forward(x)
    assert relative_error(y, x * (x > 0)) == 0
    assert relative_error(relu_backward(dout, mask), dout * (x > 0)) == 0


@pytest.mark.parametrize("case", [((2, 5, 7, 9), 2, 2), ((1, 7, 6, 7), 3, 1)], ids=str)
def test_maxpool_on_threads(case, three_threads, backend, to_backend):
    shape, k, stride = case
    rng = np.random.default_rng(1)
    x = to_backend(rng.standard_normal(shape))
    out, cache = pool.maxpool_forward(x, k, stride)
    ref, ref_cache = pool.maxpool_forward_naive(x, k, stride)
    dout = to_backend(rng.standard_normal(ref.shape))
    assert relative_error(out, ref) == 0
    assert relative_error(pool.maxpool_backward(dout, cache),
                          pool.maxpool_backward_naive(dout, ref_cache)) < 1e-15
