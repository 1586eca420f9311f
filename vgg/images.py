"""Images in and out of the network: open, resize, preprocess, deprocess, save.

VGG was trained in Caffe, so the network expects Caffe's input convention, and
`preprocess`/`deprocess` are the documented pair that jcjohnson/neural-style
uses (its `preprocess` and `deprocess` in neural_style.lua):

    preprocess:  RGB uint8 (H, W, 3)  ->  BGR, 0..255, mean pixel subtracted, (1, 3, H, W) float32
    deprocess:   the exact inverse, rounded and clipped back to RGB uint8

The mean pixel is ImageNet's, in B, G, R order: MEAN_BGR = [103.939, 116.779, 123.68].

Reading is strict: `open_image` decodes the whole file at once, so a truncated
download fails here with the file's name rather than later as a grey band, and
every mode Pillow can open becomes 8-bit RGB (grayscale, palette, CMYK,
16-bit, float, bilevel, with or without alpha). Alpha is composited over white.
Writing is atomic: `save_image` writes a temporary file beside the target and
renames it, so an interrupted save never leaves half an image under the real name.

Colour preservation (--preserve-colors) is in vgg/colour.py.

Everything here is NumPy on the host; moving an image to the GPU is the
caller's business (minigrad.backend.to_device).
Shape letters: N (batch, always 1 here), C (channels, 3), H, W.
"""
import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from minigrad.backend import to_numpy

from . import files
from .files import write_atomic

MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)  # ImageNet mean, B, G, R

# What `save_image` can write, chosen by the file's extension, and the options it passes.
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP",
                ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP", ".ppm": "PPM"}
SAVE_OPTIONS = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}}


class ImageError(Exception):
    """An image file that cannot be read or written; the message names the file."""


# ----------------------------------------------------------------------------- reading

def open_image(path):
    """Open any image Pillow reads, fully decoded, upright (EXIF), as 8-bit RGB.

    Raises ImageError, naming the file, for a missing path, a directory, a FIFO, device
    or socket (refused before they are opened: reading one could wait forever), an empty
    or unreadable file, a file that is not an image, an image whose header declares more
    pixels than there is memory to decode, and a truncated image.
    """
    path = os.fspath(path)
    problem = files.input_problem(path)
    if problem:
        raise ImageError(f"{path}: {problem}")
    if os.path.getsize(path) == 0:
        raise ImageError(f"{path}: the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # memory decides
            img = Image.open(path)                                           # the header only
        with img:
            _check_declared_size(img, path)
            img.load()                           # decode everything now: truncation fails here
            img = ImageOps.exif_transpose(img)   # a camera's "rotate me" tag, applied to the pixels
    except PermissionError:
        raise ImageError(f"{path}: permission denied") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file, or a format Pillow cannot read") from None
    except ImageError:                           # _check_declared_size's: it already says why
        raise
    except Image.DecompressionBombError as e:
        raise ImageError(f"{path}: {e}") from None
    except Exception as e:  # OSError "image file is truncated", SyntaxError "broken PNG file", ...
        raise ImageError(f"{path}: damaged or truncated image ({e.__class__.__name__}: {e})") from e
    if img.width == 0 or img.height == 0:
        raise ImageError(f"{path}: the image has zero size ({img.width} x {img.height})")
    return _to_rgb(img, path)


def _check_declared_size(img, path):
    """ImageError if decoding the image as its header declares it would not fit in memory:
    its own pixels, then an 8-bit RGB copy, twice over for the conversions on the way."""
    from .memory import available_memory
    w, h = img.size
    bands = len(img.getbands())
    depth = 4 if img.mode in ("I", "F") else 2 if img.mode.startswith("I;16") else 1
    need = 2 * w * h * (bands * depth + 3)
    have = available_memory("numpy")
    if need > have:
        raise ImageError(f"{path}: the image declares {w} x {h} pixels; decoding it needs about "
                         f"{need / 2**30:.1f} GiB and only {have / 2**30:.1f} GiB is free "
                         "(make the file smaller first)")


def _to_rgb(img, path):
    """Any Pillow mode -> 8-bit RGB. Transparent pixels are composited over white."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        gray = _scale_to_uint8(np.asarray(img), img.mode, path)   # (H, W) uint8
        return Image.fromarray(gray).convert("RGB")
    try:
        if img.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in img.info:
            rgba = img.convert("RGBA")
            white = Image.new("RGBA", img.size, (255, 255, 255, 255))
            return Image.alpha_composite(white, rgba).convert("RGB")
        return img.convert("RGB")      # L, P, 1, CMYK, YCbCr, LAB, HSV, RGB, RGBX
    except ValueError as e:
        raise ImageError(f"{path}: cannot convert image mode {img.mode} to RGB ({e})") from e


def _scale_to_uint8(a, mode, path):
    """Wide grayscale samples -> 0..255, scaled (Pillow's own convert would clip at 255).

    I;16*: 16-bit samples, 0..65535 -> 0..255 (65535 / 257 = 255 exactly).
    I:     32-bit integers. Pillow uses this mode for 16-bit files too (e.g. PGM), so
           values within 0..65535 are read as 16-bit samples; anything wider is stretched
           from its minimum to its maximum.
    F:     floats. 0..1 is scaled by 255, 0..255 is kept, anything else is stretched.
    """
    a = a.astype(np.float32)                                # (H, W)
    if not np.isfinite(a).all():
        raise ImageError(f"{path}: the image contains NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if mode.startswith("I;16") or (mode == "I" and lo >= 0 and hi <= 65535):
        a = a / 257.0
    elif mode == "F" and lo >= 0 and hi <= 1:
        a = a * 255.0
    elif mode == "F" and lo >= 0 and hi <= 255:
        pass                                                # already 0..255
    else:
        a = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def resize_longest(img, size):
    """Scale so the longest side is `size` pixels, keeping the aspect ratio; None keeps it."""
    if size is None:
        return img
    if int(size) != size or size < 1:
        raise ValueError(f"size must be a positive whole number of pixels, got {size!r}")
    return resize_to(img, longest_side_shape(img.size, size))


def longest_side_shape(wh, size):
    """(height, width) of an image of size wh = (width, height) scaled so its longest side is `size`."""
    w, h = wh
    scale = size / max(w, h)
    return max(1, round(h * scale)), max(1, round(w * scale))


def resize_to(img, shape):
    """Resize to exactly shape = (height, width), the NumPy order (Pillow's is (w, h)).

    Pillow's bilinear filter: shrinking, it averages over a triangle as wide as the step,
    which leaves a photo or a painting about a quarter less grainy than Lanczos's sharper
    filter does, and the result copies the grain of its inputs (docs/look.md, "What the
    inputs change"; pastiche and jcjohnson/neural-style scale with bilinear too)."""
    height, width = (int(s) for s in shape)
    if height < 1 or width < 1:
        raise ValueError(f"shape must be two positive sizes (height, width), got {shape!r}")
    if img.size == (width, height):
        return img
    return img.resize((width, height), Image.BILINEAR)


def load_image(path, size=None):
    """open_image, then resize_longest, then preprocess: a file -> the network's input."""
    return preprocess(resize_longest(open_image(path), size))


# ----------------------------------------------------------------------------- the Caffe pair

def preprocess(img):
    """RGB uint8 image (PIL RGB or an (H, W, 3) array) -> (1, 3, H, W) float32, Caffe style."""
    if isinstance(img, Image.Image) and img.mode != "RGB":
        raise ValueError(f"preprocess wants an RGB image, got mode {img.mode}: "
                         "open files with open_image, which converts every mode")
    rgb = np.asarray(img, dtype=np.float32)        # (H, W, 3), R G B, 0..255
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"preprocess wants an (H, W, 3) RGB image, got shape {rgb.shape}")
    bgr = rgb[:, :, ::-1] - MEAN_BGR               # (H, W, 3), B G R, mean subtracted
    x = bgr.transpose(2, 0, 1)[None]               # (H, W, C) -> (1, C, H, W)
    return np.ascontiguousarray(x)


def deprocess(x):
    """The inverse of preprocess: (1, 3, H, W) or (3, H, W) array -> PIL RGB image.

    Accepts a CuPy array too. Rounds to the nearest integer and clips to 0..255,
    so deprocess(preprocess(img)) gives back img exactly.
    """
    x = to_numpy(x)
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]                                   # (1, C, H, W) -> (C, H, W)
    if x.ndim != 3 or x.shape[0] != 3:
        raise ValueError(f"deprocess wants a (1, 3, H, W) or (3, H, W) array, got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("deprocess: the image contains NaN or infinite values "
                         "(the optimisation has diverged)")
    bgr = x.transpose(1, 2, 0) + MEAN_BGR          # (C, H, W) -> (H, W, C), B G R, 0..255
    rgb = bgr[:, :, ::-1]                          # (H, W, 3), R G B
    return Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8))


# ----------------------------------------------------------------------------- writing

def encode_image(img_or_array, path):
    """The bytes of the image file `path` would hold: the format from its extension.

    Takes a PIL image, or an array as deprocess takes. Encoding in memory first lets
    a caller try several places to write the same bytes (vgg/files.py).
    """
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in SAVE_FORMATS:
        raise ImageError(f"{path}: unknown image extension {ext!r}; "
                         f"use one of {', '.join(sorted(SAVE_FORMATS))}")
    fmt = SAVE_FORMATS[ext]
    img = img_or_array if isinstance(img_or_array, Image.Image) else deprocess(img_or_array)
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **SAVE_OPTIONS.get(fmt, {}))
    return buffer.getvalue()


def save_image(img_or_array, path):
    """Write a PIL image, or an array as deprocess takes, to `path`; format from the extension.

    Atomic (vgg/files.py's write_atomic): the image goes to a temporary file in the
    same directory, which then replaces `path` in one rename; on any failure the
    temporary file is removed and an existing `path` is left as it was. JPEG and
    WebP are written at quality 95.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ImageError(f"{path}: the directory {directory} does not exist")
    try:
        write_atomic(path, encode_image(img_or_array, path))
    except (OSError, ValueError, KeyError) as e:
        raise ImageError(f"{path}: could not write the image ({e.__class__.__name__}: {e})") from e
