"""torch's threads for the machine a training job runs on.

The cores this process may use (its CPU affinity: a container's or a systemd unit's limit, not the host's count) and
one inter-op thread. While OpenMP's threads wait between operations they spin; beside a process that keeps a core
busy, spinning threads take it from that process and training ran many times slower, while threads that sleep instead
(``OMP_WAIT_POLICY=PASSIVE``) made training alone up to 2x slower on 2 cores (benchmarks/results/train_beside.md). So
``train`` keeps the spinning and follows the cores other processes leave free (:class:`FreeCores`, re-read every
second); ``adapt`` and ``enrol``, which run beside a stream, sleep (set by the command line before torch loads).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator


def affinity_cores() -> int:
    """The cores this process may run on (its CPU affinity)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def cpu_quota(root: str = "/sys/fs/cgroup") -> float | None:
    """The cores' worth of CPU time a cgroup quota allows (``docker run --cpus 2``, systemd's ``CPUQuota=``), or None
    without one: cgroup v2's ``cpu.max``, else v1's ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``."""
    try:
        with open(f"{root}/cpu.max") as f:
            quota, period = f.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open(f"{root}/cpu/cpu.cfs_quota_us") as f, open(f"{root}/cpu/cpu.cfs_period_us") as g:
            quota_us, period_us = int(f.read()), int(g.read())
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def usable_cores() -> int:
    """The cores this process may use: its affinity, capped by a cgroup quota (a container given 2 CPUs on a 64-core
    host computes on 2 threads, not 64 that the quota would stall in turn)."""
    quota = cpu_quota()
    return max(1, min(affinity_cores(), math.ceil(quota))) if quota else affinity_cores()


def use_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads to ``threads`` (default: the usable cores) and its inter-op threads to one;
    returns the intra-op count."""
    import torch

    n = threads or usable_cores()
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # fixed once parallel work ran in this process (a test, a notebook): keep it
        pass
    return n


def busy_cpu_seconds() -> float | None:
    """CPU seconds the usable cores have spent busy since boot, every process's (``/proc/stat``: user, nice, system,
    irq, softirq and steal, the last being time a VM's host gave to others); None where there is no ``/proc/stat``."""
    cpus = {f"cpu{i}" for i in os.sched_getaffinity(0)} if hasattr(os, "sched_getaffinity") else None
    try:
        with open("/proc/stat") as f:
            rows = [line.split() for line in f if line.startswith("cpu") and not line.startswith("cpu ")]
    except OSError:
        return None
    ticks = sum(sum(int(v) for v in (r[1:4] + r[6:9])) for r in rows if cpus is None or r[0] in cpus)
    return ticks / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


class FreeCores:
    """torch's intra-op threads following the cores other processes leave free: every ``every_s`` seconds, the cores
    the others kept busy over that time (all busy time on the ``cores`` this process may run on, less its own) are
    subtracted from those cores, and at most ``most`` of the rest are used; a share of a core over 0.4 counts as a core
    (a busy process beside two spinning threads gets about half of one)."""

    def __init__(self, most: int, cores: int | None = None, every_s: float = 1.0,
                 busy: Callable[[], float | None] = busy_cpu_seconds, own: Callable[[], float] = own_cpu_seconds,
                 set_threads: Callable[[int], None] | None = None) -> None:
        import torch

        self.most, self.cores = most, cores or affinity_cores()
        self.every_s, self._busy, self._own = every_s, busy, own
        self._set = set_threads or torch.set_num_threads
        self.threads = most
        self._mark = (time.monotonic(), busy(), own())

    def poll(self, now: float | None = None) -> int:
        """Re-read the others' load when ``every_s`` has passed (cheap otherwise); returns the threads in use."""
        now = time.monotonic() if now is None else now
        t0, busy0, own0 = self._mark
        if now - t0 < self.every_s:
            return self.threads
        busy, own = self._busy(), self._own()
        self._mark = (now, busy, own)
        if busy is None or busy0 is None:
            return self.threads
        others = max(0.0, (busy - busy0) - (own - own0)) / (now - t0)
        n = max(1, min(self.most, self.cores - int(others + 0.6)))
        if n != self.threads:
            self._set(n)
            self.threads = n
        return self.threads


_follower: FreeCores | None = None


@contextlib.contextmanager
def following_free_cores(most: int | None = None) -> Iterator[FreeCores]:
    """Inside, :func:`poll_free_cores` (called between training steps) keeps torch's threads to the free cores; after,
    the thread count is ``most`` again and training in the same process is left alone (a follower left installed
    made every later training of the process, a library call's included, change its threads with the machine's
    load, and with them its floating-point sums: two runs of one seed gave other weights)."""
    global _follower
    _follower = follower = FreeCores(most or usable_cores())
    try:
        yield follower
    finally:
        _follower = None
        if follower.threads != follower.most:
            follower._set(follower.most)


def poll_free_cores() -> None:
    if _follower is not None:
        _follower.poll()
