"""How exercises/check.py checks one backward function on one case.

    check_backward(case, forward, backward, ref_forward, ref_backward, inputs, grad_names)

does, in this order:
  1. runs the exercise's given forward and the reference engine's forward on the same
     float64 inputs and insists they agree (a forward edited by mistake is caught here);
  2. draws a random upstream gradient (an array like the output, or a scalar for a loss),
     never a constant one, so a backward that ignores it cannot pass;
  3. calls the learner's backward, and checks that it changed neither dout nor the cache;
  4. compares every returned gradient with the reference engine's, entry by entry, to
     1e-8 of the largest entry;
  5. compares them with centred finite differences of the given forward,
     (f(x + eps e_i) - f(x - eps e_i)) / (2 eps) for f(x) = sum(forward(x) * dout),
     eps = 1e-6, at sampled entries (minigrad.gradcheck, through exercises/reference.py).
A problem raises Failure with the lines to print: which entry is off, by how much, what
finite differences say there, and the likely cause (exercises/diagnose.py).
"""
import numpy as np

from exercises import diagnose as dg
from exercises import reference as ref

EPS = 1e-6              # finite-difference step
# Finite differences against the analytic gradient, relative to the largest entry compared.
# In float64 with eps = 1e-6 the centred difference errs by about u |f| / eps (rounding,
# 1e-10 of these small f) plus eps^2 |f3| / 6 with f3 the third derivative (truncation: 0
# for the linear and quadratic functions here, 1e-12 for the style loss): 1e-6 leaves that
# room and catches a 1e-4 error.
FD_RTOL = 1e-6
FD_SAMPLES = 24         # entries sampled per input


class Failure(Exception):
    """A failed check: the lines that say what is off, and the likely cause if one was found.
    raised: the learner's code raised an exception; whole: the failure is about the code as a
    whole (an edited forward, an in-place edit), not about this case's numbers, so what the
    case adds is not said."""

    def __init__(self, lines, cause=None, raised=False, whole=False):
        super().__init__(lines)
        self.lines, self.cause, self.raised, self.whole = lines, cause, raised, whole


class Case:
    """One configuration to check: what it is, and what failing it (after the earlier ones
    passed) usually means."""

    def __init__(self, label, run, new=None):
        self.label, self.run, self.new = label, run, new


# ------------------------------------------------------------------ helpers

def rng_of(seed):
    return np.random.default_rng(seed)


def away_from_zero(rng, shape, gap=0.05):
    """Normal samples with |x| >= gap: no ReLU kink or pooling tie within a finite-difference step."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < gap, np.sign(x + 1e-300) * gap, x)


def snapshot(obj):
    """A deep copy of the arrays inside nested tuples, lists and dicts."""
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, (tuple, list)):
        return type(obj)(snapshot(o) for o in obj)
    if isinstance(obj, dict):
        return {k: snapshot(v) for k, v in obj.items()}
    return obj


def first_change(before, after, path):
    """'dout[0, 1, 2, 3] was 0.5, now 0' for the first entry that changed, else None."""
    if isinstance(before, np.ndarray):
        if before.shape != np.shape(after):
            return f"{path} changed shape from {before.shape} to {np.shape(after)}"
        changed = np.argwhere(before != after)
        if len(changed):
            idx = tuple(changed[0])
            return f"{dg.where(path, idx)} was {before[idx]:.6g}, now {after[idx]:.6g}"
        return None
    if isinstance(before, (tuple, list)):
        for i, (b, a) in enumerate(zip(before, after)):
            found = first_change(b, a, f"{path}[{i}]")
            if found:
                return found
    if isinstance(before, dict):
        for k in before:
            found = first_change(before[k], after[k], f"{path}[{k!r}]")
            if found:
                return found
    return None


def upstream(out, rng):
    """A random upstream gradient: like `out`, or a scalar away from 0 and 1 for a loss."""
    if np.ndim(out) == 0:
        return float(rng.uniform(0.3, 0.8) * rng.choice([-1, 1]))
    return rng.standard_normal(np.shape(out))


def as_tuple(grads, n):
    if n == 1 and not isinstance(grads, tuple):
        return (grads,)
    return tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)


def call_learner(fn, *args):
    """fn(*args); NotImplementedError passes through, any other error becomes a Failure."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except Exception as exc:                       # the learner's code raised: say where and why
        text, cause = dg.explain_exception(exc)
        raise Failure([f"your function raised {text}", *dg.learner_frames(exc)], cause,
                      raised=True) from None


def finite_differences(forward, inputs, k, d, indices):
    """Centred differences of sum(forward(*inputs)[0] * d) in inputs[k], at `indices`."""
    def f(x):
        args = list(inputs)
        args[k] = x
        out = forward(*args)[0]
        return float(np.sum(out * d))
    return ref.numerical_gradient(f, inputs[k], indices, EPS)


# ------------------------------------------------------------------ one case

def check_backward(forward, backward, ref_forward, ref_backward, inputs, grad_names, *,
                   seed=0, signs=None, shape_signs=None, shape_upstream=None, fd=True):
    """Check backward on one set of inputs; raise Failure (or NotImplementedError) if it is off.

    forward(*inputs) -> (out, cache), the exercise's given forward; backward(d, cache) ->
    the learner's gradients, one per name in grad_names, for inputs[0], inputs[1], ...;
    ref_forward / ref_backward the same on the reference engine. signs(d, want) -> {grad
    name: [(test, message)]}, the exercise's typical slips; shape_signs {shape: message};
    shape_upstream(d), if given, reshapes the drawn upstream gradient (e.g. symmetrises it).
    """
    rng = np.random.default_rng(1000 + seed)          # not the inputs' seed: dout is its own draw
    out, cache, cache_ref = _forwards_agree(forward, ref_forward, inputs)       # step 1
    d = upstream(out, rng)                                                      # step 2
    d = shape_upstream(d) if shape_upstream else d
    got = _learners_gradients(backward, d, cache, grad_names)                   # step 3
    want = as_tuple(ref_backward(d, cache_ref), len(grad_names))
    hints = signs(d, want) if signs else {}
    for k, (name, g, w) in enumerate(zip(grad_names, got, want)):               # step 4
        _compare_with_reference(name, np.asarray(g), np.asarray(w), hints.get(name, ()),
                                shape_signs, (forward, inputs, k, d) if fd else None)
    if fd:
        for k, (name, g) in enumerate(zip(grad_names, got)):                    # step 5
            _compare_with_finite_differences(name, np.asarray(g), forward, inputs, k, d)


def _forwards_agree(forward, ref_forward, inputs):
    """(out, cache, the reference's cache), once the given forward agrees with the reference's."""
    out, cache = forward(*inputs)
    out_ref, cache_ref = ref_forward(*inputs)
    if np.shape(out) != np.shape(out_ref) or not dg.close(np.asarray(out), np.asarray(out_ref)):
        raise Failure(["the given forward no longer agrees with the reference engine's forward."],
                      "the forward was edited. Restore it (git diff exercises/ shows what "
                      "changed) and keep your changes to the backward.", whole=True)
    return out, cache, cache_ref


def _learners_gradients(backward, d, cache, grad_names):
    """The learner's backward(d, cache) as a tuple, once it has left d and the cache alone
    and returned one gradient per name."""
    before = snapshot((d, cache))
    got = as_tuple(call_learner(backward, d, cache), len(grad_names))
    changed = first_change(before, (d, cache), "(dout, cache)")
    if changed:
        changed = changed.replace("(dout, cache)[0]", "dout").replace("(dout, cache)[1]", "cache")
        raise Failure([f"your backward changed its input in place: {changed}."],
                      "an in-place edit. A backward must leave dout and the cache alone and "
                      "return new arrays (one dout can feed several layers, and the cache may "
                      "be used again).", whole=True)
    if len(got) != len(grad_names):
        raise Failure([f"your function returned {len(got)} value(s)."],
                      f"it should return {len(grad_names)}: {', '.join(grad_names)}.", whole=True)
    return got


def _compare_with_reference(name, g, w, hints, shape_signs, fd):
    """Failure if g differs from the reference's w: which entries, what finite differences
    say there (fd = (forward, inputs, k, d), or None), and the likely cause."""
    if g.shape != w.shape:
        raise Failure([f"{name} has shape {g.shape}, expected {w.shape}."],
                      (shape_signs or {}).get(g.shape) or dg.explain_shape(g, w))
    if dg.close(g, w):
        return
    lines = dg.describe(name, g, w)
    if fd:
        worst = [np.unravel_index(f, g.shape) for f in np.argsort(-np.abs(g - w), axis=None)[:3]]
        forward, inputs, k, d = fd
        numeric = finite_differences(forward, inputs, k, d, worst)
        lines.append("  finite differences at those entries: "
                     + ", ".join(f"{v:.6g}" for v in numeric)
                     + " (they side with the expected values)")
    raise Failure(lines, dg.explain(name, g, w, hints))


def _compare_with_finite_differences(name, g, forward, inputs, k, d):
    """Failure if g, which agrees with the reference, disagrees with finite differences."""
    indices = ref.sample_indices(g.shape, FD_SAMPLES, seed=k)
    numeric = finite_differences(forward, inputs, k, d, indices)
    analytic = np.array([g[i] for i in indices])
    err = np.abs(numeric - analytic)
    if err.max() > FD_RTOL * dg.scale_of(numeric, analytic):
        i = int(err.argmax())
        raise Failure([f"{name} agrees with the reference engine but not with finite "
                       f"differences at {dg.where(name, indices[i])}: numeric "
                       f"{numeric[i]:.6g}, analytic {analytic[i]:.6g}."],
                      "the forward and the reference engine disagree about the "
                      "function itself (please report this: it is the checker's bug).")
