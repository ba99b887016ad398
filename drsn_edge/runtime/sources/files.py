"""File sources: any format the readers know, streamed block by block (memory does not grow with the file)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from drsn_edge.readers import Reader, ReadOptions, open_reader
from drsn_edge.runtime.sources.base import Chunk, Pacer, Scale, SourceStats, as_chunks


class ArraySource:
    """An in-memory ``(channels, samples)`` array replayed in blocks (tests, benchmarks, the library)."""

    live = False

    def __init__(self, data: np.ndarray, fs: float, block: int = 1024, realtime: bool = False,
                 gaps_at: list[int] | None = None) -> None:
        self.data = np.asarray(data, np.float32)
        if self.data.ndim == 1:
            self.data = self.data[None]
        self.fs, self.channels, self.block = float(fs), self.data.shape[0], block
        self.pacer = Pacer(fs, realtime)
        self.gaps_at = sorted(gaps_at or [])
        self.stats = SourceStats()
        self.name = "array"
        self.stopped = threading.Event()

    def chunks(self) -> Iterator[Chunk]:
        bounds = [0, *self.gaps_at, self.data.shape[1]]
        for k in range(len(bounds) - 1):
            for i, c in enumerate(as_chunks(self.data[:, bounds[k] : bounds[k + 1]], self.block)):
                if self.stopped.is_set():
                    return
                self.pacer.wait(c.shape[1])
                self.stats.chunks += 1
                self.stats.samples += c.shape[1]
                gap = k > 0 and i == 0
                self.stats.gaps += gap
                yield Chunk(c, gap_before=gap)

    def stop(self) -> None:
        self.stopped.set()

    def close(self) -> None:
        pass


class ReaderSource:
    """A recording file read through its reader, one block at a time; paced to recording speed if ``realtime``."""

    live = False

    def __init__(self, reader: Reader, block: int = 1024, realtime: bool = False) -> None:
        self.reader = reader
        self.fs, self.channels, self.block = reader.info.fs, reader.info.channels, block
        self.channel_names = list(reader.info.channel_names)
        self.pacer = Pacer(self.fs, realtime)
        self.stats = SourceStats(notes=reader.info.notes)  # the reader adds what it finds while reading
        self.name = Path(reader.info.path).name
        self.stopped = threading.Event()

    @property
    def duration(self) -> float | None:
        return self.reader.info.duration

    @property
    def shaft_hz(self) -> float | None:
        """The shaft speed the file records, where it does."""
        return self.reader.info.shaft_hz

    def chunks(self) -> Iterator[Chunk]:
        for b in self.reader.blocks(self.block):
            if self.stopped.is_set():
                return
            self.pacer.wait(b.data.shape[1])
            self.stats.chunks += 1
            self.stats.samples += b.data.shape[1]
            self.stats.gaps += b.gap_before
            yield Chunk(b.data, gap_before=b.gap_before, gap_s=b.gap_s)

    def stop(self) -> None:
        self.stopped.set()

    def close(self) -> None:
        self.reader.close()


def open_file_source(path: str | Path, fs: float | None = None, scale: Scale | None = None, block: int = 1024,
                     realtime: bool = False, time_column: str | None = None, channels: tuple[str, ...] | None = None,
                     layout: str | None = None, fs_checked: float | None = None) -> ReaderSource:
    """Open a recording; rate and channels from the file where it has them. ``fs``: the rate of a file that stores
    none; ``fs_checked``: the rate the file must have (a manifest row's ``fs``); ``channels``: which to stream."""
    scale = scale or Scale()
    reader = open_reader(path, ReadOptions(fs=fs_checked, fallback_fs=fs, channels=channels, layout=layout,
                                           time_column=None if time_column is None else str(time_column),
                                           scale=scale.gain))
    return ReaderSource(reader, block, realtime)
