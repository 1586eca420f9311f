"""The types of stylize.py's options: each turns what was typed into a value, or says why not
(argparse prints the reason as a one-line error, exit status 2). vgg/cli.py uses them.
"""
import argparse
import math

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


def weight_list(text):
    try:
        weights = [float(w) for w in text.split(",") if w.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated numbers, got {text}")
    if not weights or any(not (w >= 0) or math.isinf(w) for w in weights) or \
            not 0 < sum(weights) < math.inf:
        raise argparse.ArgumentTypeError(f"must be finite numbers >= 0, not all zero, with a "
                                         f"finite sum, got {text}")
    return weights


def layer_list(text):
    layers = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in layers if name not in LAYER_NAMES]
    if unknown or not layers:
        raise argparse.ArgumentTypeError(
            f"unknown layer name(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(LAYER_NAMES)}")
    return layers
