"""The first instructions of the program: a signal that ends programs ends it at once, in one
line, with nothing written, until the run's own handlers (vgg/console.py's Signals) take over.

stylize.py, run as a program (`python stylize.py`, `python -m stylize` or the console command
`minigrad-stylize`), holds every signal from its first instruction, imports this module and
calls `install`, which sets the handlers and then lets the held signals in. NumPy takes a
moment to import, and without this a Ctrl-C in that moment would be Python's
KeyboardInterrupt traceback. A Ctrl-C that Python has already taken when the signals are
blocked (it notes the signal at once and acts on it a few instructions later) raises
KeyboardInterrupt there; stylize.py's first lines are one try that turns it into the same
line and 130. Only _signal, os and sys are used here: they are loaded with the
interpreter (the signal module would import enum first: milliseconds).
"""
import _signal
import os
import sys

NAMES = {_signal.SIGINT: "SIGINT", _signal.SIGTERM: "SIGTERM", _signal.SIGHUP: "SIGHUP",
         _signal.SIGQUIT: "SIGQUIT", _signal.SIGXCPU: "SIGXCPU"}
CONSOLE = "minigrad-stylize"       # the console command's name (pyproject.toml)


def program_name():
    """The name every message of the program starts with: the one the user typed."""
    return CONSOLE if os.path.basename(sys.argv[0]) == CONSOLE else "stylize.py"


def install(held=frozenset()):
    """End at once, in one line, on any signal of NAMES; a file too large is a failed write.
    Then the signal mask goes back to `held` (what it was before stylize.py blocked them all),
    and a signal that came meanwhile is handled here."""
    said = f"\n{program_name()}: stopped ({{}}) while starting; nothing was written\n"

    def stop_at_once(signum, frame):
        try:
            os.write(2, said.format(NAMES[signum]).encode())
        finally:
            os._exit(128 + signum)

    for number in NAMES:
        _signal.signal(number, stop_at_once)
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)   # past ulimit -f, a write fails, not the run
    _signal.pthread_sigmask(_signal.SIG_SETMASK, held)
    from .console import guard_standard_fds
    guard_standard_fds()            # a closed 0/1/2 gets the null device before any file opens
