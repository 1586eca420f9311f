"""The fast engine's worker threads: how many, one shared pool, and a one-thread BLAS inside it.

NumPy releases the GIL inside its loops and its BLAS calls, so the threads of one
process can work on different bands of a convolution, or different channels of a
ReLU, on all cores at once. Each worker then calls a one-thread BLAS: n threads,
each running whole bands (tile transforms and matrix products) on its own core,
beat one thread whose every matrix product a multi-threaded BLAS splits and
re-joins (benchmarks/RESULTS.md). threadpoolctl holds the BLAS to one thread
while the workers run and gives it back its threads afterwards, so NumPy outside
the engine is left as it was, and nothing has to be set before NumPy is imported.

    workers = Workers(4)
    workers.map_slices(fn, n)    # fn(i0, i1) on contiguous slices covering range(n), in parallel
    workers.deal(fn, jobs)       # fn(share) on each worker's share of the jobs, dealt like cards

The default count (`default_threads`) is one thread per core; the environment
variable MINIGRAD_THREADS may ask for fewer.

Before their first job the workers write their BLAS's scratch memory once
(`warm_blas`). OpenBLAS packs each matrix product's operands into a scratch
buffer (mapped lazily, one per concurrent caller), and its sgemm kernel prefetches
past the end of the packed panel. Pages of that buffer never written are not mapped,
and a product whose prefetches land there ran several times slower than once some
larger product had written them, for the rest of the process -- most likely a
page-table walk for every such prefetch (benchmarks/RESULTS.md has the hunt and its
figures).
"""
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def cores():
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                          # macOS, Windows
        return os.cpu_count() or 1


_said = set()


def _say_once(message):
    if message not in _said:
        _said.add(message)
        print(message, file=sys.stderr, flush=True)


def default_threads(environ=os.environ, planned=None):
    """MINIGRAD_THREADS when it is a whole number from 1 to the cores; else `planned` (a
    tuned plan's count, lowered to the cores this process may use); else one per core.

    A bad value never stops a run: it is named in one line on stderr and the
    default is used; a count above the cores is lowered to the cores (more
    threads than cores only take turns).
    """
    n_cores = cores()
    text = environ.get("MINIGRAD_THREADS", "").strip()
    if not text:
        return n_cores if planned is None else max(1, min(planned, n_cores))
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        _say_once(f"minigrad: ignoring MINIGRAD_THREADS={text!r}, which is not a whole number "
                  f"of at least 1; using {n_cores} (one thread per core)")
        return n_cores
    if n > n_cores:
        _say_once(f"minigrad: MINIGRAD_THREADS={n} is more than the {n_cores} cores here; "
                  f"using {n_cores}")
        return n_cores
    return n


def check_threads(n):
    """n itself if it is a sensible thread count; ValueError otherwise (a programming error)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads must be a whole number of at least 1, not {n!r}")
    if n > 4 * cores():
        raise ValueError(f"threads={n} is far more than the {cores()} cores here")
    return n


# --------------------------------------------------------------------------
# The BLAS held to one thread while the workers run
# --------------------------------------------------------------------------

_blas = None              # threadpoolctl's controllers of the BLAS libraries NumPy loaded
_blas_lock = threading.Lock()
_blas_users = 0           # parallel sections running now (from any caller thread)
_blas_threads = []        # what each BLAS had before the first of them


def _blas_libraries():
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController     # finds the libraries loaded so far
        _blas = ThreadpoolController().select(user_api="blas").lib_controllers
    return _blas


class _OneBlasThread:
    """`with _OneBlasThread():` every BLAS runs one thread inside, as many as before after."""

    def __enter__(self):
        global _blas_users, _blas_threads
        with _blas_lock:
            if _blas_users == 0:
                libs = _blas_libraries()
                _blas_threads = [lib.get_num_threads() for lib in libs]
                for lib in libs:
                    lib.set_num_threads(1)
            _blas_users += 1

    def __exit__(self, *exc):
        global _blas_users
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                for lib, n in zip(_blas_libraries(), _blas_threads):
                    lib.set_num_threads(n)
                    if hasattr(lib, "clear_controlling_thread"):   # OpenBLAS: let any thread set it
                        lib.clear_controlling_thread(force=True)


# --------------------------------------------------------------------------
# The workers
# --------------------------------------------------------------------------

_pools = {}               # {thread count: ThreadPoolExecutor}, made on first use, then reused
_pools_lock = threading.Lock()


def _pool(n):
    """The pool of n threads, made once and kept: fresh threads for every layer cost more
    than a small layer's arithmetic on a busy machine."""
    with _pools_lock:
        if n not in _pools:
            _pools[n] = ThreadPoolExecutor(n, thread_name_prefix="minigrad")
        return _pools[n]


_warmed = 0               # scratch buffers of the BLAS written so far (one per concurrent caller)
_warm_lock = threading.Lock()


def warm_blas(n):
    """Have n threads at once run one matrix product of 1024 x 512 by 512 x 512 under a
    one-thread BLAS, once per process (tens of milliseconds), so that each of the n
    scratch buffers OpenBLAS gives to n concurrent callers has had a megabyte of packed
    panel written into it (see the top of this file). Harmless for any other BLAS."""
    global _warmed
    with _warm_lock:
        if _warmed >= n:
            return
        together = threading.Barrier(n, timeout=10)       # all inside the BLAS at once

        def one(_):
            a = np.ones((1024, 512), dtype=np.float32)
            b = np.ones((512, 512), dtype=np.float32)
            try:
                together.wait()
            except threading.BrokenBarrierError:          # a slow start: warm what we can
                pass
            np.matmul(a, b)

        with _OneBlasThread():
            if n == 1:
                one(0)
            else:
                list(_pool(n).map(one, range(n)))
        _warmed = n


class Workers:
    """n threads that run pieces of one job in parallel; n = 1 runs them in the caller's thread."""

    def __init__(self, n):
        self.n = check_threads(n)
        self._warm = False

    def map_slices(self, fn, n):
        """fn(i0, i1) for contiguous slices [i0, i1) covering range(n), one slice per thread."""
        self._warm_once()
        parts = min(self.n, n)
        if parts < 2:
            self.alone(fn, 0, n)
            return
        cuts = [n * i // parts for i in range(parts + 1)]
        self._run(fn, cuts[:-1], cuts[1:])

    def deal(self, fn, jobs):
        """fn(share) for each thread's share of `jobs` (job i goes to thread i % n)."""
        self._warm_once()
        shares = [jobs[i::self.n] for i in range(self.n) if jobs[i::self.n]]
        if len(shares) < 2:
            self.alone(fn, jobs)
            return
        self._run(fn, shares)

    def alone(self, fn, *args):
        """fn(*args) in the caller's thread, under the same one-thread BLAS as the workers.

        A multi-threaded BLAS called here would leave its own threads spinning for a
        while after the call (OpenBLAS's do, for up to about 0.1 s), on the cores the
        workers are about to need: the engine's BLAS calls run one thread everywhere.
        """
        with _OneBlasThread():
            return fn(*args)

    def _warm_once(self):
        if not self._warm:
            warm_blas(self.n)
            self._warm = True

    def _run(self, fn, *args):
        # NumPy's error state (np.errstate) belongs to each thread: the workers take the
        # caller's, so a caller that silences overflow silences it in the workers too.
        err = np.geterr()

        def piece(*a):
            with np.errstate(**err):
                return fn(*a)

        with _OneBlasThread():
            list(_pool(self.n).map(piece, *args))                   # re-raises a worker's error

    def __repr__(self):
        return f"Workers({self.n})"
