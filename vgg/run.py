"""One stylization, importable: the canvas at each scale, the targets, the optimisation loop.

    from vgg.model import VGG19
    from vgg.run import Settings, Stylization
    run = Stylization(VGG19.load(), Settings(size=256, iters=150), photo, [painting])
    for report in run.reports():            # one Report per optimiser step
        print(report.evals, report.loss, report.terms)
    run.image().save("out.png")             # the photo (PIL) in the painting's style

This is the paper's procedure (Gatys, Ecker and Bethge, CVPR 2016, section 2 and
eq. 7): capture the targets once (vgg/transfer.py's Objective), start from an
image (white noise in the paper; the photo by default here), and minimise
L(x) = alpha L_content + beta L_style (+ tv TV) with L-BFGS (minigrad/optim.py)
until a budget of evaluations of f is spent, optionally coarse to fine. L-BFGS's steps favour
no orientation (vgg/orientation.py): else conv1_1 grows a mesh of thin lines (docs/look.md).

The run never prints and never writes a file. Whoever drives it (stylize.py,
figures.py, a notebook) sees each step as a Report and decides what to show or
save; an exception (Ctrl-C, NonFinite) leaves `run.x` at the last finished step
and `run.good` at the last image whose loss was finite.
"""
import math
import time
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import ThreadpoolController

from minigrad.adam import Adam
from minigrad.backend import backend_module, to_device
from minigrad.optim import LBFGS

from . import colour, images
from .canvas import canvas_shapes, style_shapes
from .layout import LAYER_NAMES, min_input_size
from .orientation import orientation_filter
from .transfer import CONTENT_LAYERS, STYLE_LAYERS, Objective, resize_array
from .turns import with_turns

# The weights of eq. 7 for each normalisation (vgg/transfer.py) and the default style layers' w_l
# in transfer mode (None: eq. 5's 1/5); "relative"'s measured on benchmarks/look.py's pairs (README).
WEIGHTS = {"relative": dict(alpha=0.03, beta=1.0, tv=0.0, layers=[0.25, 1, 1, 4, 0.25]),
           "paper": dict(alpha=None, beta=1.0, tv=1e-3, layers=None)}   # alpha None: default_alpha
# The default --jitter, pixels: shifts of 0..15 px reach every phase of the 2-, 4-, 8- and
# 16-px grids of the four poolings below conv5_1 (docs/look.md, "The mesh", measured it).
JITTER = 15
# The default --style-turns (degrees) and --style-turn-share (vgg/turns.py; docs/look.md).
TURNS, TURN_SHARE = [22.5, -22.5], 0.6
LEARNING_RATES = {"lbfgs": 1.0, "adam": 10.0}              # in pixel units (0..255 scale)
LINE_SEARCH = {"strong-wolfe": "strong_wolfe", "none": None}
MODES = ("transfer", "content", "style")
INITS = ("noise", "content", "style")


def default_alpha(size):
    """alpha = 1e-2 at 256 px, scaled by (256 / size)^2: the paper's terms' balance at every size.

    The content loss (eq. 1) sums over the M_l pixels of a layer, so it grows with
    the image; the style loss (eq. 4) divides by M_l^2 what grows as M_l^2, so it
    does not. A fixed alpha/beta would let the photo swamp the style at 512 px.
    alpha/beta = 1e-2 at 256 px gives the familiar balanced result on the original VGG-19
    weights (Tuebingen + Starry Night; docs/figures.md's Figure 3 sweeps it); the paper's
    1e-3..1e-4 were for its own rescaled network.
    """
    return 1e-2 * (256 / size) ** 2


@dataclass
class Settings:
    """What a run needs to know: stylize.py's options of the same names (see its --help), and
    the one place their defaults are written (vgg/cli.py's parser reads them here).

    The weights left as None take their defaults for the normalisation (WEIGHTS),
    lr its optimiser's, and --mode style/content start from noise unless given an
    image: after construction every field holds the value the run will use.
    """
    mode: str = "transfer"               # transfer (eq. 7), content (Fig. 1), style (texture)
    size: int = 512                      # longest side of the result, pixels
    iters: int = 500                     # evaluations of f per scale: the budget
    content_weight: float = None         # alpha
    style_weight: float = None           # beta
    tv_weight: float = None
    normalization: str = "relative"      # relative | paper (vgg/transfer.py)
    content_layers: list = field(default_factory=lambda: list(CONTENT_LAYERS))
    style_layers: list = field(default_factory=lambda: list(STYLE_LAYERS))
    content_layer_weights: list = None   # v_l, normalised to sum to 1 (None: equal)
    style_layer_weights: list = None     # w_l of eq. 5, normalised (None: WEIGHTS', else equal)
    style_blend: list = None             # one weight per style image (None: equal)
    style_scale: float = 1.0             # paintings' sides, 1: the canvas's pixel count
    style_turns: list = None             # degrees: the painting's turned copies (vgg/turns.py)
    style_turn_share: float = TURN_SHARE  # the copies' share of each painting's weight
    preserve_colors: str = None          # None | luminance | histogram
    scales: int = 1                      # coarse-to-fine: size / 2^(scales-1), ..., size
    init: str = "content"                # noise | content | style | image (pass init=)
    seed: int = 0                        # of the noise and of the jitter's shifts
    jitter: int = None                   # VGG sees the image rolled by 0..jitter px, anew each step
    optimizer: str = "lbfgs"             # lbfgs | adam
    lr: float = None
    history: int = 100                   # L-BFGS memory, pairs
    line_search: str = "strong-wolfe"    # strong-wolfe | none
    precondition: str = None             # orientation | none (L-BFGS's H_0; vgg/orientation.py)
    pooling: str = "max"                 # max | avg: VGG's pooling (vgg/layout.py)
    backend: str = "numpy"               # numpy | cupy
    engine: str = "fast"                 # fast | reference (minigrad/engines.py)

    def __post_init__(self):
        defaults = WEIGHTS[self.normalization]
        if self.content_weight is None:
            self.content_weight = defaults["alpha"] if defaults["alpha"] is not None \
                else default_alpha(self.size)
        if self.style_weight is None:
            self.style_weight = defaults["beta"]
        if self.tv_weight is None:           # Fig. 1 rebuilds the photo by the content loss alone
            self.tv_weight = 0.0 if self.mode == "content" else defaults["tv"]
        if self.jitter is None:              # ... and without moving VGG's grid (the paper)
            self.jitter = 0 if self.mode == "content" else JITTER
        if self.style_layer_weights is None and self.style_layers == STYLE_LAYERS \
                and self.mode == "transfer" and defaults["layers"]:   # conv4_1 leads (docs/look.md)
            self.style_layer_weights = list(defaults["layers"])
        if self.style_turns is None:         # a texture (--mode style) is the painting's own
            self.style_turns = list(TURNS) if self.mode == "transfer" else []
        self.lr = LEARNING_RATES[self.optimizer] if self.lr is None else self.lr
        if self.precondition is None:        # the mesh's cure; Fig. 1, textures and Adam: none
            lbfgs_transfer = self.mode == "transfer" and self.optimizer == "lbfgs"
            self.precondition = "orientation" if lbfgs_transfer else "none"
        if self.precondition == "orientation" and self.optimizer != "lbfgs":
            raise ValueError("--precondition orientation is L-BFGS's H_0; Adam has none")
        if (self.mode == "style" and self.init == "content") or \
                (self.mode == "content" and self.init in ("content", "style")):
            self.init = "noise"     # no photo to start from; Fig. 1 rebuilds the photo from noise

    def layers_used(self):
        return ((self.content_layers if self.mode != "style" else []) +
                (self.style_layers if self.mode != "content" else []))

    def deepest(self):
        return max(self.layers_used(), key=LAYER_NAMES.index)

    def min_side(self):
        """The smallest image side the deepest layer used takes."""
        return min_input_size(self.deepest())

    def coarsest(self):
        """The longest side of the first, coarsest scale: size / 2^(scales - 1), rounded down
        (a shift: no power of two is built, however large --scales is)."""
        return self.size >> min(self.scales - 1, self.size.bit_length())


@dataclass
class Report:
    """One optimiser step, as the run reports it."""
    step: int          # steps so far, all scales
    evals: int         # evaluations of f so far, all scales
    new_evals: int     # evaluations this step took (a line search may take several)
    loss: float        # L at `image`
    terms: dict        # the unweighted terms at `image`: content, style, tv (Objective.terms)
    layers: dict       # each layer's own term at `image` (Objective.layer_terms)
    image: object      # the image `loss` belongs to, (1, 3, H, W) in Caffe space, on the backend
    scale: int         # 0-based
    seconds: float     # since the run started


class NonFinite(Exception):
    """The loss became NaN or infinite; .last_good is the last image with a finite loss."""

    def __init__(self, message, last_good):
        super().__init__(message)
        self.last_good = last_good


def white_noise(shape, seed):
    """The paper's starting image: white noise of unit variance in Caffe space, i.e. a
    mean-grey image with faint grain, (1, 3, H, W) float32; drawn on the host, so a seed
    gives the same start on any backend."""
    return np.random.default_rng(seed).standard_normal((1, 3) + tuple(shape)).astype(np.float32)


class Stylization:
    """One run: `reports()` optimises and yields a Report per step; `image()` is the result."""

    def __init__(self, model, settings, content=None, styles=(), init=None, warn=None, shapes=None):
        """model: a loaded vgg.model.VGG19 on settings.backend; content: the photo (PIL RGB,
        None for --mode style); styles: the paintings (PIL RGB); init: a PIL image to start
        from (settings.init is then ignored); warn(message): told of anything adjusted;
        shapes: the canvas at each scale, if the caller has already computed it (canvas_shapes)."""
        s = self.settings = settings
        self.model = model
        self.colours = None                       # the photo whose colours go back in at the end
        content = content if s.mode != "style" else None
        styles = list(styles) if s.mode != "content" else []
        if s.preserve_colors == "luminance":      # Gatys et al. 2016b: transfer on luminance
            self.colours, content = content, colour.luminance_only(content)
            styles = [colour.recolor(colour.luminance_only(p), content) for p in styles]
        elif s.preserve_colors == "histogram":    # ... or recolour the paintings first
            styles = [colour.recolor(p, content) for p in styles]
        self.content, self.styles, self.init = content, styles, init
        self.shapes = shapes or canvas_shapes(s, content, styles, warn)
        sides = [max(shape) for shape in style_shapes(s, self.shapes[-1], styles)]
        self.style_images, self.style_blend = with_turns(styles, s.style_blend, s.style_turns,
                                                         s.style_turn_share, sides)
        self.x = self.good = None                 # the current image; the last with a finite loss
        self.steps = self.evals = 0
        self.loss, self.terms, self.layer_terms = float("nan"), {}, {}
        self._blas = ThreadpoolController()

    def objective(self, shape):
        """Objective (vgg/transfer.py) for a canvas of `shape` (H, W), targets captured."""
        s = self.settings
        content = None
        if self.content is not None:
            content = to_device(images.preprocess(images.resize_to(self.content, shape)), s.backend)
        styles = [to_device(images.preprocess(images.resize_to(p, size)), s.backend)
                  for p, size in zip(self.style_images, style_shapes(s, shape, self.style_images))]
        return Objective(self.model, (1, 3) + tuple(shape), content, styles, self.style_blend,
                         s.content_layers, s.style_layers,
                         s.content_weight if s.mode != "style" else 0.0,
                         s.style_weight if s.mode != "content" else 0.0,
                         s.tv_weight, s.normalization,
                         s.content_layer_weights, s.style_layer_weights)

    def start(self, shape):
        """The first x: white noise (the paper), the photo, a painting, or the given image."""
        s = self.settings
        image = self.init
        if image is None and s.init in ("content", "style"):
            image = self.content if s.init == "content" else self.styles[0]
        if image is None:
            return to_device(white_noise(shape, s.seed), s.backend)
        return to_device(images.preprocess(images.resize_to(image, shape)), s.backend)

    def reports(self):
        """Optimise, scale by scale, yielding a Report after each step; NonFinite on a NaN."""
        t0 = time.perf_counter()
        for k, shape in enumerate(self.shapes):
            objective = self.objective(shape)
            self.x = self.start(shape) if k == 0 else resize_array(self.x, shape)  # upsample
            yield from self._steps(objective, self.optimiser(shape), k, t0)

    def optimiser(self, shape):
        """L-BFGS (its H_0 preconditioned unless --precondition none) or Adam, from self.x."""
        s = self.settings
        if s.optimizer == "adam":
            return Adam(self.x, lr=s.lr)
        precondition = None if s.precondition == "none" else orientation_filter(
            self.model.params()["conv1_1"][0], shape, backend_module(s.backend))  # (64, 3, 3, 3)
        return LBFGS(self.x, lr=s.lr, history=s.history, line_search=LINE_SEARCH[s.line_search],
                     precondition=precondition)

    def _steps(self, objective, opt, k, t0):
        """One scale: opt's steps on objective until the budget is spent, a Report after each."""
        s = self.settings
        seen = []                               # (image, terms, layer terms) of each call of f
        shifts = np.random.default_rng(s.seed)  # the jitter's: the same run, the same shifts

        def f(image):
            loss, grad = objective(image)
            seen.append((image, objective.terms, objective.layer_terms))
            return loss, grad

        while opt.n_evals < s.iters:
            seen.clear()
            if s.jitter:                        # a new place on VGG's pooling grid (transfer.py)
                _, _, H, W = opt.x.shape        # (rolling by the image's side is no shift)
                objective.shift_to(int(shifts.integers(0, min(s.jitter, H - 1) + 1)),
                                   int(shifts.integers(0, min(s.jitter, W - 1) + 1)))
                opt.objective_changed()         # the pair so far is the old f's; x_k anew
            # The BLAS on one thread: the engine spreads the network over its own workers, and
            # a multi-threaded BLAS beside them spins, slowing a busy machine several times over
            # (benchmarks/RESULTS.md). Overflow is caught below as a non-finite loss.
            with np.errstate(over="ignore", invalid="ignore"), \
                    self._blas.limit(limits=1, user_api="blas"):
                loss = opt.step(f, max_evals=s.iters - opt.n_evals)  # the loss at opt.loss_x
            if not seen:
                break                                         # a zero gradient: nothing to do
            yield self._after_step(opt, loss, seen, k, t0)

    def _after_step(self, opt, loss, seen, k, t0):
        """The Report of the step just taken (its terms: those of the call at opt.loss_x)."""
        if not math.isfinite(loss):
            raise NonFinite(f"the loss became {loss} at step {self.steps + 1} "
                            "(try a smaller --lr or --style-weight)", self.good)
        self.terms, self.layer_terms = next(((t, lt) for image, t, lt in seen
                                             if image is opt.loss_x),
                                            (self.terms, self.layer_terms))
        self.steps += 1
        self.evals += len(seen)
        self.good, self.x, self.loss = opt.loss_x, opt.x, loss
        return Report(self.steps, self.evals, len(seen), loss, dict(self.terms),
                      self.layer_terms, opt.loss_x, k, time.perf_counter() - t0)

    def image(self, x=None):
        """x (default: the current image) as a PIL image, with the photo's colours if asked."""
        from PIL import Image
        img = images.deprocess(self.x if x is None else x)
        if self.colours is not None:
            photo = np.asarray(images.resize_to(self.colours, img.size[::-1]), np.float32)
            rgb = colour.luminance_transfer(np.asarray(img, np.float32), photo)    # (H, W, 3)
            img = Image.fromarray(np.round(rgb).astype(np.uint8))
        return img
