"""What every file reader shares: the options a user can give, the file's description, blocks of samples.

A reader turns one file into a ``(channels, samples)`` float32 array in physical units (g) plus its sample rate,
read block by block so that memory does not grow with the file. Layout convention, for the whole project:
**2-D arrays are (channels, samples)**; a file laid out the other way says so with ``layout="samples-first"``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drsn_edge.errors import DrsnEdgeError

LAYOUTS = ("channels-first", "samples-first")
#: Samples per block when a caller does not say.
DEFAULT_BLOCK = 1 << 16


@dataclass
class ReadOptions:
    """What a user may say about a file. Everything is optional; the file's own information wins where it has it."""

    fs: float | None = None  # the rate: checked against a file's own, used for files without one (.npy, plain CSV)
    fallback_fs: float | None = None  # only for files without a rate of their own (a dataset-wide default)
    channels: tuple[str, ...] | None = None  # which channels: names (CSV header, .mat variable paths) or numbers
    time_column: str | None = None  # CSV: the column of time stamps (name or number)
    layout: str | None = None  # 2-D arrays (.npy, .mat): channels-first (default) or samples-first
    rate_variable: str | None = None  # .mat: the variable (dotted path) holding the sample rate
    scale: float = 1.0  # raw value x scale = g

    def __post_init__(self) -> None:
        for rate in (self.fs, self.fallback_fs):
            if rate is not None and not (math.isfinite(rate) and rate > 0):
                raise DrsnEdgeError(f"sample rate must be a positive number of Hz, got {rate}")
        if self.layout is not None and self.layout not in LAYOUTS:
            raise DrsnEdgeError(f"unknown array layout {self.layout!r}; choose {' or '.join(LAYOUTS)}")
        if not (math.isfinite(self.scale) and self.scale != 0):
            raise DrsnEdgeError(f"scale must be a non-zero number, got {self.scale}")
        if self.channels is not None:
            self.channels = tuple(str(c).strip() for c in self.channels if str(c).strip())


@dataclass
class Block:
    data: np.ndarray  # (channels, n) float32, g
    gap_before: bool = False  # samples are missing just before this block (CSV time stamps)
    gap_s: float = 0.0  # how long the gap is, in seconds


@dataclass
class FileInfo:
    path: str
    format: str
    fs: float
    channel_names: list[str]
    frames: int | None  # samples per channel; None where only a full read would tell
    notes: list[str] = field(default_factory=list)
    shaft_hz: float | None = None  # the shaft speed the file records (CWRU X105RPM, MFPT bearing.rate), where it does

    @property
    def channels(self) -> int:
        return len(self.channel_names)

    @property
    def duration(self) -> float | None:
        return None if self.frames is None else self.frames / self.fs


class Reader:
    """One open file. Subclasses set ``info`` in ``__init__`` and implement ``_blocks``."""

    info: FileInfo

    def __init__(self, path: str | Path, options: ReadOptions | None = None) -> None:
        self.path = Path(path)
        self.options = options or ReadOptions()

    def blocks(self, frames: int = DEFAULT_BLOCK) -> Iterator[Block]:
        """The whole file in blocks of at most ``frames`` samples, scaled to g."""
        scale = np.float32(self.options.scale)
        for b in self._blocks(max(1, int(frames))):
            data = np.asarray(b.data, dtype=np.float32)
            if scale != 1:
                data = data * scale
            yield Block(data, b.gap_before, b.gap_s)

    def read(self) -> np.ndarray:
        """The whole file as ``(channels, samples)`` float32 (for datasets; streams use :meth:`blocks`)."""
        parts = [b.data for b in self.blocks()]
        if not parts:
            return np.zeros((self.info.channels, 0), np.float32)
        return np.concatenate(parts, axis=1)

    def _blocks(self, frames: int) -> Iterator[Block]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- helpers for subclasses --------------------------------------------------------------------------------
    def fail(self, reason: str) -> DrsnEdgeError:
        return DrsnEdgeError(f"{self.path}: {reason}")

    def resolve_rate(self, own: float | None, what: str = "") -> float:
        """The file's own rate, checked against ``options.fs``; or ``options.fs`` for files without one."""
        given = self.options.fs
        if own is not None:
            if not (math.isfinite(own) and own > 0):
                raise self.fail(f"stored sample rate {own} is not a positive number")
            if given is not None and abs(given - own) > 1e-6 * own:
                raise self.fail(f"sampled at {own:g} Hz{what}, not {given:g} Hz as given")
            return float(own)
        if given is None:
            given = self.options.fallback_fs
        if given is None:
            raise self.fail("the file holds no sample rate; give it (--fs, or an fs column in a manifest)")
        return float(given)

    def select(self, names: list[str], default: list[int] | None = None) -> list[int]:
        """Indices of the requested channels (``options.channels``: names or numbers); all, or ``default``, if none."""
        wanted = self.options.channels
        if not wanted:
            return list(range(len(names))) if default is None else default
        out = []
        for w in wanted:
            if w in names:
                out.append(names.index(w))
            elif w.lstrip("-").isdigit() and -len(names) <= int(w) < len(names):
                out.append(int(w) % len(names))
            else:
                raise self.fail(f"no channel {w!r}; it has {', '.join(names) if len(names) <= 20 else f'{len(names)} channels'}")
        return out


def orient(shape: tuple[int, ...], layout: str | None, where: str) -> tuple[int, int, bool]:
    """(channels, samples, transposed) of a 1-D or 2-D array under the project's layout convention.

    A 2-D array with more rows than columns and no stated layout is refused: as (channels, samples) it would be
    thousands of channels of a few samples, and guessing would silently swap time and sensors.
    """
    if 0 in shape:
        raise DrsnEdgeError(f"{where}: an empty array (shape {shape}): no samples to read")
    if len(shape) == 1:
        return 1, shape[0], False
    if len(shape) != 2:
        raise DrsnEdgeError(f"{where}: expected a 1-D or 2-D array, got shape {shape}")
    rows, cols = shape
    if layout == "samples-first":
        return cols, rows, True
    if layout is None and rows > cols and cols > 0 and rows > 1:
        if cols == 1:
            return 1, rows, True  # a column vector is one channel either way
        raise DrsnEdgeError(f"{where}: shape {shape} looks like (samples, channels); drsn-edge reads 2-D arrays as "
                            f"(channels, samples): transpose it, or say layout samples-first (--layout samples-first)")
    return rows, cols, False
