"""What a stream has done, in fixed memory: the one set of counters the summary, Prometheus and the verdicts read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drsn_edge.runtime.latency import LatencyStats
from drsn_edge.runtime.quality import REASONS


def class_columns(known: list[str], names: list[str]) -> tuple[list[str], np.ndarray | None]:
    """Every class seen, ``known`` then those of ``names`` it lacks, and where ``names`` go among them (None: they are
    all of them, in order). A swapped-in model's classes are counted and drawn this way, never remapped."""
    if list(names) == list(known):
        return list(known), None
    out = [*known, *(n for n in names if n not in known)]
    return out, np.array([out.index(n) for n in names], np.int64)


@dataclass
class StreamStats:
    stream: str
    class_names: list[str]
    source: str = ""
    n_units: int = 0
    windows_in: int = 0
    processed: int = 0
    gaps: int = 0
    alarms: int = 0  # alarm state changes (raise and clear)
    rejected: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)  # cause -> windows or messages lost
    latency: LatencyStats = field(default_factory=LatencyStats)
    stream_seconds: float = 0.0
    wall_seconds: float = 0.0
    infer_seconds: float = 0.0  # time inside the backend's inference calls
    samples: int = 0
    rejected_bytes: int = 0
    notes: list[str] = field(default_factory=list)
    stopped: bool = False  # ended by a signal, not by the end of its input
    error: str | None = None  # the input failed midway (its windows until then are decided and counted)
    evidence: dict[str, Any] = field(default_factory=lambda: {"on": False})  # bearing evidence: on, or why not

    def __post_init__(self) -> None:
        """Per unit, as arrays (a batch updates them all at once)."""
        u, k = self.n_units, len(self.class_names)
        self.label_counts = np.zeros((u, k), np.int64)  # windows per (unsmoothed) class
        self.unit_processed = np.zeros(u, np.int64)
        self.unit_rejected = np.zeros(u, np.int64)
        self.unit_unknown = np.zeros(u, np.int64)  # windows labelled unknown (novelty)
        self.alarms_raised = np.zeros(u, np.int64)
        self.p_fault = np.zeros(u)  # the latest smoothed P(fault)
        self.p_fault_max = np.zeros(u)  # the highest (an alarm needs --raise)
        self.first_t = np.full(u, np.nan)
        self.last_t = np.zeros(u)
        self.alarm: list[str | None] = [None] * u  # the active alarm's label
        self.noise_level = np.full(u, np.nan)  # the latest window's noise level (dB), where the model reports it
        self.seen = np.zeros(u, bool)
        self.diagnosis: list[dict[str, Any] | None] = [None] * u  # with bearing evidence: each unit's at the end
        self.latest_evidence: list[dict[str, Any] | None] = [None] * u  # ...and its latest, where a trend is kept

    def class_index(self, names: list[str]) -> np.ndarray | None:
        """Where a model's classes count here (a swapped-in model may have others): a new class gets its own column,
        a class it lacks keeps its counts. None when they are this stream's classes, in order."""
        known, columns = class_columns(self.class_names, names)
        self.label_counts = np.pad(self.label_counts, ((0, 0), (0, len(known) - len(self.class_names))))
        self.class_names = known
        return columns

    def add_decisions(self, units: np.ndarray, labels: np.ndarray, p_fault: np.ndarray, t: np.ndarray,
                      noise: np.ndarray | None = None) -> None:
        """``labels``: class per window, -1 for unknown."""
        known = labels >= 0
        np.add.at(self.label_counts, (units[known], labels[known]), 1)
        if not known.all():
            np.add.at(self.unit_unknown, units[~known], 1)
        self.unit_processed += np.bincount(units, minlength=self.n_units)
        uniq, rev_idx = np.unique(units[::-1], return_index=True)
        last = len(units) - 1 - rev_idx  # each unit's latest window in this batch
        self.p_fault[uniq], self.last_t[uniq] = p_fault[last], t[last]
        np.fmax.at(self.p_fault_max, units, p_fault)
        if noise is not None:
            self.noise_level[uniq] = noise[last]
        np.fmin.at(self.first_t, units, t)
        self.seen[units] = True
        self.processed += len(units)

    def add_rejected(self, codes: np.ndarray, units: np.ndarray) -> None:
        for c, n in zip(*np.unique(codes, return_counts=True)):
            self.rejected[REASONS[c]] = self.rejected.get(REASONS[c], 0) + int(n)
        np.add.at(self.unit_rejected, units, 1)
        self.seen[units] = True

    def add_dropped(self, cause: str, n: int) -> None:
        if n:
            self.dropped[cause] = self.dropped.get(cause, 0) + int(n)

    def summary(self) -> dict[str, Any]:
        rtf = self.stream_seconds / self.wall_seconds if self.wall_seconds > 0 else None
        return {
            "stream": self.stream, "input": self.source, "windows_in": self.windows_in, "processed": self.processed,
            "rejected": sum(self.rejected.values()), "rejected_by_reason": dict(self.rejected),
            "dropped": sum(self.dropped.values()), "dropped_by_cause": dict(self.dropped), "gaps": self.gaps,
            "alarms": self.alarms, "units": int(self.seen.sum()), "latency_ms": self.latency.summary(),
            "stream_seconds": self.stream_seconds, "wall_seconds": self.wall_seconds, "real_time_factor": rtf,
            "infer_seconds": self.infer_seconds, "stopped": self.stopped, "error": self.error, "evidence": self.evidence,
            "source": {"samples": self.samples, "rejected_bytes": self.rejected_bytes, "notes": list(self.notes)},
            "verdicts": self.verdicts(),
        }

    def dominant(self, unit: int) -> str | None:
        """The class most of ``unit``'s windows got (None: none decided, or all unknown)."""
        counts = self.label_counts[unit]
        return self.class_names[int(np.argmax(counts))] if counts.sum() else None

    def verdicts(self) -> list[dict[str, Any]]:
        """Per unit: the dominant class and its share of windows, alarms raised, rejected / unknown windows, and with
        bearing evidence the diagnosis at the end."""
        out = []
        for u in np.flatnonzero(self.seen):
            counts = self.label_counts[u]
            total = int(counts.sum())
            out.append({"unit": int(u), "dominant": self.dominant(u),
                        "share": float(counts.max() / total) if total else 0.0, "windows": total,
                        "alarms_raised": int(self.alarms_raised[u]), "alarm_active": self.alarm[u],
                        "rejected": int(self.unit_rejected[u]), "unknown": int(self.unit_unknown[u]),
                        "p_fault_max": round(float(self.p_fault_max[u]), 4),
                        "duration_s": float(self.last_t[u] - self.first_t[u]) if np.isfinite(self.first_t[u]) else 0.0})
            if self.evidence.get("on"):
                out[-1]["diagnosis"] = self.diagnosis[u]
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
        "units": sum(int(s.seen.sum()) for s in stats), "latency_ms": lat.summary(), "stream_seconds": stream_s,
        "wall_seconds": wall, "real_time_factor": stream_s / wall if wall > 0 else None,
        "infer_seconds": sum(s.infer_seconds for s in stats), "streams": [s.summary() for s in stats],
    }
