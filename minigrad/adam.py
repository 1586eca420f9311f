"""Adam (Kingma & Ba, ICLR 2015, Algorithm 1), the same update as torch.optim.Adam.

The second of stylize's optimisers, with L-BFGS's contract (minigrad/optim.py's
docstring): `loss = opt.step(f, max_evals)` calls f once, at the current iterate,
then moves opt.x to a new array; the returned loss belongs to the iterate before
the move.
"""
from .backend import get_array_module
from .optim import _evaluate


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

    def objective_changed(self):
        """f is about to change (vgg/run.py's jitter): Adam's moments simply carry on."""
