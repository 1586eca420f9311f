"""Exercise 7: the Gram matrix and the style loss, backward (the paper's eqs. 3-6).

Read first: docs/backprop.md, section 5 "Gram matrix and style loss (eqs. 3-6)".
Check:      python exercises/check.py style

The forwards are given. Write `gram_backward`, then `style_loss_backward` (it may call
your gram_backward).

Layer l has N_l = C feature maps of M_l = H * W pixels; Fm is F seen as the paper's
(N_l, M_l) matrix, a view: Fm = F.reshape(C, H * W).
    gram:        F (1, C, H, W)  ->  G = Fm Fm^T                               (C, C)
    style loss:  F (1, C, H, W), A (C, C)  ->  E = 1/(4 N^2 M^2) sum (G - A)^2,  a scalar
The upstream gradient of the Gram matrix, dG, is any (C, C) array: NOT symmetric in
general. The style loss's upstream dE is a scalar (in the real objective, beta w_l).

Hints
  * Gram: write down the first-order change, dG = dF Fm^T + Fm dF^T, and move everything
    that is not dF to the other side of the inner product <dG_upstream, dG>.
  * Style loss: first dE/dG (a (C, C) array, the same shape as G), then through the Gram.
    Mind the constants: where does each factor of 2 come from, and where does it go?
  * Return dF in F's shape (1, C, H, W).
"""


def gram_forward(F):
    """F (1, C, H, W) -> G (C, C), cache F. (Given.)"""
    Fm = F.reshape(F.shape[1], -1)                                    # (N_l, M_l)
    return Fm @ Fm.T, F


def gram_backward(dG, cache):
    """dG (C, C), any upstream gradient; cache F -> dF (1, C, H, W)."""
    F = cache
    # YOUR CODE HERE
    raise NotImplementedError("gram_backward: write the Gram matrix's backward")


def style_loss_forward(F, A):
    """F (1, C, H, W), A (C, C) the style image's Gram matrix -> E (a float), cache (F, A). (Given.)"""
    _, N, H, W = F.shape
    M = H * W
    G, _ = gram_forward(F)                                            # (N_l, N_l)
    return float(((G - A) ** 2).sum()) / (4.0 * N * N * M * M), (F, A)


def style_loss_backward(dE, cache):
    """dE (a scalar), cache (F, A) -> dF (1, C, H, W)."""
    F, A = cache
    # YOUR CODE HERE
    raise NotImplementedError("style_loss_backward: write the style loss's backward")
