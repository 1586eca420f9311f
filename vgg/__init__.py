"""VGG-19 on minigrad, and everything stylize.py needs around it: weights, images, the run.

`__version__` is the project's version (pyproject.toml reads it here; `--version` prints it).
"""
__version__ = "0.1.0"
