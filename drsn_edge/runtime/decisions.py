"""From per-window probabilities to decisions and alarms: smoothing, hysteresis, minimum durations."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


class Smoother:
    """Moving average of the last ``n`` probability vectors, or a k-of-n vote on the fault decision."""

    def __init__(self, num_classes: int, n: int = 5, mode: str = "mean", k: int | None = None) -> None:
        if mode not in ("mean", "vote"):
            raise ValueError(f"unknown smoothing {mode!r}; choose 'mean' or 'vote'")
        self.n, self.mode, self.k = max(1, n), mode, k or (max(1, n) // 2 + 1)
        self.hist: deque[np.ndarray] = deque(maxlen=self.n)
        self.num_classes = num_classes

    def reset(self) -> None:
        self.hist.clear()

    def update(self, probs: np.ndarray) -> np.ndarray:
        """Smoothed probabilities (mean) or vote shares per class (vote)."""
        self.hist.append(probs)
        if self.mode == "mean":
            return np.mean(self.hist, axis=0)
        votes = np.bincount([int(np.argmax(p)) for p in self.hist], minlength=self.num_classes)
        return votes / len(self.hist)


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


@dataclass
class AlarmEvent:
    unit: int
    state: str  # "alarm" or "clear"
    label: str  # the fault class when raised; "normal" when cleared
    stream_time: float  # seconds of stream time at the deciding window's end
    p_fault: float


class AlarmStateMachine:
    """Per-unit alarm with hysteresis and minimum durations; emits an event only on a change of state."""

    def __init__(self, unit: int, cfg: AlarmConfig, class_names: list[str], normal: str = "normal") -> None:
        self.unit, self.cfg, self.names = unit, cfg, class_names
        self.normal_idx = class_names.index(normal) if normal in class_names else None
        self.active = False
        self.pending_since: float | None = None
        self.last_clear: float = -np.inf

    def p_fault(self, smoothed: np.ndarray) -> float:
        return 1.0 - float(smoothed[self.normal_idx]) if self.normal_idx is not None else float(np.max(smoothed))

    def update(self, smoothed: np.ndarray, t: float) -> AlarmEvent | None:
        p = self.p_fault(smoothed)
        want = p >= self.cfg.raise_at if not self.active else p >= self.cfg.clear_at
        if want == self.active:
            self.pending_since = None
            return None
        if not self.active and t - self.last_clear < self.cfg.suppress_s:
            return None
        if self.pending_since is None:
            self.pending_since = t
        hold = self.cfg.min_raise_s if not self.active else self.cfg.min_clear_s
        if t - self.pending_since < hold:
            return None
        self.active = want
        self.pending_since = None
        if self.active:
            faults = smoothed.copy()
            if self.normal_idx is not None:
                faults[self.normal_idx] = -1
            return AlarmEvent(self.unit, "alarm", self.names[int(np.argmax(faults))], t, p)
        self.last_clear = t
        return AlarmEvent(self.unit, "clear", self.names[self.normal_idx] if self.normal_idx is not None else "", t, p)
