"""Colour preservation, after Gatys, Ecker, Bethge, Hertzmann and Shechtman, "Preserving
Color in Neural Artistic Style Transfer" (2016): two ways to keep the photo's colours.

    luminance_transfer   keep the result's luminance, take the content's colours (I, Q of YIQ)
    match_color          recolour the painting to the photo's colour mean and covariance
                         before stylising (the paper's colour histogram matching)

Arrays are float (H, W, 3) RGB in 0..255; results are float32, clipped to 0..255.
luminance_only and recolor are the same on PIL images, as vgg/run.py uses them.
"""
import numpy as np
from PIL import Image

# YIQ, the NTSC colour space the paper uses: Y is luminance, I and Q carry the colour.
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                       [0.595716, -0.274453, -0.321263],
                       [0.211456, -0.522591, 0.311135]], dtype=np.float32)
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ).astype(np.float32)


def rgb_to_yiq(rgb):
    """(H, W, 3) RGB -> (H, W, 3) YIQ: each pixel times RGB_TO_YIQ."""
    return np.asarray(rgb, dtype=np.float32) @ RGB_TO_YIQ.T     # (H, W, 3)


def yiq_to_rgb(yiq):
    """(H, W, 3) YIQ -> (H, W, 3) RGB, the exact inverse of rgb_to_yiq (not clipped)."""
    return np.asarray(yiq, dtype=np.float32) @ YIQ_TO_RGB.T     # (H, W, 3)


def luminance_transfer(stylized_rgb, content_rgb):
    """The stylised image's luminance (Y) with the content image's colour (I, Q).

    The paper's "luminance-only transfer" runs the whole optimisation on luminance
    channels and then adds the content's I and Q. This is the cheap form applied
    afterwards, as neural-style's -original_colors does: same recombination step,
    stylising in full colour first. Both images must have the same (H, W).
    """
    stylized, content = rgb_to_yiq(stylized_rgb), rgb_to_yiq(content_rgb)
    if stylized.shape != content.shape:
        raise ValueError(f"images differ in shape: {stylized.shape} and {content.shape}")
    yiq = np.concatenate([stylized[:, :, :1], content[:, :, 1:]], axis=2)   # (H, W, 3)
    return np.clip(yiq_to_rgb(yiq), 0, 255)


def _sqrtm(cov, inverse=False, eps=1e-5):
    """Symmetric square root of a covariance, or of its inverse: V diag(w^(+-1/2)) V^T."""
    w, v = np.linalg.eigh(cov)
    w = np.maximum(w, eps)              # a flat image has zero variance: keep it invertible
    return (v * (w ** (-0.5 if inverse else 0.5))) @ v.T


def match_color(style_rgb, content_rgb, eps=1e-5):
    """Recolour the style image so its pixels have the content's mean and covariance.

    The paper's colour histogram matching: x' = A x + b for every style pixel x, with
        A = Sigma_c^(1/2) Sigma_s^(-1/2),   b = mu_c - A mu_s,
    so that mean(x') = mu_c and cov(x') = A Sigma_s A^T = Sigma_c. Of the paper's two
    choices of A we use this one, the symmetric eigenvalue square root (the "Image
    Analogies" variant); the other is Cholesky, A = L_c L_s^-1 with Sigma = L L^T.
    The two images may differ in size. Clipping to 0..255 can move the statistics a little.
    eps floors the covariances' eigenvalues, so a flat (zero-variance) style stays invertible.
    """
    style = np.asarray(style_rgb, dtype=np.float32)
    content = np.asarray(content_rgb, dtype=np.float32)
    xs, xc = style.reshape(-1, 3), content.reshape(-1, 3)       # (H*W, 3) pixels as rows
    mu_s, mu_c = xs.mean(axis=0, dtype=np.float64), xc.mean(axis=0, dtype=np.float64)
    cov_s, cov_c = np.cov(xs, rowvar=False), np.cov(xc, rowvar=False)   # (3, 3), float64
    A = _sqrtm(cov_c, eps=eps) @ _sqrtm(cov_s, inverse=True, eps=eps)
    # x' = A x + b, written A (x - mu_s) + mu_c: the same map, without float32 cancellation.
    out = (xs - mu_s.astype(np.float32)) @ A.T.astype(np.float32) + mu_c.astype(np.float32)
    return np.clip(out.reshape(style.shape), 0, 255)            # (H, W, 3)



# The two recipes on PIL images, as stylize.py's --preserve-colors uses them.

def luminance_only(img):
    """The image's luminance Y (of YIQ) as a grey RGB image: the input of luminance-only transfer."""
    y = rgb_to_yiq(np.asarray(img.convert("RGB"), dtype=np.float32))[..., :1]     # (H, W, 1)
    return Image.fromarray(np.round(np.clip(np.repeat(y, 3, axis=2), 0, 255)).astype(np.uint8))


def recolor(style_img, content_img):
    """The style image recoloured to the content's colour statistics (match_color), as a PIL image.

    Used for colour histogram matching, and, on luminance images, to give the style's
    luminance the photo's mean and spread (a grey image's covariance has one direction,
    so match_color then matches that one mean and standard deviation).
    """
    out = match_color(np.asarray(style_img.convert("RGB")), np.asarray(content_img.convert("RGB")))
    return Image.fromarray(np.round(out).astype(np.uint8))
