"""The cases of the losses' exercises (content, Gram and style, total variation) and of the
chain (a VGG block with all three), simplest first, and the slips each can show.
exercises/cases.py explains how cases are built and lists them all.
"""
import numpy as np

from exercises import diagnose as dg
from exercises import reference as ref
from exercises.diagnose import IGNORED_UPSTREAM
from exercises.harness import Case, check_backward, rng_of
from minigrad.losses import NEIGHBOURS, pair_views


# ------------------------------------------------------------------ 6. content loss

def content_cases(mod):
    def run():
        rng = rng_of(0)
        F = np.maximum(rng.standard_normal((1, 4, 3, 5)), 0)          # a ReLU's output: zeros where off
        P = np.maximum(rng.standard_normal((1, 4, 3, 5)), 0)

        def signs(dL, want):
            return {"dF": [
                dg.only_where(F == 0, want[0], "your gradient is 0 where F = 0. Eq. 2's \"0 where "
                              "F < 0\" is the ReLU's backward, one layer down: the mask belongs on "
                              "the other side of the ReLU. The loss returns the plain F - P "
                              "(times dL)."),
                dg.looks_like(F - P, IGNORED_UPSTREAM),
                dg.factor(2.0, want[0], "a factor of 2: the 1/2 of eq. 1 is there to cancel the "
                          "2 that the square's derivative brings down.")]}
        check_backward(mod.content_loss_forward, lambda *a: mod.content_loss_backward(*a),
                       ref.content_loss_forward, ref.content_loss_backward,
                       [F, P], ["dF"], signs=signs)
    return {"content_loss_backward": [
        Case("F (1, 4, 3, 5), a ReLU's output with zeros; P the photo's; a random scalar dL", run)]}


# ------------------------------------------------------------------ 7. Gram matrix and style loss

def style_cases(mod):
    return {
        "gram_backward": [
            Case("F (1, 3, 2, 3) and a symmetric dG", _gram_run(mod, (1, 3, 2, 3), True, 3)),
            Case("F (1, 4, 3, 2) and a random dG, not symmetric",
                 _gram_run(mod, (1, 4, 3, 2), False, 4),
                 "the symmetric case passed: the upstream gradient of G is not symmetric in "
                 "general, and each of the two terms of dG = dF F^T + F dF^T counts on its own.")],
        "style_loss_backward": [
            Case("F (1, 4, 3, 5) from a ReLU, A a Gram matrix, a random scalar dE",
                 lambda: _style_run(mod))],
    }


def _gram_run(mod, shape, symmetric, seed):
    def run():
        F = rng_of(seed).standard_normal(shape)
        Fm = F.reshape(shape[1], -1)                                  # (C, H*W)
        one_term = ("only one of the two terms: G = F F^T holds F twice, and "
                    "dG = dF F^T + F dF^T gives a term for each.")

        def signs(dG, want):
            return {"dF": [
                dg.looks_like((dG @ Fm).reshape(F.shape), one_term),
                dg.looks_like((dG.T @ Fm).reshape(F.shape), one_term),
                dg.looks_like((2 * dG @ Fm).reshape(F.shape), "you assumed dG is symmetric: "
                              "(dG + dG^T) F equals 2 dG F only then. An upstream gradient "
                              "of G is any (C, C) array (the checker's is random), so keep "
                              "both terms.")]}
        check_backward(mod.gram_forward, lambda *a: mod.gram_backward(*a),
                       ref.gram_forward, ref.gram_backward, [F], ["dF"], seed=seed,
                       signs=signs, shape_upstream=(lambda d: d + d.T) if symmetric else None)
    return run


def _style_run(mod):
    rng = rng_of(5)
    F = np.maximum(rng.standard_normal((1, 4, 3, 5)), 0)
    S = np.maximum(rng.standard_normal((1, 4, 3, 5)), 0).reshape(4, -1)
    A = S @ S.T                                                       # the style image's Gram matrix
    N, M = 4, 15
    missing = ("the normalisation is missing: eq. 4's 1/(4 N^2 M^2) stays in the gradient as "
               "1/(N^2 M^2) (here N = 4, M = 15).")

    def signs(dE, want):
        return {"dF": [
            dg.looks_like(ref.style_loss_backward(1.0, (F, A)), IGNORED_UPSTREAM),
            dg.factor(N * N * M * M, want[0], missing),
            dg.factor(4 * N * N * M * M, want[0], missing),
            dg.factor(0.5, want[0], "a factor of 2 lost: dE/dG = 2 (G - A) / (4 N^2 M^2), and "
                      "the Gram backward of this symmetric dG is 2 dG F: the two 2s and the 4 "
                      "cancel, leaving (G - A) F / (N^2 M^2)."),
            dg.factor(2.0, want[0], "a factor of 2 too many: dE/dG = 2 (G - A) / (4 N^2 M^2), "
                      "and the Gram backward of this symmetric dG is 2 dG F: the two 2s and "
                      "the 4 cancel, leaving (G - A) F / (N^2 M^2).")]}
    check_backward(mod.style_loss_forward, lambda *a: mod.style_loss_backward(*a),
                   ref.style_loss_forward, ref.style_loss_backward, [F, A], ["dF"], signs=signs)


# ------------------------------------------------------------------ 8. total variation

def tv_cases(mod):
    def run(shape, seed):
        def run_case():
            x = rng_of(seed).standard_normal(shape)

            def one_end(sign, dL):
                g = np.zeros_like(x)
                for (di, dj), w in NEIGHBOURS:
                    a, b = pair_views(x, di, dj)
                    d = x[a] - x[b]
                    if sign > 0:
                        g[a] += 2 * w * d
                    else:
                        g[b] -= 2 * w * d
                return dL * g

            def signs(dL, want):
                message = ("only one end of each difference received its share: d = x_a - x_b "
                           "sends +2d to x_a AND -2d to x_b.")
                return {"dx": [dg.looks_like(one_end(1, dL), message),
                               dg.looks_like(one_end(-1, dL), message),
                               dg.looks_like(ref.tv_backward(1.0, x), IGNORED_UPSTREAM)]}
            check_backward(mod.tv_forward, lambda *a: mod.tv_backward(*a), ref.tv_forward,
                           ref.tv_backward, [x], ["dx"], seed=seed, signs=signs)
        return run_case
    return {"tv_backward": [
        Case("a 2 x 3 image, one channel", run((1, 1, 2, 3), 0)),
        Case("2 images of 3 channels, 4 x 5", run((2, 3, 4, 5), 1),
             "the one-channel case passed: every channel and image has its own differences.")]}


# ------------------------------------------------------------------ 9. the chain

def block_inputs(seed=7):
    """x (1, 3, 8, 8), weights for conv1_1 (3 -> 4), conv1_2 (4 -> 4), conv2_1 (4 -> 6), targets."""
    rng = rng_of(seed)
    params = {name: (rng.standard_normal((K, C, 3, 3)) * np.sqrt(2.0 / (9 * C)),
                     0.1 * rng.standard_normal(K))
              for name, K, C in (("conv1_1", 4, 3), ("conv1_2", 4, 4), ("conv2_1", 6, 4))}
    x = rng.standard_normal((1, 3, 8, 8))
    P = np.maximum(rng.standard_normal((1, 6, 4, 4)), 0)               # the photo's conv2_1
    S = np.maximum(rng.standard_normal((4, 64)), 0)
    A = S @ S.T                                                        # the painting's Gram at conv1_1
    return x, params, P, A, 0.5, 2000.0, 0.05                          # alpha, beta, tv weight


def block_slips(dloss, c):
    """(array, message) for what typical slips in the walk give, from the reference engine."""
    content = dloss * c["alpha"] * ref.content_loss_backward(1.0, c["content"])
    style = dloss * c["beta"] * ref.style_loss_backward(1.0, c["style"])
    tv = dloss * c["tv_weight"] * ref.tv_backward(1.0, c["tv"])

    def to_F1(d, mask_top=True):                # from conv2_1's ReLU output down to F1
        d = ref.relu_backward(d, c["relu2_1"]) if mask_top else d
        d = ref.conv_backward(d, c["conv2_1"])[0]
        d = ref.maxpool_backward(d, c["pool1"])
        d = ref.relu_backward(d, c["relu1_2"])
        return ref.conv_backward(d, c["conv1_2"])[0]

    def to_x(dF1):                              # from F1 down to the pixels
        return ref.conv_backward(ref.relu_backward(dF1, c["relu1_1"]), c["conv1_1"])[0]
    above = to_F1(content)
    return [
        (to_x(style) + tv, "at conv1_1 the style gradient REPLACED the gradient coming down from "
         "the content tap. The loss is a sum, so at a tap the two gradients add (`+=`, not `=`): "
         "vgg.model.VGG19.backward does `dx + grads[name]`."),
        (to_x(above) + tv, "the style term never joined: add beta * dE/dF1 at conv1_1, the layer "
                           "the style loss reads."),
        (ref.conv_backward(ref.relu_backward(above, c["relu1_1"]) + style, c["conv1_1"])[0] + tv,
         "the style gradient joined on the wrong side of conv1_1's ReLU. The style loss reads F1, "
         "the ReLU's OUTPUT, so its gradient joins above the ReLU and passes through its mask, "
         "like the gradient from above."),
        (to_x(to_F1(content, mask_top=False) + style) + tv, "the content gradient skipped conv2_1's "
         "ReLU: the content loss reads the ReLU's output, so its gradient goes through the mask "
         "first (eq. 2's \"0 where F < 0\")."),
        (to_x(above + style), "the TV gradient is missing: tv_weight * dTV/dx joins at the pixels."),
    ]


def vgg_block_cases(mod):
    def run():
        inputs = list(block_inputs())

        def signs(dloss, want):
            _, cache = mod.vgg_block_forward(*inputs)
            ones = ref.vgg_block_backward(1.0, cache)
            return {"dx": [dg.looks_like(a, m) for a, m in block_slips(dloss, cache)]
                    + [dg.looks_like(ones, IGNORED_UPSTREAM)]}
        check_backward(mod.vgg_block_forward, lambda *a: mod.vgg_block_backward(*a),
                       mod.vgg_block_forward, ref.vgg_block_backward, inputs, ["dx"], signs=signs)
    return {"vgg_block_backward": [
        Case("x (1, 3, 8, 8) through conv1_1, conv1_2, pool1, conv2_1; style at conv1_1, content "
             "at conv2_1, TV at the pixels; a random scalar dloss", run)]}
