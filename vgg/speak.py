"""What a run says on stderr: its opening line, its progress, its warnings, its summary.

One program name starts every line (vgg/early.py's `program_name`: stylize.py, or the
console command's name). Under --quiet only errors are printed: no opening line, no
progress, no warnings, no summary (the --log still records every step).

- `opening_line`: the size, the machine and the three weights of eq. 7, then every other
  setting that differs from its default, in the option's own spelling (`--style-layers conv1_1,conv2_1`), so that the
  line can be pasted back into a command.
- `Progress`: on a terminal, tqdm's bar cut to the terminal's width (the loss shown as
  fits); elsewhere (a file, a pipe, CI) a plain line every PLAIN_EVERY seconds and at the
  end, never a carriage return.
- `summary_line`: the total and the three weighted terms that add up to it
  (alpha * content + beta * style + tv * TV), as the log's *_weighted fields.
"""
import dataclasses
import shutil
import sys
import time

from .early import program_name
from .run import Settings

PROG = program_name()
SAID_FIRST = ("mode", "size", "iters", "backend", "engine", "content_weight", "style_weight",
              "tv_weight")               # always in the opening line, changed or not
CHOICES = ("normalization", "optimizer", "style_layers")  # choices other defaults depend on
PLAIN_EVERY = 10.0      # seconds between two progress lines when stderr is not a terminal


def plural(n, word):
    """'1 evaluation', '3 evaluations'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class Voice:
    """Where the run's lines go: stderr with the program's name, nothing under --quiet."""

    def __init__(self, quiet):
        self.quiet = quiet

    def say(self, message):
        if not self.quiet:
            print(f"{PROG}: {message}", file=sys.stderr, flush=True)

    def warn(self, message):
        self.say(f"warning: {message}")


def changed_settings(s):
    """[(option, value as typed)] for each setting that differs from its default, the
    defaults that depend on others (alpha on the normalisation, lr on the optimiser, the
    start image on the mode, the style layers' weights on the layers, the preconditioner on
    the mode and the optimiser) taken as they are for this run's choices."""
    plain, base = Settings(), Settings(mode=s.mode, size=s.size, normalization=s.normalization,
                                       optimizer=s.optimizer, style_layers=s.style_layers)
    shown = []
    for f in dataclasses.fields(Settings):
        value = getattr(s, f.name)
        default = getattr(plain if f.name in CHOICES else base, f.name)
        if f.name in SAID_FIRST or value == default:
            continue                                         # said first, or unchanged
        if isinstance(value, (list, tuple)):
            value = ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        elif isinstance(value, float):
            value = f"{value:g}"
        shown.append((f"--{f.name.replace('_', '-')}", value))
    return shown


def opening_line(s, shapes, init):
    """What the run will do, in one line: the size, the machine, what differs from the
    defaults."""
    h, w = shapes[-1]
    scales = (f" ({s.scales} scales: {', '.join(f'{b}x{a}' for a, b in shapes)})"
              if s.scales > 1 else "")
    evals = plural(s.iters, "evaluation") + (" per scale" if s.scales > 1 else "")
    changed = [f"{option} {init if option == '--init' else value}"
               for option, value in changed_settings(s)]
    return (f"{s.mode} at {w}x{h}{scales}, {evals}, {s.backend} ({s.engine} engine), "
            f"alpha {s.content_weight:g}, beta {s.style_weight:g}, tv {s.tv_weight:g}; "
            + ("changed from the defaults: " + ", ".join(changed) if changed else
               "the other settings at their defaults"))


def weighted(s, terms):
    """{term: weight * value}: the parts of the total loss."""
    weights = {"content": s.content_weight, "style": s.style_weight, "tv": s.tv_weight}
    return {name: weights[name] * terms.get(name, 0.0) for name in weights}


def summary_line(stylization, seconds, path):
    """The finished run in one line: steps, evaluations, time, the loss as its parts."""
    parts = weighted(stylization.settings, stylization.terms)
    evals = stylization.evals
    return (f"done: {plural(stylization.steps, 'step')}, {plural(evals, 'evaluation')} in "
            f"{seconds:.1f} s ({seconds / max(1, evals):.2f} s per evaluation), final loss "
            f"{stylization.loss:.4g} = content {parts['content']:.4g} + style "
            f"{parts['style']:.4g} + tv {parts['tv']:.4g} (weighted) -> {path}")


class Progress:
    """The run's progress on stderr: a bar on a terminal, plain lines elsewhere."""

    def __init__(self, total, quiet, stream=None):
        self.stream = stream or sys.stderr
        self.total, self.done = total, 0
        self.start = self.last = time.monotonic()
        self.bar = None
        self.plain = not quiet and not _is_terminal(self.stream)
        if not quiet and not self.plain:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=PROG, unit="eval", file=self.stream,
                            dynamic_ncols=True, bar_format=_BAR)

    def update(self, new_evals, loss, scale=""):
        self.done += new_evals
        if self.bar is not None:
            self.bar.set_description(f"{PROG}{' ' + scale if scale else ''}", refresh=False)
            # (tqdm adds ": " after the description)
            # The loss only where the terminal leaves room for it beside a bar of 10 cells.
            loss_text = f"loss {loss:.3e}"
            room = shutil.get_terminal_size((80, 24)).columns - self._width_without_loss(scale)
            self.bar.set_postfix_str(loss_text if room >= len(loss_text) + 2 else "",
                                     refresh=False)
            self.bar.update(new_evals)
        elif self.plain:
            now = time.monotonic()
            if now - self.last >= PLAIN_EVERY or self.done >= self.total:
                self.last = now
                print(f"{PROG}: {scale + ' ' if scale else ''}{self.done}/{self.total} "
                      f"evaluations, loss {loss:.4g}, {_clock(now - self.start)} elapsed"
                      f"{self._left(now)}", file=self.stream, flush=True)

    def _width_without_loss(self, scale):
        """The widest the bar's line gets without the loss, with 10 cells of bar: the name,
        100%, n/total, [elapsed<left (hours at most), 99.99eval/s]."""
        digits = len(str(self.total))
        return (len(PROG) + len(scale) + 3 + len("100%|") + 10 + len("| ") + 2 * digits + 1
                + len(" [0:00:00<0:00:00, 999.99eval/s]"))

    def _left(self, now):
        if not 0 < self.done < self.total:
            return ""
        return f", about {_clock((now - self.start) / self.done * (self.total - self.done))} left"

    def close(self):
        if self.bar is not None:
            self.bar.close()


_BAR = "{desc}{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _clock(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"
