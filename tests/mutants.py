"""A mutation probe: deliberate slips in the code, each of which a named test must catch.

    python -m tests.mutants             # every mutant, one at a time
    python -m tests.mutants c1 host     # some of them, by name

Each mutant replaces one piece of text in one file of a copy of this checkout (never the
checkout itself), then runs the tests that claim to guard that behaviour there. The
mutant is *caught* if at least one of them fails. A survivor is a missing test.
It is a tool for the developer, not a test: CI does not run it (a full probe takes
minutes).

The first mutants are the slips of issue 20's probe that no test caught; each line says
which test now catches it.
"""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name: (file, text, replacement, tests that must catch it)
MUTANTS = {
    "c1": ("minigrad/line_search.py", "WOLFE_C1 = 1e-4", "WOLFE_C1 = 1e-3",
           ["tests/test_optim.py::test_sufficient_decrease_takes_c1_of_1e_4_at_its_boundary"]),
    "pair sign": ("minigrad/optim.py", "keep = ys > self.eps * -gs", "keep = ys < self.eps * -gs",
                  ["tests/test_optim.py::test_pairs_without_positive_curvature_are_never_stored"]),
    "pair abs": ("minigrad/optim.py", "keep = ys > CURVATURE_EPS", "keep = abs(ys) > CURVATURE_EPS",
                 ["tests/test_optim.py::test_pairs_without_positive_curvature_are_never_stored"]),
    "pair abs (line search)": ("minigrad/optim.py", "keep = ys > self.eps * -gs",
                               "keep = abs(ys) > self.eps * -gs",
                               ["tests/test_optim.py::test_pairs_without_positive_curvature_are_never_stored"]),
    "pool taps": ("vgg/layout.py", "LAYER_NAMES[:LAYER_NAMES.index(tap) + 1]",
                  "LAYER_NAMES[:LAYER_NAMES.index(tap)]",
                  ["tests/test_vgg.py::test_a_pool_tap_needs_twice_the_side_of_the_layer_before"]),
    "tv yardstick": ("vgg/transfer.py",
                     "ref_tv = losses.tv_loss(ref)[0] * (shape[2] * shape[3]) / (ref.shape[2] * ref.shape[3])",
                     "ref_tv = losses.tv_loss(ref)[0]",
                     ["tests/test_stylize_options.py::"
                      "test_relative_tv_without_a_photo_is_the_paintings_per_pixel_of_the_canvas"]),
    "rec 709": ("vgg/colour.py", "RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],",
                "RGB_TO_YIQ = np.array([[0.2126, 0.7152, 0.0722],",
                ["tests/test_images.py::test_yiq_of_the_primaries_is_the_ntsc_matrix"]),
    "bind all": ("vgg/serve_http.py", 'HOST = "127.0.0.1"', 'HOST = "0.0.0.0"',
                 ["tests/test_serve.py::test_the_page_listens_on_the_loopback_address_only"]),
    "host prefix": ("vgg/serve_http.py",
                    'if host is not None and host not in (f"{HOST}:{port}", f"localhost:{port}"):',
                    'if host is not None and not host.startswith(("127.0.0.1", "localhost")):',
                    ["tests/test_serve.py::test_another_sites_name_for_the_address_is_404"]),
    "coarsest scale": ("vgg/run.py",
                       "        return self.size >> min(self.scales - 1, self.size.bit_length())",
                       "        return self.size >> min(self.scales, self.size.bit_length())",
                       ["tests/test_stylize.py::"
                        "test_the_coarsest_scale_is_the_size_halved_once_per_scale_after_the_first"]),
    "checker rtol": ("exercises/diagnose.py", "RTOL = 1e-8", "RTOL = 1e-5",
                     ["tests/test_exercises.py"]),
    "checker fd": ("exercises/harness.py", "FD_RTOL = 1e-6", "FD_RTOL = 1e-3",
                   ["tests/test_exercises.py"]),
    "direct save": ("vgg/images.py", "        write_atomic(path, encode_image(img_or_array, path))",
                    "        open(path, 'wb').write(encode_image(img_or_array, path))",
                    ["tests/test_images.py::test_a_write_that_fails_halfway_leaves_the_old_file_whole"]),
    "direct h5": ("vgg/weights/h5.py",
                  'tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # same directory: os.replace is atomic',
                  "tmp = path",
                  ["tests/test_weights.py::test_a_write_that_fails_halfway_leaves_the_old_file_whole"]),
    # issue 20, point 1: the rewritten tests against slips of their own property
    "first step scale": ("minigrad/optim.py",
                         "return -g, (self.lr * min(1.0, 1.0 / size) if self.line_search is None else self.lr / size)",
                         "return -g, self.lr * min(1.0, 1.0 / size)",
                         ["tests/test_optim.py::test_lbfgs_scaled_problem_takes_the_same_steps"]),
    "winograd G": ("minigrad/fast/winograd.py", "[1 / 24, 1 / 12, 1 / 6],", "[1 / 24, 1 / 12, 1 / 6.001],",
                   ["tests/test_winograd.py::test_fast_winograd_conv_equals_naive"]),
    "gram 1/2": ("minigrad/losses.py", "    dG = (2.0 * scale) * diff", "    dG = (2.0 * scale * 1.001) * diff",
                 ["tests/test_losses.py::test_style_loss_matches_torch"]),
    "an import cycle": ("minigrad/relu.py", '    return dout * mask\n',
                        '    return dout * mask\n\n\ndef _x():\n    from .layers import Conv2d\n',
                        ["tests/test_house.py::test_no_module_imports_one_that_imports_it_back"]),
    "vgg tap": ("vgg/model.py", "                    dx += grads[name]", "                    dx = dx + 0.999 * grads[name]",
                ["tests/test_vgg.py::test_vgg_taps_and_image_gradient_match_torch"]),
}


def probe(name, work):
    path, text, replacement, tests = MUTANTS[name]
    target = work / path
    original = target.read_text()
    assert original.count(text) == 1, f"{name}: the text to replace is not in {path} exactly once"
    target.write_text(original.replace(text, replacement))
    try:
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                            *tests], cwd=work, capture_output=True, text=True, timeout=900)
    finally:
        target.write_text(original)
    return r.returncode != 0, r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr[-300:]


def main(names):
    names = names or list(MUTANTS)
    caught = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "checkout"
        shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(
            ".git", ".venv*", "__pycache__", "*.h5", ".pytest_cache"))
        for name in names:
            found, last = probe(name, work)
            caught += found
            print(f"{'caught  ' if found else 'SURVIVED'} {name:<24} {last}", flush=True)
    print(f"{caught} of {len(names)} mutants caught")
    return 0 if caught == len(names) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
