"""Hand-written optimisers for the style-transfer image: L-BFGS and Adam.

Both work on one backend array `x` of any shape -- in stylize it is the image,
(1, 3, H, W), float32 -- and never leave the array module that holds it, so the
same code runs on NumPy and on CuPy (`xp = get_array_module(x)`, `xp.` everywhere).
They keep the dtype of x0: no float64 on the real path. Inner products are taken
with `xp.vdot` and brought back as Python floats.

The user supplies `f(x) -> (loss, grad)`: loss a Python float (or a 0-d array),
grad an array of the same shape and dtype as x. One step is

    loss = opt.step(f, max_evals=None)

It calls f (at most max_evals times), moves opt.x to a NEW array (the caller's x0
and earlier iterates are never modified), and returns opt.loss, the loss at
opt.loss_x. Which point that is depends on how the step is made:
  * Adam, and L-BFGS with line_search=None: f is called ONCE, at the current
    iterate, and then x moves. The returned loss belongs to the PREVIOUS iterate;
    the loss at the final opt.x is never computed unless f is called once more.
    torch.optim.LBFGS (without line search) and torch.optim.Adam behave the same
    (`closure()` is evaluated before the parameters move).
  * L-BFGS with its line search (the default): f is called at trial points along
    the direction until one is good enough; x moves THERE, so the returned loss
    belongs to the new opt.x. A step costs one call or more (the first one two or
    more); opt.n_evals counts the calls, opt.n_steps the steps.

    opt = LBFGS(x0, lr=1.0, history=100)     # or Adam(x0, lr=...)
    while opt.n_evals < budget:              # a budget of calls of f: what costs time
        loss = opt.step(f, max_evals=budget - opt.n_evals)
    x = opt.x

References:
    L-BFGS: Nocedal & Wright, Numerical Optimization (2nd ed.), Algorithm 7.4
            (two-loop recursion) and eq. 7.20 (initial Hessian scaling); the step
            rule of torch.optim.LBFGS.
    Line search: Nocedal & Wright, Algorithms 3.5 and 3.6 (strong Wolfe conditions,
            bracketing and zoom) and eq. 3.59 (cubic interpolation); the safeguards
            of torch.optim.lbfgs._strong_wolfe; the curvature test of scipy's
            L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995).
    Adam:   Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015,
            Algorithm 1; the update of torch.optim.Adam.
"""
import math
from collections import deque
from typing import NamedTuple

from .backend import get_array_module

# Without a line search, L-BFGS keeps a pair (s, y) only if y.s > CURVATURE_EPS, torch's
# absolute threshold (with one, a threshold relative to the slope: LBFGS._remember).
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
# Line search: a step length that satisfies the strong Wolfe conditions
# --------------------------------------------------------------------------

WOLFE_C1 = 1e-4        # sufficient decrease:  phi(t) <= phi(0) + c1 t phi'(0)
WOLFE_C2 = 0.9         # curvature:           |phi'(t)| <= c2 |phi'(0)|   (N&W p. 34: 0.9 for quasi-Newton)
LINE_SEARCH_EVALS = 25  # at most this many calls of f per line search (torch's max_ls)


class Trial(NamedTuple):
    """One point on the line x + t d: phi(t) = f(x + t d), its slope phi'(t) = grad f . d,
    and whatever the caller wants back if this trial wins (for L-BFGS: the point and its gradient)."""
    t: float
    f: float
    slope: float
    payload: object = None


def cubic_minimiser(a, b, low, high):
    """The minimiser of the cubic through two trials (values and slopes), clipped to [low, high].

    Nocedal & Wright eq. 3.59, with a = (t_{i-1}, phi, phi'), b = (t_i, phi, phi'):
        d1 = phi'_a + phi'_b - 3 (phi_a - phi_b) / (t_a - t_b)
        d2 = sign(t_b - t_a) sqrt(d1^2 - phi'_a phi'_b)
        t  = t_b - (t_b - t_a) (phi'_b + d2 - d1) / (phi'_b - phi'_a + 2 d2)
    Without a real minimiser (d1^2 < phi'_a phi'_b), or with an overflowed trial,
    the midpoint of [low, high].
    """
    d1 = a.slope + b.slope - 3 * (a.f - b.f) / (a.t - b.t)
    square = d1 * d1 - a.slope * b.slope
    if not (math.isfinite(square) and square >= 0):
        return (low + high) / 2
    d2 = math.copysign(math.sqrt(square), b.t - a.t)
    denominator = b.slope - a.slope + 2 * d2
    if denominator == 0:
        return (low + high) / 2
    t = b.t - (b.t - a.t) * (b.slope + d2 - d1) / denominator
    return min(max(t, low), high)


def strong_wolfe(phi, start, t, max_evals=LINE_SEARCH_EVALS, min_gap=0.0,
                 c1=WOLFE_C1, c2=WOLFE_C2):
    """A step length along a descent direction that satisfies the strong Wolfe conditions.

    Nocedal & Wright, Algorithm 3.5 (bracketing) and 3.6 (zoom), with the cubic
    interpolation and the safeguards of torch.optim.lbfgs._strong_wolfe.
    phi(t) -> Trial evaluates f once at x + t d; start = Trial(0, f(x), grad f(x).d)
    with start.slope < 0; t is the first step length to try. A trial is accepted when
        phi(t) <= phi(0) + c1 t phi'(0)       (W1, sufficient decrease)
        |phi'(t)| <= c2 |phi'(0)|             (W2, strong curvature condition)
    A non-finite phi(t) (an overflow) fails W1 and is treated as "too far".

    Returns (trial, evals): the accepted trial and the number of calls of phi. If
    max_evals run out (or the bracket shrinks below min_gap) first, the best trial
    that satisfies W1 -- the lowest phi so far -- which may be `start` itself (t = 0:
    no step). The returned trial never breaks W1.
    """
    def decreases(trial):                           # W1 (and finite)
        return math.isfinite(trial.f) and math.isfinite(trial.slope) and \
            trial.f <= start.f + c1 * trial.t * start.slope

    def flat(trial):                                # W2
        return abs(trial.slope) <= -c2 * start.slope

    # Phase 1, bracketing (Alg. 3.5): step out until [lo, hi] must hold an acceptable t.
    t, evals = float(t), 0
    prev = start
    while True:
        if evals == max_evals:
            return prev, evals                      # prev satisfies W1 and is the lowest so far
        trial = phi(t)
        evals += 1
        if not decreases(trial) or trial.f >= prev.f:
            lo, hi = prev, trial                    # went too far: the minimum is before t
            break
        if flat(trial):
            return trial, evals                     # both conditions hold: done
        if trial.slope >= 0:
            lo, hi = trial, prev                    # the slope turned: the minimum is behind t
            break
        # Still going down, steeply: extrapolate, at least a little and at most 10x (torch's bounds).
        t = cubic_minimiser(prev, trial, trial.t + 0.01 * (trial.t - prev.t), 10 * trial.t)
        prev = trial

    # Phase 2, zoom (Alg. 3.6): shrink [lo, hi] (either order), keeping three invariants:
    # lo satisfies W1 and is the lowest trial so far, the interval holds a point that
    # satisfies W1 and W2, and phi'(lo) (hi - lo) < 0 (downhill from lo towards hi).
    near_end_before = False
    while evals < max_evals and abs(hi.t - lo.t) > min_gap:
        left, right = min(lo.t, hi.t), max(lo.t, hi.t)
        if math.isfinite(hi.f) and math.isfinite(hi.slope):
            t = cubic_minimiser(lo, hi, left, right)
        else:
            t = lo.t + 0.1 * (hi.t - lo.t)          # hi overflowed: nothing to interpolate
        # Safeguard: a trial within 10% of an end is allowed once; the second time in a
        # row (or one at an end) is moved 10% inside, so that the bracket keeps shrinking.
        margin = 0.1 * (right - left)
        if min(right - t, t - left) < margin:
            if near_end_before or t <= left or t >= right:
                t = right - margin if abs(t - right) < abs(t - left) else left + margin
                near_end_before = False
            else:
                near_end_before = True
        else:
            near_end_before = False

        trial = phi(t)
        evals += 1
        if not decreases(trial) or trial.f >= lo.f:
            hi = trial                              # too high: the new far end
        else:
            if flat(trial):
                return trial, evals                 # both conditions hold: done
            if trial.slope * (hi.t - lo.t) >= 0:
                hi = lo                             # the slope turned between lo and the trial
            lo = trial                              # the lowest point so far
    return lo, evals


# --------------------------------------------------------------------------
# L-BFGS: the optimiser
# --------------------------------------------------------------------------

class LBFGS:
    """Limited-memory BFGS with a strong-Wolfe line search (the default) or a fixed step.

    Notation (Nocedal & Wright, ch. 7): x_k the iterate, g_k = grad f(x_k),
    s_k = x_{k+1} - x_k the step taken, y_k = g_{k+1} - g_k the change in gradient,
    rho_k = 1 / (y_k . s_k). H_k approximates the inverse Hessian; L-BFGS never
    forms it, it only applies it to g_k from the last `history` pairs (s, y).

    One step(f) at x_k:
        g_k = grad f(x_k)       known from the line search that ended at x_k; called
                                for here on the first step, and on every fixed step
        memory: add the pair (s_{k-1}, y_{k-1} = g_k - g_{k-1}) if its curvature y.s
                is safely positive (below); the oldest pair falls out once there are
                `history` of them. gamma = s.y / y.y of the newest stored pair.
        d_k = -H_k g_k          (two-loop recursion; d_0 = -g_0)
        t   = lr, except on the first step (below)
        line_search="strong_wolfe":  t_k = a length, tried from t on, that satisfies the
                                strong Wolfe conditions (strong_wolfe; one call of f a trial)
        line_search=None:       t_k = t, whatever f does there (torch's default)
        x_{k+1} = x_k + t_k d_k.

    The first step has no curvature yet: its direction is the raw gradient, in
    units of f per unit of x, so its length says nothing about how far to go; t is
    chosen to give the step a length in units of x. Without a line search nothing
    would correct a step too long, so it is torch's cautious rule: an l1 length of
    at most lr (t = lr min(1, 1 / sum|g_0|)). With a line search a step too short
    is what costs: each further trial can only extrapolate 10x. For a 256 px image
    l1 = 1 moves a pixel by ~1e-5 grey levels and takes 7 calls of f to grow, so the
    first trial is bolder: its largest entry is lr (t = lr / max|g_0|), one grey
    level for an image in 0..255, whatever the scale of f. Later directions carry
    the curvature (H_0 = gamma I, eq. 7.20), so t = 1 is the quasi-Newton step and
    is tried first.

    With the line search (docs/backprop.md, section 9, derives what follows):
    - every step decreases f by at least c1 t |g.d| (W1), so the loss never spikes,
      and a non-finite loss at a trial only sends the search back;
    - the curvature condition (W2) makes y.s >= (1 - c2) |g_k.s_k| > 0, so the pair
      is kept: the test y.s > eps |g_k.s_k| (eps the dtype's machine epsilon, the
      rule of scipy's L-BFGS-B) only skips a pair after a search that ran out of
      calls, or one lost in rounding. Both sides scale with f: a loss times 1e10
      takes the same steps.
    - a search that finds no decrease leaves x where it is and clears the memory,
      so the next step starts again from -g with the first step's length.

    Without a line search the step length is fixed, and each step calls f exactly
    once, BEFORE it moves: the iterates equal those of torch.optim.LBFGS(lr,
    history_size=history, max_iter=1, line_search_fn=None, tolerance_grad=-1,
    tolerance_change=-inf), to rounding (the tests check them step by step in
    float64), and so do its weaknesses, documented rather than "fixed":
    - a pair is kept if y.s > CURVATURE_EPS = 1e-10, torch's absolute threshold. Once
      steps are so short that y.s ~ |s|^2 * curvature < 1e-10 (on a unit-scale
      quadratic, at a relative error of ~1e-5; at pixel scale ~1e4 times later), no
      more pairs are stored and convergence turns linear (H frozen). A loss times 1e10
      keeps pairs the unscaled loss drops: the steps depend on the loss's scale.
    - nothing stops a bad step. A smaller lr is slower and NOT safer: with lr <= 0.5
      from (-1.2, 1, -1.2, 1, ...) the 10-D Rosenbrock run ends in its local minimum
      near (-1, 1, ..., 1), and with lr = 0.1 from the origin it diverges (torch
      does the same): short steps through negative curvature store no pairs, then
      one pair barely past 1e-10 makes H huge along s, and the giant step is taken.
    - there is no finite termination on a quadratic in n unknowns, only fast
      (superlinear at first) convergence.
    Measured (tests/test_optim.py): lr = 1 solves a 20-D quadratic to 1e-8 in 24-58
    steps (condition number 10 to 1000), Rosenbrock in 2-D and 10-D in 35-130 steps.

    Neither variant stops on a tolerance: step() always tries to move.

    Memory: 2 * history arrays the size of x (the pairs s, y), plus a few more (the
    line search holds up to three trial points with their gradients). Cost per step:
    2 * history + 4 inner products and 2 * history axpys, and per trial one call of f
    and one inner product. The two-loop recursion keeps its inner products on the
    device (_dot_here); what comes back to the host as Python floats is the loss,
    y.s, y.y, g.d and one g_t.d per trial.

    Attributes: x (the current iterate), loss and grad (f and grad f at loss_x: the
    new iterate with a line search, the iterate before the last move without one),
    n_evals (calls of f so far), n_steps (calls of step so far), pairs and gamma (the
    memory).
    """

    def __init__(self, x0, lr=1.0, history=100, line_search="strong_wolfe"):
        xp = get_array_module(x0)
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if history < 1:
            raise ValueError(f"history must be at least 1, got {history}")
        if line_search not in ("strong_wolfe", None):
            raise ValueError(f"line_search must be 'strong_wolfe' or None, got {line_search!r}")
        self.lr = lr
        self.history = history
        self.line_search = line_search
        self.eps = float(xp.finfo(x0.dtype).eps)    # machine epsilon of x's dtype
        self.x = x0.copy()                     # our own iterate; x0 is never touched
        self.n_evals = 0
        self.n_steps = 0
        self.loss = None                       # f and grad f at loss_x
        self.grad = None
        self.loss_x = None
        self.pairs = deque(maxlen=history)     # (s_i, y_i, rho_i), oldest first
        self.gamma = 1.0                       # H_0 = gamma * I, from the newest pair
        self.last_step = None                  # s_{k-1} = x_k - x_{k-1}
        self.last_grad = None                  # g_{k-1}
        self.last_gs = None                    # g_{k-1}.s_{k-1} (< 0), for the curvature test

    def _evaluate(self, f, x):
        self.n_evals += 1
        return _evaluate(f, x)

    def step(self, f, max_evals=None):
        """Move opt.x by one L-BFGS step, calling f at most max_evals times; return opt.loss.

        opt.loss is f at opt.loss_x: the NEW iterate with a line search (it was
        evaluated as the accepted trial), the OLD one without (the fixed step calls
        f before it moves and never after). The first step with a line search needs
        two calls (x_0 and a trial); given fewer, it only evaluates x_0.
        """
        if max_evals is not None and max_evals < 1:
            raise ValueError(f"max_evals must be at least 1, got {max_evals}")
        budget = math.inf if max_evals is None else max_evals
        self.n_steps += 1
        # 1. f and grad f at x_k: known if a line search ended here, else one call.
        if self.loss_x is not self.x:
            self.loss, self.grad = self._evaluate(f, self.x)
            self.loss_x = self.x
            budget -= 1
        loss, g = self.loss, self.grad

        # 2. Memory: the pair of the step that led to x_k, if its curvature is positive.
        if self.last_step is not None:
            self._remember(self.last_step, g - self.last_grad, self.last_gs)
            self.last_step = None              # each pair is offered once

        # 3. Direction and the first step length to try. The fixed step follows torch:
        #    the first step's rule on the first step only. The line search uses it
        #    whenever no pair is stored (first step, a skipped pair, a failed search).
        if self.pairs or (self.line_search is None and self.n_steps > 1):
            d, t = lbfgs_direction(g, self.pairs, self.gamma), self.lr
        else:
            d, t = self._steepest(g)           # no curvature known yet

        if self.line_search is None:           # 4a. the fixed step
            step = t * d                       # s_k = t_k d_k
            self.x = self.x + step             # a new array: earlier iterates stay valid
            self.last_step, self.last_grad = step, g
            return loss

        # 4b. The line search along d from x_k.
        if not math.isfinite(loss) or budget < 1:
            return loss                        # nowhere to search from, or no calls left
        slope = _dot(g, d)                     # phi'(0) = g.d
        if not slope < 0 and self.pairs:
            # H is positive definite, so g.d = -g.H.g < 0 unless g = 0; rounding can
            # break that. Forget the memory and go downhill.
            self._forget()
            d, t = self._steepest(g)
            slope = _dot(g, d)
        if not slope < 0:
            return loss                        # g = 0: a stationary point, no step

        xp = get_array_module(self.x)
        x = self.x

        def phi(t):                            # one call of f at x + t d
            x_t = x + t * d
            f_t, g_t = self._evaluate(f, x_t)
            return Trial(t, f_t, _dot(g_t, d), (x_t, g_t))

        # Stop shrinking a bracket once its two ends differ by less than x's resolution.
        min_gap = self.eps * float(xp.abs(x).max()) / float(xp.abs(d).max())
        trial, _ = strong_wolfe(phi, Trial(0.0, loss, slope, (x, g)), t,
                                min(budget, LINE_SEARCH_EVALS), min_gap)
        if trial.t == 0:
            self._forget()                     # no decrease found: stay, restart from -g
            return loss
        x_new, g_new = trial.payload
        self.last_step, self.last_grad = x_new - x, g       # s_k: the step as taken
        self.last_gs = trial.t * slope                      # g_k.s_k = t g_k.d_k
        self.x, self.loss, self.grad, self.loss_x = x_new, trial.f, g_new, x_new
        return trial.f

    def _steepest(self, g):
        """The first direction, -g, and the first step length t to try along it.

        Fixed step (torch's rule): t |g|_1 <= lr, an l1 length of at most lr.
        Line search: t |g|_inf = lr, the largest entry of the step is lr.
        """
        xp = get_array_module(g)
        size = float(xp.abs(g).sum()) if self.line_search is None else float(xp.abs(g).max())
        if size == 0:
            return -g, self.lr                 # g = 0: the step is zero anyway
        return -g, (self.lr * min(1.0, 1.0 / size) if self.line_search is None else self.lr / size)

    def _remember(self, s, y, gs):
        """Store the pair (s, y) if its curvature y.s is safely positive; update gamma."""
        ys = _dot(y, s)
        if self.line_search is None:
            keep = ys > CURVATURE_EPS          # torch's absolute threshold
        else:
            keep = ys > self.eps * -gs         # L-BFGS-B's, relative to the slope g.s
        if keep:
            self.pairs.append((s, y, 1.0 / ys))   # the oldest drops out when full
            self.gamma = ys / _dot(y, y)       # gamma_k = s.y / y.y   (eq. 7.20)

    def _forget(self):
        """Clear the memory: the next direction is -g, with the first step's length."""
        self.pairs.clear()
        self.gamma = 1.0
        self.last_step = self.last_grad = self.last_gs = None


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

    Attributes: x (current iterate), n_evals and n_steps (calls of f and steps so
    far: equal), m and v (the moments), loss and grad (the last evaluation, at
    loss_x, the iterate BEFORE the last move).
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
        self.n_evals = self.n_steps = 0
        self.loss = None
        self.grad = None
        self.loss_x = None

    def step(self, f, max_evals=None):
        """Evaluate f at opt.x (once), move opt.x by one Adam step, return that loss.

        max_evals is accepted for the same loop as L-BFGS; a step always takes one call.
        """
        xp = get_array_module(self.x)
        if max_evals is not None and max_evals < 1:
            raise ValueError(f"max_evals must be at least 1, got {max_evals}")
        loss, g = _evaluate(f, self.x)
        self.loss_x = self.x
        self.n_evals += 1
        self.n_steps += 1
        t = self.n_steps                        # step number, 1-based

        self.m = self.beta1 * self.m + (1 - self.beta1) * g       # m_t
        self.v = self.beta2 * self.v + (1 - self.beta2) * g * g   # v_t
        m_hat = self.m / (1 - self.beta1 ** t)
        v_hat = self.v / (1 - self.beta2 ** t)
        self.x = self.x - self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)
        self.loss, self.grad = loss, g
        return loss
