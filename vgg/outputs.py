"""The files of one stylize.py run: planned and claimed at the start, written as it goes, kept.

    outputs = Outputs("out.png", inputs=[photo, painting, weights], save_every=50,
                      total_evals=500, plot=True, log="run.jsonl", overwrite=False)
    outputs.claim()                       # out.png and run.jsonl are taken, exclusively
    ...  outputs.log_step(entry); outputs.snapshot(image, evals_before, evals_after)
    where, why = outputs.save_result(image)   # the result, or a rescue copy and the reason

The rules (vgg/files.py): every path is checked before anything is loaded and
none may be an input or another planned path, whatever --overwrite says; without
--overwrite the output and the log are claimed by an exclusive create, so a second
run with the same names is refused; every image is written whole or not at all;
a snapshot, a log line or the plot that cannot be written is a warning and the
run goes on; the result that cannot be written goes to a rescue name, and the
user is told where. While a file is being written, Ctrl-C and SIGTERM wait
(vgg/console.py's Signals.hold), so no file is cut in half by a signal.
"""
import io
import json
import os
import re
from contextlib import nullcontext
from pathlib import Path

from . import claims, files, images


def numbered(out, i):
    """out.png -> out-0050.png: the intermediate image after i evaluations."""
    out = Path(out)
    return out.with_name(f"{out.stem}-{i:04d}{out.suffix}")


def plot_path(out):
    """out.png -> out-loss.png: the loss curves of --plot."""
    out = Path(out)
    return out.with_name(f"{out.stem}-loss.png")


class Outputs:
    """Every file a run writes. Raises files.PlanError (one line) for a plan that can't work."""

    def __init__(self, output, inputs=(), save_every=None, total_evals=0, plot=False, log=None,
                 overwrite=False, signals=None, warn=print):
        self.output, self.overwrite, self.warn = Path(output), overwrite, warn
        self.save_every, self.total = save_every, total_evals
        self.plot = plot_path(output) if plot else None
        self.log_path = Path(log) if log else None
        planned = [("--output", self.output)] + ([("--plot", self.plot)] if plot else []) + \
            ([("--log", self.log_path)] if log else [])
        files.make_plan(planned, [Path(p) for p in inputs], overwrite)
        if save_every and save_every < total_evals:
            self._plan_snapshots([Path(p) for p in inputs], [p for _, p in planned])
        self.signals = signals
        self.claims = {}                  # {path: (device, inode)} of the names taken exclusively
        self.log = None                   # the open log file, from the first step on
        self.log_failed = False
        self.saved = None                 # (where, image) once the result is written

    def is_snapshot(self, path):
        """True if `path` names one of the --save-every images (out-0050.png, ...)."""
        path = Path(path)
        if os.path.realpath(path.parent) != os.path.realpath(self.output.parent):
            return False
        match = re.fullmatch(re.escape(self.output.stem) + r"-(\d{4,})" + re.escape(self.output.suffix),
                             path.name)
        if not match or f"{int(match.group(1)):04d}" != match.group(1):
            return False
        mark = int(match.group(1))
        return mark % self.save_every == 0 and self.save_every <= mark < self.total

    def _plan_snapshots(self, inputs, planned):
        """make_plan's checks for the snapshots, without naming them one by one (there may be
        millions): the longest name fits, none is an input or another planned file, and
        without --overwrite none exists yet (one look at the folder)."""
        last = (self.total - 1) // self.save_every * self.save_every
        longest = numbered(self.output, last).name
        if len(os.fsencode(longest)) > files.name_max(self.output.absolute().parent):
            raise files.PlanError(f"--save-every {numbered(self.output, last)}: the name is longer "
                                  "than the file system allows")
        for path in inputs + planned:             # as given, and where a link leads
            named = self.is_snapshot(path) or self.is_snapshot(os.path.realpath(path))
            if named and os.path.realpath(path) != os.path.realpath(self.output):
                what = "one of the inputs" if path in inputs else "also planned for another file"
                raise files.PlanError(f"--save-every would write {path}, which is {what}; "
                                      "choose another --output name")
        if self.overwrite:
            return
        with os.scandir(self.output.absolute().parent) as entries:
            for entry in entries:
                if self.is_snapshot(self.output.parent / entry.name):
                    raise files.PlanError(f"{self.output.parent / entry.name} already exists "
                                          "(a --save-every image); choose another name or add "
                                          "--overwrite")

    def _hold(self, then_stop=True):
        return self.signals.hold(then_stop) if self.signals else nullcontext()

    # ------------------------------------------------------------------ the start and a stop

    def claim(self):
        """Take the output and the log names (without --overwrite); PlanError if taken."""
        if self.overwrite:
            return
        with self._hold():                # a signal waits until every claim is recorded
            self._claim_all()

    def _claim_all(self):
        for path in [self.output] + ([self.log_path] if self.log_path else []):
            try:
                self.claims[path] = claims.claim(path)
            except FileExistsError:
                self.release()
                raise files.PlanError(f"{path} already exists (another run may be writing it); "
                                      "choose another name or add --overwrite") from None
            except OSError as e:
                self.release()
                raise files.PlanError(f"cannot create {path}: {files.describe(e)}") from None

    def release(self):
        """Give back the names claimed and still empty: a run stopped before any result."""
        self.close()
        for path, identity in self.claims.items():
            claims.release(path, identity)
        self.claims.clear()

    def close(self):
        if self.log:
            try:
                self.log.close()
            except OSError:
                pass
            self.log = None

    # ------------------------------------------------------------------ as the run goes

    def log_step(self, entry):
        """One JSON line per step; a log that can't be written is a warning, once."""
        if not self.log_path or self.log_failed:
            return
        with self._hold():
            try:
                if self.log is None:       # opened at the first step: a stop before it writes nothing
                    self.log = open(self.log_path, "a" if self.log_path in self.claims else "w")
                self.log.write(json.dumps(entry) + "\n")
                self.log.flush()
            except OSError as e:
                self.log_failed = True
                self.warn(f"could not write the log {self.log_path} ({files.describe(e)}); "
                          "the run goes on without it")

    def snapshot(self, image, evals_before, evals_after):
        """The --save-every images for each multiple of N passed in this step (not the last)."""
        if not self.save_every:
            return
        n = self.save_every
        for mark in range(evals_before // n + 1, evals_after // n + 1):
            if mark * n >= self.total:
                continue
            path = numbered(self.output, mark * n)
            with self._hold():
                try:
                    files.write_atomic(path, images.encode_image(image, path), self.overwrite)
                except FileExistsError:
                    self.warn(f"snapshot {path} appeared during the run; not replaced")
                except OSError as e:
                    self.warn(f"could not write the snapshot {path} ({files.describe(e)}); "
                              "the run goes on")

    # ------------------------------------------------------------------ the end

    def save_result(self, image):
        """Write the result (a PIL image); return (where it went, why not --output or None).

        Signals wait until it is written (and stay in signals.held). files.SaveError
        if nothing could be written anywhere.
        """
        data = images.encode_image(image, self.output)
        with self._hold(then_stop=False):
            try:
                if self.overwrite or claims.still_ours(self.output, self.claims.get(self.output)):
                    where, why = files.write_or_rescue(self.output, data, replace=True)
                else:                  # the name we claimed was removed or replaced meanwhile
                    where, why = files.write_or_rescue(
                        self.output, data, why="it was removed or replaced during the run")
            except files.SaveError:
                self.release_output()                                # no empty file left behind
                raise
            if where == self.output:
                claims.unlock(self.claims.pop(self.output, None))     # it holds the result now
            else:
                self.release_output()
        self.saved = (where, image)
        return where, why

    def release_output(self):
        identity = self.claims.pop(self.output, None)
        claims.release(self.output, identity)

    def save_plot(self, history, weights):
        """The weighted loss terms against the evaluations, as OUT-loss.png; a warning on failure."""
        if not self.plot:
            return None
        with self._hold(then_stop=False):
            try:
                files.write_atomic(self.plot, loss_curves(history, weights), self.overwrite)
                return self.plot
            except FileExistsError:
                self.warn(f"{self.plot} appeared during the run; the loss curves are not saved")
            except OSError as e:
                self.warn(f"could not write the loss curves {self.plot} ({files.describe(e)})")
        return None


def loss_curves(history, weights):
    """PNG bytes: each weighted term (weights: {term: weight}) and the total, on a log scale."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    evals = [h["evals"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    try:
        for key, label, look in [("content", "alpha * content", "-"), ("style", "beta * style", "-"),
                                 ("tv", "tv * TV", "-"), ("loss", "total", "k--")]:
            values = [weights.get(key, 1.0) * h[key] for h in history]
            if any(v > 0 for v in values):
                ax.plot(evals, values, look, label=label)
        ax.set_yscale("log")
        ax.set_xlabel("evaluations of the loss")
        ax.set_ylabel("loss (eq. 7, weighted terms)")
        ax.legend()
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)

