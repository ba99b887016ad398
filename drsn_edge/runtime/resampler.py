"""Streaming polyphase resampler: anti-aliased, continuous across chunks (no edge effects). numpy only: the device
runtime does not pay SciPy's import (2 s here) at every start."""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def lowpass(numtaps: int, cutoff: float, beta: float) -> np.ndarray:
    """Kaiser-windowed sinc, unit gain at DC; ``cutoff`` relative to Nyquist (as ``scipy.signal.firwin``)."""
    m = np.arange(numtaps) - (numtaps - 1) / 2
    h = cutoff * np.sinc(cutoff * m) * np.kaiser(numtaps, beta)
    return h / h.sum()


def upfirdn(h: np.ndarray, x: np.ndarray, up: int, down: int) -> np.ndarray:
    """Upsample by ``up``, filter with ``h``, downsample by ``down`` along the last axis (as ``scipy.signal.upfirdn``):
    ``y[k] = sum_j h[j] * xu[k*down - j]`` over the zero-stuffed input, computed phase by phase."""
    n = x.shape[-1]
    count = ((n - 1) * up + len(h) - 1) // down + 1 if n else 0
    taps = -(-len(h) // up)  # taps per phase
    bank = np.zeros((up, taps))
    for p in range(up):
        ph = h[p::up]
        bank[p, taps - len(ph):] = ph[::-1]  # reversed, so a window of x ascending in time multiplies it
    t = np.arange(count) * down
    q, phase = t // up, t % up
    xp = np.concatenate([np.zeros(x.shape[:-1] + (taps - 1,)), x, np.zeros(x.shape[:-1] + (taps,))], axis=-1)
    windows = np.lib.stride_tricks.sliding_window_view(xp, taps, axis=-1)[..., q, :]  # (..., count, taps)
    return np.einsum("...kt,kt->...k", windows, bank[phase])


class StreamResampler:
    """Resample ``(C, n)`` chunks from ``fs_in`` to ``fs_out`` with one FIR designed like ``resample_poly``.

    Output sample ``k`` is ``sum_j h[j] * up(x)[k*M - j]`` over the zero-stuffed input, computed with
    :func:`upfirdn` on a history buffer that always starts at an input index divisible by M, so
    successive chunks give exactly the samples one long call would. Latency: ``delay_seconds``.
    """

    def __init__(self, fs_in: float, fs_out: float, channels: int, kaiser_beta: float = 5.0) -> None:
        ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
        self.up, self.down = ratio.numerator, ratio.denominator
        self.fs_in, self.fs_out, self.channels = fs_in, fs_out, channels
        half = 10 * max(self.up, self.down) if self.up != self.down else 0
        self.h = lowpass(2 * half + 1, 1.0 / max(self.up, self.down), kaiser_beta) * self.up if half else np.ones(1)
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

        self._buf = np.concatenate([self._buf, chunk.astype(np.float64)], axis=1)
        self._seen += chunk.shape[1]
        # outputs whose whole support lies in received input: k*M <= (seen - 1) * L
        last = ((self._seen - 1) * self.up) // self.down
        if last < self._next_out:
            return np.zeros((self.channels, 0), np.float32)
        y = upfirdn(self.h, self._buf, self.up, self.down)
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
