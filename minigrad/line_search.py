"""The line search of L-BFGS: a step length that satisfies the strong Wolfe conditions.

Along a descent direction d from x the loss is a function of one number,
phi(t) = f(x + t d), with slope phi'(t) = grad f(x + t d) . d < 0 at t = 0. A trial t
is accepted when (Nocedal & Wright, "Numerical Optimization", 2nd ed., eq. 3.7)

    phi(t) <= phi(0) + c1 t phi'(0)       (W1, sufficient decrease)
    |phi'(t)| <= c2 |phi'(0)|             (W2, the strong curvature condition)

The search brackets an interval that must hold such a t (Algorithm 3.5), then
shrinks it (Algorithm 3.6, "zoom"), with the cubic interpolation of eq. 3.59 and the
safeguards of torch.optim.lbfgs._strong_wolfe. docs/backprop.md, section 9, says what
each condition guarantees and why the steps then do not depend on the loss's scale.

    trial, evals = strong_wolfe(phi, Trial(0.0, f(x), g.d), t)
"""
import math
from typing import NamedTuple

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


class _Conditions:
    """W1 and W2 for a search that started at `start` (a Trial at t = 0)."""

    def __init__(self, start, c1, c2):
        self.start, self.c1, self.c2 = start, c1, c2

    def decreases(self, trial):                     # W1 (and finite)
        return math.isfinite(trial.f) and math.isfinite(trial.slope) and \
            trial.f <= self.start.f + self.c1 * trial.t * self.start.slope

    def flat(self, trial):                          # W2
        return abs(trial.slope) <= -self.c2 * self.start.slope


def strong_wolfe(phi, start, t, max_evals=LINE_SEARCH_EVALS, min_gap=0.0,
                 c1=WOLFE_C1, c2=WOLFE_C2):
    """A step length along a descent direction that satisfies the strong Wolfe conditions.

    phi(t) -> Trial evaluates f once at x + t d; start = Trial(0, f(x), grad f(x).d)
    with start.slope < 0; t is the first step length to try. A non-finite phi(t) (an
    overflow) fails W1 and is treated as "too far".

    Returns (trial, evals): the accepted trial and the number of calls of phi. If
    max_evals run out (or the bracket shrinks below min_gap) first, the best trial
    that satisfies W1 -- the lowest phi so far -- which may be `start` itself (t = 0:
    no step). The returned trial never breaks W1.
    """
    wolfe = _Conditions(start, c1, c2)
    found, lo, hi, evals = _bracket(phi, wolfe, float(t), max_evals)
    if found is not None:
        return found, evals
    return _zoom(phi, wolfe, lo, hi, evals, max_evals, min_gap)


def _bracket(phi, wolfe, t, max_evals):
    """Phase 1 (Alg. 3.5): step out from t until [lo, hi] must hold an acceptable point.
    Returns (accepted trial or None, lo, hi, evals)."""
    prev, evals = wolfe.start, 0
    while True:
        if evals == max_evals:
            return prev, None, None, evals          # prev satisfies W1 and is the lowest so far
        trial = phi(t)
        evals += 1
        if not wolfe.decreases(trial) or trial.f >= prev.f:
            return None, prev, trial, evals         # went too far: the minimum is before t
        if wolfe.flat(trial):
            return trial, None, None, evals         # both conditions hold: done
        if trial.slope >= 0:
            return None, trial, prev, evals         # the slope turned: the minimum is behind t
        # Still going down, steeply: extrapolate, at least a little and at most 10x (torch's bounds).
        t = cubic_minimiser(prev, trial, trial.t + 0.01 * (trial.t - prev.t), 10 * trial.t)
        prev = trial


def _zoom(phi, wolfe, lo, hi, evals, max_evals, min_gap):
    """Phase 2 (Alg. 3.6): shrink [lo, hi] (either order), keeping three invariants: lo
    satisfies W1 and is the lowest trial so far, the interval holds a point that satisfies
    W1 and W2, and phi'(lo) (hi - lo) < 0 (downhill from lo towards hi)."""
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
        near_end = min(right - t, t - left) < margin
        if near_end and (near_end_before or t <= left or t >= right):
            t = right - margin if abs(t - right) < abs(t - left) else left + margin
            near_end = False
        near_end_before = near_end
        trial = phi(t)
        evals += 1
        if not wolfe.decreases(trial) or trial.f >= lo.f:
            hi = trial                              # too high: the new far end
        else:
            if wolfe.flat(trial):
                return trial, evals                 # both conditions hold: done
            if trial.slope * (hi.t - lo.t) >= 0:
                hi = lo                             # the slope turned between lo and the trial
            lo = trial                              # the lowest point so far
    return lo, evals
