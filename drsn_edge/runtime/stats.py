"""What a stream has done, in fixed memory: the one set of counters the summary, Prometheus and the verdicts read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drsn_edge.runtime.latency import LatencyStats
from drsn_edge.runtime.quality import REASONS


@dataclass
class UnitStats:
    label_counts: np.ndarray  # windows per (unsmoothed) class
    processed: int = 0
    rejected: int = 0
    unknown: int = 0  # windows labelled unknown (novelty)
    alarms_raised: int = 0
    alarm: str | None = None  # the active alarm's label
    p_fault: float = 0.0  # the latest smoothed P(fault)
    first_t: float | None = None
    last_t: float = 0.0


@dataclass
class StreamStats:
    stream: str
    class_names: list[str]
    source: str = ""
    windows_in: int = 0
    processed: int = 0
    gaps: int = 0
    alarms: int = 0  # alarm state changes (raise and clear)
    rejected: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)  # cause -> windows or messages lost
    latency: LatencyStats = field(default_factory=LatencyStats)
    units: dict[int, UnitStats] = field(default_factory=dict)
    stream_seconds: float = 0.0
    wall_seconds: float = 0.0
    samples: int = 0
    rejected_bytes: int = 0
    notes: list[str] = field(default_factory=list)
    stopped: bool = False  # ended by a signal, not by the end of its input

    def unit(self, u: int) -> UnitStats:
        if u not in self.units:
            self.units[u] = UnitStats(np.zeros(len(self.class_names), np.int64))
        return self.units[u]

    def add_rejected(self, codes: np.ndarray, units: np.ndarray) -> None:
        for c, n in zip(*np.unique(codes, return_counts=True)):
            self.rejected[REASONS[c]] = self.rejected.get(REASONS[c], 0) + int(n)
        for u, n in zip(*np.unique(units, return_counts=True)):
            self.unit(int(u)).rejected += int(n)

    def add_dropped(self, cause: str, n: int) -> None:
        if n:
            self.dropped[cause] = self.dropped.get(cause, 0) + int(n)

    def summary(self) -> dict[str, Any]:
        rtf = self.stream_seconds / self.wall_seconds if self.wall_seconds > 0 else float("inf")
        return {
            "stream": self.stream, "input": self.source, "windows_in": self.windows_in, "processed": self.processed,
            "rejected": sum(self.rejected.values()), "rejected_by_reason": dict(self.rejected),
            "dropped": sum(self.dropped.values()), "dropped_by_cause": dict(self.dropped), "gaps": self.gaps,
            "alarms": self.alarms, "units": len(self.units), "latency_ms": self.latency.summary(),
            "stream_seconds": self.stream_seconds, "wall_seconds": self.wall_seconds, "real_time_factor": rtf,
            "stopped": self.stopped,
            "source": {"samples": self.samples, "rejected_bytes": self.rejected_bytes, "notes": list(self.notes)},
            "verdicts": self.verdicts(),
        }

    def verdicts(self) -> list[dict[str, Any]]:
        """Per unit: the dominant class and its share of windows, alarms raised, rejected / unknown windows."""
        out = []
        for u, s in sorted(self.units.items()):
            total = int(s.label_counts.sum())
            top = int(np.argmax(s.label_counts)) if total else None
            out.append({"unit": u, "dominant": self.class_names[top] if top is not None else None,
                        "share": float(s.label_counts[top] / total) if total else 0.0, "windows": total,
                        "alarms_raised": s.alarms_raised, "alarm_active": s.alarm, "rejected": s.rejected,
                        "unknown": s.unknown,
                        "duration_s": (s.last_t - s.first_t) if s.first_t is not None else 0.0})
        return out


def combine(stats: list[StreamStats]) -> dict[str, Any]:
    """One summary over every stream of a run (counts added, latency merged), with each stream's own."""
    lat = LatencyStats()
    rejected: dict[str, int] = {}
    dropped: dict[str, int] = {}
    for s in stats:
        lat.merge(s.latency)
        for k, v in s.rejected.items():
            rejected[k] = rejected.get(k, 0) + v
        for k, v in s.dropped.items():
            dropped[k] = dropped.get(k, 0) + v
    stream_s = sum(s.stream_seconds for s in stats)
    wall = sum(s.wall_seconds for s in stats)
    return {
        "windows_in": sum(s.windows_in for s in stats), "processed": sum(s.processed for s in stats),
        "rejected": sum(rejected.values()), "rejected_by_reason": rejected, "dropped": sum(dropped.values()),
        "dropped_by_cause": dropped, "gaps": sum(s.gaps for s in stats), "alarms": sum(s.alarms for s in stats),
        "units": sum(len(s.units) for s in stats), "latency_ms": lat.summary(), "stream_seconds": stream_s,
        "wall_seconds": wall, "real_time_factor": stream_s / wall if wall > 0 else float("inf"),
        "streams": [s.summary() for s in stats],
    }
