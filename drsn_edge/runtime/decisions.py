"""From per-window probabilities to decisions and alarms: smoothing, hysteresis, minimum durations.
Whole batches at a time: a unit's windows arrive in stream order, so each step is a vector operation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class Smoother:
    """Moving average of the last ``n`` probability vectors, or the share of votes (argmax) among the last ``n``."""

    def __init__(self, num_classes: int, n: int = 5, mode: str = "mean") -> None:
        if mode not in ("mean", "vote"):
            raise ValueError(f"unknown smoothing {mode!r}; choose 'mean' or 'vote'")
        if n < 1:
            raise ValueError("smoothing needs at least one window")
        self.n, self.mode, self.num_classes = n, mode, num_classes
        self.hist = np.zeros((0, num_classes))

    def reset(self) -> None:
        self.hist = np.zeros((0, self.num_classes))

    def update(self, probs: np.ndarray) -> np.ndarray:
        """Smoothed rows for ``probs`` (k, K) in stream order (a single vector is one row)."""
        single = probs.ndim == 1
        p = np.atleast_2d(probs).astype(np.float64)
        if self.mode == "vote":
            p = np.eye(self.num_classes)[p.argmax(axis=1)]
        seq = np.concatenate([self.hist, p]) if len(self.hist) else p
        cs = np.concatenate([np.zeros((1, self.num_classes)), np.cumsum(seq, axis=0)])
        end = np.arange(len(self.hist) + 1, len(seq) + 1)
        start = np.maximum(0, end - self.n)
        out = (cs[end] - cs[start]) / (end - start)[:, None]
        self.hist = seq[max(0, len(seq) - (self.n - 1)):] if self.n > 1 else seq[:0]
        return out[0] if single else out


class UnitSmoothers:
    """:class:`Smoother` for many units at once: a batch holds windows of several units, each in stream order."""

    def __init__(self, units: int, num_classes: int, n: int = 5, mode: str = "mean") -> None:
        if mode not in ("mean", "vote"):
            raise ValueError(f"unknown smoothing {mode!r}; choose 'mean' or 'vote'")
        if n < 1:
            raise ValueError("smoothing needs at least one window")
        self.n, self.mode, self.k = n, mode, num_classes
        self.hist = np.zeros((units, max(n - 1, 0), num_classes))  # newest last
        self.count = np.zeros(units, np.int64)

    def reset(self) -> None:
        self.count[:] = 0
        self.hist[:] = 0

    def update(self, units: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """Smoothed rows for a batch: per unit present, its history (zeros where it has less) and its windows in one
        zero-padded row, one cumulative sum along it."""
        k, n, K = len(units), self.n, self.k
        rows = np.eye(K)[probs.argmax(axis=1)] if self.mode == "vote" else probs.astype(np.float64)
        if n == 1:
            return rows
        h = n - 1
        order = np.argsort(units, kind="stable")
        u = units[order]
        starts = np.flatnonzero(np.concatenate(([True], u[1:] != u[:-1])))
        lengths = np.diff(np.append(starts, k))
        seg_u = u[starts]
        seg = np.repeat(np.arange(len(starts)), lengths)
        j = h + np.arange(k) - starts[seg]  # each window's place in its unit's padded row
        pad = np.zeros((len(starts), h + int(lengths.max()), K))
        pad[:, :h] = self.hist[seg_u]
        pad[seg, j] = rows[order]
        cs = np.cumsum(pad, axis=1)
        window_sum = cs[seg, j] - np.where((j >= n)[:, None], cs[seg, np.maximum(j - n, 0)], 0.0)
        count = self.count[seg_u]
        out = np.empty((k, K))
        out[order] = window_sum / np.minimum(count[seg] + j - h + 1, n)[:, None]
        self.hist[seg_u] = pad[np.arange(len(starts))[:, None], lengths[:, None] + np.arange(h)]  # the last h rows
        self.count[seg_u] = np.minimum(count + lengths, h)
        return out


@dataclass
class AlarmConfig:
    """Raise when P(fault) >= ``raise_at`` for ``min_raise_s``; clear when < ``clear_at`` for ``min_clear_s``.

    After a clear, no new raise for ``suppress_s``. P(fault) is 1 - P(normal) after smoothing
    (with ``mode="vote"``: the share of the last n windows voting fault, so k-of-n is ``raise_at = k/n``).
    """

    raise_at: float = 0.8
    clear_at: float = 0.4
    min_raise_s: float = 0.5
    min_clear_s: float = 1.0
    suppress_s: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.clear_at < self.raise_at <= 1:
            raise ValueError(f"need 0 <= clear ({self.clear_at}) < raise ({self.raise_at}) <= 1 for hysteresis")
        if min(self.min_raise_s, self.min_clear_s, self.suppress_s) < 0:
            raise ValueError("alarm durations must not be negative")


@dataclass
class AlarmEvent:
    unit: int
    state: str  # "alarm" or "clear"
    label: str  # the fault class when raised; "normal" (the healthy class) when cleared
    stream_time: float  # seconds of stream time at the deciding window's end
    p_fault: float
    kind: str = "fault"  # "fault"; "novelty": windows unlike any class the model knows; "anomaly": unlike this machine
    score: float | None = None  # novelty / anomaly: the deciding window's score...
    threshold: float | None = None  # ...and the threshold it is judged against
    hint: str | None = None  # anomaly: the fault class the classifier sees meanwhile (a hint, not a diagnosis)


class AlarmStateMachine:
    """Per-unit alarm with hysteresis and minimum durations; emits an event only on a change of state."""

    def __init__(self, unit: int, cfg: AlarmConfig, class_names: list[str], normal: str | None = "normal") -> None:
        self.unit, self.cfg, self.names = unit, cfg, class_names
        self.normal_idx = class_names.index(normal) if normal in class_names else None
        self.active = False
        self.pending_since: float | None = None
        self.last_clear: float = -np.inf
        self.label = ""

    def p_fault(self, smoothed: np.ndarray) -> np.ndarray:
        """1 - P(normal); without a normal class, the top probability (any class counts)."""
        s = np.atleast_2d(smoothed)
        p = 1.0 - s[:, self.normal_idx] if self.normal_idx is not None else s.max(axis=1)
        return p if smoothed.ndim > 1 else p[0]

    def update(self, smoothed: np.ndarray, t: float | np.ndarray) -> AlarmEvent | None | list[AlarmEvent]:
        """One window (a vector, returns an event or None) or a batch in stream order (returns a list)."""
        if smoothed.ndim == 1:
            events = self.update_many(smoothed[None], np.atleast_1d(t))
            return events[0] if events else None
        return self.update_many(smoothed, np.asarray(t))

    def update_many(self, smoothed: np.ndarray, t: np.ndarray) -> list[AlarmEvent]:
        p = self.p_fault(smoothed)
        cfg = self.cfg
        if self.pending_since is None and (np.all(p < cfg.raise_at) if not self.active else np.all(p >= cfg.clear_at)):
            return []  # nothing that could change the state: the common case, no per-window work
        events = []
        for i in range(len(p)):
            want = p[i] >= cfg.raise_at if not self.active else p[i] >= cfg.clear_at
            if want == self.active:
                self.pending_since = None
                continue
            ti = float(t[i])
            if not self.active and ti - self.last_clear < cfg.suppress_s:
                continue
            if self.pending_since is None:
                self.pending_since = ti
            if ti - self.pending_since < (cfg.min_raise_s if not self.active else cfg.min_clear_s):
                continue
            self.active, self.pending_since = bool(want), None
            if self.active:
                faults = smoothed[i].copy()
                if self.normal_idx is not None:
                    faults[self.normal_idx] = -1
                self.label = self.names[int(np.argmax(faults))]
                events.append(AlarmEvent(self.unit, "alarm", self.label, ti, float(p[i])))
            else:
                self.last_clear = ti
                self.label = ""
                events.append(AlarmEvent(self.unit, "clear", self.names[self.normal_idx] if self.normal_idx is not None
                                         else "", ti, float(p[i])))
        return events


class UnitAlarms:
    """:class:`AlarmStateMachine` for many units: P(fault) for a whole batch at once, and per-window work only for
    the units whose state could change."""

    def __init__(self, units: int, cfg: AlarmConfig, class_names: list[str], normal: str | None = "normal") -> None:
        self.machines = [AlarmStateMachine(u, cfg, class_names, normal) for u in range(units)]
        self.cfg = cfg
        self.normal_idx = self.machines[0].normal_idx if self.machines else None

    def p_fault(self, smoothed: np.ndarray) -> np.ndarray:
        return 1.0 - smoothed[:, self.normal_idx] if self.normal_idx is not None else smoothed.max(axis=1)

    def update(self, units: np.ndarray, smoothed: np.ndarray, p: np.ndarray, t: np.ndarray) -> list[AlarmEvent]:
        active = np.array([m.active for m in self.machines])
        pending = np.array([m.pending_since is not None for m in self.machines])
        change = np.where(active[units], p < self.cfg.clear_at, p >= self.cfg.raise_at) | pending[units]
        events: list[AlarmEvent] = []
        for u in np.unique(units[change]):
            idx = np.flatnonzero(units == u)
            events += self.machines[u].update_many(smoothed[idx], t[idx])
        return events


class ScoreAlarms:
    """An alarm on a per-window score above a threshold: ``novelty`` (unlike every class the model knows) or
    ``anomaly`` (unlike the healthy state the machine was enrolled on). The share of the last ``n`` windows above it
    goes through the same smoothing, hysteresis and durations as a fault alarm (the runtime and enrolment's replay
    both decide through this class)."""

    def __init__(self, units: int, cfg: AlarmConfig, threshold: float, kind: str, n: int = 5,
                 names: tuple[str, str] = ("known", "unknown")) -> None:
        self.threshold, self.kind = float(threshold), kind
        self.smoothers = UnitSmoothers(units, 2, n, "mean")
        self.alarms = UnitAlarms(units, cfg, list(names), names[0])

    def reset(self) -> None:
        self.smoothers.reset()

    def update(self, units: np.ndarray, scores: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                                      list[AlarmEvent]]:
        """(above: per window, share: the smoothed share above, events) for a batch in stream order per unit."""
        above = scores > self.threshold
        share = self.smoothers.update(units, np.eye(2)[above.astype(np.int64)])
        events = self.alarms.update(units, share, share[:, 1], t)
        for e in events:
            e.kind, e.threshold = self.kind, self.threshold
            at = np.flatnonzero((units == e.unit) & (t == e.stream_time))
            e.score = float(scores[at[0]]) if len(at) else None
        return above, share[:, 1], events


class Decider:
    """Every decision a stream makes on a batch of model outputs, for ``units`` units: fault alarms from the classes
    (windows the novelty head calls unknown never feed one) and novelty alarms, or, for an enrolled machine, anomaly
    alarms with the classifier's fault class as their hint. The runtime and every replay (enrolment, ``evaluate``'s
    alarm figures) decide through this class."""

    def __init__(self, units: int, md, cfg, normal: str | None) -> None:
        self.names = list(md.class_names)
        self.smoothers = UnitSmoothers(units, len(self.names), cfg.smoothing, cfg.smoothing_mode)
        self.alarms = UnitAlarms(units, cfg.alarm, self.names, normal)
        # an enrolled machine: its own healthy state decides, the classifier's fault class is a hint
        self.anomaly = ScoreAlarms(units, cfg.alarm, md.enrolment["threshold"], "anomaly", cfg.smoothing,
                                   ("healthy", "anomaly")) \
            if "anomaly" in md.extra_outputs and md.enrolment.get("threshold") is not None else None
        # "unknown": a window farther from every known class than the threshold calibrated at training
        self.novelty = ScoreAlarms(units, cfg.alarm, md.novelty["threshold"], "novelty", cfg.smoothing) \
            if "novelty" in md.extra_outputs and md.novelty.get("threshold") is not None else None

    def reset(self) -> None:
        self.smoothers.reset()
        for scored in (self.novelty, self.anomaly):
            if scored is not None:
                scored.reset()

    def kinds(self) -> set[str]:
        """The kinds of alarm this decider raises."""
        if self.anomaly is not None:
            return {"anomaly"}
        return {"fault", "novelty"} if self.novelty is not None else {"fault"}

    def take_over(self, old: Decider, t: float) -> list[AlarmEvent]:
        """Carry ``old``'s state into this decider (a model swap between two batches): every alarm, pending raise and
        suppression this model can hold goes on as it was; the smoothing history too where the classes are the same
        (with other classes it starts afresh, as after a gap). An alarm this model cannot hold (its class is gone, or
        the model no longer raises that kind) is cleared: the events returned, at stream time ``t``."""
        if self.names == old.names:
            self.smoothers.hist[:], self.smoothers.count[:] = old.smoothers.hist, old.smoothers.count
        cleared: list[AlarmEvent] = []
        kinds = self.kinds()
        for new_m, old_m in zip(self.alarms.machines, old.alarms.machines):
            if old_m.active and ("fault" not in kinds or old_m.label not in self.names):
                cleared.append(AlarmEvent(old_m.unit, "clear", self._healthy(), t, float("nan"), "fault"))
                new_m.last_clear = t
                continue
            new_m.active, new_m.pending_since, new_m.last_clear = old_m.active, old_m.pending_since, old_m.last_clear
            new_m.label = old_m.label
        for kind in ("novelty", "anomaly"):
            new, before = getattr(self, kind), getattr(old, kind)
            if before is None:
                continue
            if new is not None:  # the same alarm on the new model's threshold
                new.smoothers, new.alarms = before.smoothers, before.alarms
                continue
            cleared += [AlarmEvent(m.unit, "clear", m.names[0], t, float("nan"), kind)
                        for m in before.alarms.machines if m.active]
        return cleared

    def _healthy(self) -> str:
        return self.names[self.alarms.normal_idx] if self.alarms.normal_idx is not None else ""

    def decide(self, units: np.ndarray, probs: np.ndarray, extra: dict[str, np.ndarray],
               t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[AlarmEvent]]:
        """(smoothed, p_fault, labels with -1 for unknown, events) for a batch in stream order per unit. A backend may
        not return a head's output (a wrapped or older runner): then no "unknown", no anomaly alarm."""
        anomaly = extra.get("anomaly") if self.anomaly is not None else None
        if anomaly is not None:
            return self._enrolled(units, probs, anomaly, t)
        return self._classes(units, probs, extra.get("novelty") if self.novelty is not None else None, t)

    def _classes(self, units: np.ndarray, probs: np.ndarray, novelty: np.ndarray | None,
                 t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[AlarmEvent]]:
        unknown = None
        if novelty is not None:
            unknown, _, novelty_events = self.novelty.update(units, novelty, t)
        known = ~unknown if unknown is not None else slice(None)
        smoothed, p_fault, events = probs, self.alarms.p_fault(probs), []
        if unknown is None or known.any():
            sm = self.smoothers.update(units[known], probs[known])
            smoothed = probs.copy()
            smoothed[known] = sm
            p_fault[known] = self.alarms.p_fault(sm)
            events = self.alarms.update(units[known], sm, p_fault[known], t[known])
        labels = probs.argmax(axis=1)
        if unknown is not None:  # a run of unknown windows is its own alarm
            events += novelty_events
            labels = np.where(unknown, -1, labels)
        return smoothed, p_fault, labels, events

    def _enrolled(self, units: np.ndarray, probs: np.ndarray, anomaly: np.ndarray,
                  t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[AlarmEvent]]:
        """p_fault is the smoothed share of windows above the threshold, a window's label the healthy class below it
        and the classifier's fault class above it, and that class, smoothed, is each anomaly alarm's hint."""
        smoothed = self.smoothers.update(units, probs)
        above, share, events = self.anomaly.update(units, anomaly, t)
        normal = self.alarms.normal_idx
        faults = smoothed.copy()
        if normal is not None:
            faults[:, normal] = -1
        fault_class = faults.argmax(axis=1)
        labels = np.where(above, fault_class, normal if normal is not None else fault_class)
        for e in events:
            at = np.flatnonzero((units == e.unit) & (t == e.stream_time))
            e.hint = self.names[int(fault_class[at[0]])] if e.state == "alarm" and len(at) else None
        return smoothed, share, labels, events
