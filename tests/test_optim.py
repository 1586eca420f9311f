"""Tests for minigrad/optim.py: L-BFGS and Adam against torch.optim, scipy and known minima.

The objectives (a convex quadratic, Rosenbrock) are written with `xp.` so the same
test body runs on NumPy and on CuPy (the "cupy" case skips without a GPU). Gradients
are analytic; the torch reference optimisers are fed the very same (loss, grad) via
`p.grad`, so any difference comes from the optimisers alone. float64 for exactness,
float32 to check that the real path keeps its dtype.
"""
import numpy as np
import pytest
import scipy.optimize
import torch

from minigrad.backend import get_array_module, gpu_available, to_device, to_numpy
from minigrad.optim import LBFGS, Adam, lbfgs_direction, lbfgs_direction_dense


@pytest.fixture(params=["numpy", "cupy"])
def backend(request):
    if request.param == "cupy" and not gpu_available():
        pytest.skip("no CUDA device")
    return request.param


# --------------------------------------------------------------------------
# Objectives: f(x) -> (loss as a Python float, grad like x)
# --------------------------------------------------------------------------

def rosenbrock(x):
    """sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2; minimum 0 at x = (1, ..., 1)."""
    xp = get_array_module(x)
    a, b = x[:-1], x[1:]
    loss = float((100 * (b - a * a) ** 2 + (1 - a) ** 2).sum())
    grad = xp.zeros_like(x)
    grad[:-1] += -400 * a * (b - a * a) - 2 * (1 - a)    # d/dx_i of both terms in i
    grad[1:] += 200 * (b - a * a)                        # d/dx_{i+1} of the first term
    return loss, grad


def make_quadratic(n, cond, seed, backend, scale=1.0):
    """f(x) = 0.5 x^T A x - b^T x with A SPD, eigenvalues geometric in [1, cond].

    b ~ scale * N(0, I), so the minimiser A^{-1} b has entries of size ~scale.
    """
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (Q * np.geomspace(1.0, cond, n)) @ Q.T           # (n, n) = Q diag(eig) Q^T
    b = scale * rng.standard_normal(n)
    x_star = np.linalg.solve(A, b)                       # the minimiser A^{-1} b
    A_dev, b_dev = to_device(A, backend), to_device(b, backend)

    def f(x):
        Ax = A_dev @ x
        return float(0.5 * (x * Ax).sum() - (b_dev * x).sum()), Ax - b_dev   # grad = A x - b
    return f, x_star


def torch_trajectory(make_opt, f, x0, steps):
    """Run a torch optimiser `steps` times on numpy f; return the iterates after each step."""
    p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = make_opt([p])

    def closure():
        loss, grad = f(p.detach().numpy())
        p.grad = torch.from_numpy(grad.copy())
        return torch.tensor(loss, dtype=torch.float64)

    xs = []
    for _ in range(steps):
        opt.step(closure)
        xs.append(p.detach().numpy().copy())
    return xs


def torch_lbfgs(lr, history):
    # max_iter=1: one closure call per .step(), as in ours. The tolerances are
    # disabled so torch never returns without moving (ours never stops early).
    return lambda params: torch.optim.LBFGS(
        params, lr=lr, history_size=history, max_iter=1, line_search_fn=None,
        tolerance_grad=-1.0, tolerance_change=-float("inf"))


def relative_error(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


# --------------------------------------------------------------------------
# L-BFGS
# --------------------------------------------------------------------------

def test_two_loop_equals_dense_bfgs_inverse_hessian(backend):
    # The fast two-loop recursion applies the same H as building it pair by pair (eq. 6.17).
    rng = np.random.default_rng(1)
    n, m = 12, 5
    pairs = []
    for _ in range(m):
        s = rng.standard_normal(n)
        y = s + 0.3 * rng.standard_normal(n)             # y.s > 0 with these sizes
        ys = float(s @ y)
        assert ys > 0
        pairs.append((to_device(s, backend), to_device(y, backend), 1.0 / ys))
    g = to_device(rng.standard_normal(n), backend)
    gamma = 0.7
    fast = to_numpy(lbfgs_direction(g, pairs, gamma))
    naive = to_numpy(lbfgs_direction_dense(g, pairs, gamma))
    assert relative_error(fast, naive) < 1e-12, relative_error(fast, naive)
    assert float(fast @ to_numpy(g)) < 0                 # a descent direction


def run_until(opt, f, target, max_steps, tol):
    """Step until max|x - target| <= tol * max|target|; return the relative error."""
    for _ in range(max_steps):
        opt.step(f)
        err = relative_error(to_numpy(opt.x), target)
        if err <= tol:
            break
    return err


@pytest.mark.parametrize("cond, max_steps", [(10.0, 30), (100.0, 50), (1000.0, 70)])
def test_lbfgs_quadratic_reaches_solution(backend, cond, max_steps):
    # Entries of size ~100, like pixels in 0..255. Measured with lr = 1 (seeds 0-9):
    # 23-27, 38-42 and 53-58 steps. Without line searches there is no finite
    # termination in n steps, so the count grows with the condition number.
    n = 20
    f, x_star = make_quadratic(n, cond, seed=0, backend=backend, scale=100.0)
    opt = LBFGS(to_device(np.zeros(n), backend), lr=1.0)
    err = run_until(opt, f, x_star, max_steps, tol=1e-8)
    assert err <= 1e-8, f"relative error {err:.2e} after {opt.n_evals} steps"


def test_lbfgs_absolute_curvature_threshold_freezes_memory(backend):
    # At unit scale, steps of length ~3e-6 give y.s < 1e-10: from there on no pair
    # is stored (torch's absolute threshold), H is frozen and convergence is only
    # linear. It still converges; it just takes ~145 steps instead of ~40.
    n = 20
    f, x_star = make_quadratic(n, cond=100.0, seed=0, backend=backend, scale=1.0)
    opt = LBFGS(to_device(np.zeros(n), backend), lr=1.0)
    stored = []
    for _ in range(60):
        opt.step(f)
        stored.append(len(opt.pairs))
    assert stored[-1] == stored[-20] < 40                # no pair stored in 20 steps
    err = run_until(opt, f, x_star, 200, tol=1e-8)
    assert err <= 1e-8, f"relative error {err:.2e} after {opt.n_evals} steps"


@pytest.mark.parametrize("history", [100, 5])
def test_lbfgs_matches_torch_on_quadratic(backend, history):
    n = 20
    f, _ = make_quadratic(n, cond=100.0, seed=0, backend=backend)
    f_np, _ = make_quadratic(n, cond=100.0, seed=0, backend="numpy")
    x0 = np.random.default_rng(2).standard_normal(n)
    steps = 60
    ref = torch_trajectory(torch_lbfgs(1.0, history), f_np, x0, steps)
    opt = LBFGS(to_device(x0, backend), lr=1.0, history=history)
    for k in range(steps):
        opt.step(f)
        err = relative_error(to_numpy(opt.x), ref[k])
        assert err < 1e-12, f"step {k + 1}: relative error {err:.2e} against torch"


@pytest.mark.parametrize("n, lr", [(2, 1.0), (2, 0.5), (10, 1.0)])
def test_lbfgs_matches_torch_on_rosenbrock(backend, n, lr):
    # The fixed steps through Rosenbrock's curved valley amplify rounding: the two
    # trajectories agree to ~1e-11 for 20 steps, drift apart later (up to ~1e-1 in
    # 10-D around step 100), and both still end at the minimum.
    x0 = np.tile([-1.2, 1.0], n // 2)
    steps, close_steps = 200, 20
    ref = torch_trajectory(torch_lbfgs(lr, 100), rosenbrock, x0, steps)
    opt = LBFGS(to_device(x0, backend), lr=lr)
    for k in range(steps):
        opt.step(rosenbrock)
        if k < close_steps:
            err = relative_error(to_numpy(opt.x), ref[k])
            assert err < 1e-10, f"step {k + 1}: relative error {err:.2e} against torch"
    assert np.abs(to_numpy(opt.x) - 1).max() < 1e-12
    assert np.abs(ref[-1] - 1).max() < 1e-12


@pytest.mark.parametrize("x0, lr, max_steps", [
    ([-1.2, 1.0], 1.0, 80),                               # the classic 2-D start
    ([-1.2, 1.0], 0.5, 100),                              # shorter steps: slower
    ([-1.2, 1.0] * 5, 1.0, 150),                          # 10-D
    ([0.0] * 10, 1.0, 130),                               # 10-D from the origin
])
def test_lbfgs_rosenbrock_minimum_agrees_with_scipy(backend, x0, lr, max_steps):
    x0 = np.array(x0)
    opt = LBFGS(to_device(x0, backend), lr=lr)
    for it in range(max_steps):
        opt.step(rosenbrock)
        if np.abs(to_numpy(opt.x) - 1).max() < 1e-9:
            break
    ours = to_numpy(opt.x)
    assert np.abs(ours - 1).max() < 1e-9, f"{opt.n_evals} steps: x = {ours}"
    ref = scipy.optimize.minimize(rosenbrock, x0, jac=True, method="L-BFGS-B",
                                  options=dict(ftol=0.0, gtol=1e-12, maxiter=1000)).x
    assert np.abs(ours - ref).max() < 1e-8


def test_lbfgs_zero_gradient_gives_zero_step(backend):
    # At the minimum every step is zero: no division by sum|g| = 0, no NaN.
    x0 = to_device(np.ones(4), backend)
    opt = LBFGS(x0, lr=1.0)
    for _ in range(3):
        assert opt.step(rosenbrock) == 0.0
        assert np.array_equal(to_numpy(opt.x), np.ones(4))


# --------------------------------------------------------------------------
# Adam
# --------------------------------------------------------------------------

@pytest.mark.parametrize("n, lr", [(2, 1e-2), (10, 5e-2)])
def test_adam_matches_torch_on_rosenbrock(backend, n, lr):
    x0 = np.tile([-1.2, 1.0], n // 2)
    steps = 50
    ref = torch_trajectory(lambda params: torch.optim.Adam(params, lr=lr), rosenbrock, x0, steps)
    opt = Adam(to_device(x0, backend), lr=lr)
    for k in range(steps):
        opt.step(rosenbrock)
        err = relative_error(to_numpy(opt.x), ref[k])
        assert err < 1e-12, f"step {k + 1}: relative error {err:.2e} against torch"


# --------------------------------------------------------------------------
# Both: the contract of step(f)
# --------------------------------------------------------------------------

OPTIMISERS = [
    pytest.param(lambda x0: LBFGS(x0, lr=1.0, history=10), id="lbfgs"),
    pytest.param(lambda x0: Adam(x0, lr=0.05), id="adam"),
]


@pytest.mark.parametrize("make_opt", OPTIMISERS)
def test_float32_image_contract(backend, make_opt):
    # An image-shaped float32 problem: 0.5 sum w (x - c)^2, w > 0 per pixel.
    rng = np.random.default_rng(3)
    shape = (1, 3, 8, 8)                                  # (N, C, H, W)
    c = to_device(rng.standard_normal(shape).astype(np.float32), backend)
    w = to_device(rng.uniform(0.5, 2.0, shape).astype(np.float32), backend)
    x0 = to_device(np.zeros(shape, np.float32), backend)
    seen = []                                            # the point of every call of f

    def loss_and_grad(x):
        return float((0.5 * w * (x - c) ** 2).sum()), w * (x - c)

    def f(x):
        seen.append(x)
        return loss_and_grad(x)

    opt = make_opt(x0)
    for k in range(200):
        before = opt.x
        loss = opt.step(f)
        assert len(seen) == k + 1 and opt.n_evals == k + 1    # exactly one call of f
        # The returned loss belongs to the point f was called at: the iterate
        # BEFORE this step's move, not the new opt.x (a new array).
        assert seen[-1] is before and opt.x is not before
        assert loss == loss_and_grad(before)[0]
        assert opt.x.dtype == np.float32 and opt.x.shape == shape
        assert get_array_module(opt.x) is get_array_module(x0)
    assert all(x.dtype == np.float32 and x.shape == shape for x in seen)
    assert np.array_equal(to_numpy(x0), np.zeros(shape, np.float32))   # x0 untouched
    assert np.abs(to_numpy(opt.x) - to_numpy(c)).max() < 1e-3


@pytest.mark.parametrize("make_opt", OPTIMISERS)
def test_gradient_of_wrong_dtype_is_refused(backend, make_opt):
    x0 = to_device(np.zeros(3, np.float32), backend)
    opt = make_opt(x0)
    with pytest.raises(TypeError, match="float64"):
        opt.step(lambda x: (0.0, x.astype(np.float64)))
