"""Latency statistics in fixed memory: a log-spaced histogram (months of streaming cost the same bytes as a minute)."""

from __future__ import annotations

import numpy as np

#: 0.001 ms .. 1000 s, 40 bins per decade: a quantile read off it is within 6 % of the true value.
_LO_MS, _DECADES, _PER_DECADE = 1e-3, 9, 40
EDGES_MS = _LO_MS * 10.0 ** (np.arange(_DECADES * _PER_DECADE + 1) / _PER_DECADE)


class LatencyStats:
    """Counts per log-spaced bin plus exact count, sum, min and max."""

    def __init__(self) -> None:
        self.counts = np.zeros(len(EDGES_MS) + 1, dtype=np.int64)  # [under, bins..., over]
        self.n, self.total, self.lo, self.hi = 0, 0.0, np.inf, 0.0

    def add(self, ms: np.ndarray | float) -> None:
        a = np.atleast_1d(np.asarray(ms, dtype=np.float64))
        if not a.size:
            return
        np.add.at(self.counts, np.searchsorted(EDGES_MS, a, side="right"), 1)
        self.n += a.size
        self.total += float(a.sum())
        self.lo, self.hi = min(self.lo, float(a.min())), max(self.hi, float(a.max()))

    def merge(self, other: LatencyStats) -> None:
        self.counts += other.counts
        self.n += other.n
        self.total += other.total
        self.lo, self.hi = min(self.lo, other.lo), max(self.hi, other.hi)

    def quantile(self, q: float) -> float:
        if not self.n:
            return 0.0
        k = int(np.searchsorted(np.cumsum(self.counts), q * self.n, side="left"))
        if k == 0:
            return self.lo
        if k > len(EDGES_MS) - 1:
            return self.hi
        mid = float(np.sqrt(EDGES_MS[k - 1] * EDGES_MS[k]))  # geometric centre of the bin
        return min(max(mid, self.lo), self.hi)

    def summary(self) -> dict[str, float]:
        return {"p50": self.quantile(0.5), "p90": self.quantile(0.9), "p99": self.quantile(0.99), "max": self.hi,
                "mean": self.total / self.n if self.n else 0.0, "count": self.n}
