"""Hand-written optimisers for the style-transfer image: L-BFGS here, Adam in minigrad/adam.py.

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

    opt = LBFGS(x0, lr=1.0, history=100)     # or minigrad.adam.Adam(x0, lr=...)
    while opt.n_evals < budget:              # a budget of calls of f: what costs time
        loss = opt.step(f, max_evals=budget - opt.n_evals)
    x = opt.x

References: L-BFGS, Nocedal & Wright, Numerical Optimization (2nd ed.), ch. 7, with
its direction in minigrad/two_loop.py, its step length in minigrad/line_search.py,
the step rule of torch.optim.LBFGS and the curvature test of scipy's L-BFGS-B (Byrd,
Lu, Nocedal & Zhu 1995). Adam, Kingma & Ba, ICLR 2015, Algorithm 1, as torch.optim.Adam.
"""
import math
from collections import deque

from .backend import get_array_module
from .line_search import LINE_SEARCH_EVALS, Trial, strong_wolfe
from .two_loop import lbfgs_direction

# Without a line search, L-BFGS keeps a pair (s, y) only if y.s > CURVATURE_EPS, torch's
# absolute threshold (with one, a threshold relative to the slope: LBFGS._remember).
CURVATURE_EPS = 1e-10


def _dot(a, b):
    """<a, b> over all entries, as a Python float (a and b real, same shape)."""
    xp = get_array_module(a)
    return float(xp.vdot(a.ravel(), b.ravel()))


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


class LBFGS:
    """Limited-memory BFGS with a strong-Wolfe line search (the default) or a fixed step.

    Notation (Nocedal & Wright, ch. 7): x_k the iterate, g_k = grad f(x_k),
    s_k = x_{k+1} - x_k the step taken, y_k = g_{k+1} - g_k the change in gradient,
    rho_k = 1 / (y_k . s_k). H_k approximates the inverse Hessian; L-BFGS never
    forms it, it only applies it to g_k from the last `history` pairs (s, y).

    One step(f) at x_k:
        g_k = grad f(x_k)       known from the line search that ended at x_k; called
                                for here on the first step, on every fixed step, and
                                after objective_changed()
        memory: add the pair (s_{k-1}, y_{k-1} = g_k - g_{k-1}) if its curvature y.s
                is safely positive (_remember); the oldest pair falls out once there
                are `history` of them. gamma = s.y / y.y of the newest stored pair.
        d_k = -H_k g_k          (two-loop recursion; d_0 = -g_0, scaled by _steepest)
        line_search="strong_wolfe":  t_k = a length, tried from lr on, that satisfies
                                the strong Wolfe conditions (minigrad/line_search.py)
        line_search=None:       t_k = lr, whatever f does there (torch's default)
        x_{k+1} = x_k + t_k d_k.

    precondition: None (H_0 = gamma I, the textbook's) or a function q -> M q applying a
    fixed symmetric positive definite M, so that H_0 = gamma M, gamma = s.y / y.M y, and
    the first direction is -M g (Nocedal & Wright, section 7.2). M says which way a step
    should not go far before any curvature is known: vgg/orientation.py's damps the fine
    frequencies VGG's first layer favours along the grid's axes.

    docs/backprop.md derives the rest: why the line search never raises the loss and
    keeps every pair, why its steps do not depend on the loss's scale, why the first
    step is as long as it is (section 9), and what the fixed step inherits from
    torch.optim.LBFGS, weaknesses included (section 8). Neither variant stops on a
    tolerance: step() always tries to move.

    Memory: 2 * history arrays the size of x (the pairs), plus the line search's
    trial points. Attributes: x (the current iterate), loss and grad (f and grad f at
    loss_x: the new iterate with a line search, the one before the last move without),
    n_evals (calls of f so far), n_steps (calls of step so far), pairs and gamma.
    """

    def __init__(self, x0, lr=1.0, history=100, line_search="strong_wolfe", precondition=None):
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
        self.precondition = precondition       # q -> M q, or None for M = I
        self.eps = float(xp.finfo(x0.dtype).eps)    # machine epsilon of x's dtype
        self.x = x0.copy()                     # our own iterate; x0 is never touched
        self.n_evals = 0
        self.n_steps = 0
        self.loss = None                       # f and grad f at loss_x
        self.grad = None
        self.loss_x = None
        self.pairs = deque(maxlen=history)     # (s_i, y_i, rho_i), oldest first
        self.gamma = 1.0                       # H_0 = gamma M, from the newest pair
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
            d, t = lbfgs_direction(g, self.pairs, self.gamma, self.precondition), self.lr
        else:
            d, t = self._steepest(g)           # no curvature known yet

        if self.line_search is None:
            return self._fixed_step(loss, g, d, t)
        return self._searched_step(f, loss, g, d, t, budget)

    def _fixed_step(self, loss, g, d, t):
        """x_{k+1} = x_k + t d_k, whatever f does there; loss is f at x_k."""
        step = t * d                           # s_k = t_k d_k
        self.x = self.x + step                 # a new array: earlier iterates stay valid
        self.last_step, self.last_grad = step, g
        return loss

    def _searched_step(self, f, loss, g, d, t, budget):
        """x_{k+1} = x_k + t_k d_k with t_k from the strong Wolfe line search, tried from t."""
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

    def objective_changed(self):
        """Say that f is about to change (vgg/run.py's jitter moves the image on VGG's grid).

        The pair of the step that led to x_k is stored now, its y = g_k - g_{k-1} both
        measured on the f that step was taken on (its line search left g_k here); and the
        next step evaluates x_k again, on the new f, so that its line search compares like
        with like. The fixed step never had g_k of the old f: x_k is evaluated by the next
        step anyway, and that pair then mixes the two f's, as torch.optim.LBFGS's would.
        """
        if self.loss_x is not self.x:
            return                             # the fixed step, or nothing evaluated yet
        if self.last_step is not None:
            self._remember(self.last_step, self.grad - self.last_grad, self.last_gs)
            self.last_step = None
        self.loss_x = None                     # step 1 of the next step(): f at x_k again

    def _steepest(self, g):
        """The first direction, -g (-M g with a preconditioner), and the first step length t.

        Fixed step (torch's rule): t |d|_1 <= lr, an l1 length of at most lr.
        Line search: t |d|_inf = lr, the largest entry of the step is lr.
        """
        xp = get_array_module(g)
        d = -g if self.precondition is None else -self.precondition(g)
        size = float(xp.abs(d).sum()) if self.line_search is None else float(xp.abs(d).max())
        if size == 0:
            return d, self.lr                  # d = 0: the step is zero anyway
        return d, (self.lr * min(1.0, 1.0 / size) if self.line_search is None else self.lr / size)

    def _remember(self, s, y, gs):
        """Store the pair (s, y) if its curvature y.s is safely positive; update gamma."""
        ys = _dot(y, s)
        if self.line_search is None:
            keep = ys > CURVATURE_EPS          # torch's absolute threshold
        else:
            keep = ys > self.eps * -gs         # L-BFGS-B's, relative to the slope g.s
        if keep:
            self.pairs.append((s, y, 1.0 / ys))   # the oldest drops out when full
            My = y if self.precondition is None else self.precondition(y)
            self.gamma = ys / _dot(y, My)      # gamma_k = s.y / y.y (eq. 7.20), y.My with M

    def _forget(self):
        """Clear the memory: the next direction is -g (-M g), with the first step's length."""
        self.pairs.clear()
        self.gamma = 1.0
        self.last_step = self.last_grad = self.last_gs = None
