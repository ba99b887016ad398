"""A labelled multi-channel recording, and windows cut from a span of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Fractions of each recording's duration (time split) or of each label's recordings (recording split) for
#: train / validation / test.
DEFAULT_SPLIT = (0.7, 0.1, 0.2)
SPLITS = ("train", "val", "test")


@dataclass
class Recording:
    """``signal`` is ``(channels, samples)`` float32 in physical units (g) at ``fs`` Hz.

    ``rid`` names the recording (its file, relative to the dataset); ``group`` is the machine / load / run it
    belongs to, for group splits (None where the source has no groups). ``native``: where the file was resampled,
    reads it again at its own rate ((channels, samples), rate), for what the model's rate loses: the band where
    bearing impacts ring, which the envelope evidence reads as the stream does.
    """

    signal: np.ndarray
    fs: float
    label: int
    meta: dict[str, Any] = field(default_factory=dict)
    rid: str = ""
    group: str | None = None
    native: Callable[[], tuple[np.ndarray, float]] | None = field(default=None, repr=False, compare=False)

    def at_own_rate(self) -> tuple[np.ndarray, float]:
        """The signal at the rate it was recorded at (``signal`` itself where it was not resampled)."""
        return self.native() if self.native is not None else (self.signal, self.fs)

    @property
    def shaft_hz(self) -> float | None:
        """The shaft speed in Hz its metadata records (a file's own record, a manifest's rpm, the simulator's), or
        None."""
        hz = self.meta.get("shaft_hz") or (self.meta["rpm"] / 60 if self.meta.get("rpm") else None)
        return float(hz) if hz else None

    @property
    def samples(self) -> int:
        return int(self.signal.shape[-1])

    def span(self, split: str, fractions: tuple[float, float, float] = DEFAULT_SPLIT) -> tuple[int, int]:
        """Sample range of a split in time order. Spans do not overlap, so no test window shares a training sample."""
        return time_span(self.samples, split, fractions)


def time_span(n: int, split: str, fractions: tuple[float, float, float] = DEFAULT_SPLIT) -> tuple[int, int]:
    edges = np.concatenate([[0.0], np.cumsum(fractions)]) / sum(fractions)
    i = SPLITS.index(split)
    return int(edges[i] * n), int(edges[i + 1] * n)


def cut_windows(signal: np.ndarray, start: int, stop: int, window: int, hop: int) -> np.ndarray:
    """Windows ``(K, C, window)`` lying wholly inside ``[start, stop)``, every ``hop`` samples."""
    count = (stop - start - window) // hop + 1
    if count <= 0:
        return np.empty((0, signal.shape[0], window), dtype=signal.dtype)
    view = np.lib.stride_tricks.sliding_window_view(signal[:, start:stop], window, axis=-1)
    return np.ascontiguousarray(view[:, : count * hop : hop].transpose(1, 0, 2))
