"""The JSON record schema shared by every sink (documented in the README: Output schema)."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import numpy as np

from drsn_edge.runtime.decisions import AlarmEvent


def _finite(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def strict_json(record: dict[str, Any]) -> str:
    """One record as strict JSON (what every sink writes): NaN and infinities, which JSON has no word for and strict
    parsers such as Node's refuse, become null."""
    try:
        return json.dumps(record, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(_finite(record), separators=(",", ":"), allow_nan=False)


def window_records(r, class_names: list[str]) -> list[dict[str, Any]]:
    """One record per window of a :class:`~drsn_edge.runtime.runner.BatchResult`, built only when a sink wants them."""
    probs = np.round(r.probs, 6).tolist()
    labels = (r.probs.argmax(axis=1) if r.labels is None else r.labels).tolist()
    smoothed = np.where(r.labels < 0, -1, r.smoothed.argmax(axis=1)).tolist() if r.labels is not None else \
        r.smoothed.argmax(axis=1).tolist()
    names = [*class_names, "unknown"]  # index -1 reads "unknown"
    t = np.round(r.t, 6).tolist()
    pf = np.round(r.p_fault, 6).tolist()
    lat = np.round(r.latency_ms, 3).tolist()
    units = r.units.tolist()
    wall = round(r.wall_time, 6)
    extra = {k: np.round(v, 6).tolist() for k, v in r.extra.items()}
    if r.evidence is not None:
        extra["evidence"], extra["diagnosis"] = r.evidence, r.diagnosis
    out = []
    for i in range(len(units)):
        rec = {"type": "window", "stream": r.stream, "unit": units[i], "stream_time": t[i], "wall_time": wall,
               "label": names[labels[i]], "smoothed_label": names[smoothed[i]], "p_fault": pf[i],
               "probabilities": dict(zip(class_names, probs[i])), "latency_ms": lat[i]}
        for k, v in extra.items():
            rec[k] = v[i]
        out.append(rec)
    return out


def alarm_record(e: AlarmEvent, stream: str = "0") -> dict[str, Any]:
    """``score`` and ``threshold`` on novelty and anomaly alarms, ``hint`` (the classifier's fault class) on anomaly
    alarms."""
    rec = {"type": "alarm", "stream": stream, "unit": e.unit, "state": e.state, "kind": e.kind, "label": e.label,
           "stream_time": round(e.stream_time, 6), "wall_time": round(time.time(), 6), "p_fault": round(e.p_fault, 6)}
    if e.threshold is not None:
        rec.update(score=None if e.score is None else round(e.score, 6), threshold=round(e.threshold, 6))
    if e.kind == "anomaly":
        rec["hint"] = e.hint
    return rec


def event_record(kind: str, **info: Any) -> dict[str, Any]:
    """``rejected`` (a window not fed to the model, with its reason), ``gap``, ``dropped``, ``backend_outage`` and
    ``backend_restored`` (a remote inference server went away, came back), ``stream_end``, ``summary``."""
    return {"type": kind, "wall_time": round(time.time(), 6), **info}
