"""Every monitored unit at once: samples in, every complete window out (every ``hop`` samples), a block at a time.
All units of a stream receive the same samples per block and are reset together (a gap is the stream's), so one
buffer serves them all and a block's windows come out in one vector operation, however many units there are."""

from __future__ import annotations

import numpy as np


class RingWindower:
    """Keeps only the samples the next window still needs; ``push`` returns the windows a chunk completes, for
    ``units`` units of ``channels`` sensor channels each (the chunk's rows: unit 0's channels, then unit 1's, ...)."""

    def __init__(self, units: int, channels: int, window: int, hop: int) -> None:
        if hop <= 0 or window <= 0 or units <= 0 or channels <= 0:
            raise ValueError("units, channels, window and hop must be positive")
        self.units, self.channels, self.window, self.hop = units, channels, window, hop
        self.reset(0)

    def reset(self, stream_index: int) -> None:
        """Drop buffered samples (after a gap or bad data): no window will straddle this point."""
        self.tail = np.zeros((self.units * self.channels, 0), np.float32)
        self.total = 0  # samples received since the last reset
        self.offset = stream_index  # stream index (model rate) of the first sample after the reset
        self.next_end = self.window  # `total` at which the next window completes

    def push(self, chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(windows (units * k, C, window), ends, units)`` for the k windows per unit that ``chunk``
        ``(units * C, n)`` completes, unit by unit; ends are stream indices one past each window's last sample."""
        n = chunk.shape[1]
        start_total = self.total - self.tail.shape[1]  # `total` position of buf[:, 0]
        self.total += n
        if self.total < self.next_end:
            self.tail = np.concatenate([self.tail, chunk], axis=1) if self.tail.size else np.array(chunk, np.float32)
            self._trim(start_total)
            return np.empty((0, self.channels, self.window), np.float32), np.empty(0, np.int64), np.empty(0, np.int64)
        buf = np.concatenate([self.tail, chunk], axis=1) if self.tail.shape[1] else chunk
        ends = np.arange(self.next_end, self.total + 1, self.hop, dtype=np.int64)
        starts = ends - self.window - start_total
        view = np.lib.stride_tricks.sliding_window_view(buf, self.window, axis=1)  # (U*C, positions, window)
        k, u, c = len(ends), self.units, self.channels
        picked = view[:, starts].reshape(u, c, k, self.window).transpose(0, 2, 1, 3)  # (U, k, C, window)
        out = np.ascontiguousarray(picked, dtype=np.float32).reshape(u * k, c, self.window)
        self.next_end = int(ends[-1]) + self.hop
        self.tail = buf
        self._trim(start_total)
        return out, np.tile(ends + self.offset, u), np.repeat(np.arange(u, dtype=np.int64), k)

    def _trim(self, start_total: int) -> None:
        """Keep from the first sample of the next window on (nothing before it is needed again)."""
        first_needed = self.next_end - self.window
        drop = first_needed - start_total
        if drop > 0:
            self.tail = np.array(self.tail[:, drop:], np.float32)  # a copy: release the chunk it came from
