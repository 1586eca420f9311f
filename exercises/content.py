"""Exercise 6: the content loss's backward (the paper's eqs. 1-2).

Read first: docs/backprop.md, section 4 "Content loss (eqs. 1-2)".
Check:      python exercises/check.py content

The forward is given. Write `content_loss_backward`.

Layer l has N_l = C feature maps of M_l = H * W pixels. F holds the current image's
activations at that layer (the output of a ReLU), P the photo's:
    F, P (1, C, H, W)  ->  L = 1/2 sum (F - P)^2, a scalar
The upstream gradient dL is a scalar too: in the real objective it is the weight alpha
(eq. 7), so the gradient you return is dL * dL_content/dF.

Hints
  * Differentiate 1/2 (F_ij - P_ij)^2 with respect to F_ij; every other term does not
    contain F_ij.
  * Eq. 2 adds "and 0 where F_ij < 0". Read docs/backprop.md section 4 before you decide
    whose job that is.
"""


def content_loss_forward(F, P):
    """F, P (1, C, H, W) -> L (a float), cache (F, P). (Given.)"""
    diff = F - P
    return 0.5 * float((diff * diff).sum()), (F, P)


def content_loss_backward(dL, cache):
    """dL (a scalar), cache (F, P) -> dF (1, C, H, W)."""
    F, P = cache
    # YOUR CODE HERE
    raise NotImplementedError("content_loss_backward: write the content loss's backward")
