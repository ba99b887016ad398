"""Streaming polyphase resampler: anti-aliased, continuous across chunks (no edge effects)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np


class StreamResampler:
    """Resample ``(C, n)`` chunks from ``fs_in`` to ``fs_out`` with one FIR designed like ``resample_poly``.

    Output sample ``k`` is ``sum_j h[j] * up(x)[k*M - j]`` over the zero-stuffed input, computed with
    ``scipy.signal.upfirdn`` on a history buffer that always starts at an input index divisible by M, so
    successive chunks give exactly the samples one long call would. Latency: ``delay_seconds``.
    """

    def __init__(self, fs_in: float, fs_out: float, channels: int, kaiser_beta: float = 5.0) -> None:
        from scipy.signal import firwin

        ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
        self.up, self.down = ratio.numerator, ratio.denominator
        self.fs_in, self.fs_out, self.channels = fs_in, fs_out, channels
        half = 10 * max(self.up, self.down) if self.up != self.down else 0
        self.h = (firwin(2 * half + 1, 1.0 / max(self.up, self.down), window=("kaiser", kaiser_beta)) * self.up
                  if half else np.ones(1))
        self.delay_seconds = half / (self.up * fs_in)
        self._buf = np.zeros((channels, 0), dtype=np.float64)
        self._buf_start = 0  # absolute input index of _buf[:, 0]
        self._next_out = 0  # absolute output index to emit next
        self._seen = 0  # input samples received

    @property
    def identity(self) -> bool:
        return self.up == self.down

    def process(self, chunk: np.ndarray) -> np.ndarray:
        if self.identity:
            return chunk
        from scipy.signal import upfirdn

        self._buf = np.concatenate([self._buf, chunk.astype(np.float64)], axis=1)
        self._seen += chunk.shape[1]
        # outputs whose whole support lies in received input: k*M <= (seen - 1) * L
        last = ((self._seen - 1) * self.up) // self.down
        if last < self._next_out:
            return np.zeros((self.channels, 0), np.float32)
        y = upfirdn(self.h, self._buf, up=self.up, down=self.down, axis=-1)
        first_abs = self._buf_start * self.up // self.down  # output index of y[:, 0]
        out = y[:, self._next_out - first_abs : last - first_abs + 1]
        self._next_out = last + 1
        # keep history covering the filter support of the next output, starting at a multiple of M
        need_from = max(0, (self._next_out * self.down - len(self.h)) // self.up)
        need_from -= need_from % self.down
        if need_from > self._buf_start:
            self._buf = self._buf[:, need_from - self._buf_start :]
            self._buf_start = need_from
        return out.astype(np.float32)
