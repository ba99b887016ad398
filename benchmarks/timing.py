"""Shared timing helper for the benchmark scripts: interleaved rounds, medians, percentiles."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def time_calls(fns: dict[str, Callable[[], object]], rounds: int = 7, calls: int = 30, warmup: int = 5) -> dict[str, dict]:
    """Time each function ``rounds x calls`` times, interleaving the functions round by round."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(calls):
                t0 = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - t0)
    out = {}
    for name, s in samples.items():
        a = np.array(s) * 1e3
        out[name] = {"median_ms": float(np.median(a)), "p90_ms": float(np.percentile(a, 90)),
                     "min_ms": float(a.min()), "max_ms": float(a.max()), "n": int(a.size)}
    return out
