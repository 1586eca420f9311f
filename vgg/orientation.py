"""A preconditioner for L-BFGS that lets a step favour no orientation: the cure of the mesh.

VGG's first layer, conv1_1, answers fine patterns along the pixel grid's axes more strongly
than the same patterns slanted. A pattern e^{i 2 pi f.x} of a grey image (the same in the
three colour channels) comes out of conv1_1's 64 filters with the summed power

    P(f) = sum_o |K_o(f)|^2,   K_o(f) = sum_{c, dy, dx} W[o, c, dy, dx] e^{-i 2 pi (f_y dy + f_x dx)}

(before the ReLU; W the 3x3 kernels, f in cycles per pixel). At a period of 2.1 px the axes
take 1.7 times the ring's mean (`python -m vgg.orientation` prints the table). A gradient
step on the loss through conv1_1 grows each such pattern by about 1 + c P(f), so, step after
step, thin horizontal and vertical lines grow faster than any other fine texture: the screen
door of issue 25 (docs/look.md, "Steps that favour no orientation", measured it).

The cure scales each frequency of the step by

    M(f) = P_min(|f|) / P(f)       P_min: the least P on the ring of f's radius (1/64 cycle/px wide)

so that M(f) P(f) = P_min(|f|) is the same at every orientation: a step grows a fine pattern
as much whichever way it runs, and never more than before (M <= 1; M = 1 on the weakest
orientation of each ring). M is real, even (M(f) = M(-f)) and positive, so applying it by the
FFT is a symmetric positive definite matrix, which L-BFGS takes as its H_0 = gamma M
(minigrad/optim.py, Nocedal & Wright section 7.2). It is circular (the FFT wraps at the
edges) and does not move with --jitter's rolls: it depends only on frequency.

    gain = orientation_gain(W, (H, W_))           # M on rfft2's grid, (H, W_ // 2 + 1)
    precondition = orientation_filter(W, (H, W_)) # q -> M q for (1, 3, H, W_) arrays
"""
import numpy as np

from minigrad.backend import to_numpy

# --precondition's choices: "orientation" (M above) or "none" (H_0 = gamma I, the textbook's).
PRECONDITIONS = ("orientation", "none")
# The rings of P_min are 1/RINGS_PER_CYCLE cycle per pixel wide: 4 frequencies of rfft2's grid
# at 256 px, 8 at 512 px, enough to hold both an axis and a slant at every radius past the first.
RINGS_PER_CYCLE = 64


def frequencies(shape):
    """(fy, fx) of rfft2's grid for an (H, W) image, cycles per pixel: (H, 1) and (1, W // 2 + 1)."""
    H, W = shape
    return np.fft.fftfreq(H)[:, None], np.fft.rfftfreq(W)[None, :]


def first_layer_power(kernel, shape):
    """P(f) of conv1_1's kernels (64, 3, 3, 3) for grey patterns, on rfft2's grid of `shape`.

    A grey pattern is the same in the three channels, so each filter sees it through the sum
    of its three 3x3 kernels; zero-padded to (H, W), their rfft2 is K_o(f) on that grid.
    """
    grey = to_numpy(kernel).astype(np.float64).sum(axis=1)        # (64, 3, 3)
    K = np.fft.rfft2(grey, s=shape)                                # (64, H, W // 2 + 1)
    return (np.abs(K) ** 2).sum(axis=0)                            # (H, W // 2 + 1)


def rings(shape):
    """Each frequency's ring: floor(|f| * RINGS_PER_CYCLE), (H, W // 2 + 1) integers."""
    fy, fx = frequencies(shape)
    return np.floor(np.hypot(fy, fx) * RINGS_PER_CYCLE).astype(np.int64)


def ring_min(power, ring):
    """P_min(|f|): at each frequency, the least power on its ring."""
    least = np.full(ring.max() + 1, np.inf)
    np.minimum.at(least, ring.ravel(), power.ravel())             # least[r] = min of ring r's powers
    return least[ring]


def orientation_gain(kernel, shape):
    """M(f) = P_min(|f|) / P(f) on rfft2's grid of `shape`, float64 in (0, 1]."""
    P = first_layer_power(kernel, shape)
    Pmin = ring_min(P, rings(shape))
    return np.where(P > 0, Pmin / np.where(P > 0, P, 1.0), 1.0)   # a dead frequency: left alone


def orientation_filter(kernel, shape, xp=np):
    """q -> M q for arrays (..., H, W) on xp's device: rfft2, times M, back; q's dtype kept."""
    gain = xp.asarray(orientation_gain(kernel, shape).astype(np.float32))   # (H, W // 2 + 1)

    def precondition(q):                 # complex64 for float32 q on NumPy 2 and CuPy (NumPy 1: 128)
        fq = xp.fft.rfft2(q)                                       # (..., H, W // 2 + 1)
        return xp.fft.irfft2(fq * gain, s=shape).astype(q.dtype)   # (..., H, W)

    return precondition


def axis_preference(power, shape, periods):
    """For each period (px): P on the grid's axes over P's mean on that ring (1: no preference)."""
    fy, fx = frequencies(shape)
    radius = np.hypot(fy, fx)
    ring = rings(shape)
    on_axis = (fy == 0) | (fx == 0)
    table = []
    for period in periods:
        r = int(np.floor(RINGS_PER_CYCLE / period))                # the ring of |f| = 1 / period
        here = ring == r
        axis = here & on_axis & (radius > 0)
        table.append(float(power[axis].mean() / power[here].mean()))
    return table


def main():
    """Print conv1_1's axis preference and M's least value at each period, at 512 px."""
    from .weights import load_weights
    kernel = load_weights()["conv1_1"][0]
    shape = (512, 512)
    periods = [16, 8, 6.4, 4, 3.2, 2.7, 2.3, 2.1]
    P, gain, ring = first_layer_power(kernel, shape), orientation_gain(kernel, shape), rings(shape)
    print("period (px)   axes / ring mean   least M on the ring")
    for period, pref in zip(periods, axis_preference(P, shape, periods)):
        here = ring == int(np.floor(RINGS_PER_CYCLE / period))
        print(f"{period:11.1f}   {pref:16.2f}   {gain[here].min():19.2f}")


if __name__ == "__main__":
    main()
