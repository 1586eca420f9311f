"""Winograd's minimal filtering F(m x m, 3x3), m = 2 or 4: a 3x3 convolution (stride 1,
padding 1) with 2.25 (m = 2) or 4 (m = 4) times fewer multiplications than the direct sum.

Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016),
eq. (7) and section 4. Cut the padded input into a x a tiles d, a = m + 2, that
overlap by two (stride m); each tile gives an m x m block of the output:

    Y = A^T [ (G g G^T) * (B^T d B) ] A          (* elementwise, on a x a matrices)

with the constant matrices B^T (a x a), G (a x 3), A^T (m x a) below, Lavin and
Gray's F(2x2, 3x3) (section 4.1) and F(4x4, 3x3) (section 4.2, interpolation points
0, 1, -1, 2, -2 and infinity). Summed over the input channels c, for output channel k:

    U[k, c] = G w[k, c] G^T           a x a, once per kernel      (kernel transform)
    V[c, t] = B^T d[c, t] B           a x a, once per tile t      (data transform)
    M[k, t] = sum_c U[k, c] * V[c, t] a x a                       (a*a matrix products)
    Y[k, t] = A^T M[k, t] A           m x m                       (inverse transform)

For each of the a*a positions (xi, nu), M[xi nu] = U[xi nu] V[xi nu] is an ordinary
(K, C) x (C, tiles) matrix product, so the whole convolution is a stack of a*a of
them (one xp.matmul) between the transforms: a*a multiplies per m x m output block
instead of 9*m*m (16 for 4 pixels, or 36 for 16). Shape letters as in conv.py, plus
    TH, TW  tiles down and across (TH = ceil(OH / m)),  T  tiles in a band.

Precision: F(4x4) multiplies by up to 5 and 8 in its transforms and divides by 24,
and its a*a sums over the channels add up larger, partly cancelling terms, so its
float32 rounding is about 20 times F(2x2)'s (benchmarks/RESULTS.md has the figures on
VGG-19's layer shapes). tests/test_winograd.py holds both to bounds derived from the
transforms' entries (tests/error_model.py, winograd_magnitude); in float64 they are exact
to rounding, which checks the algebra.

The image gradient needs no second algorithm: for stride 1 and padding 1,
    dx = conv(dout, w^T flipped)    = flip( conv(flip(dout), w^T) )
where w^T swaps the in/out channels (w^T[c, k] = w[k, c]) and flip turns an image
by 180 degrees (a view in NumPy and CuPy, no copy). Hence the backward is the
forward with U[xi nu] transposed -- the same U the forward already computed.

Speed (the reason this file exists; see benchmarks/): the image is processed in
bands of tile rows, each small enough to stay in cache (`band_bytes`, chosen per
backend by minigrad/fast/engine.py), with two scratch arrays reused from step to
step and band to band; every transform is one or two small matrix products (B^T or
A^T times a stack of contiguous tiles); bands are independent, so they are dealt
out to the engine's worker threads (minigrad/fast/threads.py), each running the
transforms and its own one-thread matrix products.
"""
import threading

import numpy as np

from ..backend import get_array_module

MATRICES = {   # m: (B^T (a, a), G (a, 3), A^T (m, a)), a = m + 2
    2: (np.array([[1, 0, -1, 0],
                  [0, 1, 1, 0],
                  [0, -1, 1, 0],
                  [0, 1, 0, -1]], dtype=np.float64),
        np.array([[1, 0, 0],
                  [1 / 2, 1 / 2, 1 / 2],
                  [1 / 2, -1 / 2, 1 / 2],
                  [0, 0, 1]], dtype=np.float64),
        np.array([[1, 1, 1, 0],
                  [0, 1, -1, -1]], dtype=np.float64)),
    4: (np.array([[4, 0, -5, 0, 1, 0],
                  [0, -4, -4, 1, 1, 0],
                  [0, 4, -4, -1, 1, 0],
                  [0, -2, -1, 2, 1, 0],
                  [0, 2, -1, -2, 1, 0],
                  [0, 4, 0, -5, 0, 1]], dtype=np.float64),
        np.array([[1 / 4, 0, 0],
                  [-1 / 6, -1 / 6, -1 / 6],
                  [-1 / 6, 1 / 6, -1 / 6],
                  [1 / 24, 1 / 12, 1 / 6],
                  [1 / 24, -1 / 12, 1 / 6],
                  [0, 0, 1]], dtype=np.float64),
        np.array([[1, 1, 1, 1, 1, 0],
                  [0, 1, -1, 2, -2, 0],
                  [0, 1, 1, 4, 4, 0],
                  [0, 1, -1, 8, -8, 1]], dtype=np.float64)),
}


def tile_of(U):
    """m for a kernel transform U (a*a, K, C): a = m + 2."""
    a = int(round(U.shape[0] ** 0.5))
    return a - 2


def kernel_transform(w, m, workers):
    """w (K, C, 3, 3) -> U (a*a, K, C), U[a*xi + nu] = (G w G^T)[xi, nu].

    G w G^T, entry (xi, nu), is sum_{p,q} G[xi, p] G[nu, q] w[p, q]: the Kronecker
    product G (x) G (a*a x 9) times the 9 kernel taps -- one matrix product for all K*C,
    its filters split among the workers.
    """
    xp = get_array_module(w)
    K, C = w.shape[:2]
    G = MATRICES[m][1]
    GG = xp.asarray(np.kron(G, G), dtype=w.dtype)                    # (a*a, 9)
    w9 = w.reshape(K * C, 9)                                          # (K*C, 9)
    U = xp.empty((GG.shape[0], K * C), dtype=w.dtype)

    def part(k0, k1):                                                 # filters k0..k1-1
        xp.matmul(GG, w9[k0 * C:k1 * C].T, out=U[:, k0 * C:k1 * C])   # (a*a, (k1-k0)*C)
    workers.map_slices(part, K)
    return U.reshape(GG.shape[0], K, C)                               # (a*a, K, C)


def tiles(H, W, m=2):
    """(TH, TW): m x m output blocks down and across an H x W output (stride 1, pad 1)."""
    return -(-H // m), -(-W // m)


# --------------------------------------------------------------------------
# Reference: the formula above, one tile at a time (vectorised over channels).
# --------------------------------------------------------------------------

def conv3x3_forward_naive(x, w, b, m=2):
    """x (N, C, H, W), w (K, C, 3, 3), b (K,) -> (N, K, H, W): stride 1, padding 1."""
    xp = get_array_module(x)
    N, C, H, W = x.shape
    K = w.shape[0]
    a = m + 2
    TH, TW = tiles(H, W, m)
    bt, g, at = (xp.asarray(A, dtype=x.dtype) for A in MATRICES[m])
    U = xp.einsum("xp,kcpq,yq->xykc", g, w, g)                       # (a, a, K, C)  G w G^T
    xpad = xp.zeros((N, C, m * TH + 2, m * TW + 2), dtype=x.dtype)   # pad 1, more to fill tiles
    xpad[:, :, 1:H + 1, 1:W + 1] = x
    out = xp.zeros((N, K, m * TH, m * TW), dtype=x.dtype)            # cropped to H x W at the end
    for n in range(N):
        for i in range(TH):
            for j in range(TW):
                d = xpad[n, :, m * i:m * i + a, m * j:m * j + a]      # (C, a, a)
                V = bt @ d @ bt.T                                     # (C, a, a)  B^T d B
                M = xp.einsum("xykc,cxy->kxy", U, V)                  # (K, a, a)  sum_c U * V
                out[n, :, m * i:m * i + m, m * j:m * j + m] = at @ M @ at.T   # A^T M A
    return out[:, :, :H, :W] + b[None, :, None, None]


# --------------------------------------------------------------------------
# Fast: all tiles of a band of tile rows at once, the channel sums as a*a GEMMs.
# --------------------------------------------------------------------------

def conv3x3(x, U, b, out, workers, band_bytes, min_tiles, transforms=None):
    """out (N, K, H, W) = x (N, C, H, W) convolved (3x3, stride 1, pad 1) with U (a*a, K, C).

    m = a - 2 comes from U (kernel_transform's m). U may be any view (the backward
    passes U transposed); `out` may be a view (the backward passes a flipped one) or
    None for a new array; b (K,) or None. Bands of tile rows: the larger scratch
    array (V (a*a, C, T) or M (a*a, K, T)) near a quarter of band_bytes, but at
    least min_tiles tiles, so that the matrix products stay efficient, and at least
    one band per worker. transforms: (data_transform, inverse_transform), these
    below unless given (minigrad/fast/cuda.py has the same two as CUDA kernels).
    """
    xp = get_array_module(x)
    data, inverse = transforms or (data_transform, inverse_transform)
    N, C, H, W = x.shape
    K, m = U.shape[1], tile_of(U)
    a = m + 2
    TH, TW = tiles(H, W, m)
    if out is None:
        out = xp.empty((N, K, H, W), dtype=x.dtype)
    rows = max(band_bytes // 4 // (a * a * max(C, K) * TW * x.itemsize), -(-min_tiles // TW))
    rows = max(1, min(rows, -(-TH // workers.n)))                     # tile rows per band
    bands = [(n, t0, min(TH, t0 + rows)) for n in range(N) for t0 in range(0, TH, rows)]
    bt, _, at = (xp.asarray(A, dtype=x.dtype) for A in MATRICES[m])
    size = max(a * m * C * rows * (TW + 1), a * a * max(C, K) * rows * TW)

    def run(my_bands):
        work = Workspace.of_this_thread(xp, x.dtype, size)            # two buffers, reused
        for n, t0, t1 in my_bands:
            V = data(x[n], bt, m, t0, t1 - t0, TW, work)              # (a*a, C, T)   in B
            M = xp.matmul(U, V, out=work.take("A", (a * a, K, V.shape[2])))   # (a*a, K, T)
            inverse(M, at, b, out[n, :, m * t0:m * t1], work)         # (K, <=m*nt rows, W)

    workers.deal(run, bands)                   # bands are independent: dealt out like cards
    return out


class Workspace:
    """Two scratch arrays, A and B, allocated once and cut to each step's size.

    Each step of a band reads one and writes the other (tile rows in A, B^T d in B,
    tile columns in A, V in B, M in A, A^T M in B, Y in A), so two buffers hold the
    whole band; fresh large arrays would cost page faults on every band.
    take(name, shape) returns a C-contiguous view of the first prod(shape) elements.
    """

    def __init__(self, xp, dtype, size):
        self.buffers = {"A": xp.empty(size, dtype=dtype), "B": xp.empty(size, dtype=dtype)}

    _kept = threading.local()          # each thread's workspaces, {(xp, dtype): Workspace}

    @classmethod
    def of_this_thread(cls, xp, dtype, size):
        """The calling thread's workspace for (xp, dtype), grown to hold `size` elements
        if it is smaller: kept from call to call, so a pass reuses the same pages."""
        kept = cls._kept.__dict__.setdefault("workspaces", {})
        key = (xp.__name__, xp.dtype(dtype).name)
        work = kept.get(key)
        if work is None or work.buffers["A"].size < size:
            work = kept[key] = cls(xp, dtype, size)
        return work

    def take(self, name, shape):
        size = 1
        for s in shape:
            size *= s
        return self.buffers[name][:size].reshape(shape)


def tile_rows(x, first, m, nt, out, row):
    """Padded rows first, first + m, ... (nt of them) of x (C, H, W), columns split by m:
    out (C, nt, m, TW+1),  out[c, i, s, j] = xpad[c, first + m*i, m*j + s].

    xpad is x with one zero row/column on each side (and more at the bottom or
    right, to fill the last tile), so xpad row r is x row r - 1 and column u is x
    column u - 1. Splitting the columns by their remainder s mod m makes every
    later read of a tile column (m*j + q) a contiguous run instead of a stride-m
    one. Two copies: the rows, whole, into `row` (C, nt, m*(TW+1)), the padded rows
    side by side; then one transposing copy splits their columns. Each band reads
    only its own rows: no padded copy of the image is made.
    """
    C, H, W = x.shape
    i0 = min(nt, max(0, -(-(1 - first) // m)))                       # first i with x row >= 0
    i1 = max(i0, min(nt, (H - first) // m + 1))                       # past the last with x row < H
    row[:, :i0] = 0                                                   # zero rows above the image
    row[:, i1:] = 0                                                   # ... and below it
    row[:, i0:i1, :1] = 0                                             # the zero column on the left
    row[:, i0:i1, W + 1:] = 0                                         # ... and those on the right
    row[:, i0:i1, 1:W + 1] = x[:, first + m * i0 - 1:first + m * (i1 - 1):m]   # (C, i1 - i0, W)
    TW1 = row.shape[2] // m
    out[...] = row.reshape(C, nt, TW1, m).transpose(0, 1, 3, 2)      # [c, i, j, s] -> [c, i, s, j]
    return out


def data_transform(x, bt, m, t0, nt, TW, work):
    """Tile rows t0..t0+nt-1 of x (C, H, W) -> V (a*a, C, nt*TW), V = B^T d B per tile.

    Row r of tile (i, j) is padded row m*(t0 + i) + r, so tile_rows gathers, for
    each r, that row of every tile: D (a, C, nt, m, TW+1). Then B^T d for all tiles
    is one matrix product, B^T (a, a) @ D (a, rest). Column q of tile j is column
    m*j + q, at [q % m, j + q // m] in tile_rows' split: gathering those gives
    E[xi, q] (a, a, C, T), and B^T @ E[xi] for each xi gives (B^T d B)[xi, nu].
    """
    xp = get_array_module(x)
    C = x.shape[0]
    a = m + 2
    D = work.take("A", (a, C, nt, m, TW + 1))
    row = work.take("B", (C, nt, m * (TW + 1)))                       # scratch for tile_rows
    for r in range(a):
        tile_rows(x, m * t0 + r, m, nt, D[r], row)                    # row r of every tile
    R = xp.matmul(bt, D.reshape(a, -1), out=work.take("B", (a, D[0].size)))   # B^T d
    R = R.reshape(a, C, nt, m, TW + 1)                                # [xi, c, i, s, j]
    E = work.take("A", (a, a, C, nt, TW))                             # [xi, q, c, i, j]
    for q in range(a):
        E[:, q] = R[..., q % m, q // m:q // m + TW]                   # column m*j + q
    V = xp.matmul(bt, E.reshape(a, a, C * nt * TW), out=work.take("B", (a, a, C * nt * TW)))
    return V.reshape(a * a, C, nt * TW)                               # (a*a, C, T)


def inverse_transform(M, at, b, out, work):
    """M (a*a, K, T) -> out (K, rows, W) = A^T M A per tile (+ b), cropped to out.

    A^T @ M (rows; M as (a, a*K*T)) is one matrix product P (m, a, K, T); A^T @ P[p]
    for each p gives (A^T M A)[p, q], the block entry that lands on output pixel
    (m*i + p, m*j + q).
    """
    xp = get_array_module(M)
    m, a = at.shape
    K, T = M.shape[1:]
    TW = -(-out.shape[2] // m)
    P = xp.matmul(at, M.reshape(a, a * K * T), out=work.take("B", (m, a * K * T)))   # A^T M
    Y = xp.matmul(at, P.reshape(m, a, K * T), out=work.take("A", (m, m, K * T)))     # A^T M A
    Y = Y.reshape(m, m, K, T // TW, TW)                               # [p, q, k, i, j]
    nt = T // TW
    if out.shape[1:] == (m * nt, m * TW):                             # whole tiles: one copy
        blocks = out.reshape(K, nt, m, TW, m)    # [k, i, p, j, q]: splitting axes is always a view
        ys = Y.transpose(2, 3, 0, 4, 1)                               # [p, q, k, i, j] -> the same
        if b is None:
            blocks[...] = ys
        else:
            xp.add(ys, b[:, None, None, None, None], out=blocks)
        return out
    for p in range(m):                                                # tiles cut by the edge
        for q in range(m):
            view = out[:, p::m, q::m]                                 # (K, <=nt, <=TW) pixels (mi+p, mj+q)
            ys = Y[p, q, :, :view.shape[1], :view.shape[2]]           # drop the rows/cols past H, W
            if b is None:
                view[...] = ys
            else:
                xp.add(ys, b[:, None, None], out=view)
    return out
