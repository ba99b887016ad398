"""The JSON record schema shared by every sink (documented in README: Streaming output)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from drsn_edge.runtime.decisions import AlarmEvent


@dataclass
class WindowDecision:
    unit: int
    stream_time: float  # seconds from stream start to the window's end
    label: str  # argmax of this window's probabilities
    probabilities: np.ndarray
    smoothed_label: str
    p_fault: float  # after smoothing
    latency_ms: float  # arrival of the window's last sample -> decision
    wall_time: float  # unix time of the decision


def window_record(d: WindowDecision, class_names: list[str]) -> dict[str, Any]:
    return {"type": "window", "unit": d.unit, "stream_time": round(d.stream_time, 6), "wall_time": round(d.wall_time, 6),
            "label": d.label, "smoothed_label": d.smoothed_label, "p_fault": round(d.p_fault, 6),
            "probabilities": {n: round(float(p), 6) for n, p in zip(class_names, d.probabilities)},
            "latency_ms": round(d.latency_ms, 3)}


def alarm_record(e: AlarmEvent) -> dict[str, Any]:
    return {"type": "alarm", "unit": e.unit, "state": e.state, "label": e.label, "stream_time": round(e.stream_time, 6),
            "wall_time": round(time.time(), 6), "p_fault": round(e.p_fault, 6)}


def event_record(kind: str, **info: Any) -> dict[str, Any]:
    """``rejected`` (a window not fed to the model, with its reason), ``gap``, ``dropped``, ``summary``."""
    return {"type": kind, "wall_time": round(time.time(), 6), **info}
