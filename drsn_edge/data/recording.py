"""A labelled multi-channel recording and its time-based split into windows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Fractions of each recording's duration for train / validation / test, in time order.
DEFAULT_SPLIT = (0.7, 0.1, 0.2)
SPLITS = ("train", "val", "test")


@dataclass
class Recording:
    """``signal`` is ``(channels, samples)`` float32 in physical units (g) at ``fs`` Hz."""

    signal: np.ndarray
    fs: float
    label: int
    meta: dict[str, Any] = field(default_factory=dict)

    def span(self, split: str, fractions: tuple[float, float, float] = DEFAULT_SPLIT) -> tuple[int, int]:
        """Sample range of a split. Spans do not overlap, so no test window shares a training sample."""
        n = self.signal.shape[-1]
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
