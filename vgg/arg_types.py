"""The types of stylize.py's options: each turns what was typed into a value, or says why not
(argparse prints the reason as a one-line error, exit status 2). vgg/cli.py uses them.
"""
import argparse
import math
import re

from .layout import LAYER_NAMES


def positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def port_number(text):
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 0..65535, got {text}")
    return value


def nonnegative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text}")
    return value


def nonnegative_float(text):
    value = float(text)
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def positive_float(text):
    value = nonnegative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def fraction(text):
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, got {text}")
    return value


def weights_whole(weights):
    """A list of weights: finite, >= 0, not all zero, with a finite sum."""
    if any(not (w >= 0) or math.isinf(w) for w in weights) or not 0 < sum(weights) < math.inf:
        raise argparse.ArgumentTypeError("must be finite numbers >= 0, not all zero, with a "
                                         "finite sum")
    return weights


# The names other tools give VGG-19's taps: jcjohnson's neural-style names the ReLU after each
# convolution (relu4_2), Keras and pastiche the block and the convolution (block4_conv2).
# The taps here are those ReLU outputs too, so each is the same layer as conv4_2.
ALIASES = [(re.compile(r"relu(\d)_(\d)"), "conv{}_{}"),
           (re.compile(r"block(\d)_conv(\d)"), "conv{}_{}"),
           (re.compile(r"block(\d)_pool"), "pool{}")]


def layer_name(text):
    """A layer's name in the paper's form (conv4_2), from its own or another tool's."""
    name = text.lower()
    for pattern, form in ALIASES:
        match = pattern.fullmatch(name)
        if match:
            name = form.format(*match.groups())
    if name not in LAYER_NAMES:
        raise argparse.ArgumentTypeError(
            f"unknown layer name {text}; choose from {', '.join(LAYER_NAMES)} "
            "(relu4_2 and block4_conv2 name conv4_2 too)")
    return name


def list_of(item, whole=lambda items: items):
    """An argparse action for a list typed with commas, spaces or both (`a,b c`): each part
    through `item`, then the whole list through `whole`."""
    class Items(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            parts = [part.strip() for text in values for part in text.split(",") if part.strip()]
            try:
                if not parts:
                    raise argparse.ArgumentTypeError("needs at least one value")
                setattr(namespace, self.dest, whole([item(part) for part in parts]))
            except ValueError:                              # float("x")
                raise argparse.ArgumentError(self, f"must be numbers, got {' '.join(values)}")
            except argparse.ArgumentTypeError as e:
                raise argparse.ArgumentError(self, f"{e} (got {' '.join(values)})")
    return Items
