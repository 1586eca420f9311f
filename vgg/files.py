"""Every file a run writes, planned before anything is loaded, written so that nothing is lost.

stylize.py writes four kinds of file: the result, the --save-every snapshots, the
--plot curves and the --log. This module holds the rules they follow:

- `make_plan` lists every path the run will write and refuses, in one line, a
  plan that would touch an input (the photo, a painting, the start image, the
  weights: compared as files, so links count), name one file twice, write into a
  folder that is missing or not writable (found out by creating a file there),
  or use a name longer than the file system allows.
- vgg/claims.py takes the output's name before the run (an exclusive create and a lock),
  so that a second run with the same --output is refused while the first one works.
- `write_atomic` writes bytes to a short temporary name beside the target and
  then renames it into place (or links it, when an existing file must not be
  replaced): a reader never sees a half-written file.
- `write_or_rescue` tries the target, then a name beside it, then the system's
  temporary folder, and says where the bytes went: a finished image is not lost
  to a full disk or a folder that became read-only.

The same approach as most careful command-line tools (rsync, git's lock files):
exclusive create for ownership, write-then-rename for atomicity.
"""
import errno
import os
import secrets
import stat
import tempfile
from pathlib import Path

from . import claims


class PlanError(Exception):
    """A plan that cannot be carried out; the message is one line for the user."""


class SaveError(Exception):
    """Nothing could be written anywhere; the message says what was tried."""


def input_problem(path):
    """None if `path` is a regular file this process may read, else what is wrong, in a few
    words. Only stat is used: a FIFO, a device or a socket is refused before it is opened
    (opening a FIFO waits for a writer; a device may never end)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as e:
        return describe(e)
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device")
        return f"is {kind}, not a regular file"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


def name_max(folder):
    """The longest file name the folder's file system takes (255 on most)."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def check_writable(folder):
    """None if a file can be created in `folder`, else the reason (by trying: permissions,
    read-only mounts and full disks all show up here, as they would at the end)."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".stylize-")
    except OSError as e:
        return e.strerror or str(e)
    os.close(fd)
    os.remove(probe)
    return None


def make_plan(planned, inputs, overwrite):
    """Check every path a run will write before anything is loaded; PlanError if one can't be.

    planned: [(what, path)], e.g. [("--output", "out.png"), ("--log", "run.jsonl")];
    inputs: the paths the run reads. Linear in the number of paths (one stat each),
    so --save-every 1 over a long run is planned in a moment.
    """
    plan = _Plan(inputs, overwrite)
    for what, path in planned:
        plan.add(what, Path(path))
    for folder in plan.folders:
        reason = check_writable(folder)
        if reason:
            raise PlanError(f"cannot write in {folder}: {reason}")
    return [Path(p) for _, p in planned]


def _identity(path):
    """(device, inode) of what path names, or None if nothing (or a dangling link) is there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class _Plan:
    """The paths planned so far, by real path and by identity, and the inputs to keep clear of."""

    def __init__(self, inputs, overwrite):
        self.overwrite = overwrite
        self.sources = {os.path.realpath(p): p for p in inputs}
        self.source_ids = {_identity(p): p for p in inputs if _identity(p)}
        self.folders, self.taken, self.taken_ids = {}, {}, {}

    def add(self, what, path):
        """PlanError unless `path` can be written as `what`: its folder exists, its name fits,
        it is no folder, no input, not planned twice, and new (or --overwrite)."""
        real_folder, longest = self.folder_of(what, path)
        if len(os.fsencode(path.name)) > longest:
            raise PlanError(f"{what} {path}: the name is longer than the {longest} bytes the "
                            "file system allows")
        there = os.path.lexists(path)
        if there and path.is_dir() or not path.name:
            raise PlanError(f"{what} {path} is a folder; give a file name")
        problem = input_problem(path) if there and os.path.exists(path) else None
        if problem and "not a regular file" in problem and what != "--log":
            # An image is renamed into place: never over /dev/null or a pipe. The log is
            # written where it is, so --log /dev/stderr (with --overwrite) is allowed.
            raise PlanError(f"{what} {path} {problem}; give the name of a file")
        real = os.path.realpath(path) if there else os.path.join(real_folder, path.name)
        ident = _identity(path) if there else None
        source = self.sources.get(real) or self.source_ids.get(ident)
        if source:
            raise PlanError(f"{what} {path} is one of the inputs ({source}); choose another name")
        other = self.taken.get(real) or self.taken_ids.get(ident)
        if other:
            raise PlanError(f"{what} {path} is also {other}; choose another name")
        if there and not self.overwrite and not claims.abandoned(path):
            raise PlanError(f"{path} already exists; choose another name or add --overwrite")
        self.taken[real] = what
        if ident:
            self.taken_ids[ident] = what

    def folder_of(self, what, path):
        """(real path, longest name allowed) of the folder path goes in, checked once each."""
        folder = path.absolute().parent
        if folder not in self.folders:
            if not folder.is_dir():
                raise PlanError(f"{what} {path}: the folder {path.parent} does not exist")
            self.folders[folder] = (os.path.realpath(folder), name_max(folder))
        return self.folders[folder]


def write_atomic(path, data, replace=True):
    """Write `data` (bytes) to `path` through a temporary file in the same folder.

    replace=True renames over an existing file; replace=False links the new file
    into place and raises FileExistsError if the name is taken meanwhile. The
    temporary name is short (".stylize-XXXXXXXX.tmp"), whatever the length of
    `path`'s name, and is removed on any failure.
    """
    path = Path(path)
    tmp = path.parent / f".stylize-{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)                         # FileExistsError: not ours to replace
    finally:
        if os.path.lexists(tmp):          # a failure, or the link's second name: not needed
            os.remove(tmp)


def rescue_names(path):
    """Where a result goes when its own name can't be written: beside it, then the temp folder."""
    path = Path(path)
    tag = f"{path.stem[:100]}-rescued-{os.getpid()}{path.suffix}"
    return [path.with_name(tag), Path(tempfile.gettempdir()) / tag]


def write_or_rescue(path, data, replace=True, why=None):
    """Write `data` to `path`, else to a rescue name; return (where, why not `path`).

    `why` comes back None when `path` itself was written. Given a `why`, `path` is not
    tried (it is known to be unusable). SaveError if nothing could be written
    anywhere, naming each place tried and the reason.
    """
    tried = []
    if why is None:
        try:
            write_atomic(path, data, replace)
            return Path(path), None
        except OSError as e:
            why = describe(e)
    tried.append(f"{path} ({why})")
    for spare in rescue_names(path):
        try:
            write_atomic(spare, data, replace=False)
            return spare, why
        except OSError as e:
            tried.append(f"{spare} ({describe(e)})")
    raise SaveError("could not write the image anywhere: " + "; ".join(tried))


def describe(error):
    """An OSError in a few words: 'No space left on device', 'File too large', ..."""
    if error.errno in (errno.EFBIG,):
        return "file too large for this process's limit or the file system"
    return error.strerror or error.__class__.__name__


def unused_name(path):
    """path, or path-1, path-2, ... whichever does not exist yet."""
    n, candidate = 0, path
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate
