"""The bounded hand-over between the reader thread and the inference thread: blocks of windows and markers (gaps),
bounded in windows; with ``drop-oldest`` the oldest windows go first, and every drop is counted."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass
class Batch:
    units: np.ndarray  # (k,) unit of each window
    data: np.ndarray  # (k, C, T) float32
    ends: np.ndarray  # (k,) stream index (model rate) one past each window's end
    arrival: np.ndarray  # (k,) perf_counter() when each window's last samples arrived
    codes: np.ndarray  # (k,) input check result per window (drsn_edge.runtime.quality), found by the reader

    def __len__(self) -> int:
        return len(self.units)


@dataclass
class Marker:
    kind: str  # "gap"
    at: int  # stream index


class WindowQueue:
    def __init__(self, capacity: int, policy: str = "block") -> None:
        self.capacity, self.policy = capacity, policy
        self.items: deque = deque()  # [unit, data, ends, arrival, first] blocks and Marker objects
        self.windows = 0
        self.dropped = 0
        self.cond = threading.Condition()
        self.closed = False
        self.stop = threading.Event()

    def put(self, units: np.ndarray | int, data: np.ndarray, ends: np.ndarray, arrival: float,
            codes: np.ndarray | None = None) -> None:
        """A block of windows (``units``: one per window, or one for all) that arrived together."""
        k = len(data)
        units = np.full(k, units, np.int64) if np.ndim(units) == 0 else np.asarray(units, np.int64)
        codes = np.zeros(k, np.int8) if codes is None else codes
        if not k:
            return
        with self.cond:
            if self.policy == "block":
                while self.windows and self.windows + k > self.capacity and not self.stop.is_set():
                    self.cond.wait(0.1)
            else:
                while self.windows and self.windows + k > self.capacity:
                    self._drop_oldest(self.windows + k - self.capacity)
            self.items.append([units, data, ends, arrival, 0, codes])
            self.windows += k
            self.cond.notify_all()

    def _drop_oldest(self, n: int) -> None:
        for item in self.items:
            if isinstance(item, Marker):
                continue
            avail = len(item[1]) - item[4]
            take = min(avail, n)
            item[4] += take
            self.windows -= take
            self.dropped += take
            n -= take
            if n <= 0:
                break
        while self.items and not isinstance(self.items[0], Marker) and self.items[0][4] >= len(self.items[0][1]):
            self.items.popleft()

    def mark(self, marker: Marker) -> None:
        with self.cond:
            self.items.append(marker)
            self.cond.notify_all()

    def close(self) -> None:
        """No more input: the consumer drains what is queued, then gets None."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def get(self, batch_size: int, max_latency: float, idle: float = 0.1) -> Batch | Marker | None | bool:
        """The next batch (up to ``batch_size`` windows, once full or its oldest window waited ``max_latency``),
        a marker, None at the end, or False after ``idle`` seconds without windows."""
        with self.cond:
            while True:
                if self.items and isinstance(self.items[0], Marker):
                    return self.items.popleft()
                n = self._available()
                if n:
                    now = time.perf_counter()
                    if self._due(n, batch_size, max_latency, now):
                        batch = self._pop(min(n, batch_size))
                        self.cond.notify_all()
                        return batch
                    self.cond.wait(max(0.0, self.items[0][3] + max_latency - now))
                    continue
                if self.closed:
                    return None
                if not self.cond.wait(idle):
                    return False

    def ready(self, batch_size: int, max_latency: float) -> bool:
        """Whether :meth:`get` would return a batch or a marker at once (without waiting for windows)."""
        with self.cond:
            if self.items and isinstance(self.items[0], Marker):
                return True
            n = self._available()
            return bool(n) and self._due(n, batch_size, max_latency, time.perf_counter())

    def _due(self, n: int, batch_size: int, max_latency: float, now: float) -> bool:
        """With ``n`` > 0 windows queued: whether a batch goes now (full, its oldest window waited ``max_latency``,
        the input ended, or a marker follows)."""
        marker_next = len(self.items) > 1 and any(isinstance(i, Marker) for i in self.items)
        return n >= batch_size or now - self.items[0][3] >= max_latency or self.closed or marker_next

    def _available(self) -> int:
        n = 0
        for item in self.items:
            if isinstance(item, Marker):
                break
            n += len(item[1]) - item[4]
        return n

    def _pop(self, n: int) -> Batch:
        units, data, ends, arrival, codes = [], [], [], [], []
        while n > 0:
            item = self.items[0]
            u, d, e, a, first, c = item
            take = min(n, len(d) - first)
            data.append(d[first : first + take])
            ends.append(e[first : first + take])
            units.append(u[first : first + take])
            codes.append(c[first : first + take])
            arrival.append(np.full(take, a))
            item[4] += take
            self.windows -= take
            n -= take
            if item[4] >= len(d):
                self.items.popleft()
        cat = (lambda parts: parts[0]) if len(data) == 1 else np.concatenate
        return Batch(cat(units), cat(data), cat(ends), cat(arrival), cat(codes))
