"""Tests for vgg/images.py and vgg/colour.py: reading every image mode, the Caffe pair, atomic saving, colour.

Every test file is made here with Pillow (or by hand, byte by byte, where Pillow
cannot write the case) in pytest's tmp_path; nothing is downloaded.
"""
import os
import struct
import zlib

import numpy as np
import PIL
import pytest
from PIL import Image, ImageFile

from minigrad.backend import gpu_available, to_device
from vgg import images
from vgg.colour import RGB_TO_YIQ, YIQ_TO_RGB, luminance_transfer, match_color, rgb_to_yiq, yiq_to_rgb
from vgg.images import (MEAN_BGR, ImageError, deprocess, load_image, open_image, preprocess,
                        resize_longest, resize_to, save_image)

from .helpers import file_size_limit
from .error_model import U, assert_within, bound, gamma

U32 = U["float32"]


def png_bytes(width, height, bit_depth, color_type, raw_rows):
    """A PNG written by hand: for the cases Pillow will not write (16-bit RGB, zero width)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw_rows)) + chunk(b"IEND", b""))


def write(tmp_path, name, img, **save_options):
    path = tmp_path / name
    img.save(path, **save_options)
    return path


def two_pixels(mode, first, second):
    """A 2 x 1 image in `mode`: pixel (0, 0) = first, pixel (1, 0) = second."""
    img = Image.new(mode, (2, 1))
    img.putpixel((0, 0), first)
    img.putpixel((1, 0), second)
    return img


def palette_image(transparent_index=None):
    img = two_pixels("P", 0, 1)
    img.putpalette([10, 20, 30, 200, 100, 50] + [0, 0, 0] * 254)
    if transparent_index is not None:
        img.info["transparency"] = transparent_index
    return img


# ----------------------------------------------------------------------------- every mode

# (file name, builder, expected RGB of the two pixels, tolerance). Builders return a PIL image
# to save, or bytes to write as they are.
MODES = {
    "RGB":               ("a.png", lambda: two_pixels("RGB", (255, 0, 0), (1, 2, 3)),
                          [(255, 0, 0), (1, 2, 3)], 0),
    "L":                 ("a.png", lambda: two_pixels("L", 100, 255), [(100,) * 3, (255,) * 3], 0),
    "1 (bilevel)":       ("a.png", lambda: two_pixels("1", 0, 1), [(0,) * 3, (255,) * 3], 0),
    "P":                 ("a.png", lambda: palette_image(), [(10, 20, 30), (200, 100, 50)], 0),
    "P, transparent":    ("a.png", lambda: palette_image(transparent_index=0),
                          [(255,) * 3, (200, 100, 50)], 0),
    "P, GIF":            ("a.gif", lambda: palette_image(transparent_index=1),
                          [(10, 20, 30), (255,) * 3], 0),
    "LA":                ("a.png", lambda: two_pixels("LA", (100, 255), (100, 0)),
                          [(100,) * 3, (255,) * 3], 0),
    "RGBA":              ("a.png", lambda: two_pixels("RGBA", (255, 0, 0, 0), (255, 0, 0, 128)),
                          [(255,) * 3, (255, 127, 127)], 1),   # over white: 255*(1-a) + c*a
    "RGBA, WebP":        ("a.webp", lambda: two_pixels("RGBA", (0, 0, 255, 0), (0, 0, 255, 255)),
                          [(255,) * 3, (0, 0, 255)], 2),       # lossy WebP
    "CMYK, TIFF":        ("a.tif", lambda: two_pixels("CMYK", (0, 0, 0, 0), (0, 255, 255, 0)),
                          [(255,) * 3, (255, 0, 0)], 0),
    "CMYK, JPEG":        ("a.jpg", lambda: Image.new("CMYK", (2, 1), (0, 0, 0, 0)),
                          [(255,) * 3, (255,) * 3], 2),
    "YCbCr, TIFF":       ("a.tif", lambda: two_pixels("YCbCr", (235, 128, 128), (16, 128, 128)),
                          [(235,) * 3, (16,) * 3], 1),
    "I;16, PNG":         ("a.png", lambda: two_pixels("I;16", 65535, 1000),
                          [(255,) * 3, (4,) * 3], 0),          # 1000 / 257 = 3.9, not 255
    "I;16B, TIFF":       ("a.tif", lambda: two_pixels("I;16B", 32896, 65535),
                          [(128,) * 3, (255,) * 3], 0),
    "I, 16-bit PGM":     ("a.pgm", lambda: b"P5 2 1 65535\n" + np.array([65535, 1000], ">u2").tobytes(),
                          [(255,) * 3, (4,) * 3], 0),
    "I, 32-bit TIFF":    ("a.tif", lambda: two_pixels("I", 70000, 7_000_000),
                          [(0,) * 3, (255,) * 3], 0),          # wider than 16 bits: stretched
    "F, 0..1":           ("a.tif", lambda: two_pixels("F", 1.0, 0.0), [(255,) * 3, (0,) * 3], 0),
    "F, 0..255":         ("a.tif", lambda: two_pixels("F", 100.0, 200.0),
                          [(100,) * 3, (200,) * 3], 0),
    "RGB, 16-bit PNG":   ("a.png", lambda: png_bytes(2, 1, 16, 2, b"\x00" + struct.pack(
                              ">6H", 65535, 65535, 65535, 32896, 0, 65535)),
                          [(255,) * 3, (128, 0, 255)], 0),
    "RGBA, 16-bit PNG":  ("a.png", lambda: png_bytes(2, 1, 16, 6, b"\x00" + struct.pack(
                              ">8H", 65535, 0, 0, 0, 0, 0, 65535, 65535)),
                          [(255,) * 3, (0, 0, 255)], 0),
}


@pytest.mark.parametrize("case", list(MODES))
def test_every_mode_opens_as_8bit_rgb(tmp_path, case):
    name, build, expected, tolerance = MODES[case]
    made = build()
    path = tmp_path / name
    if isinstance(made, bytes):
        path.write_bytes(made)
    else:
        made.save(path)
    try:
        with Image.open(path) as check:
            check.load()
    except OSError as e:    # seen with the Pillow of the GPU machine on YCbCr TIFF: its own round trip fails
        pytest.skip(f"this Pillow ({PIL.__version__}) cannot read back the {case} file it wrote: {e}")
    img = open_image(path)
    assert img.mode == "RGB" and img.size == (2, 1)
    pixels = np.asarray(img)                                    # (H, W, 3)
    assert pixels.dtype == np.uint8 and pixels.shape == (1, 2, 3)
    np.testing.assert_allclose(pixels[0].astype(int), np.array(expected), atol=tolerance)


def test_sixteen_bit_gray_is_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 256).astype(np.uint16).reshape(16, 16)   # (H, W)
    path = write(tmp_path, "ramp.png", Image.fromarray(ramp))
    gray = np.asarray(open_image(path))[:, :, 0].astype(int)
    np.testing.assert_allclose(gray, np.rint(ramp / 257.0), atol=0)
    assert len(np.unique(gray)) == 256             # Pillow's own convert would give mostly 255


def test_exif_orientation_6_rotates_clockwise(tmp_path):
    stored = np.zeros((20, 40, 3), np.uint8)         # (H, W, 3), 40 wide, 20 high
    stored[:, :20] = (255, 0, 0)                     # left half red
    stored[:, 20:] = (0, 0, 255)                     # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6                                 # Orientation: rotate 90 degrees clockwise
    path = write(tmp_path, "camera.jpg", Image.fromarray(stored), exif=exif, quality=95)
    img = open_image(path)
    assert img.size == (20, 40)                      # now portrait: 20 wide, 40 high
    shown = np.asarray(img).astype(int)
    np.testing.assert_allclose(shown[5, 10], (255, 0, 0), atol=30)   # red on top
    np.testing.assert_allclose(shown[35, 10], (0, 0, 255), atol=30)  # blue below


# ----------------------------------------------------------------------------- resizing

@pytest.mark.parametrize("size_in, longest, size_out", [
    ((400, 300), 200, (200, 150)),     # landscape (width, height)
    ((300, 400), 200, (150, 200)),     # portrait
    ((100, 100), 256, (256, 256)),     # upscaling is allowed
    ((1000, 2), 100, (100, 1)),        # a side never drops below one pixel
])
def test_resize_longest(size_in, longest, size_out):
    img = Image.new("RGB", size_in, (10, 20, 30))
    assert resize_longest(img, longest).size == size_out


def test_resize_longest_none_keeps_and_bad_size_refused():
    img = Image.new("RGB", (40, 30))
    assert resize_longest(img, None).size == (40, 30)
    for bad in (0, -5, 2.5):
        with pytest.raises(ValueError):
            resize_longest(img, bad)


def test_resize_to_takes_height_then_width():
    assert resize_to(Image.new("RGB", (40, 30)), (10, 20)).size == (20, 10)


# ----------------------------------------------------------------------------- the Caffe pair

def test_preprocess_is_bgr_with_mean_subtracted_nchw():
    rgb = np.zeros((2, 3, 3), np.uint8)              # (H, W, 3)
    rgb[0, 0] = (255, 0, 0)                          # pure red, top left
    x = preprocess(Image.fromarray(rgb))
    assert x.shape == (1, 3, 2, 3) and x.dtype == np.float32 and x.flags.c_contiguous
    # model 1, float32: the mean pixel stored in float32 (u), one subtraction (u)
    exact = np.array([0, 0, 255]) - np.array([103.939, 116.779, 123.68])
    assert_within(x[0, :, 0, 0], exact, 2 * U32 * (255 + np.array([103.939, 116.779, 123.68])))
    assert np.array_equal(x[0, :, 1, 2], -MEAN_BGR)          # black is minus the mean, exactly


def test_preprocess_deprocess_round_trip_is_exact():
    rgb = np.random.default_rng(0).integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    x = preprocess(rgb)
    np.testing.assert_array_equal(np.asarray(deprocess(x)), rgb)       # (1, 3, H, W)
    np.testing.assert_array_equal(np.asarray(deprocess(x[0])), rgb)    # (3, H, W)


def test_deprocess_rounds_and_clips():
    x = np.full((1, 3, 1, 2), 0.0, np.float32) - MEAN_BGR[None, :, None, None]
    x[0, :, 0, 0] += 1000.0                          # far above white
    x[0, :, 0, 1] += 2.6                             # 2.6 rounds to 3
    np.testing.assert_array_equal(np.asarray(deprocess(x))[0], [[255] * 3, [3] * 3])


def test_deprocess_refuses_nan_and_bad_shapes():
    with pytest.raises(ValueError, match="NaN"):
        deprocess(np.full((1, 3, 2, 2), np.nan, np.float32))
    for shape in [(2, 3, 4, 4), (1, 1, 4, 4), (4, 4, 3)]:
        with pytest.raises(ValueError):
            deprocess(np.zeros(shape, np.float32))


def test_preprocess_refuses_non_rgb_images():
    with pytest.raises(ValueError, match="open_image"):
        preprocess(Image.new("L", (2, 2)))


@pytest.mark.skipif(not gpu_available(), reason="no CUDA device (or CuPy) here")
def test_deprocess_takes_a_cupy_array():
    rgb = np.random.default_rng(1).integers(0, 256, size=(4, 6, 3), dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(deprocess(to_device(preprocess(rgb), "cupy"))), rgb)


def test_load_image_resizes_and_preprocesses(tmp_path):
    path = write(tmp_path, "a.png", Image.new("RGB", (60, 30), (255, 0, 0)))
    x = load_image(path, size=20)
    assert x.shape == (1, 3, 10, 20) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, 5, 5], [-103.939, -116.779, 255 - 123.68], rtol=1e-6)


# ----------------------------------------------------------------------------- refusals

def truncated(tmp_path, name, fmt):
    path = tmp_path / name
    noise = np.random.default_rng(2).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path, format=fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def file_with(path, data):
    path.write_bytes(data)
    return path


REFUSALS = {
    "missing":       (lambda p: p / "nowhere.jpg", "no such file"),
    "directory":     (lambda p: p, "is a folder"),
    "empty file":    (lambda p: file_with(p / "empty.png", b""), "empty"),
    "text as .jpg":  (lambda p: file_with(p / "notes.jpg", b"hello"), "not an image"),
    "truncated PNG": (lambda p: truncated(p, "cut.png", "PNG"), "truncated"),
    "truncated JPEG": (lambda p: truncated(p, "cut.jpg", "JPEG"), "truncated"),
    "zero width":    (lambda p: file_with(p / "zero.png", png_bytes(0, 4, 8, 2, b"")), ""),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_open_image_refuses_clearly(tmp_path, case):
    assert not ImageFile.LOAD_TRUNCATED_IMAGES, "someone switched Pillow's truncation check off"
    make, words = REFUSALS[case]
    path = make(tmp_path)
    with pytest.raises(ImageError) as err:
        open_image(path)
    assert str(path) in str(err.value) and words in str(err.value)


def test_open_image_refuses_unreadable_file(tmp_path):
    path = write(tmp_path, "locked.png", Image.new("RGB", (2, 2)))
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root (or on a file system without permissions)")
        with pytest.raises(ImageError, match="permission denied"):
            open_image(path)
    finally:
        path.chmod(0o644)


# ----------------------------------------------------------------------------- saving

@pytest.mark.parametrize("name", ["out.png", "out.jpg", "out.JPEG", "out.bmp", "out.tif",
                                  "out.webp", "out.ppm"])
def test_save_image_writes_the_format_of_the_extension(tmp_path, name):
    rgb = np.random.default_rng(3).integers(0, 256, size=(8, 6, 3), dtype=np.uint8)
    save_image(Image.fromarray(rgb), tmp_path / name)
    assert os.listdir(tmp_path) == [name]                      # no temporary file left
    with Image.open(tmp_path / name) as img:
        expected = images.SAVE_FORMATS[os.path.splitext(name)[1].lower()]
        assert img.format == expected and img.size == (6, 8)


def test_save_image_takes_an_array_and_round_trips_through_png(tmp_path):
    rgb = np.random.default_rng(4).integers(0, 256, size=(5, 9, 3), dtype=np.uint8)
    save_image(preprocess(rgb), tmp_path / "x.png")
    np.testing.assert_array_equal(np.asarray(open_image(tmp_path / "x.png")), rgb)


def test_save_image_replaces_an_existing_file(tmp_path):
    path = tmp_path / "x.png"
    save_image(Image.new("RGB", (3, 3), (0, 0, 0)), path)
    save_image(Image.new("RGB", (3, 3), (9, 9, 9)), path)
    assert os.listdir(tmp_path) == ["x.png"]
    assert np.asarray(open_image(path))[0, 0].tolist() == [9, 9, 9]


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_save_image_failure_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch, failure):
    path = tmp_path / "x.png"
    save_image(Image.new("RGB", (3, 3), (0, 0, 0)), path)
    before = path.read_bytes()

    def half_written_save(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG half an image")
        raise failure
    monkeypatch.setattr(Image.Image, "save", half_written_save)

    expected = ImageError if isinstance(failure, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as err:
        save_image(Image.new("RGB", (3, 3), (9, 9, 9)), path)
    if expected is ImageError:
        assert str(path) in str(err.value) and "disk full" in str(err.value)
    assert os.listdir(tmp_path) == ["x.png"] and path.read_bytes() == before


@pytest.mark.skipif(os.name != "posix", reason="RLIMIT_FSIZE is POSIX")
def test_a_write_that_fails_halfway_leaves_the_old_file_whole(tmp_path):
    # The failure strikes while the bytes are being written (as a full disk would), not
    # before: only writing elsewhere first and renaming keeps the old file.
    path = tmp_path / "x.png"
    save_image(Image.new("RGB", (64, 64), (0, 0, 0)), path)
    before = path.read_bytes()
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    with file_size_limit(len(before) + 100), pytest.raises(ImageError, match="large"):
        save_image(Image.fromarray(noise), path)               # some 12 KB: cut at ~0.3 KB
    assert os.listdir(tmp_path) == ["x.png"] and path.read_bytes() == before


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_save_image_file_mode_follows_the_umask(tmp_path):
    umask = os.umask(0o022)
    try:
        save_image(Image.new("RGB", (2, 2)), tmp_path / "x.png")
    finally:
        os.umask(umask)
    assert (tmp_path / "x.png").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("name, words", [("out.xyz", "unknown image extension"),
                                         ("out", "unknown image extension"),
                                         ("missing_dir/out.png", "does not exist")])
def test_save_image_refuses_clearly(tmp_path, name, words):
    path = tmp_path / name
    with pytest.raises(ImageError) as err:
        save_image(Image.new("RGB", (2, 2)), path)
    assert str(path) in str(err.value) and words in str(err.value)
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- colour

def constant(rgb, shape=(4, 5)):
    return np.broadcast_to(np.array(rgb, np.float32), shape + (3,)).copy()   # (H, W, 3)


def test_yiq_round_trip_and_white():
    rgb = np.random.default_rng(5).uniform(0, 255, size=(6, 7, 3)).astype(np.float32)
    # model 1, float32: each way a 3 x 3 product (3 roundings); YIQ_TO_RGB, the inverse
    # computed in float64, stored in float32 (one more): |inverse| |matrix| |rgb| the magnitude
    round_trip = np.abs(YIQ_TO_RGB) @ np.abs(RGB_TO_YIQ)
    assert_within(yiq_to_rgb(rgb_to_yiq(rgb)), rgb, bound(rgb @ round_trip.T, 8, "float32"))
    # white: each row of the matrix summed (3 roundings, the rows' float32 entries 1 more)
    assert_within(rgb_to_yiq(constant((255, 255, 255)))[0, 0], [255, 0, 0],
                  bound(255 * np.abs(RGB_TO_YIQ).sum(axis=1), 4, "float32"))


def test_luminance_transfer_keeps_stylized_luminance_and_content_colour():
    stylized = constant((40, 160, 90))               # green-ish, luminance about 117
    content = constant((150, 110, 100))              # a warm colour
    out = luminance_transfer(stylized, content)
    assert out.shape == (4, 5, 3) and out.min() >= 0 and out.max() <= 255
    yiq_out, yiq_s, yiq_c = rgb_to_yiq(out), rgb_to_yiq(stylized), rgb_to_yiq(content)
    # no clipping here, so a YIQ round trip of the recombined pixel (model 1, as above)
    limit = bound(np.abs(yiq_out) @ (np.abs(RGB_TO_YIQ) @ np.abs(YIQ_TO_RGB)).T, 8, "float32")
    assert_within(yiq_out[..., 0], yiq_s[..., 0], limit[..., 0], "Y from stylized")
    assert_within(yiq_out[..., 1:], yiq_c[..., 1:], limit[..., 1:], "I, Q from content")


def test_luminance_transfer_refuses_different_sizes():
    with pytest.raises(ValueError):
        luminance_transfer(constant((1, 2, 3), (4, 5)), constant((1, 2, 3), (5, 4)))


def correlated_pixels(rng, shape, mean, mixing):
    """Gaussian pixels with the given mean and covariance mixing @ mixing.T, as (H, W, 3)."""
    return (rng.standard_normal(shape + (3,)) @ np.array(mixing).T + mean).astype(np.float32)


def test_match_color_gives_the_content_mean_and_covariance():
    rng = np.random.default_rng(6)
    style = correlated_pixels(rng, (60, 80), [90, 140, 120], [[25, 5, 0], [10, 20, 0], [0, 8, 15]])
    content = correlated_pixels(rng, (50, 70), [130, 110, 100], [[12, 0, 3], [4, 10, 0], [2, 3, 9]])
    out = match_color(style, content)
    assert out.shape == style.shape and out.dtype == np.float32   # the style image, recoloured
    pixels_out, pixels_c = out.reshape(-1, 3), content.reshape(-1, 3)   # (H*W, 3)
    # In exact arithmetic x' = A (x - mu_s) + mu_c has exactly the content's mean and
    # covariance (the pixels lie 8 standard deviations inside 0..255: no clipping). Model 1,
    # float32: each pixel is within E = gamma_6 (|A||x - mu_s| + |mu_c|) of that (the
    # eigen-decompositions, in float64, add far less); so the mean is within max E, and
    # the covariance within 2 max E max|x' - mu_c| + E^2.
    assert 0 < out.min() and out.max() < 255

    def sqrtm(cov, power):                                            # the docstring's A
        w, v = np.linalg.eigh(cov)
        return (v * w ** power) @ v.T
    ps = style.reshape(-1, 3).astype(np.float64)
    A = sqrtm(np.cov(pixels_c, rowvar=False), 0.5) @ sqrtm(np.cov(ps, rowvar=False), -0.5)
    E = gamma(6, "float32") * ((np.abs(ps - ps.mean(axis=0)) @ np.abs(A).T).max()
                               + np.abs(pixels_c.mean(axis=0)).max())
    mean_c = pixels_c.mean(axis=0, dtype=np.float64)                   # the test's own sums in float64
    assert_within(pixels_out.mean(axis=0, dtype=np.float64), mean_c, E, "mean")
    spread = np.abs(pixels_out - mean_c).max()
    assert_within(np.cov(pixels_out, rowvar=False), np.cov(pixels_c, rowvar=False),
                  2 * E * spread + E * E, "covariance")


def test_match_color_of_a_flat_style_is_the_content_mean():
    rng = np.random.default_rng(7)
    content = correlated_pixels(rng, (20, 20), [130, 110, 100], np.eye(3) * 10)
    out = match_color(constant((50, 60, 70), (8, 8)), content)
    assert np.isfinite(out).all()
    # flat: x - mu_s is exactly 0, so x' is mu_c rounded to float32 (u |mu_c|)
    mean = content.reshape(-1, 3).mean(axis=0, dtype=np.float64)
    assert_within(out, constant(mean, (8, 8)), U32 * np.abs(mean), "the content mean")


def test_yiq_of_the_primaries_is_the_ntsc_matrix():
    # Pure red, green and blue give the columns of YIQ's matrix, times 255: Y 0.299, 0.587,
    # 0.114 (Rec. 601, the luminance of the paper's colour preservation -- not Rec. 709's
    # 0.2126, 0.7152, 0.0722). Model 1, float32: one product per entry.
    ntsc = np.array([[0.299, 0.587, 0.114],
                     [0.595716, -0.274453, -0.321263],
                     [0.211456, -0.522591, 0.311135]])
    for k in range(3):
        rgb = np.zeros(3, np.float32)
        rgb[k] = 255
        yiq = rgb_to_yiq(constant(rgb))[0, 0]
        assert_within(yiq, 255 * ntsc[:, k], bound(255 * np.abs(ntsc[:, k]), 4, "float32"))
