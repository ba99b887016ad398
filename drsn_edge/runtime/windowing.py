"""Per monitored unit: samples in, every complete window out (every ``hop`` samples), a block at a time."""

from __future__ import annotations

import numpy as np


class RingWindower:
    """Keeps only the samples the next window still needs; ``push`` returns the windows a chunk completes."""

    def __init__(self, unit: int, channels: int, window: int, hop: int) -> None:
        if hop <= 0 or window <= 0:
            raise ValueError("window and hop must be positive")
        self.unit, self.channels, self.window, self.hop = unit, channels, window, hop
        self.reset(0)

    def reset(self, stream_index: int) -> None:
        """Drop buffered samples (after a gap or bad data): no window will straddle this point."""
        self.tail = np.zeros((self.channels, 0), np.float32)
        self.total = 0  # samples received since the last reset
        self.offset = stream_index  # stream index (model rate) of the first sample after the reset
        self.next_end = self.window  # `total` at which the next window completes

    def push(self, chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(windows (k, C, window), ends (k,))``: ends are stream indices one past each window's last sample."""
        n = chunk.shape[1]
        start_total = self.total - self.tail.shape[1]  # `total` position of buf[:, 0]
        self.total += n
        if self.total < self.next_end:
            self.tail = np.concatenate([self.tail, chunk], axis=1) if self.tail.size else np.array(chunk, np.float32)
            self._trim(start_total)
            return np.empty((0, self.channels, self.window), np.float32), np.empty(0, np.int64)
        buf = np.concatenate([self.tail, chunk], axis=1) if self.tail.shape[1] else chunk
        ends = np.arange(self.next_end, self.total + 1, self.hop, dtype=np.int64)
        starts = ends - self.window - start_total
        view = np.lib.stride_tricks.sliding_window_view(buf, self.window, axis=1)  # (C, positions, window)
        out = np.ascontiguousarray(view[:, starts].transpose(1, 0, 2), dtype=np.float32)
        self.next_end = int(ends[-1]) + self.hop
        self.tail = buf
        self._trim(start_total)
        return out, ends + self.offset

    def _trim(self, start_total: int) -> None:
        """Keep from the first sample of the next window on (nothing before it is needed again)."""
        first_needed = self.next_end - self.window
        drop = first_needed - start_total
        if drop > 0:
            self.tail = np.array(self.tail[:, drop:], np.float32)  # a copy: release the chunk it came from
