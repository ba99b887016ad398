"""Ring buffer per monitored unit: samples in, windows out every ``hop`` samples."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Window:
    unit: int  # which monitored unit (sensor group) it belongs to
    data: np.ndarray  # (C, window) float32, model units
    end_sample: int  # stream index (at the model's rate) one past the window's last sample
    arrival: float  # perf_counter() when its last samples arrived


class RingWindower:
    """Fixed-capacity circular buffer for one unit; emits each complete window once, every ``hop`` samples."""

    def __init__(self, unit: int, channels: int, window: int, hop: int) -> None:
        if hop <= 0 or window <= 0:
            raise ValueError("window and hop must be positive")
        self.unit, self.window, self.hop = unit, window, hop
        self.buf = np.zeros((channels, 2 * window), np.float32)
        self.filled = 0  # samples held (<= window)
        self.total = 0  # samples received since the last reset (stream position at model rate)
        self.offset = 0  # stream index of the first sample after the last reset
        self.next_end = window  # `total` at which the next window completes

    def reset(self, stream_index: int) -> None:
        """Drop buffered samples (after a gap or bad data): no window will straddle this point."""
        self.filled, self.total, self.offset, self.next_end = 0, 0, stream_index, self.window

    def push(self, chunk: np.ndarray, arrival: float) -> list[Window]:
        out: list[Window] = []
        n = chunk.shape[1]
        i = 0
        while i < n:
            # copy up to the next window boundary, then emit
            take = min(n - i, self.next_end - self.total)
            self._append(chunk[:, i : i + take])
            i += take
            self.total += take
            if self.total == self.next_end:
                data = self.buf[:, self.filled - self.window : self.filled].copy()
                out.append(Window(self.unit, data, self.offset + self.total, arrival))
                self.next_end += self.hop
        return out

    def _append(self, x: np.ndarray) -> None:
        n = x.shape[1]
        if self.filled + n > self.buf.shape[1]:
            keep = self.window - n if n < self.window else 0
            self.buf[:, :keep] = self.buf[:, self.filled - keep : self.filled]
            self.filled = keep
            if n > self.buf.shape[1]:
                x = x[:, -self.window :]
                n = x.shape[1]
        self.buf[:, self.filled : self.filled + n] = x
        self.filled += n
