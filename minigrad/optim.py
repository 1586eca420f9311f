"""Hand-written optimisers for the style-transfer image: L-BFGS and Adam.

Both work on one backend array `x` of any shape -- in stylize it is the image,
(1, 3, H, W), float32 -- and never leave the array module that holds it, so the
same code runs on NumPy and on CuPy (`xp = get_array_module(x)`, `xp.` everywhere).
They keep the dtype of x0: no float64 on the real path. Inner products are taken
with `xp.vdot` and brought back as Python floats.

The user supplies `f(x) -> (loss, grad)`: loss a Python float (or a 0-d array),
grad an array of the same shape and dtype as x. One step is

    loss = opt.step(f)

and does exactly three things, in this order:
    1. evaluates f ONCE, at the current iterate opt.x  -> loss, grad
       (recorded as opt.loss and opt.grad; opt.n_evals goes up by one);
    2. computes a direction and a step length from that gradient (and the history);
    3. moves: opt.x becomes a NEW array x + step.
It returns the loss from 1. So after a step the returned loss belongs to the
PREVIOUS iterate, not to opt.x: the loss at the final opt.x is never computed
unless f is called once more. This is how torch.optim.LBFGS and torch.optim.Adam
behave too (`closure()` is evaluated before the parameters move). The caller's x0
is never modified, and an earlier opt.x is never overwritten.

    opt = LBFGS(x0, lr=1.0, history=100)     # or Adam(x0, lr=...)
    for it in range(iters):
        loss = opt.step(f)                   # f at the old opt.x, then opt.x moves
    x = opt.x

References:
    L-BFGS: Nocedal & Wright, Numerical Optimization (2nd ed.), Algorithm 7.4
            (two-loop recursion) and eq. 7.20 (initial Hessian scaling); the step
            rule of torch.optim.LBFGS with line_search_fn=None.
    Adam:   Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015,
            Algorithm 1; the update of torch.optim.Adam.
"""
from collections import deque

from .backend import get_array_module

# L-BFGS keeps a pair (s, y) only if y.s > CURVATURE_EPS, torch's absolute threshold.
CURVATURE_EPS = 1e-10


def _dot(a, b):
    """<a, b> over all entries, as a Python float (a and b real, same shape)."""
    xp = get_array_module(a)
    return float(xp.vdot(a.ravel(), b.ravel()))


def _dot_here(a, b):
    """<a, b> as a 0-d array where the data is: on CuPy, no copy to the host, so the
    GPU need not stop and wait (the two-loop recursion takes 2 * history of these)."""
    xp = get_array_module(a)
    return xp.vdot(a.ravel(), b.ravel())


def _evaluate(f, x):
    """Call f(x) once; check that the gradient matches x; return (float loss, grad)."""
    loss, grad = f(x)
    if grad.shape != x.shape:
        raise ValueError(f"f returned a gradient of shape {grad.shape} for x of shape {x.shape}")
    if grad.dtype != x.dtype:
        # A float64 gradient for a float32 image would silently turn x into float64.
        raise TypeError(f"f returned a {grad.dtype} gradient for a {x.dtype} x; "
                        f"return the gradient in the dtype of x")
    return float(loss), grad


# --------------------------------------------------------------------------
# L-BFGS: the direction d = -H g, by definition (dense) and by the two-loop recursion
# --------------------------------------------------------------------------

def lbfgs_direction_dense(g, pairs, gamma):
    """Naive reference: build the n x n inverse Hessian H, return d = -H g.

    Starts from H_0 = gamma I and applies the BFGS update (Nocedal & Wright eq. 6.17)
    once per stored pair (s, y, rho), oldest first:
        H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T
    O(n^2) memory: for checking the two-loop recursion on small problems only.
    """
    xp = get_array_module(g)
    n = g.size
    I = xp.eye(n, dtype=g.dtype)                          # (n, n)
    H = gamma * I                                         # (n, n)
    for s, y, rho in pairs:
        s, y = s.reshape(n, 1), y.reshape(n, 1)           # (n, 1) columns
        V = I - rho * (y @ s.T)                           # V = I - rho y s^T, (n, n)
        H = V.T @ H @ V + rho * (s @ s.T)                 # eq. 6.17
    return -(H @ g.reshape(n)).reshape(g.shape)           # (n,) -> shape of g


def lbfgs_direction(g, pairs, gamma):
    """d = -H g by the two-loop recursion (Nocedal & Wright, Algorithm 7.4).

    The same H as lbfgs_direction_dense, applied to g without ever forming it:
    O(m n) work and memory for m pairs, arrays of any shape. pairs holds
    (s_i, y_i, rho_i), oldest first; H_0 = gamma I.
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
    # Apply the initial inverse Hessian H_0 = gamma I (eq. 7.20):
    #   r = gamma q
    r = gamma * q
    # Second loop, oldest pair to newest: put the curvature back.
    #   beta_i = rho_i y_i.r,   r <- r + (alpha_i - beta_i) s_i
    # Afterwards r = H g.
    for (s, y, rho), alpha in zip(pairs, reversed(alphas)):
        beta = rho * _dot_here(y, r)
        r += (alpha - beta) * s
    return -r                                   # d = -H g, a descent direction (H is SPD)


# --------------------------------------------------------------------------
# L-BFGS: the optimiser
# --------------------------------------------------------------------------

class LBFGS:
    """Limited-memory BFGS without line search (fixed step), like torch's default.

    Notation (Nocedal & Wright, ch. 7): x_k the iterate, g_k = grad f(x_k),
    s_k = x_{k+1} - x_k the step taken, y_k = g_{k+1} - g_k the change in gradient,
    rho_k = 1 / (y_k . s_k). H_k approximates the inverse Hessian; L-BFGS never
    forms it, it only applies it to g_k from the last `history` pairs (s, y).

    One step(f) at x_k:
        g_k = grad f(x_k)                                  (the one call of f)
        if k > 0: add the pair (s_{k-1}, y_{k-1} = g_k - g_{k-1}) unless
                  y.s <= CURVATURE_EPS = 1e-10 (curvature condition: a pair with
                  y.s <= 0 would make H indefinite, a tiny positive one would make
                  rho = 1/y.s blow up); the oldest pair falls out once there are
                  `history` of them. gamma = s.y / y.y of the newest stored pair.
        d_k = -H_k g_k                       (two-loop recursion; d_0 = -g_0)
        t_k = lr * min(1, 1 / sum|g_0|)      on the first step,
        t_k = lr                             on every later step,
        x_{k+1} = x_k + t_k d_k,             s_k = t_k d_k.

    Step rule. There is no line search: the step length is fixed, exactly as in
    torch.optim.LBFGS(line_search_fn=None). The first direction is the raw
    gradient, whose scale is arbitrary, so the first step is shrunk until its
    l1 length is at most lr (if sum|g_0| = 0 the step is zero anyway and t_0 = lr,
    as in torch). Later directions carry the curvature information (H_0 = gamma I,
    eq. 7.20), so t = 1 is the quasi-Newton step and lr = 1 is the natural choice.
    Measured (tests/test_optim.py): lr = 1 solves a 20-D quadratic to 1e-8 in
    24-58 steps (condition number 10 to 1000) and Rosenbrock in 2-D and 10-D in
    35-130 steps from four starts. A smaller lr is slower and NOT safer: with
    lr <= 0.5 from (-1.2, 1, -1.2, 1, ...) the 10-D run ends in Rosenbrock's local
    minimum near (-1, 1, ..., 1), and with lr = 0.1 from the origin it diverges
    (torch does exactly the same): short steps through a region of negative
    curvature store no pairs, then one pair barely past y.s > 1e-10 makes H huge
    along s, and without a line search nothing stops the resulting giant step.

    Two consequences of copying torch's rule, documented rather than "fixed":
    - Without exact line searches there is no finite termination: a quadratic
      in n unknowns is not solved in n steps, only fast (superlinearly at first).
    - The threshold 1e-10 is absolute, not relative to the size of s and y. Once
      the steps are so short that y.s ~ |s|^2 * curvature < 1e-10, no more pairs
      are stored and convergence turns linear (H frozen). On a unit-scale
      quadratic this shows at a relative error of ~1e-5 (see the tests); y.s
      grows with the square of the scale of x, so at pixel scale (0..255) it
      shows only ~1e4 times later.

    The step never stops early on a tolerance: every call of step() moves x
    (by zero when the gradient is exactly zero). Called once per step, the
    iterates equal those of torch.optim.LBFGS(lr, history_size=history,
    max_iter=1, line_search_fn=None, tolerance_grad=-1, tolerance_change=-inf),
    to rounding: the tests check them step by step in float64. (With its default
    tolerances torch returns WITHOUT moving once max|g| <= 1e-7 or g.d > -1e-9.)

    Memory: 2 * history arrays the size of x (the pairs s, y) plus a few more.
    Cost per step: 2 * history + 2 inner products and 2 * history axpys. The
    two-loop recursion keeps its inner products on the device (_dot_here); only
    y.s and y.y come back as Python floats, for the curvature test and gamma.

    Attributes: x (current iterate), n_evals (calls of f so far),
    loss and grad (the last evaluation, at the iterate BEFORE the last move).
    """

    def __init__(self, x0, lr=1.0, history=100):
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if history < 1:
            raise ValueError(f"history must be at least 1, got {history}")
        self.lr = lr
        self.history = history
        self.x = x0.copy()                     # our own iterate; x0 is never touched
        self.n_evals = 0
        self.loss = None                       # f and grad f at the previous iterate
        self.grad = None
        self.pairs = deque(maxlen=history)     # (s_i, y_i, rho_i), oldest first
        self.gamma = 1.0                       # H_0 = gamma * I, from the newest pair
        self.last_step = None                  # s_{k-1} = t_{k-1} d_{k-1}

    def step(self, f):
        """Evaluate f at opt.x (once), move opt.x by one L-BFGS step, return that loss."""
        xp = get_array_module(self.x)
        loss, g = _evaluate(f, self.x)
        self.n_evals += 1

        if self.last_step is None:
            # First step: no curvature known yet, steepest descent, l1 length <= lr.
            d = -g
            g_l1 = float(xp.abs(g).sum())
            t = self.lr * min(1.0, 1.0 / g_l1) if g_l1 > 0 else self.lr
        else:
            # Update the memory with the pair from the previous step.
            s = self.last_step                  # s_{k-1} = x_k - x_{k-1}
            y = g - self.grad                   # y_{k-1} = g_k - g_{k-1}
            ys = _dot(y, s)
            if ys > CURVATURE_EPS:              # curvature condition y.s > 0 (else skip)
                self.pairs.append((s, y, 1.0 / ys))   # the oldest drops out when full
                self.gamma = ys / _dot(y, y)    # gamma_k = s.y / y.y   (eq. 7.20)
            d = lbfgs_direction(g, self.pairs, self.gamma)
            t = self.lr

        step = t * d                            # s_k = t_k d_k
        self.x = self.x + step                  # a new array: earlier iterates stay valid
        self.last_step = step
        self.loss, self.grad = loss, g
        return loss


# --------------------------------------------------------------------------
# Adam
# --------------------------------------------------------------------------

class Adam:
    """Adam (Kingma & Ba 2015, Algorithm 1), the same update as torch.optim.Adam.

    One step(f) at x_{t-1}, with t = 1, 2, ... counting steps:
        g   = grad f(x_{t-1})                          (the one call of f)
        m_t = beta1 m_{t-1} + (1 - beta1) g            first moment,  m_0 = 0
        v_t = beta2 v_{t-1} + (1 - beta2) g*g          second moment, v_0 = 0
        m_hat = m_t / (1 - beta1^t)                    bias corrections: m_0 = v_0 = 0
        v_hat = v_t / (1 - beta2^t)                    pulls the averages towards 0
        x_t = x_{t-1} - lr m_hat / (sqrt(v_hat) + eps)
    eps is added to sqrt(v_hat), after the bias correction, as in Algorithm 1 and
    torch (not to sqrt(v_t), as in the paper's "more efficient" variant of sec. 2).
    No weight decay, no AMSGrad.

    lr defaults to 1e-3 like torch, which suits parameters of size ~1. Every
    coordinate moves by about lr per step whatever the gradient's scale, so for
    an image in 0..255 pixel units a much larger lr (1 to 10) is needed;
    stylize passes its own.

    Attributes: x (current iterate), n_evals (calls of f so far), m and v (the
    moments), loss and grad (the last evaluation, at the iterate BEFORE the last move).
    """

    def __init__(self, x0, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        xp = get_array_module(x0)
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        self.lr = lr
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.x = x0.copy()                      # our own iterate; x0 is never touched
        self.m = xp.zeros_like(x0)              # first moment, same shape and dtype as x
        self.v = xp.zeros_like(x0)              # second moment
        self.n_evals = 0
        self.loss = None
        self.grad = None

    def step(self, f):
        """Evaluate f at opt.x (once), move opt.x by one Adam step, return that loss."""
        xp = get_array_module(self.x)
        loss, g = _evaluate(f, self.x)
        self.n_evals += 1
        t = self.n_evals                        # step number, 1-based

        self.m = self.beta1 * self.m + (1 - self.beta1) * g       # m_t
        self.v = self.beta2 * self.v + (1 - self.beta2) * g * g   # v_t
        m_hat = self.m / (1 - self.beta1 ** t)
        v_hat = self.v / (1 - self.beta2 ** t)
        self.x = self.x - self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)
        self.loss, self.grad = loss, g
        return loss
