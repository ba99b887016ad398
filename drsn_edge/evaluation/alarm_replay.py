"""Alarm-level figures: per-window outputs replayed through the runtime's own decision code, then counted as a plant
lives with them: false alarms per day of healthy time (with a Poisson bound), the share of faults alarmed, and the
delay from a fault's onset to its first alarm."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, replace

import numpy as np

from drsn_edge.runtime.config import StreamConfig, check_config
from drsn_edge.runtime.decisions import AlarmConfig, AlarmEvent, Decider, ScoreAlarms

#: the confidence of the bound on a false-alarm rate
CONFIDENCE = 0.95


@dataclass
class Stream:
    """One recording's per-window outputs in time order: ``scores`` (k,) for a score alarm, or a model's ``probs``
    (k, K) and ``extra`` outputs; ``onset_s``: where a fault starts (None: healthy throughout; 0: from the start)."""

    name: str
    duration_s: float
    scores: np.ndarray | None = None
    probs: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
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
           threshold: float = 1.0) -> list[Stream]:
    """Score alarms on each stream's ``scores`` at ``threshold`` (the anomaly path of an enrolled model), one unit per
    stream; the events are set on each stream, which are returned."""
    if not streams:
        return streams
    units = np.concatenate([np.full(len(s.scores), i) for i, s in enumerate(streams)])
    t = np.concatenate([window_times(len(s.scores), window, hop, fs) for s in streams])
    _, _, events = ScoreAlarms(len(streams), cfg, threshold, "anomaly", n, ("healthy", "anomaly")).update(
        units, np.concatenate([s.scores for s in streams]), t)
    return _assign(streams, events)


def replay_model(streams: list[Stream], md, cfg: StreamConfig, hop: int) -> list[Stream]:
    """Every decision the runtime makes on a model's outputs (``probs`` and ``extra`` of each stream): fault and
    novelty alarms, or an enrolled machine's anomaly alarms, one unit per stream."""
    if not streams:
        return streams
    units = np.concatenate([np.full(len(s.probs), i) for i, s in enumerate(streams)])
    t = np.concatenate([window_times(len(s.probs), md.window, hop, md.sample_rate) for s in streams])
    keys = set.intersection(*(set(s.extra) for s in streams))
    extra = {k: np.concatenate([s.extra[k] for s in streams]) for k in keys}
    decider = Decider(len(streams), md, cfg, check_config(cfg, md))
    _, _, _, events = decider.decide(units, np.concatenate([s.probs for s in streams]), extra, t)
    return _assign(streams, events)


def _assign(streams: list[Stream], events: list[AlarmEvent]) -> list[Stream]:
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


def recording_streams(ds, ws, hop: int, probs: np.ndarray, extra: dict[str, np.ndarray]) -> list[Stream]:
    """One stream per contiguous run of test windows of a recording (``ws``: its window set at ``hop``), with the
    fault's onset in that run: a manifest's ``onset_s``, else the start for a fault label, none for the healthy one."""
    out = []
    breaks = np.flatnonzero((np.diff(ws.rec) != 0) | (np.diff(ws.end) != hop)) + 1
    for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(ws.rec)]):
        rec = ds.recordings[int(ws.rec[a])]
        start_s = (int(ws.end[a]) - ws.x.shape[2]) / rec.fs
        healthy = ds.normal_label is not None and ds.class_names[rec.label] == ds.normal_label
        onset = rec.meta.get("onset_s")
        onset_s = None if healthy and onset is None else max(0.0, (onset or 0.0) - start_s)
        duration = (int(ws.end[b - 1]) - int(ws.end[a]) + ws.x.shape[2]) / rec.fs
        out.append(Stream(rec.rid or f"recording {int(ws.rec[a])}", duration, probs=probs[a:b],
                          extra={k: v[a:b] for k, v in extra.items()}, onset_s=onset_s))
    return out


#: what ``--sweep`` varies: an enrolled machine's threshold (x the enrolled one), else the P(fault) that raises
SWEEP_THRESHOLD = (0.5, 0.7, 0.85, 1.0, 1.25, 1.6, 2.0, 3.0, 5.0)
SWEEP_RAISE = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def alarm_report(streams: list[Stream], md, cfg: StreamConfig, hop: int, sweep: bool = False) -> dict:
    """Alarm-level figures of ``streams`` under ``cfg`` (as ``stream`` would run it), and with ``sweep`` the trade-off
    between false alarms and delay at other operating points, the chosen one marked."""
    enrolled = "anomaly" in md.extra_outputs and md.enrolment.get("threshold") is not None and \
        all("anomaly" in s.extra for s in streams)
    out = {"decided_by": "anomaly (enrolled machine)" if enrolled else "classes", "hop": hop,
           "alarm": {"smoothing": cfg.smoothing, "raise_at": cfg.alarm.raise_at, "clear_at": cfg.alarm.clear_at,
                     "min_raise_s": cfg.alarm.min_raise_s, "min_clear_s": cfg.alarm.min_clear_s},
           **alarm_figures(replay_model(streams, md, cfg, hop))}
    if sweep:
        rows = []
        if enrolled:
            base = float(md.enrolment["threshold"])
            for f in SWEEP_THRESHOLD:
                m = copy.copy(md)
                m.enrolment = {**md.enrolment, "threshold": base * f}
                rows.append({"threshold": round(base * f, 5), "chosen": f == 1.0,
                             **alarm_figures(replay_model(streams, m, cfg, hop))})
        else:
            for r in sorted({*SWEEP_RAISE, cfg.alarm.raise_at}):
                c = replace(cfg, alarm=replace(cfg.alarm, raise_at=r, clear_at=min(cfg.alarm.clear_at, r / 2)))
                rows.append({"raise_at": r, "chosen": r == cfg.alarm.raise_at,
                             **alarm_figures(replay_model(streams, md, c, hop))})
        out["sweep"] = rows
    return out


def format_alarms(a: dict) -> str:
    lines = [f"alarms ({a['decided_by']}, replayed through the runtime's decisions at hop {a['hop']}): "
             f"{a['false_alarms']} false alarm(s) in {a['healthy_hours']:.3g} h of healthy time"]
    if "false_alarms_per_day" in a:
        lines[-1] += (f" = {a['false_alarms_per_day']:.3g} per day (95 % bound "
                      f"{a['false_alarms_per_day_bound_95']:.3g})")
    if "fault_recordings" in a:
        lines.append(f"faults alarmed: {a['alarmed']}/{a['fault_recordings']}"
                     + (f", delay from onset median {a['delay_median_s']:.2f} s, worst {a['delay_worst_s']:.2f} s"
                        if a["alarmed"] else "")
                     + (f"; missed: {', '.join(a['missed'][:5])}{' ...' if len(a['missed']) > 5 else ''}"
                        if a["missed"] else ""))
    if a.get("sweep"):
        key = "threshold" if "threshold" in a["sweep"][0] else "raise_at"
        lines += ["", f"{key:>10}  false alarms/day  faults alarmed  delay median s  worst s"]
        for r in a["sweep"]:
            per_day = r.get("false_alarms_per_day")
            lines.append(f"{r[key]:>10.4g}  {'-' if per_day is None else f'{per_day:.3g}':>16}  "
                         f"{str(r.get('alarmed', '-')) + '/' + str(r.get('fault_recordings', '-')):>14}  "
                         f"{r.get('delay_median_s', '-')!s:>14}  {r.get('delay_worst_s', '-')!s:>7}"
                         + ("  <- chosen" if r["chosen"] else ""))
    return "\n".join(lines)
