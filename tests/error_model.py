"""How far a floating-point result may be from the exact one, and why: the bounds the tests assert.

A test that compares two floating-point computations needs a tolerance, and a tolerance
fitted to what one machine happened to print fails on the next (another BLAS kernel sums
in another order, with or without fused multiply-adds). Every numerical test in this
folder takes its tolerance from one of the models below instead. They hold for any
order of summation, so they hold on any processor; and they are small enough that a
wrong index, a missing term or a wrong constant, which moves a result by its own size,
fails them.

1. Componentwise, worst case (Higham, "Accuracy and Stability of Numerical Algorithms",
   2nd ed., section 3.1 and Lemma 3.4). A result computed by n rounded operations along
   every path from the inputs, each |delta| <= u (u = 2^-24 in float32, 2^-53 in float64),
   is off by at most
       |computed - exact| <= gamma_n * magnitude,     gamma_n = n u / (1 - n u),
   where `magnitude` is the same computation done on the absolute values of every input
   and constant: for a dot product sum_i |x_i||y_i|, for a convolution conv(|x|, |w|) + |b|.
   A sum can have cancelled to almost nothing and still be right; only the magnitude
   says how large its rounding may be. `bound` and `assert_within` use this model.

2. Norm-wise, probabilistic, for deep chains (Higham and Mary, "A New Approach to
   Probabilistic Rounding Error Analysis", SIAM J. Sci. Comput. 2019, Theorem 3.1).
   Through 13 layers the worst case grows as the product of each layer's
   magnitude / value ratio (about 20 a layer): far too loose to catch anything.
   Rounding errors are not worst-case aligned, though: with probability at least
   1 - 2 exp(-LAMBDA^2 / 2) (here 1 - 4e-22) a sum of n terms is off by at most
   LAMBDA sqrt(n) u times its magnitude. And an error that enters at layer l leaves
   the network with about the relative size it came in with (a random perturbation
   is amplified like the signal itself), so relative errors add up layer by layer:
       ||computed - exact|| / ||exact|| <= LAMBDA u sum_l sqrt(n_l) kappa_l,
   kappa_l = ||magnitude_l|| / ||value_l||, measured on the exact activations. The
   tests of whole networks (test_vgg.py, the whole objective) use this model, with
   the precondition that no activation lies so close to ReLU's kink, and no max-pool
   window so close to a tie, that rounding could flip it (a flip moves the gradient
   by the whole upstream value at that pixel, which no rounding model covers).

3. Exact. Some results involve no rounding at all, and are tested with ==: ReLU and
   max pooling (copies and comparisons), scaling by a power of two, the same
   operations in the same order (an engine's backward on the other's cache).
"""
import numpy as np

from minigrad.backend import to_numpy
from minigrad.fast import winograd

U = {"float32": 2.0 ** -24, "float64": 2.0 ** -53}     # unit roundoff: half the spacing at 1
LAMBDA = 10.0                                          # model 2's confidence (1 - 4e-22)


def unit_roundoff(dtype):
    return U[np.dtype(dtype).name]


def gamma(n, dtype):
    """Higham's gamma_n = n u / (1 - n u): the relative bound of n rounded operations."""
    nu = n * unit_roundoff(dtype)
    assert nu < 0.5, f"{n} operations in {dtype}: the model needs n u < 1/2"
    return nu / (1 - nu)


def bound(magnitude, n, dtype):
    """Model 1: the componentwise bound of a result of n roundings per path, in `dtype`,
    compared with a float64 reference that took the same n steps (its own error counted)."""
    return (gamma(n, dtype) + gamma(n, "float64")) * np.asarray(to_numpy(magnitude), np.float64)


def assert_within(computed, exact, limit, what=""):
    """|computed - exact| <= limit, elementwise; returns the largest fraction of the limit used.

    With limit 0 (an exact result) the two must be equal. On failure, the message shows
    the worst entries with their values and limits.
    """
    a = np.asarray(to_numpy(computed), np.float64)
    b = np.asarray(to_numpy(exact), np.float64)
    limit = np.broadcast_to(np.asarray(limit, np.float64), b.shape)
    diff = np.abs(a - b)
    bad = diff > limit
    if bad.any():
        worst = np.argsort(-(diff - limit), axis=None)[:3]
        shown = "; ".join(f"at {np.unravel_index(i, b.shape)}: {a.flat[i]:.9g} vs {b.flat[i]:.9g}, "
                          f"off by {diff.flat[i]:.3g} > {limit.flat[i]:.3g}" for i in worst)
        raise AssertionError(f"{what}: {int(bad.sum())} of {b.size} entries outside the error "
                             f"bound ({shown})")
    with np.errstate(divide="ignore", invalid="ignore"):
        used = np.where(limit > 0, diff / limit, 0.0)
    return float(used.max(initial=0.0))


def probabilistic(n, dtype):
    """Model 2: LAMBDA sqrt(n) u, the relative error of a sum of n terms, with confidence."""
    return LAMBDA * np.sqrt(n) * unit_roundoff(dtype)


def normwise_error(computed, exact):
    """||computed - exact|| / ||exact|| in the 2-norm (float64)."""
    a = np.asarray(to_numpy(computed), np.float64)
    b = np.asarray(to_numpy(exact), np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ----------------------------------------------------------------------------- convolutions

def conv_terms(C, KH, KW):
    """Roundings along a path of a convolution's output: the C*KH*KW products and their
    sum, the bias, the store."""
    return C * KH * KW + 2


def conv_backward_terms(K, KH, KW, stride):
    """dx: each of the K*KH*KW/stride^2 (at most K*KH*KW) contributions to one input pixel,
    a product each and their sum (over k, then over the overlapping windows), the store."""
    return K * KH * KW + 2


def winograd_terms(C, m):
    """Roundings along a path of Winograd F(m x m, 3x3), the most any of our versions takes:
    U = G w G^T (the fast engine: (G kron G), rounded once, times the 9 taps: 10), B^T d B
    (a + a), the product U V (1) and the sum over the C channels (C), A^T M A (a + a), the
    bias (1) and one to spare; a = m + 2."""
    a = m + 2
    return 10 + 2 * a + C + 2 * a + 2


def winograd_magnitude(x, w, b, m):
    """Model 1's magnitude of Winograd F(m x m, 3x3) (stride 1, padding 1): the same
    algorithm on absolute values of the input, the kernel and every constant matrix,
    sum_c |A^T| ((|G||w||G^T|) * (|B^T||d||B|)) |A| + |b|, in float64.

    It is larger than conv(|x|, |w|): the transforms add and subtract terms up to 8 and
    5 times larger than the data (F(4x4)), which is where Winograd's larger rounding
    comes from.
    """
    x, w = (np.abs(np.asarray(to_numpy(a), np.float64)) for a in (x, w))
    b = np.zeros(w.shape[0]) if b is None else np.abs(np.asarray(to_numpy(b), np.float64))
    bt, g, at = (np.abs(A) for A in winograd.MATRICES[m])
    N, C, H, W = x.shape
    a = m + 2
    TH, TW = winograd.tiles(H, W, m)
    U = np.einsum("xp,kcpq,yq->kcxy", g, w, g)                        # (K, C, a, a)
    xpad = np.zeros((N, C, m * TH + 2, m * TW + 2))
    xpad[:, :, 1:H + 1, 1:W + 1] = x
    tiles = np.lib.stride_tricks.sliding_window_view(xpad, (a, a), axis=(2, 3))[:, :, ::m, ::m]
    V = np.einsum("xu,nctsuv,yv->nctsxy", bt, tiles, bt)               # (N, C, TH, TW, a, a)
    M = np.einsum("kcxy,nctsxy->nktsxy", U, V)                        # summed over c
    Y = np.einsum("px,nktsxy,qy->nktspq", at, M, at)                  # (N, K, TH, TW, m, m)
    out = Y.transpose(0, 1, 2, 4, 3, 5).reshape(N, -1, m * TH, m * TW)[:, :, :H, :W]
    return out + b[None, :, None, None]


def winograd_backward_magnitude(dout, w, m):
    """The same for the image gradient, which the fast engine computes as the forward
    on the flipped dout with the kernel's channels swapped (minigrad/fast/winograd.py)."""
    dout = np.asarray(to_numpy(dout), np.float64)[:, :, ::-1, ::-1]
    wt = np.asarray(to_numpy(w), np.float64).transpose(1, 0, 2, 3)
    return winograd_magnitude(dout, wt, None, m)[:, :, ::-1, ::-1]


def conv_limits(stride, pad, algorithms, dtype):
    """Model 1 for one convolution, as check_against_torch takes it: limits(arrays, dout) ->
    {"out", "x", "w", "b"}. algorithms: (forward, image gradient), each "im2col" or Winograd's
    m; the weight gradient is always im2col's sum over the N*OH*OW output pixels, band by
    band (at most twice that many roundings along a path), the bias gradient a plain sum."""
    from minigrad import conv as mconv
    forward, backward = algorithms

    def limits(a, dout):
        x, w, b = a["x"], a["w"], a["b"]
        K, C, KH, KW = w.shape
        N, _, OH, OW = dout.shape
        mag, cache = mconv.conv2d_forward_im2col(np.abs(x), np.abs(w), np.abs(b), stride, pad)
        dx_mag, dw_mag, db_mag = mconv.conv2d_backward_im2col(np.abs(dout), cache)
        if forward == "im2col":
            out = bound(mag, conv_terms(C, KH, KW), dtype)
        else:
            out = bound(winograd_magnitude(x, w, b, forward), winograd_terms(C, forward), dtype)
        if backward == "im2col":
            dx = bound(dx_mag, conv_backward_terms(K, KH, KW, stride), dtype)
        else:
            dx = bound(winograd_backward_magnitude(dout, w, backward), winograd_terms(K, backward),
                       dtype)
        return {"out": out, "x": dx, "w": bound(dw_mag, 2 * N * OH * OW + 2, dtype),
                "b": bound(db_mag, N * OH * OW + 1, dtype)}
    return limits


def conv_pair_limits(x, w, b, dout, algorithms, dtype):
    """Model 1 for the fast engine's convolution against the naive loops (both in `dtype`,
    stride 1, padding 1): each is within its bound of the exact sums, so the two are
    within the sum of their bounds of each other. {"out", "x", "w", "b"}."""
    arrays = {"x": np.asarray(to_numpy(x), np.float64), "w": np.asarray(to_numpy(w), np.float64),
              "b": np.asarray(to_numpy(b), np.float64)}
    d = np.asarray(to_numpy(dout), np.float64)
    ours = conv_limits(1, 1, algorithms, dtype)(arrays, d)
    naive = conv_limits(1, 1, ("im2col", "im2col"), dtype)(arrays, d)
    return {k: ours[k] + naive[k] for k in ours}


def pool_limits(kind, k, stride, dtype):
    """Model 1 for pooling. Max: the forward copies one input, exactly; the backward routes
    dout, exactly where windows do not overlap, else each pixel sums up to ceil(k/stride)^2
    routed values. Average: k^2 terms summed and divided (k^2 + 1 roundings); the backward
    divides dout by k^2 and sums up to ceil(k/stride)^2 shares."""
    from minigrad import pool
    overlap = (-(-k // stride)) ** 2                                 # windows over one pixel

    def limits(a, dout):
        x = a["x"]
        if kind == "max":
            _, cache = pool.maxpool_forward(x, k, stride)
            routed = pool.maxpool_backward(np.abs(dout), cache)
            return {"out": 0.0, "x": 0.0 if stride >= k else bound(routed, overlap, dtype)}
        out, cache = pool.avgpool_forward(np.abs(x), k, stride)
        return {"out": bound(out, k * k + 1, dtype),
                "x": bound(pool.avgpool_backward(np.abs(dout), cache), overlap + 1, dtype)}
    return limits


def exact_limits(a, dout):
    """Model 3: no rounding at all (ReLU's forward and backward)."""
    return {"out": 0.0, "x": 0.0}


# ----------------------------------------------------------------------------- the losses (model 1)
# Each loss returns its value (a sum of squares: every term positive, so the magnitude is
# the value itself) and its gradient; the tests multiply the gradient by a scalar dout
# (one more rounding). F is (1, N, H, W), M = H W.

def content_limits(dtype, relative=False):
    """Eq. 1, L = 1/2 sum d^2 with d = F - P (one rounding), squared (one), summed (n - 1):
    gamma_{n+2} L. Gradient d (one rounding), times dout. The relative form divides by
    ||P||^2 (a positive sum: gamma_{n+1}), and its gradient is 2 d / ||P||^2."""
    def limits(a, dout):
        d = a["F"] - a["P"]
        n, g = d.size, np.abs(d * dout)
        if not relative:
            return {"out": bound(0.5 * (d * d).sum(), n + 2, dtype), "F": bound(g, 3, dtype)}
        norm_p = (a["P"] ** 2).sum()
        return {"out": bound((d * d).sum() / norm_p, 2 * n + 4, dtype),
                "F": bound(2 * g / norm_p, n + 5, dtype)}
    return limits


def gram_limits(dtype):
    """Eq. 3, G = F F^T: multilinear, sums of M products: gamma_{M+1} |F||F|^T. Its backward
    (dG + dG^T) F: one addition, then sums of N products."""
    def limits(a, dout):
        F = a["F"].reshape(a["F"].shape[1], -1)
        dG = np.abs(dout)
        return {"out": bound(np.abs(F) @ np.abs(F).T, F.shape[1] + 1, dtype),
                "F": bound(((dG + dG.T) @ np.abs(F)).reshape(a["F"].shape), F.shape[0] + 2, dtype)}
    return limits


def style_limits(dtype, relative=False):
    """Eq. 4, E = s sum (G - A)^2, s = 1/(4 N^2 M^2) (or 1/||A||^2, relative). G is off by
    dG <= gamma_{M+1} |F||F|^T, so d = G - A by dd <= dG + u|d|; the value by
    s (2 sum |d| dd + gamma_{N^2+2} sum d^2). The gradient, s' (D + D^T) F with D = d:
    s' ((dd + dd^T) |F| + gamma_{N+4} (|d| + |d|^T) |F|), the astype and dout included."""
    def limits(a, dout):
        F = a["F"].reshape(a["F"].shape[1], -1)
        N, M = F.shape
        A = a["A"]
        d = F @ F.T - A
        dd = gamma(M + 1, dtype) * (np.abs(F) @ np.abs(F).T) + unit_roundoff(dtype) * np.abs(d)
        s = 1 / (A * A).sum() if relative else 1 / (4.0 * N * N * M * M)
        scale = 2 * s                                       # dE/dG = 2 s (G - A)
        value = s * (2 * (np.abs(d) * dd).sum() + gamma(N * N + 2, dtype) * (d * d).sum())
        if relative:                                        # and ||A||^2's own rounding
            value += gamma(N * N + 2, dtype) * s * (d * d).sum()
        absF = np.abs(F)
        grad = abs(dout) * scale * ((dd + dd.T) @ absF
                                    + gamma(N + 4, dtype) * (np.abs(d) + np.abs(d).T) @ absF)
        return {"out": value, "F": grad.reshape(a["F"].shape)}
    return limits


def tv_limits(dtype):
    """TV = sum over the four neighbour directions of w sum d^2 (w = 1 or 1/2, exact): a sum
    of at most 4 n positive terms, gamma_{4n+4} TV. Gradient: each pixel gathers up to eight
    +-2wd (one rounding each), then times dout: gamma_10 of the sum of their absolute values."""
    from minigrad.losses import NEIGHBOURS, pair_views

    def limits(a, dout):
        x = a["x"]
        value, mag = 0.0, np.zeros_like(x)
        for (di, dj), w in NEIGHBOURS:
            i, j = pair_views(x, di, dj)
            d = x[i] - x[j]
            value += w * (d * d).sum()
            mag[i] += 2 * w * np.abs(d)
            mag[j] += 2 * w * np.abs(d)
        return {"out": bound(value, 4 * x.size + 4, dtype), "x": bound(mag * abs(dout), 10, dtype)}
    return limits


# ----------------------------------------------------------------------------- finite differences

EPS = 1e-6                             # the centred differences' step (minigrad/gradcheck.py)


def assert_finite_differences(f, x, analytic, f_magnitude, n, third=0.0, samples=60, eps=EPS):
    """Centred differences of f at sampled entries of x (float64) against `analytic`.

    Their error (Nocedal and Wright, "Numerical Optimization", 2nd ed., section 8.1):
    rounding -- each value of f is within gamma_n f_magnitude of the exact one (model 1,
    n roundings along a path, f_magnitude the sum of the absolute values of f's terms), so
    the quotient (f(x + eps) - f(x - eps)) / (2 eps) is within gamma_n f_magnitude / eps --
    plus truncation, eps^2 |f3| / 6, with `third` a bound on |f3|, the third derivative
    along a coordinate: 0 for what is linear or quadratic there (a convolution, ReLU and
    pooling away from their kinks, the content loss and TV) -- plus the rounding of x_i + eps
    itself. The analytic gradient's own rounding is far smaller and covered by the same
    allowance. Returns the largest fraction used.
    """
    from minigrad.gradcheck import numerical_gradient, sample_indices
    indices = sample_indices(x.shape, samples)
    numeric = numerical_gradient(f, x, indices, eps)
    exact = np.array([float(to_numpy(analytic[i])) for i in indices])
    # x_i +- eps is itself rounded: the step taken is eps within u |x_i|, relatively u |x_i| / eps
    steps = np.array([2 * U["float64"] * abs(float(to_numpy(x[i]))) / eps for i in indices])
    allowance = gamma(n, "float64") * f_magnitude / eps + eps ** 2 * third / 6 + steps * np.abs(exact)
    return assert_within(exact, numeric, allowance, "finite differences")


# ----------------------------------------------------------------------------- networks (model 2)

LAMBDA_NORM = 4.0     # the 2-norm of many independent roundings concentrates near its mean;
                      # 4 standard deviations leave room


def norm(a):
    return float(np.linalg.norm(np.asarray(a, np.float64)))


def _random_gain(apply, shape, seed):
    """||apply(delta)|| / ||delta|| for a Gaussian delta: how a layer amplifies an error."""
    delta = np.random.default_rng(seed).standard_normal(shape)
    return norm(apply(delta)) / norm(delta)


def conv_spread(a, w, b, stride, pad, algorithm, dtype):
    """(per-output standard deviation of the rounding error, n): model 2's error of one
    convolution output. Its n roundings are each delta_k S_k with |delta_k| <= u, independent,
    and the partial sums S_k no larger than the 2-norm of the terms, T2 = sqrt(sum of squared
    products); so the error's standard deviation is at most u sqrt(n / 3) T2. For Winograd
    the terms are the algorithm's paths, each constant included: T2 is winograd_magnitude of
    the squared input, kernel and matrices, square-rooted."""
    from minigrad import conv as mconv
    if algorithm == "im2col":
        n = conv_terms(w.shape[1], w.shape[2], w.shape[3])
        t2 = mconv.conv2d_forward_im2col(a * a, w * w, b * b, stride, pad)[0]
    else:
        n = winograd_terms(w.shape[1], algorithm)
        t2 = _winograd_squares(a, w, b, algorithm)
    return unit_roundoff(dtype) * np.sqrt(n / 3) * np.sqrt(t2), n


def conv_backward_spread(g, w, stride, pad, x_shape, algorithm, dtype):
    """The same for the image gradient of a convolution: per-pixel standard deviation of
    its rounding error, and its n, for the algorithm the engine takes."""
    from minigrad import conv as mconv
    if algorithm == "im2col":
        n = conv_backward_terms(w.shape[0], w.shape[2], w.shape[3], stride)
        t2 = mconv.conv2d_backward_im2col(g * g, (np.zeros(x_shape), w * w, None, stride, pad),
                                          need_dw=False)[0]
    else:
        n = winograd_terms(w.shape[0], algorithm)
        t2 = _winograd_squares(g[:, :, ::-1, ::-1], w.transpose(1, 0, 2, 3), None,
                               algorithm)[:, :, ::-1, ::-1]
    return unit_roundoff(dtype) * np.sqrt(n / 3) * np.sqrt(t2), n


def _winograd_squares(x, w, b, m):
    saved = winograd.MATRICES[m]
    winograd.MATRICES[m] = tuple(A * A for A in saved)
    try:
        return winograd_magnitude(x * x, w * w, None if b is None else b * b, m)
    finally:
        winograd.MATRICES[m] = saved


def vgg_chain(params, pooling):
    """VGG-19 as a Network takes it: each convolution, then its ReLU under the paper's name
    of that output (conv1_1 is the ReLU's output), and the poolings."""
    from vgg.layout import LAYER_NAMES
    layers = []
    for name in LAYER_NAMES:
        if name.startswith("pool"):
            layers.append((name, ("maxpool" if pooling == "max" else "avgpool", 2)))
        else:
            W, b = params[name]
            layers += [(name + " (before ReLU)", ("conv", W, b, 1, 1)), (name, ("relu",))]
    return layers


def algorithms_of(engine):
    """algorithm(w, stride, pad, shape, forward) -> "im2col" or Winograd's m, as the engine
    chooses (the reference engine: always im2col)."""
    if hasattr(engine, "_algorithm"):
        return engine._algorithm
    return lambda w, stride, pad, shape, forward: "im2col"


class Network:
    """Model 2 for a chain of layers, computed exactly in float64 (the reference engine).

    layers: [(name, op)] in the order data flows, op one of
        ("conv", w, b, stride, pad)   ("relu",)   ("maxpool", k)   ("avgpool", k)
    x: the input; algorithm(w, stride, pad, shape, forward): the engine's choice
    (algorithms_of); taps: the names of the outputs wanted (the chain runs to the deepest).

    After construction: features {name: exact output}, forward {name: bound on the
    output's ||error|| / ||output||}, and for every decision the forward takes (which side
    of ReLU's kink, which max-pool winner) the exact one and how far rounding could move
    it. Rounding errors are modelled as independent from pixel to pixel (Higham and Mary):
    a convolution adds LAMBDA_NORM u sqrt(n / 3) ||T2|| / ||output|| and passes on the
    relative error it got times its gain for a random perturbation (measured); ReLU keeps
    the errors where it keeps the pixel; max pooling keeps one error in k^2, average
    pooling averages k^2 of them.
    """

    def __init__(self, layers, x, algorithm, taps, dtype):
        from minigrad import conv as mconv
        from minigrad import pool
        depth = max(i for i, (name, _) in enumerate(layers) if name in taps) + 1
        self.layers, self.dtype, self.u = layers[:depth], dtype, unit_roundoff(dtype)
        self.algorithm = algorithm
        a, r = np.asarray(x, np.float64), 0.0              # activation, its relative error
        self.features, self.forward, self.decisions, self.in_shapes = {}, {}, {}, []
        spread = None
        for i, (name, op) in enumerate(self.layers):
            kind = op[0]
            self.in_shapes.append(a.shape)
            if kind == "conv":
                w, b = np.asarray(op[1], np.float64), np.asarray(op[2], np.float64)
                stride, pad = op[3], op[4]
                own, n = conv_spread(a, w, b, stride, pad, algorithm(w, stride, pad, a.shape, True),
                                     dtype)
                z = mconv.conv2d_forward_im2col(a, w, b, stride, pad)[0]
                gain = _random_gain(lambda d: mconv.conv2d_forward_im2col(d, w, 0 * b, stride, pad)[0],
                                    a.shape, i)
                carried = r * gain * norm(a) / np.sqrt(z.size)     # per output, on average
                spread = own + carried
                r = r * gain * norm(a) / norm(z) + LAMBDA_NORM * norm(own) / norm(z)
                a = z
            elif kind == "relu":
                kept = a > 0
                self.decisions[name] = ("relu", kept, np.abs(a), spread)
                r = r * np.sqrt(kept.mean()) * norm(a) / max(norm(a * kept), 1e-300)
                a = a * kept
            elif kind == "maxpool":
                p, cache = pool.maxpool_forward(a, op[1], op[1])
                top = np.sort(np.stack(pool.window_views(a, op[1], op[1], *p.shape[2:])), axis=0)
                lead = top[-1] - top[-2]                      # winner minus runner-up
                lead[top[-1] == 0] = np.inf          # ties of ReLU's exact zeros are the same anywhere
                self.decisions[name] = ("maxpool", cache[3], lead,
                                        np.sqrt(2) * r * norm(a) / np.sqrt(a.size))
                r = r * norm(a) / (op[1] * norm(p))
                a = p
            else:                                              # avgpool
                k = op[1]
                p = pool.avgpool_forward(a, k, k)[0]
                r = r * norm(a) / (k * k * norm(p)) + LAMBDA_NORM * np.sqrt(k * k + 1) * self.u
                a = p
            self.features[name], self.forward[name] = a, r

    def check_decisions(self, ours):
        """Every decision of ours ({name: ReLU mask or max-pool argmax}) that differs from
        the exact one must be one that rounding could flip: an activation within LAMBDA
        standard deviations of the kink, a winner that close to the runner-up. Returns
        how many differed."""
        flipped = 0
        for name, (kind, exact, distance, spread) in self.decisions.items():
            mine = np.asarray(to_numpy(ours[name]))
            differ = mine != exact
            reachable = distance <= LAMBDA * spread
            assert not (differ & ~reachable).any(), \
                f"{name}: {int((differ & ~reachable).sum())} {kind} decisions differ from the " \
                f"exact ones farther from the edge than rounding can reach"
            flipped += int(differ.sum())
        return flipped

    def backward(self, grads, ours, errors=None):
        """(exact image gradient taking our decisions, bound on ||error|| / ||gradient||):
        the backward of the chain from {name: upstream gradient} at the taps, with the ReLU
        masks and max-pool winners of our forward ({name: mask or argmax}); errors: {name:
        the upstream gradient's own relative error} where ours was computed (0 if given)."""
        errors = errors or {}
        from minigrad import conv as mconv
        from minigrad import pool
        u = self.u
        g, r = None, 0.0
        for i in range(len(self.layers) - 1, -1, -1):
            name, op = self.layers[i]
            if name in grads:
                t = np.asarray(to_numpy(grads[name]), np.float64)
                e = errors.get(name, 0.0)
                if g is None:
                    g, r = t, e
                else:
                    s = g + t
                    r = (r * norm(g) + e * norm(t) + u * norm(np.abs(g) + np.abs(t))) / norm(s)
                    g = s
            if g is None:
                continue
            in_shape = self.in_shapes[i]
            kind = op[0]
            if kind == "conv":
                w = np.asarray(op[1], np.float64)
                stride, pad = op[3], op[4]
                cache = (np.zeros(in_shape), w, None, stride, pad)
                g_in = mconv.conv2d_backward_im2col(g, cache, need_dw=False)[0]
                own, _ = conv_backward_spread(g, w, stride, pad, in_shape,
                                              self.algorithm(w, stride, pad, in_shape, False),
                                              self.dtype)
                gain = _random_gain(lambda d: mconv.conv2d_backward_im2col(d, cache, need_dw=False)[0],
                                    g.shape, 1000 + i)
                r = r * gain * norm(g) / norm(g_in) + LAMBDA_NORM * norm(own) / norm(g_in)
            elif kind == "relu":
                mask = np.asarray(to_numpy(ours[name]))
                g_in = g * mask
                r = r * np.sqrt(mask.mean()) * norm(g) / max(norm(g_in), 1e-300)
            elif kind == "maxpool":
                k = op[1]
                g_in = pool.maxpool_backward(g, (in_shape, k, k, np.asarray(to_numpy(ours[name]))))
                r = r * norm(g) / norm(g_in)
            else:
                k = op[1]
                g_in = pool.avgpool_backward(g, (in_shape, k, k))
                r = r * norm(g) / (k * norm(g_in)) + LAMBDA_NORM * np.sqrt(2) * u
            g = g_in
        return g, r


def loss_finite_difference_model(name, F, P=None, A=None):
    """(magnitude of f, roundings n, bound on |f3|) of a loss along one coordinate of F, for
    assert_finite_differences. Content and TV (and the relative content) are quadratic in F:
    f3 = 0, and f's terms are all positive, so its magnitude is f itself. The style loss
    s sum (G - A)^2 is quartic: along F_ij only (G_rr - A_rr)^2, with G_rr = F_ij^2 + c, is
    more than quadratic, and its third derivative is 24 s F_ij; its magnitude is at most
    s sum (|F||F|^T + |A|)^2. (s: 1/(4 N^2 M^2), or 1/||A||^2 relative.)"""
    F = np.asarray(to_numpy(F), np.float64)
    Fm = F.reshape(F.shape[1], -1)
    N, M = Fm.shape
    if name in ("content", "relative content"):
        d = F - np.asarray(to_numpy(P), np.float64)
        f = (d * d).sum() / (1 if name == "content" else (to_numpy(P) ** 2).sum())
        return f, 2 * F.size + 4, 0.0
    if name == "tv":                                  # a sum of 4 n terms w d^2 (minigrad/losses.py)
        from minigrad.losses import tv_loss
        return tv_loss(F)[0], 4 * F.size + 4, 0.0
    A = np.asarray(to_numpy(A), np.float64)
    s = 1 / (4.0 * N * N * M * M) if name == "style" else 1 / (A * A).sum()
    magnitude = s * ((np.abs(Fm) @ np.abs(Fm).T + np.abs(A)) ** 2).sum()
    return magnitude, M + N * N + 4, 24 * s * np.abs(F).max()


# ----------------------------------------------------------------------------- eq. 7 (model 2)

def objective_limits(F, P, S, r_x, r_p, r_s, content_layers, style_layers, v, w, alpha, beta,
                     tv, tv_value, normalization, dtype):
    """Model 2 for the style-transfer objective, from exact (float64) features: F of the
    image, P of the photo, S of the painting (already at the scale of the canvas), and the
    relative errors r_x, r_p, r_s ({tap: bound}) of ours (Network.forward).

    Returns (bound on |loss - exact|, {tap: relative error of the upstream gradient we
    hand to VGG's backward}). A content term 1/2 ||F - P||^2 moves by ||F - P|| (dF + dP);
    its gradient F - P by dF + dP. A style term ||G - A||^2 moves by 2 ||G - A|| (dG + dA)
    with dG <= 2 ||F||^2 r (and gamma_M ||F||^2 of its own rounding); its gradient
    (G - A) F by (dG + dA) ||F|| + ||G - A|| dF. The relative terms also divide by
    ||P||^2 or ||A||^2, each off by twice its features' relative error.
    """
    u = unit_roundoff(dtype)
    v = np.asarray(v, float) / sum(v)
    w = np.asarray(w, float) / sum(w)
    loss_error, grad_errors = gamma(4, dtype) * abs(tv * tv_value), {}
    for l, vl in zip(content_layers, v):
        d = norm(F[l] - P[l])
        moved = r_x[l] * norm(F[l]) + r_p[l] * norm(P[l])             # ||dF|| + ||dP||
        value = d * d if normalization == "relative" else 0.5 * d * d
        rel = (2 * moved / d + 2 * r_p[l] if normalization == "relative" else 2 * moved / d)
        loss_error += alpha * vl * value * (rel + gamma(F[l].size + 3, dtype))
        grad_errors[l] = moved / d + (2 * r_p[l] if normalization == "relative" else 0) + 3 * u
    for l, wl in zip(style_layers, w):
        Fm, Sm = F[l].reshape(F[l].shape[1], -1), S[l].reshape(S[l].shape[1], -1)
        N, M = Fm.shape
        G, A = Fm @ Fm.T, (Sm @ Sm.T) * M / Sm.shape[1]
        dG = 2 * norm(Fm) ** 2 * r_x[l] + gamma(M + 1, dtype) * norm(np.abs(Fm) @ np.abs(Fm).T)
        dA = (2 * norm(Sm) ** 2 * r_s[l] + gamma(Sm.shape[1] + 1, dtype) * norm(Sm) ** 2) * M / Sm.shape[1]
        d = norm(G - A)
        scale = 1 / norm(A) ** 2 if normalization == "relative" else 1 / (4.0 * N * N * M * M)
        value = scale * d * d
        rel = 2 * (dG + dA) / d + gamma(N * N + 2, dtype) + (4 * r_s[l] if normalization == "relative" else 0)
        loss_error += beta * wl * value * rel
        grad = norm((G - A) @ Fm)
        grad_errors[l] = ((dG + dA) * norm(Fm) + d * r_x[l] * norm(Fm)
                          + gamma(N + 4, dtype) * norm(np.abs(G - A) @ np.abs(Fm))) / grad \
            + (4 * r_s[l] if normalization == "relative" else 0)
    return loss_error, grad_errors


# ----------------------------------------------------------------------------- iterations

def trajectory_limits(run, x0, per_step, perturbation=1e-9, seed=0):
    """How far two runs of one iteration may drift apart when they differ only in rounding.

    Each step injects at most `per_step` relative rounding into x (model 1 for the
    step's arithmetic: a few dozen sums and products per entry); the iteration then
    amplifies what was injected. How much is measured, not assumed: the same run from a
    start moved by `perturbation` (relative, in a random direction; in float64 large
    against rounding, small enough to stay linear) drifts by growth_k times that at step
    k. Rounding injected at every step j <= k then reaches step k amplified by at most
    max growth, so
        |x_k - x'_k| <= k per_step growth_k max|x|.
    `run(x0)` returns the iterates after each step (NumPy arrays). Returns the limits.
    """
    xs = run(x0)
    delta = np.random.default_rng(seed).standard_normal(np.shape(x0))
    moved = np.asarray(x0, np.float64) + perturbation * np.abs(x0).max() * delta / np.abs(delta).max()
    ys = run(moved)
    size = perturbation * np.abs(x0).max()
    growth = np.maximum.accumulate([max(np.abs(a - b).max() / size, 1.0) for a, b in zip(xs, ys)])
    scale = max(np.abs(np.asarray(x, np.float64)).max() for x in [x0] + list(xs))
    return [(k + 1) * per_step * g * scale for k, g in enumerate(growth)]
