"""File sources: WAV / FLAC (soundfile), NumPy .npy, CSV, CWRU .mat."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.sources.base import Chunk, Pacer, Scale, SourceStats, as_chunks

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".aiff", ".aif"}
FILE_SUFFIXES = AUDIO_SUFFIXES | {".npy", ".csv", ".txt", ".mat"}


class ArraySource:
    """An in-memory ``(channels, samples)`` array replayed in blocks (also the base of the file sources)."""

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

    def chunks(self) -> Iterator[Chunk]:
        bounds = [0, *self.gaps_at, self.data.shape[1]]
        for k in range(len(bounds) - 1):
            for i, c in enumerate(as_chunks(self.data[:, bounds[k] : bounds[k + 1]], self.block)):
                self.pacer.wait(c.shape[1])
                self.stats.chunks += 1
                self.stats.samples += c.shape[1]
                gap = k > 0 and i == 0
                self.stats.gaps += gap
                yield Chunk(c, gap_before=gap)

    def close(self) -> None:
        pass


def wav_truncation(path: Path) -> str | None:
    """libsndfile quietly shortens a cut-off WAV; compare its header's data size with the bytes present."""
    import struct

    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while True:
            f.seek(pos)
            hdr = f.read(8)
            if len(hdr) < 8:
                return None
            cid, n = hdr[:4], struct.unpack("<I", hdr[4:])[0]
            if cid == b"data":
                have = size - pos - 8
                if n != 0xFFFFFFFF and have < n:
                    return f"truncated file: header declares {n} data bytes, {have} present"
                return None
            pos += 8 + n + (n & 1)


def _audio(path: Path, scale: Scale) -> tuple[np.ndarray, float, list[str]]:
    import soundfile as sf

    notes = []
    try:
        with sf.SoundFile(str(path)) as f:
            fs, expected = f.samplerate, f.frames
            data = f.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise DrsnEdgeError(f"{path}: cannot read audio ({exc})") from None
    if expected > 0 and data.shape[0] < expected:
        notes.append(f"truncated file: header says {expected} frames, {data.shape[0]} readable")
    elif path.suffix.lower() == ".wav":
        note = wav_truncation(path)
        if note:
            notes.append(note + f"; streaming the {data.shape[0]} complete frames")
    if data.shape[0] == 0:
        raise DrsnEdgeError(f"{path}: no samples (truncated or empty file)")
    return data.T * scale.gain, float(fs), notes


def _csv(path: Path, fs: float | None, time_column: int | None) -> tuple[np.ndarray, float, list[int]]:
    try:
        arr = np.genfromtxt(path, delimiter=",", dtype=np.float64, invalid_raise=True)
    except ValueError as exc:
        raise DrsnEdgeError(f"{path}: not a numeric CSV ({str(exc).splitlines()[0]})") from None
    if np.isnan(arr).all(axis=-1).any() and arr.ndim > 1 and np.isnan(arr[0]).all():
        arr = arr[1:]  # header row
    arr = arr.reshape(len(arr), -1)
    gaps: list[int] = []
    if time_column is not None:
        t = arr[:, time_column]
        arr = np.delete(arr, time_column, axis=1)
        dt = np.diff(t)
        step = float(np.median(dt))
        fs = fs or 1.0 / step
        gaps = [int(i) + 1 for i in np.nonzero(dt > 1.5 * step)[0]]
    if fs is None:
        raise DrsnEdgeError(f"{path}: give the sample rate (--fs) or a time column (--time-column)")
    return arr.T, fs, gaps


def open_file_source(path: str | Path, fs: float | None = None, channels: int | None = None, scale: Scale | None = None,
                     block: int = 1024, realtime: bool = False, time_column: int | None = None,
                     mat_channels: tuple[str, ...] = ("DE",)) -> ArraySource:
    """Open a recording by its suffix; sample rate and channel count from the file where it has them."""
    path = Path(path)
    scale = scale or Scale()
    if not path.is_file():
        raise DrsnEdgeError(f"input file not found: {path}")
    suffix = path.suffix.lower()
    gaps: list[int] = []
    notes: list[str] = []
    if suffix in AUDIO_SUFFIXES:
        data, file_fs, notes = _audio(path, scale)
        if fs and fs != file_fs:
            raise DrsnEdgeError(f"{path} is sampled at {file_fs:g} Hz, not --fs {fs:g}")
        fs = file_fs
    elif suffix == ".npy":
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise DrsnEdgeError(f"{path}: not a NumPy array file ({exc})") from None
        if arr.ndim not in (1, 2):
            raise DrsnEdgeError(f"{path}: expected (samples,) or (samples, channels), got shape {arr.shape}")
        data = np.asarray(arr, np.float32).reshape(len(arr), -1).T * scale.gain
        if fs is None:
            raise DrsnEdgeError(f"{path}: a .npy file has no sample rate; give --fs")
    elif suffix in (".csv", ".txt"):
        data, fs, gaps = _csv(path, fs, time_column)
        data = data * scale.gain
    elif suffix == ".mat":
        from drsn_edge.data.cwru import CATALOGUE, read_mat_channels

        data, _ = read_mat_channels(path, mat_channels)
        data = data * scale.gain
        if fs is None:
            entry = CATALOGUE.get(int(path.stem)) if path.stem.isdigit() else None
            if entry is None:
                raise DrsnEdgeError(f"{path}: not a catalogued CWRU file; give --fs")
            fs = entry.fs
    else:
        raise DrsnEdgeError(f"{path}: unknown file type {suffix!r}; use one of {', '.join(sorted(FILE_SUFFIXES))}")
    if channels is not None and data.shape[0] != channels:
        raise DrsnEdgeError(f"{path} has {data.shape[0]} channel(s), --channels says {channels}")
    src = ArraySource(data, fs, block, realtime, gaps)
    src.stats.notes.extend(notes)
    return src
