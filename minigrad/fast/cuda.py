"""Hand-written CUDA kernels for the fast engine on CuPy: Winograd's tile transforms and ReLU.

On a GPU, minigrad/fast/winograd.py's transforms are some thirty small CuPy
operations per band (gathers, matrix products, strided copies), each a kernel
launch; here each transform is one launch, one thread per tile, with the same
arithmetic written out:

    winograd_input_transform    V[xi*a + nu, c, t] = (B^T d B)[xi, nu],  d the a x a tile t of x[c]
    winograd_output_transform   out[k, m*i + p, m*j + q] = (A^T M A)[p, q] (+ b[k]),  M[., k, t]
    relu_forward                y = max(x, 0), mask = 1[x > 0]    (one kernel for both)
    relu_backward               dx = dout * mask

data_transform and inverse_transform have the signatures of winograd.py's, so
winograd.conv3x3 takes either (minigrad/fast/engine.py chooses per backend).
B^T and A^T are written into the CUDA source from winograd.MATRICES, so both
versions use the very same matrices; their entries are small integers, exact in
float32. CuPy comes from minigrad/backend.py; nothing here runs without a GPU,
and tests/test_cuda.py replays each kernel's thread indexing in NumPy on the CPU.

Thread layout (both Winograd kernels): a 1-D grid of BLOCK-thread blocks, thread
id = blockIdx.x * blockDim.x + threadIdx.x, one thread per (channel, tile):
    id = c * T + t,   t = i * TW + j     (tile row i of the band, tile column j)
so neighbouring threads take neighbouring tiles of one channel, and their
writes to V[xi*a + nu, c, t] (and reads of M) are contiguous. Arrays are passed
with their strides in elements (negative for the backward's flipped views).
"""
from ..backend import get_cupy, get_array_module
from .winograd import MATRICES

BLOCK = 128                                     # threads per block

_INPUT = r"""
extern "C" __global__ void winograd_input_transform(
        const REAL* x, long long sc, long long sh, long long sw,   // x (C, H, W), strides in elements
        int C, int H, int W, int t0, int nt, int TW,
        REAL* V)                                                    // V (A*A, C, nt*TW), contiguous
{
    const REAL BT[A][A] = BT_ENTRIES;
    long long T = (long long)nt * TW;
    long long id = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (id >= C * T) return;
    int c = id / T;
    long long t = id % T;
    int i = t / TW, j = t % TW;

    REAL d[A][A];                            // the tile: padded rows M*(t0+i) + r, columns M*j + q
    for (int r = 0; r < A; r++)
        for (int q = 0; q < A; q++) {
            int h = M * (t0 + i) + r - 1, w = M * j + q - 1;    // padded -> x: minus one
            d[r][q] = (h >= 0 && h < H && w >= 0 && w < W) ? x[c * sc + h * sh + w * sw] : (REAL)0;
        }
    REAL bd[A][A];                           // B^T d
    for (int xi = 0; xi < A; xi++)
        for (int q = 0; q < A; q++) {
            REAL s = 0;
            for (int r = 0; r < A; r++) s += BT[xi][r] * d[r][q];
            bd[xi][q] = s;
        }
    for (int xi = 0; xi < A; xi++)           // (B^T d) B, B = (B^T)^T
        for (int nu = 0; nu < A; nu++) {
            REAL s = 0;
            for (int q = 0; q < A; q++) s += bd[xi][q] * BT[nu][q];
            V[(xi * A + nu) * C * T + c * T + t] = s;
        }
}
"""

_OUTPUT = r"""
extern "C" __global__ void winograd_output_transform(
        const REAL* Mt, const REAL* b, int has_bias,               // M (A*A, K, nt*TW), b (K,)
        int K, int nt, int TW, int rows, int W,
        REAL* out, long long sk, long long sh, long long sw)       // out (K, rows, W), strides in elements
{
    const REAL AT[M][A] = AT_ENTRIES;
    long long T = (long long)nt * TW;
    long long id = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (id >= K * T) return;
    int k = id / T;
    long long t = id % T;
    int i = t / TW, j = t % TW;

    REAL mm[A][A];
    for (int xi = 0; xi < A; xi++)
        for (int nu = 0; nu < A; nu++)
            mm[xi][nu] = Mt[(xi * A + nu) * K * T + k * T + t];
    REAL am[M][A];                           // A^T M
    for (int p = 0; p < M; p++)
        for (int nu = 0; nu < A; nu++) {
            REAL s = 0;
            for (int xi = 0; xi < A; xi++) s += AT[p][xi] * mm[xi][nu];
            am[p][nu] = s;
        }
    for (int p = 0; p < M; p++)              // (A^T M) A, cropped to the band
        for (int q = 0; q < M; q++) {
            int h = M * i + p, w = M * j + q;
            if (h >= rows || w >= W) continue;
            REAL s = 0;
            for (int nu = 0; nu < A; nu++) s += am[p][nu] * AT[q][nu];
            if (has_bias) s += b[k];
            out[k * sk + h * sh + w * sw] = s;
        }
}
"""

_kernels = {}                                   # (name, m, ctype): compiled kernel


def _entries(A):
    """A numpy matrix as a C initialiser: {{1, 0}, {0, 1}}."""
    return "{" + ", ".join("{" + ", ".join(repr(float(v)) for v in row) + "}" for row in A) + "}"


def source(name, m, ctype):
    """The CUDA source of kernel `name` for F(m x m, 3x3) and C type 'float' or 'double'."""
    BT, _, AT = MATRICES[m]
    text = {"winograd_input_transform": _INPUT, "winograd_output_transform": _OUTPUT}[name]
    defines = f"#define REAL {ctype}\n#define M {m}\n#define A {m + 2}\n"
    return defines + text.replace("BT_ENTRIES", _entries(BT)).replace("AT_ENTRIES", _entries(AT))


def _ctype(dtype):
    if dtype.name not in ("float32", "float64"):
        raise TypeError(f"the CUDA kernels take float32 or float64, not {dtype}")
    return "float" if dtype.name == "float32" else "double"


def _kernel(name, m, dtype):
    key = (name, m, _ctype(dtype))
    if key not in _kernels:
        _kernels[key] = get_cupy().RawKernel(source(name, m, key[2]), name)
    return _kernels[key]


def _strides(a):
    """a's strides in elements (negative for flipped views)."""
    return [s // a.itemsize for s in a.strides]


def blocks(threads):
    """Blocks of BLOCK threads that cover `threads` threads."""
    return (threads + BLOCK - 1) // BLOCK


def data_transform(x, bt, m, t0, nt, TW, work):
    """As winograd.data_transform: tile rows t0..t0+nt-1 of x (C, H, W) -> V (a*a, C, nt*TW)."""
    cp = get_cupy()
    C, H, W = x.shape
    a = m + 2
    V = work.take("B", (a * a, C, nt * TW))
    threads = C * nt * TW
    sc, sh, sw = _strides(x)
    _kernel("winograd_input_transform", m, x.dtype)(
        (blocks(threads),), (BLOCK,),
        (x, cp.int64(sc), cp.int64(sh), cp.int64(sw), cp.int32(C), cp.int32(H), cp.int32(W),
         cp.int32(t0), cp.int32(nt), cp.int32(TW), V))
    return V


def inverse_transform(M, at, b, out, work):
    """As winograd.inverse_transform: M (a*a, K, T) -> out (K, rows, W) = A^T M A (+ b)."""
    cp = get_cupy()
    m, a = at.shape
    K, T = M.shape[1:]
    _, rows, W = out.shape
    TW = -(-W // m)
    M = cp.ascontiguousarray(M)
    bias = cp.ascontiguousarray(b) if b is not None else M            # M: any pointer, unread
    sk, sh, sw = _strides(out)
    _kernel("winograd_output_transform", m, M.dtype)(
        (blocks(K * T),), (BLOCK,),
        (M, bias, cp.int32(b is not None), cp.int32(K), cp.int32(T // TW), cp.int32(TW),
         cp.int32(rows), cp.int32(W), out, cp.int64(sk), cp.int64(sh), cp.int64(sw)))
    return out


def relu_forward(x):
    """y = max(x, 0) and mask = 1[x > 0] in one pass (minigrad.relu.relu_forward's results)."""
    cp = get_cupy()
    if "relu_forward" not in _kernels:
        _kernels["relu_forward"] = cp.ElementwiseKernel(
            "T x", "T y, bool mask",
            "mask = x > 0; y = (mask || x != x) ? x : (T)0;",         # y = max(x, 0), 1[x > 0];
                                                                      # NaN passes, as in xp.maximum
            "minigrad_relu_forward")
    xp = get_array_module(x)
    y, mask = xp.empty(x.shape, dtype=x.dtype), xp.empty(x.shape, dtype=bool)
    _kernels["relu_forward"](x, y, mask)
    return y, mask


def relu_backward(dout, mask):
    """dx = dout * 1[x > 0] (minigrad.relu.relu_backward's result; ReLU'(0) = 0)."""
    cp = get_cupy()
    if "relu_backward" not in _kernels:
        _kernels["relu_backward"] = cp.ElementwiseKernel(
            "T dout, bool mask", "T dx",
            "dx = dout * (T)mask;",                                   # dx = dout * 1[x > 0]
            "minigrad_relu_backward")
    return _kernels["relu_backward"](dout, mask)
