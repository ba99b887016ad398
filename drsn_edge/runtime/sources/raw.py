"""Raw interleaved sample streams: standard input and TCP sockets (little-endian float32 or int16)."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.sources.base import Chunk, Scale, SourceStats

FORMATS = {"f32le": np.dtype("<f4"), "s16le": np.dtype("<i2")}


class RawDecoder:
    """Bytes -> ``(channels, n)`` float32; keeps a partial frame for the next read."""

    def __init__(self, fmt: str, channels: int, scale: Scale) -> None:
        if fmt not in FORMATS:
            raise DrsnEdgeError(f"unknown raw format {fmt!r}; choose from {', '.join(FORMATS)}")
        self.dtype, self.channels = FORMATS[fmt], channels
        self.frame = self.dtype.itemsize * channels
        self.gain = scale.gain / (32768.0 if fmt == "s16le" else 1.0)
        self.pending = b""

    def decode(self, data: bytes) -> np.ndarray:
        data = self.pending + data
        usable = len(data) - len(data) % self.frame
        self.pending = data[usable:]
        x = np.frombuffer(data[:usable], self.dtype).reshape(-1, self.channels).T
        return x.astype(np.float32) * np.float32(self.gain)


class StreamSource:
    """Reads a binary stream (stdin, a socket file) until EOF."""

    live = True

    def __init__(self, stream: BinaryIO, fs: float, channels: int, fmt: str = "f32le", scale: Scale | None = None,
                 block_frames: int = 1024, closer=None) -> None:
        if not fs or not channels:
            raise DrsnEdgeError("a raw stream needs --fs and --channels")
        self.stream, self.fs, self.channels = stream, float(fs), channels
        self.decoder = RawDecoder(fmt, channels, scale or Scale())
        self.block = block_frames * self.decoder.frame
        self.stats = SourceStats()
        self._closer = closer

    def chunks(self) -> Iterator[Chunk]:
        read = getattr(self.stream, "read1", self.stream.read)
        while True:
            try:
                data = read(self.block)
            except (ConnectionError, OSError) as exc:
                self.stats.notes.append(f"input closed: {exc}")
                break
            if not data:
                break
            x = self.decoder.decode(data)
            if x.shape[1]:
                self.stats.chunks += 1
                self.stats.samples += x.shape[1]
                yield Chunk(x)
        if self.decoder.pending:
            self.stats.rejected_bytes += len(self.decoder.pending)
            self.stats.notes.append(f"discarded {len(self.decoder.pending)} bytes of a partial frame at end of input")

    def close(self) -> None:
        if self._closer:
            self._closer()


def stdin_source(fs: float, channels: int, fmt: str = "f32le", scale: Scale | None = None) -> StreamSource:
    return StreamSource(sys.stdin.buffer, fs, channels, fmt, scale)


def tcp_source(url: str, fs: float, channels: int, fmt: str = "f32le", scale: Scale | None = None,
               timeout: float = 10.0) -> StreamSource:
    """``tcp://HOST:PORT`` connects to a sender; ``tcp-listen://HOST:PORT`` waits for one to connect."""
    listen = url.startswith("tcp-listen://")
    host, _, port = url.split("://", 1)[1].rpartition(":")
    try:
        addr = (host or "127.0.0.1", int(port))
    except ValueError:
        raise DrsnEdgeError(f"bad socket address {url!r}: expected tcp://HOST:PORT or tcp-listen://HOST:PORT") from None
    try:
        if listen:
            server = socket.create_server(addr)
            server.settimeout(timeout)
            conn, _ = server.accept()
            server.close()
        else:
            conn = socket.create_connection(addr, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise DrsnEdgeError(f"cannot open {url}: {exc}") from None
    conn.settimeout(None)
    f = conn.makefile("rb", buffering=0)
    return StreamSource(f, fs, channels, fmt, scale, closer=lambda: (f.close(), conn.close()))
