"""Latency of a callable after warm-up: min / median / p90 / p99 / max, throughput."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def measure(fn: Callable[[], object], batch: int, min_calls: int = 20, min_seconds: float = 1.0, warmup: int = 5) -> dict:
    for _ in range(warmup):
        fn()
    samples = []
    t_end = time.perf_counter() + min_seconds
    while len(samples) < min_calls or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
        if len(samples) >= 5000:
            break
    a = np.array(samples) * 1e3
    return {"batch": batch, "calls": int(a.size), "min_ms": float(a.min()), "median_ms": float(np.median(a)),
            "p90_ms": float(np.percentile(a, 90)), "p99_ms": float(np.percentile(a, 99)), "max_ms": float(a.max()),
            "windows_per_s": batch / float(np.median(a) / 1e3), "samples_ms": a.tolist()}


def time_calls(fns: dict[str, Callable[[], object]], rounds: int = 7, calls: int = 30, warmup: int = 5) -> dict[str, dict]:
    """Time several functions ``rounds x calls`` times each, interleaved round by round so drift hits all alike."""
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


def sgemm_peak_gflops(n: int = 1024, seconds: float = 1.0) -> float:
    """Single-core fp32 matrix-multiply rate (run where BLAS is limited to one thread)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - t0) / 1e9
