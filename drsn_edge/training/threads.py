"""torch's threads for the machine a training job runs on.

The cores this process may use (its CPU affinity: a container's or a systemd unit's limit, not the host's count), one
inter-op thread, and OpenMP threads that sleep rather than spin while they wait (``OMP_WAIT_POLICY=PASSIVE``, set by
the command line before torch loads): beside a stream or another job, spinning threads took the cores from it and
training ran many times slower (benchmarks/results/train_beside.md, adapt_beside.md).
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


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
