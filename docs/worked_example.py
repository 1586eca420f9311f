"""The worked example of docs/worked-example.md, computed by the project's own functions.

    python docs/worked_example.py

A 2 x 4 image, a convolution of 3 taps along each row, a ReLU, one 2 x 2 max pooling and
the content loss against a target: the numbers the page works out by hand, forward and
backward, here from minigrad (the same functions VGG-19 runs), and checked by centred
finite differences. tests/test_worked_example.py asserts that every number in the page's
tables and its printed output is what this computes.
"""
import numpy as np

from minigrad import losses
from minigrad.conv import conv2d_backward_naive, conv2d_forward_naive
from minigrad.pool import maxpool_backward, maxpool_forward
from minigrad.relu import relu_backward, relu_forward

X = np.array([[1, -2, -1, 0],
              [2, -2, -1, 0]], dtype=np.float64)      # the image: 2 rows, 4 columns
W = np.array([1, -1, 2], dtype=np.float64)            # 3 taps: y_j = x_{j-1} - x_j + 2 x_{j+1}
B = 0.0
P = np.array([3, 1], dtype=np.float64)                # the target of the two pooled values


def as_image(a):
    """(rows, columns) -> (1, 1, rows, columns): one image, one channel, as minigrad wants."""
    return a.reshape(1, 1, *a.shape)


def worked(x=X):
    """{name: array}: every number of the page, forward then backward, at the image x."""
    xpad = np.pad(as_image(x), ((0, 0), (0, 0), (0, 0), (1, 1)))      # a zero at each row's ends
    y, conv_cache = conv2d_forward_naive(xpad, W.reshape(1, 1, 1, 3), np.array([B]))  # (1, 1, 2, 4)
    r, mask = relu_forward(y)
    m, pool_cache = maxpool_forward(r, 2, 2)                            # (1, 1, 1, 2)
    L, dm = losses.content_loss(m.reshape(2), P)                        # dL/dm = m - p
    dr = maxpool_backward(dm.reshape(m.shape), pool_cache)              # to each window's max
    dy = relu_backward(dr, mask)                                        # times 1[y > 0]
    dxpad, dw, db = conv2d_backward_naive(dy, conv_cache)               # the transpose
    return {"y": y[0, 0], "r": r[0, 0], "m": m.reshape(2), "L": np.array(L), "dm": dm,
            "dr": dr[0, 0], "dy": dy[0, 0], "dx": dxpad[0, 0, :, 1:-1], "dw": dw.reshape(3),
            "db": db.reshape(())}                                       # dx: the padding cut off


def loss(x):
    """L(x) alone, for the finite differences (the same forward as above)."""
    return float(worked(x)["L"])


def finite_difference(i, j, h=1e-3):
    """(L(x + h e_ij) - L(x - h e_ij)) / 2h: numerical differentiation at pixel (i, j)."""
    nudge = np.zeros_like(X)
    nudge[i, j] = h
    return (loss(X + nudge) - loss(X - nudge)) / (2 * h)


def shown(a):
    """An array as the page writes it: whole numbers without a decimal point."""
    return str(np.asarray(a).round(6).astype(int).tolist() if np.allclose(a, np.round(a))
               else np.asarray(a).round(6).tolist())


def report():
    """The lines `python docs/worked_example.py` prints (the page quotes them)."""
    n = worked()
    lines = [f"{name:<3} = {shown(n[name])}" for name in n]
    lines.append("finite differences, dL/dx at (1, 0) and (0, 0): "
                 f"{finite_difference(1, 0):.6f}, {finite_difference(0, 0):.6f}")
    return lines


if __name__ == "__main__":
    print("\n".join(report()))
