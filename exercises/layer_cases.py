"""The cases of the layers' exercises (convolution, im2col, ReLU, pooling), simplest first,
and the slips each can show. exercises/cases.py explains how cases are built and lists them all.
"""
import numpy as np

from exercises import diagnose as dg
from exercises import reference as ref
from exercises.diagnose import IGNORED_UPSTREAM, OVERLAP
from exercises.harness import Case, away_from_zero, check_backward, rng_of


# ------------------------------------------------------------------ 1. convolution, naive

def conv_cases(mod):
    configs = [  # label, x shape, w shape, stride, pad, what the case adds
        ("1 image, 1 channel, 1 filter, 3x2 kernel, stride 3: windows that do not overlap",
         (1, 1, 6, 8), (1, 1, 3, 2), 3, 0, None),
        ("the same with stride 1: windows that overlap", (1, 1, 5, 6), (1, 1, 3, 2), 1, 0, OVERLAP),
        ("2 images, 3 channels, 4 filters", (2, 3, 5, 6), (4, 3, 3, 2), 1, 0,
         "the single-channel cases passed: look at the sums over images n and filters k. "
         "dx[n, c] hears from every filter k (through w[k, c]); dw[k] and db[k] sum over every "
         "image n and every output pixel (i, j)."),
        ("padding 1 and stride 2", (2, 3, 7, 6), (4, 3, 3, 3), 2, 1,
         "the cases without padding passed: window (i, j) starts at (i*stride, j*stride) of the "
         "PADDED input; accumulate into a padded gradient and cut `pad` rows and columns off "
         "every side at the end."),
    ]
    return {"conv_backward": [Case(label, _conv_run(mod.conv_forward, lambda *a: mod.conv_backward(*a),
                                                    ref.conv_forward, ref.conv_backward,
                                                    xs, ws, s, p, seed), new)
                              for seed, (label, xs, ws, s, p, new) in enumerate(configs)]}


def _conv_run(forward, backward, ref_forward, ref_backward, x_shape, w_shape, stride, pad, seed):
    def run():
        rng = rng_of(seed)
        x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
        N, C, H, W = x_shape
        padded = (N, C, H + 2 * pad, W + 2 * pad)

        def signs(d, want):
            dx, dw, db = want
            flipped = ref_backward(d, (x, w[..., ::-1, ::-1], b, stride, pad))[0]
            ones = ref_backward(np.ones_like(d), (x, w, b, stride, pad))
            slips = [dg.looks_like(ones[i], IGNORED_UPSTREAM) for i in range(3)]
            return {"dx": [dg.looks_like(flipped, "dx was built with the kernel rotated by 180 "
                           "degrees. The forward is a cross-correlation: out[i, j] uses "
                           "w[u, v] * xpad[i*stride + u, j*stride + v], and that same w[u, v] "
                           "sends the gradient back to that same pixel."), slips[0]],
                    "dw": [dg.looks_like(dw[..., ::-1, ::-1], "dw is rotated by 180 degrees: "
                           "dw[k, c, u, v] pairs dout[n, k, i, j] with xpad[n, c, i*stride + u, "
                           "j*stride + v], no flip (the forward is a cross-correlation)."),
                           dg.looks_like(dw.reshape(len(dw), -1).T.reshape(dw.shape), "dw holds the "
                           "right product transposed before the reshape: a (C*KH*KW, K) matrix "
                           "poured into a (K, C, KH, KW) array. Reshape the product whose shape "
                           "is (K, C*KH*KW)."), slips[1]],
                    "db": [slips[2]]}
        shape_signs = {padded: "dx still has the padding: it has the padded input's shape. Cut "
                               "`pad` rows and columns off every side."} if pad else {}
        check_backward(lambda x, w, b: forward(x, w, b, stride, pad), backward,
                       lambda x, w, b: ref_forward(x, w, b, stride, pad), ref_backward,
                       [x, w, b], ["dx", "dw", "db"], seed=seed, signs=signs,
                       shape_signs=shape_signs)
    return run


# ------------------------------------------------------------------ 2. im2col / col2im

def im2col_cases(mod):
    col2im_configs = [  # label, xpad shape, KH, KW, stride, what the case adds
        ("1 image, 1 channel, 3x3 windows with stride 3: no overlap", (1, 1, 6, 6), 3, 3, 3, None),
        ("3x3 windows with stride 1: they overlap", (1, 1, 5, 5), 3, 3, 1, OVERLAP),
        ("2 images, 3 channels, 3x2 windows", (2, 3, 5, 6), 3, 2, 1,
         "the one-image, one-channel cases passed: for each kernel offset, cols holds a "
         "(C, N, OH, OW) block while the image is (N, C, Hp, Wp). Mind the order of the axes."),
        ("stride 2 at padded size 8 with a 3x3 kernel: the last window stops short of the border",
         (2, 3, 8, 8), 3, 3, 2,
         "with padded size 8, kernel 3 and stride 2 there are 3 windows a side, starting at rows "
         "0, 2, 4: row 7 belongs to none. A strided view for one kernel offset must hold exactly "
         "OH x OW positions."),
    ]
    conv_configs = [
        ("1 image, 1 channel, 1 filter, 3x2 kernel, stride 1", (1, 1, 5, 6), (1, 1, 3, 2), 1, 0, None),
        ("2 images, 3 channels, 4 filters, padding 1, stride 2", (2, 3, 7, 6), (4, 3, 3, 3), 2, 1,
         "the one-filter case passed: dout is (N, K, OH, OW) and the matrix dY must be "
         "(K, N*OH*OW), filters first; dw is (K, C*KH*KW) before its reshape; dx is the padded "
         "gradient with the border cut off."),
    ]
    return {
        "col2im": [Case(label, _col2im_run(mod, shape, KH, KW, s, seed), new)
                   for seed, (label, shape, KH, KW, s, new) in enumerate(col2im_configs)],
        "conv_backward_im2col": [
            Case(label, _conv_im2col_run(mod, xs, ws, s, p, seed), new)
            for seed, (label, xs, ws, s, p, new) in enumerate(conv_configs)],
    }


def _col2im_run(mod, shape, KH, KW, stride, seed):
    OH, OW = (shape[2] - KH) // stride + 1, (shape[3] - KW) // stride + 1

    def run():
        xpad = rng_of(seed).standard_normal(shape)
        check_backward(lambda xp: (mod.im2col(xp, KH, KW, stride, OH, OW), None),
                       lambda d, _: mod.col2im(d, shape, KH, KW, stride, OH, OW),
                       lambda xp: (ref.im2col(xp, KH, KW, stride, OH, OW), None),
                       lambda d, _: ref.col2im(d, shape, KH, KW, stride, OH, OW),
                       [xpad], ["col2im(cols)"], seed=seed)
    return run


def _conv_im2col_run(mod, x_shape, w_shape, stride, pad, seed):
    return _conv_run(mod.conv_forward_im2col, lambda *a: mod.conv_backward_im2col(*a),
                     ref.conv_forward_im2col, ref.conv_backward_im2col,
                     x_shape, w_shape, stride, pad, seed)


# ------------------------------------------------------------------ 3. ReLU

def relu_cases(mod):
    def run(x, fd):
        def signs(d, want):
            return {"dx": [
                dg.only_where(x == 0, want[0], "wrong only where x == 0, at the kink: there the "
                              "derivative is taken as 0 (PyTorch's choice), so the mask is x > 0, "
                              "strictly."),
                dg.looks_like(d * (d > 0), "the mask was taken on the wrong side: from dout, the "
                              "gradient coming back, instead of from x, what the forward saw. The "
                              "ReLU passes gradient where its INPUT was positive, whatever its sign."),
                dg.looks_like(d * (x <= 0), "the mask is inverted: the gradient must pass where "
                              "x > 0 and stop where x <= 0."),
                dg.looks_like(d * (x < 0), "the mask is inverted: the gradient must pass where "
                              "x > 0 and stop where x <= 0."),
                dg.looks_like(d * np.maximum(x, 0), "dout was multiplied by the forward's output "
                              "max(x, 0); the derivative of max(x, 0) is the 0/1 mask 1[x > 0]."),
                dg.looks_like(d * x, "dout was multiplied by x; the derivative of max(x, 0) is "
                              "the 0/1 mask 1[x > 0]."),
                dg.looks_like(1.0 * (x > 0), IGNORED_UPSTREAM)]}
        check_backward(mod.relu_forward, lambda *a: mod.relu_backward(*a), ref.relu_forward,
                       ref.relu_backward, [x], ["dx"], signs=signs, fd=fd)

    x1 = away_from_zero(rng_of(0), (2, 3, 4, 5))
    x2 = away_from_zero(rng_of(1), (2, 3, 4, 5))
    x2[rng_of(2).random(x2.shape) < 0.3] = 0.0                        # exact zeros: the kink
    return {"relu_backward": [
        Case("x of shape (2, 3, 4, 5), no entry near 0", lambda: run(x1, True)),
        Case("x with exact zeros (the kink of max(x, 0)); no finite differences there",
             lambda: run(x2, False),
             "the case without zeros passed: at x == 0 take the derivative as 0 (as PyTorch).")]}


# ------------------------------------------------------------------ 4-5. pooling

def _windows_with_ties(x, k):
    """For k x k windows with stride k: True on every pixel of a window whose maximum is tied."""
    N, C, H, W = x.shape
    OH, OW = H // k, W // k
    blocks = x[:, :, :OH * k, :OW * k].reshape(N, C, OH, k, OW, k)
    tied = (blocks == blocks.max(axis=(3, 5), keepdims=True)).sum(axis=(3, 5)) > 1   # (N, C, OH, OW)
    zone = np.zeros(x.shape, bool)
    zone[:, :, :OH * k, :OW * k] = np.repeat(np.repeat(tied, k, axis=2), k, axis=3)
    return zone


def maxpool_cases(mod):
    def run(x, k, s, fd, seed):
        def signs(d, want):
            spread = ref.avgpool_backward(d, (x.shape, k, s)) * (k * k)
            found = [dg.looks_like(spread, "dout went to every pixel of the window; only the "
                                   "window's maximum moves the output, so only it receives dout.")]
            if s == k:
                found.append(dg.only_where(_windows_with_ties(x, k), want[0], "wrong only in "
                             "windows whose maximum is tied: send the gradient to ONE position, "
                             "the first maximum in row-major order (what np.argmax returns)."))
                found.append((lambda got: dg.close(ref.avgpool_forward(got, k, s)[0] * k * k, d),
                              "each window sends back the right total, but to the wrong pixel: "
                              "it must go to the window's maximum. If you used np.argmax on the "
                              "window, its flat index is row-major: (index // k, index % k)."))
            found.append(dg.looks_like(ref.maxpool_backward(np.ones_like(d), (x, k, s)),
                                       IGNORED_UPSTREAM))
            return {"dx": found}
        check_backward(lambda x: mod.maxpool_forward(x, k, s), lambda *a: mod.maxpool_backward(*a),
                       lambda x: ref.maxpool_forward(x, k, s), ref.maxpool_backward,
                       [x], ["dx"], seed=seed, signs=signs, fd=fd)

    x1 = away_from_zero(rng_of(0), (2, 3, 4, 6))
    x2 = away_from_zero(rng_of(1), (1, 2, 7, 7))
    x2[:, :, 2, 2], x2[:, :, 4, 4] = 5.0, 4.0          # the maximum of four windows, and of three
    x3 = rng_of(2).integers(0, 3, (2, 3, 4, 6)).astype(np.float64)    # values 0, 1, 2: many ties
    return {"maxpool_backward": [
        Case("k = 2, stride 2: windows that do not overlap", lambda: run(x1, 2, 2, True, 0)),
        Case("k = 3, stride 2: windows that overlap, one pixel the maximum of four windows",
             lambda: run(x2, 3, 2, True, 1),
             "right where windows do not overlap, wrong where they do: a pixel that is the "
             "maximum of several windows receives the SUM of their dout (`+=`, not `=`)."),
        Case("ties: values 0, 1 and 2 only, so many windows have several maxima; no finite "
             "differences (the derivative does not exist at a tie)", lambda: run(x3, 2, 2, False, 2),
             "wrong only in windows with a tied maximum: the gradient goes to ONE position, the "
             "first maximum in row-major order, as PyTorch does.")]}


def avgpool_cases(mod):
    def run(x, k, s, seed):
        def signs(d, want):
            return {"dx": [
                dg.factor(k * k, want[0], f"dx is k*k = {k * k} times too large: the average "
                          f"divides by k*k, and so does its backward (each pixel gets dout / k^2)."),
                dg.factor(k, want[0], f"dx is k = {k} times too large: divided by k, not by "
                          f"k*k = {k * k}. A window holds k*k pixels, and its average gives each "
                          f"of them 1/k^2 of dout."),
                dg.factor(1.0 / (k * k), want[0], f"dx is k*k = {k * k} times too small: the "
                          "1/k^2 was applied twice."),
                dg.looks_like(ref.avgpool_backward(np.ones_like(d), (x.shape, k, s)), IGNORED_UPSTREAM)]}
        check_backward(lambda x: mod.avgpool_forward(x, k, s), lambda *a: mod.avgpool_backward(*a),
                       lambda x: ref.avgpool_forward(x, k, s), ref.avgpool_backward,
                       [x], ["dx"], seed=seed, signs=signs)

    x1, x2 = rng_of(0).standard_normal((2, 3, 4, 6)), rng_of(1).standard_normal((1, 2, 7, 7))
    return {"avgpool_backward": [
        Case("k = 2, stride 2: windows that do not overlap", lambda: run(x1, 2, 2, 0)),
        Case("k = 3, stride 2: windows that overlap", lambda: run(x2, 3, 2, 1), OVERLAP)]}
