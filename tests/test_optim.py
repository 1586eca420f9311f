"""Tests for minigrad/optim.py: L-BFGS, its line search and Adam against torch.optim, scipy
and known minima.

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

from minigrad.adam import Adam
from minigrad.backend import get_array_module, gpu_available, to_device, to_numpy
from minigrad.line_search import WOLFE_C1, WOLFE_C2, Trial, strong_wolfe
from minigrad.optim import LBFGS
from minigrad.two_loop import lbfgs_direction, lbfgs_direction_dense

from .error_model import assert_within, bound, gamma, trajectory_limits, unit_roundoff


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


# The rounding one step of L-BFGS or Adam injects into x, relative (model 1, float64): the
# objective's gradient (Rosenbrock: a handful of operations per entry; the quadratic: A x,
# 20 products), the two-loop recursion's inner products over n <= 20 entries and up to
# 100 pairs (2 * 100 * 20 sums along a path at most), the update. gamma_4100 covers them.
PER_STEP = gamma(4100, "float64")
LINE_SEARCH_AGREEMENT = 25 * gamma(30, "float64") * 100


def ours_trajectory(opt, f, steps):
    """Run one of our optimisers `steps` times on f (NumPy); the iterates after each step."""
    xs = []
    for _ in range(steps):
        opt.step(f)
        xs.append(to_numpy(opt.x).copy())
    return xs


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

@pytest.mark.parametrize("preconditioned", [False, True])
def test_two_loop_equals_dense_bfgs_inverse_hessian(backend, preconditioned):
    # The fast two-loop recursion applies the same H as building it pair by pair (eq. 6.17),
    # from H_0 = gamma I, or from H_0 = gamma M (vgg/orientation.py's M; here a positive
    # diagonal), which the recursion applies to q where it applied I and the dense reference
    # builds column by column.
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
    diag = to_device(rng.uniform(0.1, 1.0, n), backend)
    M = (lambda q: diag * q) if preconditioned else None
    fast = to_numpy(lbfgs_direction(g, pairs, gamma, M))
    naive = to_numpy(lbfgs_direction_dense(g, pairs, gamma, M))
    # Model 1, float64 (tests/error_model.py): both are sums of products of the same
    # numbers -- the dense form 3 matrix products of length n per pair, the recursion 2
    # inner products and 2 axpys per pair, and M's product once -- each within
    # gamma_{m (3n + 4) + 1} of the same computation on absolute values: H built from
    # |V| = I + |rho| |y||s|^T, applied to |g|; M's entries are in (0, 1], so gamma I bounds H_0.
    I = np.eye(n)
    H = gamma * I
    for s_, y_, rho in pairs:
        s_, y_ = to_numpy(s_)[:, None], to_numpy(y_)[:, None]
        V = I + abs(rho) * np.abs(y_) @ np.abs(s_).T
        H = V.T @ H @ V + abs(rho) * np.abs(s_) @ np.abs(s_).T
    magnitude = H @ np.abs(to_numpy(g))
    assert_within(fast, naive, 2 * bound(magnitude, m * (3 * n + 4) + 1, "float64"), "H g")
    assert float(fast @ to_numpy(g)) < 0                 # a descent direction
    if preconditioned:                                   # and M changed it
        plain = to_numpy(lbfgs_direction(g, pairs, gamma))
        assert np.abs(fast - plain).max() > 0.01 * np.abs(plain).max()


def test_inverse_hessian_as_preconditioner_lands_on_the_minimum_at_the_second_step(backend):
    # With M = A^-1 on f = 1/2 x^T A x - b^T x, the first direction -M g is Newton's; the pair
    # it leaves, y = A s, gives gamma = s.y / y.M y = 1 and a BFGS update that keeps H = A^-1,
    # so the second step, tried at t = 1, is Newton's again, from wherever the first line
    # search stopped: it lands on x* = A^-1 b. Without M, cond 1000 takes dozens of steps.
    n = 20
    f, x_star = make_quadratic(n, 1000.0, seed=3, backend=backend, scale=100.0)
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A_inv = to_device((Q / np.geomspace(1.0, 1000.0, n)) @ Q.T, backend)   # make_quadratic's A^-1
    opt = LBFGS(to_device(np.zeros(n), backend), precondition=lambda q: A_inv @ q)
    plain = LBFGS(to_device(np.zeros(n), backend))
    for _ in range(2):
        opt.step(f)
        plain.step(f)
    assert opt.gamma == pytest.approx(1.0, rel=1e-9)
    # x* is known to about cond(A) n u (5e-12 here); the two steps' rounding is of that order.
    assert relative_error(to_numpy(opt.x), x_star) <= 1e-8
    assert relative_error(to_numpy(plain.x), x_star) > 1e-3


def test_identity_preconditioner_takes_the_same_steps(backend):
    # M = I does the same arithmetic as no preconditioner: the same iterates, bit for bit.
    f = rosenbrock
    x0 = to_device(np.linspace(-1.5, 1.5, 6), backend)
    with_m, without = LBFGS(x0, precondition=lambda q: q.copy()), LBFGS(x0)
    for _ in range(15):
        with_m.step(f)
        without.step(f)
        assert np.array_equal(to_numpy(with_m.x), to_numpy(without.x))


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
    opt = LBFGS(to_device(np.zeros(n), backend), lr=1.0, line_search=None)
    # A convergence test, not a comparison: in float64, x* = A^-1 b is known to about
    # cond(A) u and the gradient A x - b to n u |A||x|, so x can reach x* to about
    # cond(A) n u (2e-12 at cond 1000): 1e-8 is what the steps must achieve within the bound.
    err = run_until(opt, f, x_star, max_steps, tol=1e-8)
    assert err <= 1e-8, f"relative error {err:.2e} after {opt.n_evals} steps"


def test_lbfgs_absolute_curvature_threshold_freezes_memory(backend):
    # At unit scale, steps of length ~3e-6 give y.s < 1e-10: from there on no pair
    # is stored (torch's absolute threshold), H is frozen and convergence is only
    # linear. It still converges; it just takes ~145 steps instead of ~40.
    n = 20
    f, x_star = make_quadratic(n, cond=100.0, seed=0, backend=backend, scale=1.0)
    opt = LBFGS(to_device(np.zeros(n), backend), lr=1.0, line_search=None)
    stored = []
    for _ in range(60):
        opt.step(f)
        stored.append(len(opt.pairs))
    assert stored[-1] == stored[-20] < 40                # no pair stored in 20 steps
    err = run_until(opt, f, x_star, 200, tol=1e-8)              # reachable: see above
    assert err <= 1e-8, f"relative error {err:.2e} after {opt.n_evals} steps"


@pytest.mark.parametrize("history", [100, 5])
def test_lbfgs_matches_torch_on_quadratic(backend, history):
    n = 20
    f, _ = make_quadratic(n, cond=100.0, seed=0, backend=backend)
    f_np, _ = make_quadratic(n, cond=100.0, seed=0, backend="numpy")
    x0 = np.random.default_rng(2).standard_normal(n)
    steps = 60
    ref = torch_trajectory(torch_lbfgs(1.0, history), f_np, x0, steps)
    limits = trajectory_limits(lambda x: ours_trajectory(
        LBFGS(x, lr=1.0, history=history, line_search=None), f_np, steps), x0, PER_STEP)
    opt = LBFGS(to_device(x0, backend), lr=1.0, history=history, line_search=None)
    for k in range(steps):
        opt.step(f)
        assert_within(opt.x, ref[k], limits[k], f"step {k + 1} against torch")


@pytest.mark.parametrize("n, lr", [(2, 1.0), (2, 0.5), (10, 1.0)])
def test_lbfgs_matches_torch_on_rosenbrock(backend, n, lr):
    # The fixed steps through Rosenbrock's curved valley amplify rounding (measured by
    # trajectory_limits): the two trajectories agree to within it for 20 steps, drift
    # apart later (up to ~1e-1 in 10-D around step 100), and both still end at the minimum.
    x0 = np.tile([-1.2, 1.0], n // 2)
    steps, close_steps = 200, 20
    ref = torch_trajectory(torch_lbfgs(lr, 100), rosenbrock, x0, steps)
    limits = trajectory_limits(lambda x: ours_trajectory(
        LBFGS(x, lr=lr, line_search=None), rosenbrock, close_steps), x0, PER_STEP)
    opt = LBFGS(to_device(x0, backend), lr=lr, line_search=None)
    for k in range(steps):
        opt.step(rosenbrock)
        if k < close_steps:
            assert_within(opt.x, ref[k], limits[k], f"step {k + 1} against torch")
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
    opt = LBFGS(to_device(x0, backend), lr=lr, line_search=None)
    for it in range(max_steps):
        opt.step(rosenbrock)
        if np.abs(to_numpy(opt.x) - 1).max() < 1e-9:
            break
    # Convergence, not a comparison: at Rosenbrock's minimum (1, ..., 1) f* = 0 and every
    # term of f and its gradient vanishes, so rounding limits x only to about cond(H) u
    # (H's condition is about 2500: 3e-13), and 1e-9 is reachable in float64. scipy,
    # stopped at |g| < 1e-12, is within |g| / lambda_min(H) (about 3e-12) of it; the two
    # minimisers agree to 1e-9 + 3e-12 < 1e-8.
    ours = to_numpy(opt.x)
    assert np.abs(ours - 1).max() < 1e-9, f"{opt.n_evals} steps: x = {ours}"
    ref = scipy.optimize.minimize(rosenbrock, x0, jac=True, method="L-BFGS-B",
                                  options=dict(ftol=0.0, gtol=1e-12, maxiter=1000)).x
    assert np.abs(ours - ref).max() < 1e-8


@pytest.mark.parametrize("line_search", ["strong_wolfe", None])
def test_lbfgs_zero_gradient_gives_zero_step(backend, line_search):
    # At the minimum every step is zero: no division by sum|g| = 0, no NaN. The fixed
    # step calls f every time; the line search calls it once, at x_0, and then knows.
    x0 = to_device(np.ones(4), backend)
    opt = LBFGS(x0, lr=1.0, line_search=line_search)
    for k in range(3):
        assert opt.step(rosenbrock) == 0.0
        assert np.array_equal(to_numpy(opt.x), np.ones(4))
        assert opt.n_evals == (k + 1 if line_search is None else 1)


# --------------------------------------------------------------------------
# Adam
# --------------------------------------------------------------------------

@pytest.mark.parametrize("n, lr", [(2, 1e-2), (10, 5e-2)])
def test_adam_matches_torch_on_rosenbrock(backend, n, lr):
    x0 = np.tile([-1.2, 1.0], n // 2)
    steps = 50
    ref = torch_trajectory(lambda params: torch.optim.Adam(params, lr=lr), rosenbrock, x0, steps)
    limits = trajectory_limits(lambda x: ours_trajectory(Adam(x, lr=lr), rosenbrock, steps),
                               x0, PER_STEP)
    opt = Adam(to_device(x0, backend), lr=lr)
    for k in range(steps):
        opt.step(rosenbrock)
        assert_within(opt.x, ref[k], limits[k], f"step {k + 1} against torch")


# --------------------------------------------------------------------------
# Both: the contract of step(f)
# --------------------------------------------------------------------------

OPTIMISERS = [
    pytest.param(lambda x0: LBFGS(x0, lr=1.0, history=10, line_search=None), id="lbfgs"),
    pytest.param(lambda x0: Adam(x0, lr=0.05), id="adam"),
]


@pytest.mark.parametrize("make_opt", OPTIMISERS)
def test_float32_image_contract_one_call_per_step(backend, make_opt):
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
    # convergence in float32: x* = c (|c| ~ 3) is reachable to a few u |c| w_max / w_min
    assert np.abs(to_numpy(opt.x) - to_numpy(c)).max() < 1e-3


@pytest.mark.parametrize("make_opt", OPTIMISERS + [
    pytest.param(lambda x0: LBFGS(x0), id="lbfgs-strong-wolfe")])
def test_gradient_of_wrong_dtype_is_refused(backend, make_opt):
    x0 = to_device(np.zeros(3, np.float32), backend)
    opt = make_opt(x0)
    with pytest.raises(TypeError, match="float64"):
        opt.step(lambda x: (0.0, x.astype(np.float64)))


# --------------------------------------------------------------------------
# The strong-Wolfe line search, alone
# --------------------------------------------------------------------------

def line(f, x, d):
    """phi(t) = f(x + t d) for strong_wolfe, as Trials; phi.calls lists the t it was called at."""
    def phi(t):
        phi.calls.append(t)
        loss, grad = f(x + t * d)
        with np.errstate(over="ignore", invalid="ignore"):
            return Trial(t, loss, float((grad * d).sum()))
    phi.calls = []
    return phi


def random_slice(rng):
    """A Rosenbrock function of 2-7 unknowns at a random point, a descent direction d
    (-g, or -g stretched per coordinate), and a first step t spanning 9 orders of magnitude."""
    n = int(rng.integers(2, 8))
    x = rng.uniform(-2, 2, n)
    _, g = rosenbrock(x)
    d = -g * (rng.uniform(0.1, 10, n) if rng.random() < 0.5 else 1.0)
    t = 10.0 ** rng.uniform(-6, 3) / np.abs(d).max()
    return x, d, t


def test_line_search_matches_torch_strong_wolfe():
    # Our strong_wolfe is written from Nocedal & Wright with torch's interpolation and
    # safeguards. On 300 random Rosenbrock slices, from first steps far too short to
    # far too long, it calls f at the same points as torch's _strong_wolfe (the line
    # search of torch.optim.LBFGS, a private function: torch is pinned) and returns
    # the same step, to rounding. (Where the two differ by design -- N&W's "lo" is
    # the lowest point satisfying W1, torch's the lowest point -- none of these do.)
    from torch.optim.lbfgs import _strong_wolfe
    rng = np.random.default_rng(0)
    for case in range(300):
        x, d, t = random_slice(rng)
        f0, g0 = rosenbrock(x)
        phi = line(rosenbrock, x, d)
        ours, evals = strong_wolfe(phi, Trial(0.0, f0, float(g0 @ d)), t, max_evals=25)

        seen = []

        def obj(x_list, t, d_t):
            seen.append(float(t))
            loss, grad = rosenbrock((x_list[0] + t * d_t).numpy())
            return loss, torch.from_numpy(grad)
        as_t = lambda a: torch.tensor(a, dtype=torch.float64)
        f_t, _, t_t, evals_t = _strong_wolfe(obj, [as_t(x)], as_t(t), as_t(d), f0, as_t(g0),
                                            as_t(float(g0 @ d)), tolerance_change=0.0, max_ls=25)
        assert evals == evals_t == len(phi.calls), case
        # Both evaluate the same closed forms on the same float64 trials, in another order:
        # each trial point is about 30 roundings of the previous two (the cubic), at most
        # 25 trials, so they agree to 25 gamma_30 ~ 1e-13, times the cubic's conditioning
        # (well-separated trials here): LINE_SEARCH_AGREEMENT.
        np.testing.assert_allclose(phi.calls, seen, rtol=LINE_SEARCH_AGREEMENT, err_msg=f"case {case}")
        assert ours.t == pytest.approx(float(t_t), rel=LINE_SEARCH_AGREEMENT)
        assert ours.f == pytest.approx(f_t, rel=LINE_SEARCH_AGREEMENT)


def nonconvex(x):
    """sum_i 3 cos(2 x_i) + x_i^2 / 10 + exp(x_i) - 1e-3 x_i: many local minima, a steep wall
    (exp overflows to inf beyond x_i ~ 710, f then rises to inf), unbounded nothing."""
    xp = get_array_module(x)
    with np.errstate(over="ignore", invalid="ignore"):
        e = xp.exp(x)
        loss = float((3 * xp.cos(2 * x) + x * x / 10 + e - 1e-3 * x).sum())
        return loss, -6 * xp.sin(2 * x) + x / 5 + e - 1e-3


@pytest.mark.parametrize("problem", ["rosenbrock", "nonconvex", "indefinite quadratic"])
def test_line_search_never_breaks_sufficient_decrease(problem):
    # 1000 random searches each, with random budgets from 1 to 25 calls, and first
    # steps from 1e-6 to 1e6 times a sensible one (some overflow to inf, some lie on
    # a ridge of negative curvature). Whatever happens, the returned step satisfies
    # W1 (or is t = 0, no step); it uses at most max_evals calls, counted exactly; a
    # search that stops early has found both Wolfe conditions.
    rng = np.random.default_rng(1)
    for case in range(1000):
        n = int(rng.integers(2, 8))
        x = rng.uniform(-3, 3, n)
        if problem == "rosenbrock":
            f = rosenbrock
        elif problem == "nonconvex":
            f = nonconvex
        else:
            Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
            A = (Q * rng.uniform(-1, 10, n)) @ Q.T                  # some eigenvalues < 0
            f = lambda z, A=A: (float(0.5 * z @ A @ z + 10 * np.abs(z).sum() ** 1.5),
                                A @ z + 15 * np.abs(z).sum() ** 0.5 * np.sign(z))
        f0, g0 = f(x)
        d = -g0 * rng.uniform(0.1, 10, n)
        slope = float(g0 @ d)
        t = 10.0 ** rng.uniform(-6, 6) / np.abs(d).max()
        budget = int(rng.integers(1, 26))
        phi = line(f, x, d)
        trial, evals = strong_wolfe(phi, Trial(0.0, f0, slope), t, max_evals=budget)
        assert evals == len(phi.calls) <= budget, case
        assert np.isfinite(trial.f), case
        assert trial.t == 0 or trial.f <= f0 + WOLFE_C1 * trial.t * slope, case      # W1
        assert trial.f == f(x + trial.t * d)[0], case                 # the value of that point
        if evals < budget:
            assert trial.t > 0 and abs(trial.slope) <= -WOLFE_C2 * slope, case     # W2 too


def test_line_search_steps_back_from_an_overflow():
    # A first step far into the region where f overflows to inf: the search comes back
    # with a finite point satisfying both conditions, cutting the step by ~10 a call.
    x = np.array([1.0, -2.0])
    f0, g0 = nonconvex(x)
    d = -g0 / np.abs(g0).max()
    phi = line(nonconvex, x, d)
    trial, evals = strong_wolfe(phi, Trial(0.0, f0, float(g0 @ d)), 1e4, max_evals=25)
    assert not np.isfinite(nonconvex(x + 1e4 * d)[0])
    assert 0 < trial.t < 10 and np.isfinite(trial.f) and trial.f < f0
    assert abs(trial.slope) <= -WOLFE_C2 * float(g0 @ d) and evals < 25


# --------------------------------------------------------------------------
# L-BFGS with the line search
# --------------------------------------------------------------------------

def run_budget(opt, f, budget, stop=lambda opt: False):
    """Step until `budget` calls of f are spent (or stop(opt)); return the iterates."""
    xs = []
    while opt.n_evals < budget and not stop(opt):
        opt.step(f, max_evals=budget - opt.n_evals)
        xs.append(to_numpy(opt.x))
    return xs


def scaled(f, scale):
    """The same function times a constant (gradient too)."""
    def g(x):
        loss, grad = f(x)
        return loss * scale, grad * scale
    return g


def quadratic(cond, scale):
    return lambda backend: make_quadratic(20, cond, 0, backend, scale=scale) + (np.zeros(20),)


def fixed(f, x_star, x0):
    return lambda backend: (f, np.array(x_star, dtype=float), np.array(x0, dtype=float))


# name: (backend -> (f, minimiser, x0)), relative tolerance on x, most calls of f.
# Quadratics 0.5 x^T A x - b^T x in 20 unknowns, x* ~ 100 (pixel-like) or ~ 1: a line
# search judges a step by f, and f cannot show a change below |f*| eps, so x is found
# only to about sqrt(|f*| eps / lambda_min) (2e-8 of x* here): tolerance 1e-7.
# Measured calls to reach it (seeds 0-2): 24-26, 40-44, 52-59 for condition numbers
# 10, 100, 1000, and 40 at x* ~ 1; scipy's L-BFGS-B first comes that close after 25-27,
# 41, 54-55 and 40 calls. Rosenbrock, f* = 0, x to 1e-9: 48, 83, 71, 37 calls; scipy
# 47, 88, 71, 43. The bounds are ours (seed 0) plus 20%.
PROBLEMS = {
    "quadratic cond 10": (quadratic(10.0, 100.0), 1e-7, 32),
    "quadratic cond 100": (quadratic(100.0, 100.0), 1e-7, 53),
    "quadratic cond 1000": (quadratic(1000.0, 100.0), 1e-7, 65),
    "unit quadratic cond 100": (quadratic(100.0, 1.0), 1e-7, 48),
    "rosenbrock 2-D": (fixed(rosenbrock, [1.0] * 2, [-1.2, 1.0]), 1e-9, 58),
    "rosenbrock 10-D": (fixed(rosenbrock, [1.0] * 10, [-1.2, 1.0] * 5), 1e-9, 100),
    "rosenbrock 10-D from 0": (fixed(rosenbrock, [1.0] * 10, [0.0] * 10), 1e-9, 86),
    "rosenbrock 2-D far": (fixed(rosenbrock, [1.0] * 2, [3.0, -3.0]), 1e-9, 45),
}


def problem(name, backend):
    """(f, x*, x0, tolerance, most calls) of a named problem, f on the backend."""
    make, tol, most = PROBLEMS[name]
    return (*make(backend), tol, most)


def close_to(x_star, tol):
    return lambda opt: relative_error(to_numpy(opt.x), x_star) <= tol


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_lbfgs_line_search_agrees_with_scipy_and_torch(backend, name):
    # Same minimiser as scipy's L-BFGS-B and torch's L-BFGS with strong Wolfe (to twice
    # the tolerance: each is within it of x*), in no more calls of f than the bound above.
    f, x_star, x0, tol, most = problem(name, backend)
    opt = LBFGS(to_device(x0, backend))
    run_budget(opt, f, most, close_to(x_star, tol))
    ours = to_numpy(opt.x)
    assert relative_error(ours, x_star) <= tol, f"{opt.n_evals} calls: error {relative_error(ours, x_star):.1e}"

    f_np, *_ = problem(name, "numpy")
    ref = scipy.optimize.minimize(f_np, x0, jac=True, method="L-BFGS-B",
                                  options=dict(ftol=0.0, gtol=1e-300, maxiter=5000, maxcor=100)).x
    # scipy (and torch below) stopped far past tol of x*, we within it: 2 tol apart at most
    assert relative_error(ours, ref) <= 2 * tol
    p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    t_opt = torch.optim.LBFGS([p], max_iter=500, line_search_fn="strong_wolfe", tolerance_grad=0.0,
                              tolerance_change=0.0, history_size=100)

    def closure():
        loss, grad = f_np(p.detach().numpy())
        p.grad = torch.from_numpy(grad)
        return torch.tensor(loss, dtype=torch.float64)
    t_opt.step(closure)
    assert relative_error(ours, p.detach().numpy()) <= 2 * tol


@pytest.mark.parametrize("scale", [2.0 ** 33, 2.0 ** -20], ids=["2^33", "2^-20"])
@pytest.mark.parametrize("name", ["quadratic cond 100", "unit quadratic cond 100",
                                  "rosenbrock 2-D", "rosenbrock 10-D"])
def test_lbfgs_scaled_problem_takes_the_same_steps(backend, name, scale):
    # f and c f have the same minimiser. Every decision the line search takes compares f
    # with f or slope with slope, the pair test compares y.s with g.s, and every product
    # and quotient that mixes them carries c to the power it should. With c a power of
    # two that is exact in binary floating point (every rounded result of the scaled run
    # is the unscaled one times a power of two), so a truly scale-free optimiser takes
    # bit for bit the same steps, on any processor and BLAS. (1e10 f would bring
    # rounding in: equal steps only to rounding, which the steps then amplify.)
    f, x_star, x0, tol, most = problem(name, backend)
    runs = []
    for c in (1.0, scale):
        opt = LBFGS(to_device(x0, backend))
        xs = run_budget(opt, scaled(f, c), 2 * most, close_to(x_star, tol))
        runs.append((opt.n_steps, opt.n_evals, xs))
    (steps, evals, xs), (steps_s, evals_s, xs_s) = runs
    assert (steps, evals) == (steps_s, evals_s)
    assert relative_error(xs[-1], x_star) <= tol
    for k, (a, b) in enumerate(zip(xs, xs_s)):
        assert np.array_equal(a, b), f"step {k + 1}"


def test_lbfgs_fixed_step_depends_on_the_scale():
    # The contrast: without a line search the same problem times 1e10 takes other
    # steps. At unit scale torch's absolute pair threshold y.s > 1e-10 stops storing
    # pairs near the solution and convergence turns linear; times 1e10 it never does.
    # Measured: 144 steps against 37 (the line search: 38 and 38).
    f, x_star, x0, _, _ = problem("unit quadratic cond 100", "numpy")
    steps = []
    for scale in (1.0, 1e10):
        opt = LBFGS(x0, line_search=None)
        run_budget(opt, scaled(f, scale), 400, close_to(x_star, 1e-8))
        steps.append(opt.n_steps)
    assert steps[0] > 2 * steps[1], steps


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lbfgs_line_search_decreases_and_counts(backend, dtype):
    # Random starts on three problems: every step lowers f by at least c1 |g.s| (W1,
    # checked here from outside: g.s computed from the step actually taken), the
    # memory keeps every pair (W2 makes y.s > 0), calls of f are counted exactly,
    # and no step exceeds its budget. float32 keeps its dtype.
    rng = np.random.default_rng(2)
    for case in range(20):
        name = ["rosenbrock 2-D", "rosenbrock 10-D", "quadratic cond 100"][case % 3]
        f, x_star, x0, *_ = problem(name, backend)
        x0 = (x0 + rng.uniform(-1, 1, x0.shape)).astype(dtype)
        calls = []

        def counted(x):
            calls.append(x.dtype)
            loss, grad = f(x)
            return loss, grad.astype(dtype)
        opt = LBFGS(to_device(x0, backend), history=100)
        loss_before = None
        for k in range(25):
            x_before, g_before, n_before = opt.x, opt.grad, opt.n_evals
            budget = int(rng.integers(1, 6))
            loss = opt.step(counted, max_evals=budget)
            used = opt.n_evals - n_before
            assert used == len(calls) - n_before and 1 <= used <= budget, case
            assert loss == opt.loss and opt.loss_x is opt.x and opt.x.dtype == dtype
            if loss_before is not None and opt.x is not x_before:
                gs = float((to_numpy(g_before).astype(np.float64)
                            * (to_numpy(opt.x) - to_numpy(x_before)).astype(np.float64)).sum())
                # The search tested W1 on its own slope, t (g.d) in `dtype`; here g.s comes
                # from the step as stored: they differ by the rounding of g.d (gamma_n
                # sum |g||s|) and of x + t d (u sum |g||x|), model 1.
                g64 = np.abs(to_numpy(g_before).astype(np.float64))
                step = np.abs((to_numpy(opt.x) - to_numpy(x_before)).astype(np.float64))
                slack = WOLFE_C1 * (gamma(g64.size + 2, dtype) * float((g64 * step).sum())
                                    + unit_roundoff(dtype) * float((g64 * np.abs(to_numpy(x_before))).sum()))
                assert loss < loss_before and loss <= loss_before + WOLFE_C1 * gs + slack, (case, k)
            loss_before = loss
        assert all(c == dtype for c in calls)
        assert opt.n_evals == len(calls)


def test_lbfgs_line_search_keeps_every_pair():
    # Under W2, y.s >= (1 - c2) |g.s| > 0: no pair is skipped while the searches succeed.
    f, x_star, x0, *_ = problem("rosenbrock 10-D", "numpy")
    opt = LBFGS(x0, history=100)
    for k in range(40):
        opt.step(f)
        assert len(opt.pairs) == k                                    # one per step after the first
    assert all(rho > 0 for _, _, rho in opt.pairs)


def test_lbfgs_line_search_budget_and_first_step():
    # The first step calls f at x_0 and then at trials: with max_evals=1 it only
    # evaluates x_0 and stays. A budget loop spends exactly its budget.
    x0 = np.array([-1.2, 1.0])
    opt = LBFGS(x0)
    assert opt.step(rosenbrock, max_evals=1) == rosenbrock(x0)[0]
    assert opt.n_evals == 1 and np.array_equal(opt.x, x0) and opt.loss_x is opt.x
    run_budget(opt, rosenbrock, 17)
    assert opt.n_evals == 17 and opt.loss == rosenbrock(opt.x)[0]
    with pytest.raises(ValueError, match="max_evals"):
        opt.step(rosenbrock, max_evals=0)


def test_lbfgs_line_search_never_steps_into_an_overflow():
    # lr = 1e6 makes the first trial land where exp overflows; every returned loss
    # is finite and lower than the one before, and the run still finds a minimum.
    opt = LBFGS(np.array([1.0, -2.0, 0.5]), lr=1e6)
    losses = [opt.step(nonconvex) for _ in range(30)]
    assert all(np.isfinite(losses)) and all(b < a for a, b in zip(losses, losses[1:]) if b != a)
    assert np.abs(opt.grad).max() < 1e-6            # convergence: reachable far below (f ~ 1)


def test_float32_image_contract_line_search(backend):
    # The image-shaped float32 problem of the test above, with the line search: the
    # returned loss is f at the NEW iterate, opt.x is the very array f saw, the dtype
    # and the backend are kept, x0 is untouched, and no earlier iterate is modified.
    rng = np.random.default_rng(3)
    shape = (1, 3, 8, 8)                                  # (N, C, H, W)
    c = to_device(rng.standard_normal(shape).astype(np.float32), backend)
    w = to_device(rng.uniform(0.5, 2.0, shape).astype(np.float32), backend)
    x0 = to_device(np.zeros(shape, np.float32), backend)
    seen = []

    def f(x):
        seen.append((x, to_numpy(x).copy()))
        return float((0.5 * w * (x - c) ** 2).sum()), w * (x - c)

    opt = LBFGS(x0, history=10)
    for k in range(30):
        loss = opt.step(f)
        assert any(x is opt.x for x, _ in seen) and loss == f(opt.x)[0]
        seen.pop()                                        # that check's own call
        assert opt.x.dtype == np.float32 and opt.x.shape == shape
        assert get_array_module(opt.x) is get_array_module(x0)
    assert all(np.array_equal(to_numpy(x), copy) for x, copy in seen)   # nothing overwritten
    assert np.array_equal(to_numpy(x0), np.zeros(shape, np.float32))
    # convergence in float32: x* = c (|c| ~ 3) is reachable to a few u |c| w_max / w_min
    assert np.abs(to_numpy(opt.x) - to_numpy(c)).max() < 1e-3


# --------------------------------------------------------------------------
# The constants and thresholds at their boundaries
# --------------------------------------------------------------------------

@pytest.mark.parametrize("ratio, accepted", [(1.01e-4, True), (0.99e-4, False)])
def test_sufficient_decrease_takes_c1_of_1e_4_at_its_boundary(ratio, accepted):
    # A first trial that decreases f by `ratio` t |phi'(0)|, with a flat slope there (W2
    # holds): just above c1 = 1e-4 the search accepts it at once, just below it must look
    # further. phi is given point by point, so the test sets the decrease exactly.
    t0, f0, slope = 2.0, 10.0, -3.0

    def phi(t):
        calls.append(t)
        if t == t0:
            return Trial(t, f0 + ratio * t * slope, 0.0)
        return Trial(t, f0 + 0.5 * t * slope, 0.0)      # anything else: plenty of decrease
    calls = []
    trial, evals = strong_wolfe(phi, Trial(0.0, f0, slope), t0)
    assert WOLFE_C1 == 1e-4
    assert (evals == 1 and trial.t == t0) == accepted, (calls, trial)


@pytest.mark.parametrize("line_search", ["strong_wolfe", None])
@pytest.mark.parametrize("shape", ["linear", "concave"])
def test_pairs_without_positive_curvature_are_never_stored(line_search, shape):
    # A linear f (a constant gradient: y = 0, so y.s = 0) and a concave one (y.s < 0)
    # have no curvature to learn: L-BFGS must store no pair (a pair with y.s <= 0 would
    # make H indefinite, or divide by zero), whatever the sign convention of its test.
    c = np.array([1.0, -2.0, 0.5])

    def f(x):
        if shape == "linear":
            return float(c @ x), c.copy()
        return float(-0.5 * x @ x + c @ x), -x + c
    opt = LBFGS(np.array([0.3, 0.1, -0.2]), line_search=line_search)
    for _ in range(6):
        opt.step(f, max_evals=5)
        assert len(opt.pairs) == 0
    # The rule itself, on pairs made to measure (a stored bad pair could later be cleared
    # by a failed search, hiding it from the run above): y.s < 0, = 0, just above the
    # threshold, with g.s = -1 (the line search's threshold is eps |g.s|, torch's 1e-10).
    threshold = opt.eps if line_search else 1e-10
    s_ = np.array([1.0, 0.0, 0.0])
    for ys, stored in [(-1.0, False), (0.0, False), (2 * threshold, True)]:
        opt._forget()
        opt._remember(s_, np.array([ys, 0.0, 0.0]), -1.0)
        assert len(opt.pairs) == int(stored), (ys, line_search)


def test_objective_changed_stores_the_pair_of_the_old_f_and_evaluates_x_again():
    # vgg/run.py's jitter changes f between steps. The pair of the step just taken must
    # be measured on the f it was taken on (y = g_old(x_k) - g_old(x_{k-1})), and the next
    # step must start from f_new(x_k), not from the old f's value there: its line search
    # compares f_new at the trials with f(0), which must be f_new's.
    f_old, _ = make_quadratic(10, 100.0, 0, "numpy")
    f_new, _ = make_quadratic(10, 100.0, 1, "numpy")
    opt = LBFGS(np.ones(10))
    for _ in range(3):
        opt.step(f_old)
    x_k, g_k, s, g_before = opt.x, opt.grad, opt.last_step, opt.last_grad
    pairs = len(opt.pairs)
    opt.objective_changed()
    assert len(opt.pairs) == pairs + 1                            # stored now, from f_old alone
    stored_s, stored_y, _ = opt.pairs[-1]
    assert stored_s is s and np.array_equal(stored_y, g_k - g_before)
    calls = []
    opt.step(lambda x: calls.append(x) or f_new(x))
    assert np.array_equal(calls[0], x_k) and opt.n_evals > 0      # f_new at x_k first
    assert len(opt.pairs) == pairs + 1                            # nothing stored twice
    assert opt.loss == f_new(opt.x)[0] and opt.loss < f_new(x_k)[0]


def test_objective_changed_before_the_first_step_or_with_the_fixed_step_changes_nothing():
    f, _ = make_quadratic(10, 100.0, 0, "numpy")
    opt = LBFGS(np.ones(10))
    opt.objective_changed()                                       # nothing evaluated yet
    assert opt.loss_x is None and not opt.pairs and opt.last_step is None
    fixed = LBFGS(np.ones(10), line_search=None)
    fixed.step(f)
    step, evals = fixed.last_step, fixed.n_evals
    fixed.objective_changed()                                     # x_k was never evaluated
    assert fixed.last_step is step and not fixed.pairs and fixed.n_evals == evals
