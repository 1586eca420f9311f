"""The losses of Gatys, Ecker and Bethge (CVPR 2016), each with its gradient.

Every loss returns `(value, gradient with respect to its first argument)`: a
loss is an operation like any layer, and tests gradient-check it like one.
Equation numbers are the paper's. Feature maps are NCHW with N = 1: layer l has
N_l = C feature maps of M_l = H * W pixels, and F^l is their (N_l, M_l) view.

    content_loss  eqs. 1-2   L = 1/2 sum (F - P)^2,                 dL/dF = F - P
    gram_matrix   eq. 3      G = F F^T                               (N_l x N_l)
    style_loss    eqs. 4-6   E = 1/(4 N_l^2 M_l^2) sum (G - A)^2,   dE/dF = (G - A) F / (N_l^2 M_l^2)
    tv_loss                  sum of squared differences of neighbouring pixels, diagonals too

The scale-free forms divide each term by the size of its own target, so that
one setting of the weights means the same for any painting and image size
(docs/backprop.md, "Scale-free terms"); the paper's equations above are unchanged:

    relative_content_loss    C = ||F - P||^2 / ||P||^2,   dC/dF = 2 (F - P) / ||P||^2
    relative_style_loss      S = ||G - A||^2 / ||A||^2,   dS/dF = 4 (G - A) F / ||A||^2

Values are Python floats; gradients are arrays of F's shape, dtype and device.
"""
from .backend import get_array_module


def _as_matrix(F):
    """(1, C, H, W) feature maps -> the paper's F^l, (N_l, M_l) = (C, H*W), a view."""
    if F.ndim != 4 or F.shape[0] != 1:
        raise ValueError(f"feature maps must be (1, C, H, W), got shape {F.shape}")
    return F.reshape(F.shape[1], F.shape[2] * F.shape[3])             # (N_l, M_l)


def content_loss(F, P):
    """Eq. 1: L_content = 1/2 sum_ij (F_ij - P_ij)^2, with P the content image's features.

    Eq. 2's gradient is (F - P)_ij where F_ij > 0 and 0 elsewhere. The mask is
    not applied here: F is the output of a ReLU, so the ReLU's backward applies
    it (dx = dout * 1[x > 0], and x > 0 exactly where F > 0). This function
    returns the unmasked F - P.
    """
    diff = F - P
    return 0.5 * float((diff * diff).sum()), diff                      # dL/dF = F - P


def gram_matrix(F):
    """Eq. 3: G^l_ij = sum_k F^l_ik F^l_jk, i.e. G = F F^T, shape (N_l, N_l)."""
    Fm = _as_matrix(F)                                                # (N_l, M_l)
    return Fm @ Fm.T                                                  # (N_l, N_l)


def gram_backward(dG, F):
    """Backward of G = F F^T: dF = (dG + dG^T) F, returned in F's (1, C, H, W) shape."""
    Fm = _as_matrix(F)                                                # (N_l, M_l)
    return ((dG + dG.T) @ Fm).reshape(F.shape)                        # (1, C, H, W)


def style_loss(F, A):
    """Eq. 4: E_l = 1/(4 N_l^2 M_l^2) sum_ij (G_ij - A_ij)^2, A the style image's Gram matrix.

    Gradient (eq. 6): dE/dG = (G - A) / (2 N_l^2 M_l^2), and through G = F F^T
    (gram_backward, with dG symmetric) dE/dF = (G - A) F / (N_l^2 M_l^2).
    As for the content loss, eq. 6's "where F > 0" is the ReLU's job.
    The weighting w_l of eq. 5 is applied by the caller.
    """
    _, N, H, W = F.shape
    M = H * W
    scale = 1.0 / (4.0 * N * N * M * M)                               # the 1/(4 N^2 M^2) of eq. 4
    diff = gram_matrix(F) - A                                         # (N_l, N_l)
    value = scale * float((diff * diff).sum())
    dG = (2.0 * scale) * diff                                         # dE/dG = 2 scale (G - A)
    return value, gram_backward(dG, F).astype(F.dtype, copy=False)


def relative_content_loss(F, P):
    """The content loss relative to the target's size: C = ||F - P||^2 / ||P||^2.

    Eq. 1 times 2 / ||P||^2, a constant: C = 0 is the photo's features, C = 1 is
    as far from them as an all-zero map. Gradient 2 (F - P) / ||P||^2, masked by
    the ReLU's backward as in eq. 2.
    """
    diff = F - P
    norm = float((P * P).sum())                                       # ||P||^2
    if norm == 0:
        raise ValueError("the content target is all zeros: a relative loss has no scale")
    return float((diff * diff).sum()) / norm, (2.0 / norm) * diff     # dC/dF = 2 (F - P) / ||P||^2


def relative_style_loss(F, A):
    """The style loss relative to the target's size: S = ||G - A||^2 / ||A||^2, G = F F^T.

    Eq. 4 times 4 N_l^2 M_l^2 / ||A||^2, a constant, so the gradient is eq. 6's
    times the same: dS/dG = 2 (G - A) / ||A||^2, and through G = F F^T
    (gram_backward, dG symmetric) dS/dF = 4 (G - A) F / ||A||^2. S = 0 is the
    painting's statistics, S = 1 as far from them as a blank map; the M_l and
    N_l that make eq. 4's size vary by orders of magnitude between paintings
    and layers cancel.
    """
    norm = float((A * A).sum())                                       # ||A||^2
    if norm == 0:
        raise ValueError("the style target is all zeros: a relative loss has no scale")
    diff = gram_matrix(F) - A                                         # (N_l, N_l)
    dG = (2.0 / norm) * diff                                          # dS/dG = 2 (G - A) / ||A||^2
    return float((diff * diff).sum()) / norm, gram_backward(dG, F).astype(F.dtype, copy=False)


# Each pixel's four forward neighbours and the weight of its squared difference to each. The
# diagonal ones are sqrt(2) apart, so their squared difference counts 1/2 (a difference over
# a distance, squared). With them the penalty is within 6% the same in every direction, down to
# the finest stripes; with the vertical and horizontal neighbours alone it is up to 1.5x weaker
# for stripes along the rows and columns than for diagonal ones, and what that smoothing leaves
# is a fine mesh of horizontal and vertical lines (issue 25, docs/look.md, "The mesh").
NEIGHBOURS = (((1, 0), 1.0), ((0, 1), 1.0), ((1, 1), 0.5), ((1, -1), 0.5))


def pair_views(x, di, dj):
    """(index of x_a, index of x_b) for every pixel pair with x_a at (i + di, j + dj) of x_b at (i, j)."""
    H, W = x.shape[2], x.shape[3]
    a = (slice(None), slice(None), slice(di, H), slice(max(dj, 0), W + min(dj, 0)))
    b = (slice(None), slice(None), slice(0, H - di), slice(max(-dj, 0), W + min(-dj, 0)))
    return a, b


def tv_loss(x):
    """Total variation: the sum of squared differences between neighbouring pixels.

    L = sum over the NEIGHBOURS (di, dj) with weight w of  w * sum (x[i+di, j+dj] - x[i, j])^2,
    over all channels. Each difference d = x_a - x_b sends +2wd to x_a and -2wd to x_b.
    """
    xp = get_array_module(x)
    value, grad = 0.0, xp.zeros_like(x)
    for (di, dj), w in NEIGHBOURS:
        a, b = pair_views(x, di, dj)
        d = x[a] - x[b]                                               # (N, C, H - di, W - |dj|)
        value += w * float((d * d).sum())
        grad[a] += (2 * w) * d                                        # d/dx_a of w d^2 = 2wd
        grad[b] -= (2 * w) * d                                        # d/dx_b of w d^2 = -2wd
    return value, grad
