"""The output's name, taken before a run starts: an exclusive create, and a lock while it lives.

A run creates its --output (and --log) empty and exclusively before loading anything
(`claim`), so that a second run started with the same names is refused at once instead of
racing the first to the final rename. The empty file is locked (flock) while the run lives:
when a run is killed outright (SIGKILL, a power cut) nothing can remove it, and the next
run, finding it empty and unlocked, knows it as abandoned and takes it over instead of
refusing the name. A run that stops before any result removes its own empty file
(`release`); one that saved its result lets go of the lock (`unlock`).

The same approach as git's lock files and most careful command-line tools, with the lock
added so that a crash does not leave a name nobody can use without --overwrite.
"""
import errno
import fcntl
import os
import stat

_locks = {}      # {(device, inode): the open descriptor whose lock marks the claim as alive}


def claim(path):
    """Create `path` empty and exclusively, and lock it while this process lives; return its
    identity (device, inode).

    FileExistsError if the name is taken by anything else than an empty file nobody holds:
    another run (or anyone). An empty file whose lock is free was left by a run that was
    killed outright (SIGKILL, a power cut: nothing could remove it); it is taken over.
    """
    try:
        fd, fresh = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), True
    except FileExistsError:
        fd, fresh = _take_over(path), False
    held = _lock(fd)         # None where the file system has no locks (some network mounts):
    if held is False or held is None and not fresh:      # then only the exclusive create guards
        os.close(fd)
        raise FileExistsError(errno.EEXIST, "claimed by a running process", str(path))
    st = os.fstat(fd)
    _locks[(st.st_dev, st.st_ino)] = fd
    return st.st_dev, st.st_ino


def _take_over(path):
    """An open descriptor of `path` if it is an empty regular file, else FileExistsError."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        raise FileExistsError(errno.EEXIST, "exists", str(path)) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size:
        os.close(fd)
        raise FileExistsError(errno.EEXIST, "exists", str(path))
    return fd


def abandoned(path):
    """True if `path` is the empty, unlocked file of a claim whose run was killed outright."""
    try:
        fd = _take_over(path)
    except FileExistsError:
        return False
    try:
        return _lock(fd) is True                                # let go at once, by closing
    finally:
        os.close(fd)


def _lock(fd):
    """Lock `fd` without waiting: True, False if another process holds it, None if the file
    system has no locks."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        return False if error.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES) else None
    return True


def unlock(identity):
    """Let go of a claim's lock (its file now holds a result, or is removed)."""
    fd = _locks.pop(identity, None)
    if fd is not None:
        os.close(fd)


def still_ours(path, identity):
    """True if `path` is still the empty file `claim` made."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == identity and st.st_size == 0


def release(path, identity):
    """Remove a claimed file if it is still the empty one we made (a stop before any result)."""
    if identity is not None and still_ours(path, identity):
        try:
            os.remove(path)
        except OSError:
            pass
    unlock(identity)
