"""Finite-difference gradient checking, for the tests and for a curious reader.

The centred difference (f(x + eps e_i) - f(x - eps e_i)) / (2 eps) approximates
df/dx_i with an error of order eps^2, so in float64 with eps = 1e-6 it agrees
with a correct analytic gradient to about 1e-8 relative or better. For large
tensors a random sample of entries is checked. The perturbed entry is always
restored, so x is unchanged afterwards.

    >>> layer = ReLU(); x = rng.standard_normal((1, 3, 5, 5)); dout = rng.standard_normal(...)
    >>> f = lambda x: float((layer.forward(x) * dout).sum())   # a scalar whose gradient is backward(dout)
    >>> layer.forward(x); analytic = layer.backward(dout)
    >>> check_gradient(f, x, analytic)                          # largest relative error
"""
import numpy as np

from .backend import to_numpy


def relative_error(a, b):
    """max |a - b| / max(|a|, |b|): one number for how far two arrays are apart."""
    a, b = to_numpy(a).astype(np.float64), to_numpy(b).astype(np.float64)
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


def sample_indices(shape, n, seed=0):
    """Up to n distinct multi-indices into an array of the given shape (all of them if fewer)."""
    size = int(np.prod(shape))
    rng = np.random.default_rng(seed)
    flat = np.arange(size) if size <= n else rng.choice(size, n, replace=False)
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def numerical_gradient(f, x, indices, eps=1e-6):
    """Centred differences of the scalar function f at x, one entry of `indices` at a time."""
    grads = []
    for idx in indices:
        old = x[idx].copy()
        x[idx] = old + eps
        f_plus = f(x)
        x[idx] = old - eps
        f_minus = f(x)
        x[idx] = old                                       # restore the entry
        grads.append((f_plus - f_minus) / (2 * eps))
    return np.array(grads)


def check_gradient(f, x, analytic, n_samples=60, eps=1e-6, seed=0, verbose=True):
    """Largest relative error between `analytic` and finite differences of f at x.

    x must be float64. Entries are compared elementwise, each scaled by
    max(|numeric|, |analytic|, 1e-8); the first mismatches are printed.
    """
    if x.dtype != np.float64:
        raise TypeError("finite differences need float64 (float32 rounding swamps eps)")
    indices = sample_indices(x.shape, n_samples, seed)
    numeric = numerical_gradient(f, x, indices, eps)
    exact = np.array([float(to_numpy(analytic[idx])) for idx in indices])
    err = np.abs(numeric - exact) / np.maximum(np.maximum(np.abs(numeric), np.abs(exact)), 1e-8)
    if verbose and err.max() > 1e-6:
        for k in np.argsort(-err)[:5]:
            print(f"  at {indices[k]}: numeric {numeric[k]:.10g}  analytic {exact[k]:.10g}  "
                  f"relative error {err[k]:.2e}")
    return float(err.max())
