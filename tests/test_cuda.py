"""The fast engine's CUDA kernels (minigrad/fast/cuda.py), on the CPU and, where there is one, the GPU.

Without a GPU the kernels cannot run, so their arithmetic is replayed here in NumPy:
each replay walks the same grid (blocks of cuda.BLOCK threads), decodes each thread
id into (channel, tile row, tile column) as the CUDA source does, reads and writes
through the same pointer arithmetic (offset + index * stride, in elements, with the
negative strides of the backward's flipped views), and takes B^T and A^T from the
CUDA source text itself. The replays have winograd.py's transform signatures, so a
whole convolution and its image gradient run through them and are compared with the
naive convolution. On a GPU the kernels themselves are compared with the NumPy
transforms and the reference ReLU; those tests skip cleanly elsewhere.
"""
import ast
import re

import numpy as np
import pytest

from minigrad import conv, relu
from minigrad.backend import gpu_available, to_device, to_numpy
from minigrad.fast import cuda, winograd
from minigrad.fast.threads import Workers

from .error_model import assert_within, bound, conv_pair_limits

needs_gpu = pytest.mark.skipif(not gpu_available(),
                               reason="no CUDA device (or CuPy) here: the kernels run on a GPU machine")


def matrix_in_source(name, m, which):
    """The matrix `which` ('BT' or 'AT') as the CUDA source of kernel `name` spells it."""
    text = cuda.source(name, m, "double")
    entries = re.search(rf"const REAL {which}\[\w+\]\[\w+\] = (\{{.*?\}});", text).group(1)
    return np.array(ast.literal_eval(entries.replace("{", "[").replace("}", "]")))


def memory(a):
    """(the whole buffer under a, flat; the element offset of a[0, 0, ...] in it)."""
    base = a
    while base.base is not None:
        base = base.base
    flat = base.reshape(-1)
    start = a.__array_interface__["data"][0] - flat.__array_interface__["data"][0]
    return flat, start // a.itemsize


def threads(n):
    """Every thread id of the grid the kernels launch for n jobs (the last block partly idle)."""
    block, thread = np.meshgrid(np.arange(cuda.blocks(n)), np.arange(cuda.BLOCK), indexing="ij")
    ids = (block * cuda.BLOCK + thread).ravel()                      # blockIdx.x * blockDim.x + threadIdx.x
    return ids[ids < n]                                              # if (id >= ...) return;


def replay_input_transform(x, bt, m, t0, nt, TW, work):
    """winograd_input_transform, thread by thread (vectorised over the thread ids)."""
    BT = matrix_in_source("winograd_input_transform", m, "BT")
    assert np.array_equal(BT, to_numpy(bt))
    C, H, W = x.shape
    A, T = m + 2, nt * TW
    mem, origin = memory(x)
    sc, sh, sw = cuda._strides(x)
    V = work.take("B", (A * A, C, T)).reshape(-1)
    ids = threads(C * T)
    c, t = ids // T, ids % T
    i, j = t // TW, t % TW
    d = [[None] * A for _ in range(A)]
    for r in range(A):
        for q in range(A):
            h, w = m * (t0 + i) + r - 1, m * j + q - 1
            inside = (h >= 0) & (h < H) & (w >= 0) & (w < W)
            where = np.where(inside, origin + c * sc + h * sh + w * sw, 0)
            d[r][q] = np.where(inside, mem[where], 0).astype(x.dtype)
    bd = [[sum(BT[xi][r] * d[r][q] for r in range(A)) for q in range(A)] for xi in range(A)]
    for xi in range(A):
        for nu in range(A):
            V[(xi * A + nu) * C * T + c * T + t] = sum(bd[xi][q] * BT[nu][q] for q in range(A))
    return V.reshape(A * A, C, T)


def replay_output_transform(M, at, b, out, work):
    """winograd_output_transform, thread by thread, writing through out's strides."""
    m, A = to_numpy(at).shape
    AT = matrix_in_source("winograd_output_transform", m, "AT")
    assert np.array_equal(AT, to_numpy(at))
    K, T = M.shape[1:]
    _, rows, W = out.shape
    TW = -(-W // m)
    Mf = np.ascontiguousarray(M).reshape(-1)
    mem, origin = memory(out)
    sk, sh, sw = cuda._strides(out)
    ids = threads(K * T)
    k, t = ids // T, ids % T
    i, j = t // TW, t % TW
    mm = [[Mf[(xi * A + nu) * K * T + k * T + t] for nu in range(A)] for xi in range(A)]
    am = [[sum(AT[p][xi] * mm[xi][nu] for xi in range(A)) for nu in range(A)] for p in range(m)]
    for p in range(m):
        for q in range(m):
            h, w = m * i + p, m * j + q
            keep = (h < rows) & (w < W)
            s = sum(am[p][nu] * AT[q][nu] for nu in range(A))
            if b is not None:
                s = s + b[k]
            mem[(origin + k * sk + h * sh + w * sw)[keep]] = s[keep]
    return out


REPLAYS = (replay_input_transform, replay_output_transform)
CASES = [(1, 3, 7, 9, 4), (2, 5, 6, 5, 3), (1, 4, 1, 1, 2), (1, 17, 11, 13, 19)]


def inputs(N, C, H, W, K, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype)
            for s in ((N, C, H, W), (K, C, 3, 3), (K,), (N, K, H, W))]


@pytest.mark.parametrize("m", [2, 4])
def test_sources_spell_the_matrices_of_winograd_py(m):
    BT, _, AT = winograd.MATRICES[m]
    assert np.array_equal(matrix_in_source("winograd_input_transform", m, "BT"), BT)
    assert np.array_equal(matrix_in_source("winograd_output_transform", m, "AT"), AT)
    for name in ("winograd_input_transform", "winograd_output_transform"):
        text = cuda.source(name, m, "float")
        assert f"#define M {m}" in text and f"#define A {m + 2}" in text and "REAL float" in text


def test_the_grid_covers_every_job_once():
    for n in (1, cuda.BLOCK - 1, cuda.BLOCK, cuda.BLOCK + 1, 1000):
        assert np.array_equal(threads(n), np.arange(n))


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("band", [dict(band_bytes=2**40, min_tiles=1, threads=1),
                                  dict(band_bytes=1, min_tiles=1, threads=3)],
                         ids=["one-band", "row-per-band-3-threads"])
@pytest.mark.parametrize("case", CASES, ids=["N%dC%dH%dW%dK%d" % c for c in CASES])
def test_replayed_kernels_convolve_and_backpropagate_like_the_naive_conv(case, band, dtype, m):
    x, w, b, dout = inputs(*case, dtype)
    workers = Workers(band["threads"])
    U = winograd.kernel_transform(w, m, workers)
    out = winograd.conv3x3(x, U, b, None, workers, band["band_bytes"], band["min_tiles"], REPLAYS)
    ref, cache = conv.conv2d_forward_naive(x, w, b, 1, 1)
    limit = conv_pair_limits(x, w, b, dout, (m, m), dtype)          # tests/error_model.py
    assert_within(out, ref, limit["out"], "forward")
    dx = np.empty(x.shape, dtype=dtype)                              # the engine's backward:
    winograd.conv3x3(dout[:, :, ::-1, ::-1], U.transpose(0, 2, 1), None, dx[:, :, ::-1, ::-1],
                     workers, band["band_bytes"], band["min_tiles"], REPLAYS)   # flipped views
    assert_within(dx, conv.conv2d_backward_naive(dout, cache)[0], limit["x"], "dx")


@pytest.mark.parametrize("m", [2, 4])
def test_replayed_input_transform_equals_numpy_on_a_transposed_view(m):
    x = np.random.default_rng(1).standard_normal((9, 10, 6)).transpose(2, 1, 0)   # (6, 10, 9)
    a, TW = m + 2, winograd.tiles(10, 9, m)[1]
    bt = winograd.MATRICES[m][0]
    size = a * a * 6 * 2 * TW + a * m * 6 * 2 * (TW + 1)
    want = winograd.data_transform(x, bt, m, 1, 2, TW, winograd.Workspace(np, x.dtype, size))
    got = replay_input_transform(x, bt, m, 1, 2, TW, winograd.Workspace(np, x.dtype, size))
    # model 1, float64: B^T d B, two sums of a terms in each, in another order each side
    magnitude = winograd.data_transform(np.abs(x), np.abs(bt), m, 1, 2, TW,
                                        winograd.Workspace(np, x.dtype, size))
    assert_within(got, want, 2 * bound(magnitude, 2 * a, "float64"), "input transform")


# --------------------------------------------------------------------------
# The kernels themselves, where a GPU answers
# --------------------------------------------------------------------------

@needs_gpu
@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kernels_equal_the_numpy_transforms(m, dtype):
    x, w, b, dout = inputs(1, 17, 11, 13, 19, dtype)
    workers = Workers(1)
    U = winograd.kernel_transform(w, m, workers)
    ref, cache = conv.conv2d_forward_naive(x, w, b, 1, 1)
    xg, Ug, bg, dg = (to_device(a, "cupy") for a in (x, U, b, dout))
    transforms = (cuda.data_transform, cuda.inverse_transform)
    out = winograd.conv3x3(xg, Ug, bg, None, workers, 2**40, 1, transforms)
    limit = conv_pair_limits(x, w, b, dout, (m, m), dtype)          # tests/error_model.py
    assert_within(out, ref, limit["out"], "forward")
    dx = to_device(np.empty(x.shape, dtype), "cupy")
    winograd.conv3x3(dg[:, :, ::-1, ::-1], Ug.transpose(0, 2, 1), None, dx[:, :, ::-1, ::-1],
                     workers, 1, 1, transforms)
    assert_within(dx, conv.conv2d_backward_naive(dout, cache)[0], limit["x"], "dx")


@needs_gpu
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_relu_kernels_equal_the_reference(dtype, layout):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 5, 4)).astype(dtype)
    x[0, 0, 0] = 0                                                    # ReLU'(0) = 0
    x[1, 2, 3] = np.nan                                                 # passes, as in xp.maximum
    dout = rng.standard_normal(x.shape).astype(dtype)
    if layout == "transposed":
        x, dout = x.transpose(0, 1, 3, 2), dout.transpose(0, 1, 3, 2)
    y_ref, mask_ref = relu.relu_forward(x)
    y, mask = cuda.relu_forward(to_device(x, "cupy"))
    assert np.array_equal(to_numpy(y), y_ref, equal_nan=True)
    assert np.array_equal(to_numpy(mask), mask_ref)
    dx = cuda.relu_backward(to_device(dout, "cupy"), mask)
    assert np.array_equal(to_numpy(dx), relu.relu_backward(dout, mask_ref))
