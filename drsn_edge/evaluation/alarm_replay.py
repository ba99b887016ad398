"""Alarm-level figures: per-window outputs replayed through the runtime's own decision code, then counted as a plant
lives with them: false alarms per day of healthy time (with a Poisson bound), the share of faults alarmed, and the
delay from a fault's onset to its first alarm."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from drsn_edge.runtime.decisions import AlarmConfig, AlarmEvent, ScoreAlarms, UnitAlarms, UnitSmoothers

#: the confidence of the bound on a false-alarm rate
CONFIDENCE = 0.95


@dataclass
class Stream:
    """One recording's per-window outputs in time order: ``scores`` (k,) for a score alarm or ``probs`` (k, K) for
    the fault alarm; ``onset_s``: where a fault starts (None: healthy throughout; 0: faulty from the start)."""

    name: str
    duration_s: float
    scores: np.ndarray | None = None
    probs: np.ndarray | None = None
    onset_s: float | None = None
    events: list[AlarmEvent] = field(default_factory=list)

    @property
    def healthy_s(self) -> float:
        return self.duration_s if self.onset_s is None else min(self.onset_s, self.duration_s)


def window_times(k: int, window: int, hop: int, fs: float) -> np.ndarray:
    """Stream time at each window's end, as the runtime stamps it (its end sample over the rate: the durations of
    the alarm logic compare these, so they are computed alike to the last bit)."""
    return (window + hop * np.arange(k, dtype=np.int64)) / fs


def replay(streams: list[Stream], window: int, hop: int, fs: float, cfg: AlarmConfig, n: int = 5,
           threshold: float | None = None, class_names: list[str] | None = None,
           normal: str | None = "normal") -> list[Stream]:
    """Each stream's alarm events (set on it and returned): with ``threshold``, score alarms on ``scores`` (the
    anomaly path of an enrolled model); else fault alarms on ``probs`` (the class path), one unit per stream."""
    if not streams:
        return streams
    units = np.concatenate([np.full(len(s.scores if threshold is not None else s.probs), i)
                            for i, s in enumerate(streams)])
    t = np.concatenate([window_times(len(s.scores if threshold is not None else s.probs), window, hop, fs)
                        for s in streams])
    if threshold is not None:
        _, _, events = ScoreAlarms(len(streams), cfg, threshold, "anomaly", n, ("healthy", "anomaly")).update(
            units, np.concatenate([s.scores for s in streams]), t)
    else:
        probs = np.concatenate([s.probs for s in streams])
        names = class_names or [str(k) for k in range(probs.shape[1])]
        smoothed = UnitSmoothers(len(streams), len(names), n).update(units, probs)
        alarms = UnitAlarms(len(streams), cfg, names, normal)
        events = alarms.update(units, smoothed, alarms.p_fault(smoothed), t)
    for s in streams:
        s.events = []
    for e in sorted(events, key=lambda e: e.stream_time):
        streams[e.unit].events.append(e)
    return streams


def rate_bound(count: int, days: float, confidence: float = CONFIDENCE) -> float:
    """The upper ``confidence`` bound on a Poisson rate per day with ``count`` events seen in ``days`` (0 events in
    3 days: 1.0 per day at 95 %)."""
    from scipy.stats import chi2

    return float(chi2.ppf(confidence, 2 * count + 2) / 2 / days) if days > 0 else math.inf


def days_to_vouch(per_day: float, confidence: float = CONFIDENCE) -> float:
    """Days of healthy signal without a false alarm that bound the rate at ``per_day``."""
    return rate_bound(0, 1.0, confidence) / per_day


def alarm_figures(streams: list[Stream]) -> dict:
    """False alarms on healthy time (before each onset), detection of each fault from its onset."""
    healthy_s = sum(s.healthy_s for s in streams)
    false = sum(1 for s in streams for e in s.events
                if e.state == "alarm" and (s.onset_s is None or e.stream_time < s.onset_s))
    days = healthy_s / 86400.0
    out: dict = {"healthy_hours": round(healthy_s / 3600.0, 4), "false_alarms": false}
    if days > 0:
        out["false_alarms_per_day"] = round(false / days, 3)
        out[f"false_alarms_per_day_bound_{round(100 * CONFIDENCE)}"] = round(rate_bound(false, days), 3)
    faults = [s for s in streams if s.onset_s is not None]
    if faults:
        delays, missed = [], []
        for s in faults:
            first = next((e.stream_time for e in s.events if e.state == "alarm" and e.stream_time >= s.onset_s), None)
            if first is None:
                missed.append(s.name)
            else:
                delays.append(first - s.onset_s)
        out.update(fault_recordings=len(faults), alarmed=len(delays), missed=missed)
        if delays:
            out.update(delay_median_s=round(float(np.median(delays)), 3), delay_worst_s=round(float(max(delays)), 3))
    return out
