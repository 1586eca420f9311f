"""The direction of an L-BFGS step, d = -H g, where H estimates the inverse Hessian.

H is built from the last m pairs (s_i, y_i): s_i = x_{i+1} - x_i a step taken,
y_i = g_{i+1} - g_i the change in gradient along it, rho_i = 1 / (y_i . s_i).
Two ways to the same d (Nocedal & Wright, "Numerical Optimization", 2nd ed.):

    lbfgs_direction_dense   the naive reference: form H by the BFGS update (eq. 6.17),
                            an n x n matrix, for checking on small problems only
    lbfgs_direction         the two-loop recursion (Algorithm 7.4): O(m n), no matrix

Both start from H_0 = gamma I, or from H_0 = gamma M where a preconditioner M is given:
a function that applies a fixed symmetric positive definite matrix to an array (vgg/
orientation.py's damps the frequencies VGG's first layer favours). The recursion is the
same; only the line that applies H_0 changes (Nocedal & Wright, section 7.2: any symmetric
positive definite H_0 keeps every H symmetric positive definite).

minigrad/optim.py (class LBFGS) decides which pairs to keep and how far to go along d.
"""
from .backend import get_array_module


def _dot_here(a, b):
    """<a, b> as a 0-d array where the data is: on CuPy, no copy to the host, so the
    GPU need not stop and wait (the two-loop recursion takes 2 * history of these)."""
    xp = get_array_module(a)
    return xp.vdot(a.ravel(), b.ravel())


def lbfgs_direction_dense(g, pairs, gamma, precondition=None):
    """Naive reference: build the n x n inverse Hessian H, return d = -H g.

    Starts from H_0 = gamma I (gamma M with a preconditioner M) and applies the BFGS
    update (Nocedal & Wright eq. 6.17) once per stored pair (s, y, rho), oldest first:
        H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T
    O(n^2) memory: for checking the two-loop recursion on small problems only.
    """
    xp = get_array_module(g)
    n = g.size
    I = xp.eye(n, dtype=g.dtype)                          # (n, n)
    H = gamma * I                                         # (n, n)
    if precondition is not None:                          # H_0 = gamma M, column by column
        H = gamma * xp.stack([precondition(e.reshape(g.shape)).reshape(n) for e in I], axis=1)
    for s, y, rho in pairs:
        s, y = s.reshape(n, 1), y.reshape(n, 1)           # (n, 1) columns
        V = I - rho * (y @ s.T)                           # V = I - rho y s^T, (n, n)
        H = V.T @ H @ V + rho * (s @ s.T)                 # eq. 6.17
    return -(H @ g.reshape(n)).reshape(g.shape)           # (n,) -> shape of g


def lbfgs_direction(g, pairs, gamma, precondition=None):
    """d = -H g by the two-loop recursion (Nocedal & Wright, Algorithm 7.4).

    The same H as lbfgs_direction_dense, applied to g without ever forming it:
    O(m n) work and memory for m pairs, arrays of any shape. pairs holds
    (s_i, y_i, rho_i), oldest first; H_0 = gamma I, or gamma M with precondition(q) = M q.
    """
    # First loop, newest pair to oldest: peel the pairs off the gradient.
    #   alpha_i = rho_i s_i.q,   q <- q - alpha_i y_i
    # Afterwards q = V_{k-m}^T ... V_{k-1}^T g, with V_i = I - rho_i y_i s_i^T.
    q = g.copy()
    alphas = []
    for s, y, rho in reversed(pairs):
        alpha = rho * _dot_here(s, q)
        q -= alpha * y
        alphas.append(alpha)
    # Apply the initial inverse Hessian H_0 = gamma I (eq. 7.20), or gamma M:
    #   r = gamma q   (r = gamma M q)
    r = gamma * (q if precondition is None else precondition(q))
    # Second loop, oldest pair to newest: put the curvature back.
    #   beta_i = rho_i y_i.r,   r <- r + (alpha_i - beta_i) s_i
    # Afterwards r = H g.
    for (s, y, rho), alpha in zip(pairs, reversed(alphas)):
        beta = rho * _dot_here(y, r)
        r += (alpha - beta) * s
    return -r                                   # d = -H g, a descent direction (H is SPD)
