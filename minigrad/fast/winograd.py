"""Winograd's minimal filtering F(2x2, 3x3): a 3x3 convolution (stride 1, padding 1)
with 2.25 times fewer multiplications than the direct sum.

Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016),
eq. (7) / section 4.1. Cut the padded input into 4x4 tiles d that overlap by two
(stride 2); each tile gives a 2x2 block of the output:

    Y = A^T [ (G g G^T) * (B^T d B) ] A          (* elementwise, on 4x4 matrices)

with the constant matrices B^T (4x4), G (4x3), A^T (2x4) below. Summed over the
input channels c, for output channel k:

    U[k, c] = G w[k, c] G^T           4x4, once per kernel      (kernel transform)
    V[c, t] = B^T d[c, t] B           4x4, once per tile t      (data transform)
    M[k, t] = sum_c U[k, c] * V[c, t] 4x4                       (16 matrix products)
    Y[k, t] = A^T M[k, t] A           2x2                       (inverse transform)

For each of the 16 positions (xi, nu) of the 4x4 matrices, M[xi nu] = U[xi nu] V[xi nu]
is an ordinary (K, C) x (C, tiles) matrix product, so the whole convolution is a
stack of 16 of them (one xp.matmul) between cheap adds: 16 multiplies per 2x2
output block instead of 36. Shape letters as in conv.py, plus
    TH, TW  tiles down and across (TH = ceil(OH / 2)),  T  tiles in a band.

The image gradient needs no second algorithm: for stride 1 and padding 1,
    dx = conv(dout, w^T flipped)    = flip( conv(flip(dout), w^T) )
where w^T swaps the in/out channels (w^T[c, k] = w[k, c]) and flip turns an image
by 180 degrees (a view in NumPy and CuPy, no copy). Hence the backward is the
forward with U[xi nu] transposed -- the same U the forward already computed.

Speed (the reason this file exists; see benchmarks/): the image is processed in
bands of tile rows, each small enough to stay in cache (`band_bytes`, chosen per
backend by minigrad/fast/engine.py), with scratch arrays reused from band to band;
bands are independent, so they are dealt out to the engine's worker threads
(minigrad/fast/threads.py), each running the transforms and its own one-thread
matrix products. On a GPU there is one worker and a band is most of the image.
"""
import numpy as np

from ..backend import get_array_module

BT = np.array([[1, 0, -1, 0],
               [0, 1, 1, 0],
               [0, -1, 1, 0],
               [0, 1, 0, -1]], dtype=np.float64)                  # (4, 4)
G = np.array([[1, 0, 0],
              [0.5, 0.5, 0.5],
              [0.5, -0.5, 0.5],
              [0, 0, 1]], dtype=np.float64)                        # (4, 3)
AT = np.array([[1, 1, 1, 0],
               [0, 1, -1, -1]], dtype=np.float64)                  # (2, 4)


def kernel_transform(w, workers):
    """w (K, C, 3, 3) -> U (16, K, C), U[4*xi + nu] = (G w G^T)[xi, nu].

    G w G^T, entry (xi, nu), is sum_{p,q} G[xi, p] G[nu, q] w[p, q]: the Kronecker
    product G (x) G (16 x 9) times the 9 kernel taps -- one matrix product for all K*C,
    its filters split among the workers.
    """
    xp = get_array_module(w)
    K, C = w.shape[:2]
    GG = xp.asarray(np.kron(G, G), dtype=w.dtype)                    # (16, 9)
    w9 = w.reshape(K * C, 9)                                          # (K*C, 9)
    U = xp.empty((16, K * C), dtype=w.dtype)

    def part(k0, k1):                                                 # filters k0..k1-1
        xp.matmul(GG, w9[k0 * C:k1 * C].T, out=U[:, k0 * C:k1 * C])   # (16, (k1-k0)*C)
    workers.map_slices(part, K)
    return U.reshape(16, K, C)                                        # (16, K, C)


def tiles(H, W):
    """(TH, TW): 2x2 output blocks down and across an H x W output (stride 1, pad 1)."""
    return (H + 1) // 2, (W + 1) // 2


# --------------------------------------------------------------------------
# Reference: the formula above, one tile at a time (vectorised over channels).
# --------------------------------------------------------------------------

def conv3x3_forward_naive(x, w, b):
    """x (N, C, H, W), w (K, C, 3, 3), b (K,) -> (N, K, H, W): stride 1, padding 1."""
    xp = get_array_module(x)
    N, C, H, W = x.shape
    K = w.shape[0]
    TH, TW = tiles(H, W)
    bt, at = xp.asarray(BT, dtype=x.dtype), xp.asarray(AT, dtype=x.dtype)
    GG = xp.asarray(np.kron(G, G), dtype=w.dtype)                    # (16, 9)
    U = (GG @ w.reshape(K * C, 9).T).reshape(4, 4, K, C)              # (4, 4, K, C)  G w G^T
    xpad = xp.zeros((N, C, 2 * TH + 2, 2 * TW + 2), dtype=x.dtype)   # pad 1, more if H, W odd
    xpad[:, :, 1:H + 1, 1:W + 1] = x
    out = xp.zeros((N, K, 2 * TH, 2 * TW), dtype=x.dtype)            # cropped to H x W at the end
    for n in range(N):
        for i in range(TH):
            for j in range(TW):
                d = xpad[n, :, 2 * i:2 * i + 4, 2 * j:2 * j + 4]      # (C, 4, 4)
                V = bt @ d @ bt.T                                     # (C, 4, 4)  B^T d B
                M = xp.einsum("xykc,cxy->kxy", U, V)                  # (K, 4, 4)  sum_c U * V
                out[n, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2] = at @ M @ at.T   # A^T M A
    return out[:, :, :H, :W] + b[None, :, None, None]


# --------------------------------------------------------------------------
# Fast: all tiles of a band of tile rows at once, the channel sums as 16 GEMMs.
# --------------------------------------------------------------------------

def conv3x3(x, U, b, out, workers, band_bytes, min_tiles):
    """out (N, K, H, W) = x (N, C, H, W) convolved (3x3, stride 1, pad 1) with U (16, K, C).

    U may be any view (the backward passes U transposed); `out` may be a view (the
    backward passes a flipped one) or None for a new array; b (K,) or None.
    Bands of tile rows: the larger of V (16, C, T) and M (16, K, T) near an eighth of
    band_bytes (a band's scratch arrays total about 5 of those), but at least
    min_tiles tiles, so that the matrix products stay efficient, and at least one
    band per worker.
    """
    xp = get_array_module(x)
    N, C, H, W = x.shape
    K = U.shape[1]
    TH, TW = tiles(H, W)
    if out is None:
        out = xp.empty((N, K, H, W), dtype=x.dtype)
    rows = max(band_bytes // 8 // (16 * max(C, K) * TW * x.itemsize), -(-min_tiles // TW))
    rows = max(1, min(rows, -(-TH // workers.n)))                     # tile rows per band
    bands = [(n, t0, min(TH, t0 + rows)) for n in range(N) for t0 in range(0, TH, rows)]

    def run(my_bands):
        work = Workspace(xp, x.dtype, C, K, rows, TW)                 # buffers reused by every band
        for n, t0, t1 in my_bands:
            xq = work.take("X", (C, 2 * (t1 - t0) + 2, 2, TW + 1))
            pad_split_columns(x[n], 2 * t0, 2 * t1 + 2, out=xq)       # padded rows 2t0 .. 2t1+1
            V = data_transform(xq, t1 - t0, TW, work)                 # (16, C, T)
            M = xp.matmul(U, V, out=work.take("M", (16, K, V.shape[2])))       # (16, K, T)
            inverse_transform(M.reshape(4, 4, K, t1 - t0, TW), b,
                              out[n, :, 2 * t0:2 * t1], work)                    # (K, <=2T rows, W)

    workers.deal(run, bands)                   # bands are independent: dealt out like cards
    return out


class Workspace:
    """Scratch arrays for one convolution, allocated once and cut to each band's size.

    Fresh large arrays cost page faults on every band; reusing them keeps the band
    loop to arithmetic. take(name, shape) returns a C-contiguous view of the first
    prod(shape) elements of buffer `name`.
    """

    def __init__(self, xp, dtype, C, K, rows, TW):
        T = rows * TW
        sizes = {"X": C * (2 * rows + 2) * 2 * (TW + 1),   # the band, padded (pad_split_columns)
                 "R": 4 * C * rows * 2 * (TW + 1),         # B^T d, rows done (data_transform)
                 "V": 16 * C * T, "M": 16 * K * T,         # the GEMM's operand and product
                 "Q": 2 * 4 * K * T, "Y": 4 * K * T}       # A^T M and A^T M A (inverse_transform)
        self.buffers = {name: xp.empty(size, dtype=dtype) for name, size in sizes.items()}

    def take(self, name, shape):
        size = 1
        for s in shape:
            size *= s
        return self.buffers[name][:size].reshape(shape)


def pad_split_columns(x, first, last, out):
    """Rows first..last-1 of x (C, H, W) padded, split by column parity, into
    out (C, last - first, 2, TW+1):  out[c, r, s, j] = xpad[c, first + r, 2j + s].

    xpad is x with one zero row/column on each side (and one more at the bottom or
    right when H or W is odd, to fill the last tile), so xpad row r is x row r - 1.
    Splitting the columns by parity makes every later read of a tile column
    (2j + q) a contiguous run instead of a stride-2 one -- NumPy's element-wise
    loops are several times faster on contiguous data. Each band pads only its
    own rows, so no padded copy of the whole image is ever made.
    """
    C, H, W = x.shape
    lo, hi = max(first - 1, 0), min(last - 1, H)                      # x rows inside the band
    r0, r1 = lo + 1 - first, hi + 1 - first                           # ... and where they go in out
    out[:, :r0] = 0                                                   # zero rows above the image
    out[:, r1:] = 0                                                   # ... and below it
    # x column w is padded column w + 1: parity (w + 1) % 2, index (w + 1) // 2.
    out[:, r0:r1, 1, :(W + 1) // 2] = x[:, lo:hi, 0::2]               # even w
    out[:, r0:r1, 0, 1:W // 2 + 1] = x[:, lo:hi, 1::2]                # odd w
    out[:, r0:r1, 0, 0] = 0                                           # the zero column left of x
    out[:, r0:r1, 1, (W + 1) // 2:] = 0                               # zero columns right of x
    out[:, r0:r1, 0, W // 2 + 1:] = 0
    return out


def data_transform(band, nt, TW, work):
    """band (C, 2*nt + 2, 2, TW+1) from pad_split_columns -> V (16, C, nt*TW), V = B^T d B per tile.

    Rows first: row a of tile i is band row 2i + a, so the four strided views
    d_a = band[:, a::2] (C, nt, 2, TW+1) hold every tile's row a, and B^T's rows read
        (B^T d)_0 = d_0 - d_2,  _1 = d_1 + d_2,  _2 = d_2 - d_1,  _3 = d_1 - d_3.
    Then the same on columns 2j + q of each result -- parity q % 2, index j + q // 2 --
    which gives (B^T d B).
    """
    xp = get_array_module(band)
    C = band.shape[0]
    d = [band[:, a:a + 2 * nt:2] for a in range(4)]                   # 4 x (C, nt, 2, TW+1)
    rows = work.take("R", (4,) + d[0].shape)                          # 4 x (C, nt, 2, TW+1)  B^T d
    xp.subtract(d[0], d[2], out=rows[0])
    xp.add(d[1], d[2], out=rows[1])
    xp.subtract(d[2], d[1], out=rows[2])
    xp.subtract(d[1], d[3], out=rows[3])
    V = work.take("V", (4, 4, C, nt, TW))                             # [xi, nu]
    c = [rows[..., q % 2, q // 2:q // 2 + TW] for q in range(4)]      # 4 x (4, C, nt, TW): columns 2j + q
    xp.subtract(c[0], c[2], out=V[:, 0])                              # (B^T d B)[:, 0], all 4 rows at once
    xp.add(c[1], c[2], out=V[:, 1])
    xp.subtract(c[2], c[1], out=V[:, 2])
    xp.subtract(c[1], c[3], out=V[:, 3])
    return V.reshape(16, C, nt * TW)                                  # (16, C, T)


def inverse_transform(M, b, out, work):
    """M (4, 4, K, nt, TW) -> out (K, rows, W) = A^T M A per tile (+ b), cropped to out.

    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]: on rows, (A^T M)_0 = M_0 + M_1 + M_2 and
    (A^T M)_1 = M_1 - M_2 - M_3; then the same on columns gives the 2x2 block
    whose entry (p, q) lands on output pixel (2i + p, 2j + q).
    """
    xp = get_array_module(M)
    rows = work.take("Q", (2,) + M.shape[1:])                         # 2 x (4, K, nt, TW)  A^T M
    xp.add(M[0], M[1], out=rows[0])
    rows[0] += M[2]
    xp.subtract(M[1], M[2], out=rows[1])
    rows[1] -= M[3]
    y = work.take("Y", (2, 2) + M.shape[2:])                          # [p, q] x (K, nt, TW)
    xp.add(rows[:, 0], rows[:, 1], out=y[:, 0])                       # (A^T M A)[:, 0] = r_0 + r_1 + r_2
    y[:, 0] += rows[:, 2]
    xp.subtract(rows[:, 1], rows[:, 2], out=y[:, 1])                  # (A^T M A)[:, 1] = r_1 - r_2 - r_3
    y[:, 1] -= rows[:, 3]
    for p in range(2):
        for q in range(2):
            view = out[:, p::2, q::2]                                 # (K, <=nt, <=TW) pixels (2i+p, 2j+q)
            ys = y[p, q, :, :view.shape[1], :view.shape[2]]           # drop the rows/cols past H, W
            if b is None:
                view[...] = ys
            else:
                xp.add(ys, b[:, None, None], out=view)
    return out
