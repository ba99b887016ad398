"""Source protocol: a stream of ``(channels, n)`` float32 chunks in physical units at a known rate."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class Chunk:
    data: np.ndarray  # (channels, n) float32, physical units (g)
    gap_before: bool = False  # samples are missing just before this chunk
    gap_s: float = 0.0  # how long, where the input knows it (CSV time stamps)


@dataclass
class SourceStats:
    chunks: int = 0
    samples: int = 0
    rejected_bytes: int = 0  # partial frames / undecodable input
    gaps: int = 0
    notes: list[str] = field(default_factory=list)


class Source(Protocol):
    """One lifecycle: ``chunks`` runs on the reader thread; ``stop`` (any thread) asks it to end at the next chunk,
    or at the next poll of a silent live input; ``close`` releases the file or socket, and is called only after the
    reader thread has ended (closing a memory-mapped file under a reader crashed the process)."""

    fs: float
    channels: int
    live: bool  # True for stdin / sockets (data arrives in real time)
    stats: SourceStats

    def chunks(self) -> Iterator[Chunk]: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class Scale:
    """Raw value -> g: ``value * gain`` (:func:`drsn_edge.readers.scale_factor` makes it from a scale or a sensitivity)."""

    gain: float = 1.0


class Pacer:
    """Sleep so that a replayed file advances no faster than its recording speed."""

    def __init__(self, fs: float, realtime: bool) -> None:
        self.fs, self.realtime, self.t0, self.sent = fs, realtime, None, 0

    def wait(self, n: int) -> None:
        if not self.realtime:
            return
        if self.t0 is None:
            self.t0 = time.perf_counter()
        self.sent += n
        delay = self.t0 + self.sent / self.fs - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


def as_chunks(x: np.ndarray, block: int) -> Iterator[np.ndarray]:
    for i in range(0, x.shape[1], block):
        yield x[:, i : i + block]
