"""WAV / FLAC / OGG / AIFF through soundfile (libsndfile), read in blocks."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from drsn_edge.readers.base import Block, FileInfo, Reader, ReadOptions

SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")


def wav_truncation(path: Path) -> str | None:
    """libsndfile quietly shortens a cut-off WAV; compare its header's data size with the bytes present."""
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


class AudioReader(Reader):
    def __init__(self, path: str | Path, options: ReadOptions | None = None) -> None:
        super().__init__(path, options)
        try:
            import soundfile as sf
        except ImportError:
            raise self.fail("reading audio files needs soundfile: pip install 'drsn-edge[stream]'") from None
        self._sf = sf
        try:
            self.f = sf.SoundFile(str(self.path))
        except Exception as exc:  # libsndfile reports damage in several ways
            raise self.fail(f"cannot read audio ({_first_line(exc)})") from None
        try:
            if self.f.channels < 1 or self.f.samplerate <= 0:
                raise self.fail(f"damaged audio header ({self.f.channels} channels at {self.f.samplerate} Hz)")
            names = [str(i) for i in range(self.f.channels)]
            self.cols = self.select(names)
            fs = self.resolve_rate(float(self.f.samplerate))
            frames = int(self.f.frames) if self.f.frames > 0 else None
            notes = []
            if self.path.suffix.lower() == ".wav":
                note = wav_truncation(self.path)
                if note:
                    notes.append(note + "; reading the complete frames")
        except BaseException:
            self.f.close()
            raise
        self.info = FileInfo(str(self.path), self.path.suffix.lower().lstrip("."), fs, [names[c] for c in self.cols],
                             frames, notes)
        self._started = False

    def _blocks(self, frames: int) -> Iterator[Block]:
        got = 0
        if self._started:
            try:
                self.f.seek(0)
            except Exception as exc:  # libsndfile: "Internal psf_fseek() failed" on damaged seek tables
                raise self.fail(f"cannot rewind the audio ({_first_line(exc)})") from None
        self._started = True
        while True:
            try:
                x = self.f.read(frames, dtype="float32", always_2d=True)
            except Exception as exc:
                raise self.fail(f"cannot decode audio after {got} frames ({_first_line(exc)})") from None
            if not len(x):
                break
            got += len(x)
            yield Block(np.ascontiguousarray(x[:, self.cols].T))
        expected = self.info.frames
        if expected is not None and got < expected:
            note = f"truncated file: header says {expected} frames, {got} readable"
            if note not in self.info.notes:
                self.info.notes.append(note)

    def close(self) -> None:
        self.f.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
