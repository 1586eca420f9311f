"""Random weights in the project's layout, for tests and benchmarks (no download needed)."""
import numpy as np

from ..layout import CONV_NAMES, CONV_SHAPES


def random_params(seed=0, scale=None):
    """For tests: He-scaled random weights in the project's layout, {name: (W, b)}.

    W ~ N(0, scale^2) with scale = sqrt(2 / (C * KH * KW)) unless given; b ~ N(0, 0.1^2).
    """
    rng = np.random.default_rng(seed)
    params = {}
    for name in CONV_NAMES:
        K, C, KH, KW = CONV_SHAPES[name]
        std = np.sqrt(2.0 / (C * KH * KW)) if scale is None else scale
        W = (std * rng.standard_normal((K, C, KH, KW), dtype=np.float32)).astype(np.float32)
        b = (0.1 * rng.standard_normal(K, dtype=np.float32)).astype(np.float32)
        params[name] = (W, b)
    return params
