"""The terminal side of a run: a stderr that can't stop it, and signals that can't lose it.

Two things arrive from outside a long run at any moment, and neither may cost the
user their image:

- **stderr goes away.** `stylize.py ... 2>&1 | head` closes the pipe after ten
  lines; the next progress update would raise BrokenPipeError in the middle of the
  optimisation. `SafeStream` wraps stderr: once a write fails, everything after is
  written to the null device instead, and the run goes on to save its result.
  `guard_standard_fds` gives a closed descriptor 0, 1 or 2 (`2>&-`) the null
  device, so that a file the run opens can never become "stderr".
- **A signal that ends programs**: Ctrl-C (SIGINT), SIGTERM (a system stopping it),
  SIGHUP (its terminal closed), SIGQUIT (Ctrl-\\). `Signals` turns each into a `Stop`
  exception raised where the main thread is, so the run can save the current image and
  say where. Once a Stop is raised (again by `check()` if it was lost on its way), every
  later signal only waits (`held`), and once the run's end begins (`ending`) so does
  every signal, so that saving cannot itself be cut short; and
  `hold()` postpones a signal until a file being written is complete, so that a result
  is never cut in half or left unsaved.

Python's own default (KeyboardInterrupt for SIGINT, death without a word for
SIGTERM) would do neither; these are the usual answers of careful command-line
programs (compare git's and rsync's handling of SIGPIPE and SIGTERM).
"""
import os
import signal
import sys
import threading
from contextlib import contextmanager


def guard_standard_fds():
    """Open the null device on any of descriptors 0, 1, 2 that is closed."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)      # the lowest free descriptor: fd itself
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


class SafeStream:
    """A text stream (stderr) whose failures are swallowed: after the first, it writes nowhere."""

    def __init__(self, stream):
        self.stream = stream if stream is not None else open(os.devnull, "w")

    def _lost(self):
        try:                       # Python's own last flush at exit must not trip either
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.close(null)
        except OSError:
            pass
        self.stream = open(os.devnull, "w")

    def write(self, text):
        try:
            return self.stream.write(text)
        except (OSError, ValueError):                  # EPIPE, EIO, a closed file
            self._lost()
            return len(text)

    def flush(self):
        try:
            self.stream.flush()
        except (OSError, ValueError):
            self._lost()

    def __getattr__(self, name):                       # isatty, fileno, encoding, ...
        return getattr(self.stream, name)


# The signals that end a command-line program, and how a message names each.
SAID = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "stopped (SIGTERM)",
        signal.SIGHUP: "stopped (SIGHUP: the terminal was closed)",
        signal.SIGQUIT: "stopped (SIGQUIT)",
        signal.SIGXCPU: "stopped (SIGXCPU: the CPU time limit was reached)"}


class Stop(BaseException):
    """A signal of SAID arrived. A BaseException, as KeyboardInterrupt is, so that no
    `except Exception` on the way swallows it."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def said(self):
        """How a message names it: 'interrupted (Ctrl-C)', 'stopped (SIGTERM)', ..."""
        return SAID[self.signum]

    @property
    def status(self):
        return 128 + self.signum                   # the shell's convention: 130, 143, 129, 131


class Signals:
    """While installed, the signals of SAID raise Stop in the main thread (once), or wait.

        with Signals() as signals:
            ...                               # a signal here raises Stop
            with signals.hold():
                write the file                # a signal here waits until the file is complete
            signals.check()                   # at safe points: a Stop that got lost is raised
            signals.ending = True             # from here on every signal waits: the end is near
    """
    NAMES = tuple(SAID)

    def __init__(self, then_ignore=False):
        self.held = None                               # a signal that arrived during hold()
        self.received = None                           # the first signal, delivered or not
        self.holding = 0
        self.raised = False                            # a Stop was raised (perhaps lost on its way)
        self.ending = False                            # the run is ending: every signal waits
        self.previous = {}
        self.then_ignore = then_ignore                 # at the end: ignore, not the old handlers

    def _handler(self, signum, frame):
        self.received = self.received or signum
        if self.holding or self.ending or self.raised:
            self.held = self.held or signum
            return
        self._stop(signum)

    def _stop(self, signum):
        """Raise Stop. Signals after it only wait: the Stop is on its way to the code that
        saves the run, which sets .ending first thing, and must not be cut short."""
        self.raised = True
        raise Stop(signum)

    def check(self):
        """Raise Stop if a signal came and was lost on its way.

        A handler's exception surfaces wherever the main thread is. If that is a
        weakref callback or a __del__ run by the garbage collector, Python prints
        "Exception ignored" and carries on, and the Stop is lost. Calling check()
        at safe points (after each step) delivers it after all.
        """
        if self.received and not self.holding and not self.ending:
            self._stop(self.received)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():   # only it may set handlers
            for s in self.NAMES:
                self.previous[s] = signal.signal(s, self._handler)
            self.previous_hook = sys.unraisablehook
            sys.unraisablehook = self._unraisable
        return self

    def _unraisable(self, info):
        """A Stop lost in a callback is not an error to print: check() delivers it."""
        if not isinstance(info.exc_value, Stop):
            self.previous_hook(info)

    def __exit__(self, *exc):
        for s, handler in self.previous.items():
            signal.signal(s, signal.SIG_IGN if self.then_ignore else handler)
        if self.previous:
            sys.unraisablehook = self.previous_hook
        self.previous.clear()

    @contextmanager
    def hold(self, then_stop=True):
        """Postpone SIGINT/SIGTERM until the block ends; then raise Stop if one came
        (then_stop=False: leave it in .held for the caller to read)."""
        self.holding += 1
        try:
            yield
        finally:
            self.holding -= 1
            if then_stop and not self.holding and self.held and not self.ending:
                signum, self.held = self.held, None
                self._stop(signum)
