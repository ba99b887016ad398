"""Timing that survives a noisy machine: every candidate timed in interleaved rounds (A B C A B C ...), a median per
round, and the median and spread over rounds; ratios are taken round by round, so drift hits both sides alike."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def _stats(per_round: list[float]) -> dict[str, float]:
    a = np.asarray(per_round)
    return {"median": float(np.median(a)), "min": float(a.min()), "max": float(a.max()),
            "spread_pct": float(100 * (a.max() - a.min()) / np.median(a)) if np.median(a) > 0 else 0.0}


def interleaved(fns: dict[str, Callable[[], object]], rounds: int = 7, calls: int = 30, warmup: int = 5,
                batch: int = 1) -> dict[str, dict]:
    """``rounds`` x (``calls`` calls of each function in turn); per function: per-round medians (ms), their median
    and spread, p99 over all calls, windows per second."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    rounds_ms: dict[str, list[float]] = {k: [] for k in fns}
    every: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            s = []
            for _ in range(calls):
                t0 = time.perf_counter()
                fn()
                s.append((time.perf_counter() - t0) * 1e3)
            rounds_ms[name].append(float(np.median(s)))
            every[name] += s
    out = {}
    for name in fns:
        st = _stats(rounds_ms[name])
        out[name] = {"batch": batch, "median_ms": st["median"], "round_min_ms": st["min"], "round_max_ms": st["max"],
                     "spread_pct": st["spread_pct"], "p99_ms": float(np.percentile(every[name], 99)),
                     "windows_per_s": batch / (st["median"] / 1e3), "rounds_ms": rounds_ms[name]}
    return out


def ratio(timings: dict[str, dict], a: str, b: str) -> dict[str, float] | None:
    """a / b per round: median and spread over rounds (None if either is missing)."""
    if a not in timings or b not in timings:
        return None
    r = [x / y for x, y in zip(timings[a]["rounds_ms"], timings[b]["rounds_ms"])]
    return _stats(r)


def measure(fn: Callable[[], object], batch: int, min_calls: int = 20, min_seconds: float = 1.0, warmup: int = 5) -> dict:
    """One callable on its own (the demo and single measurements)."""
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
            "windows_per_s": batch / float(np.median(a) / 1e3)}


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
