"""Raw interleaved sample streams: standard input and TCP sockets (little-endian float32 or int16).

Reads go through ``select`` with a short timeout on the file descriptor (no buffered reader), so a stop request is
seen even while the input is silent, and nothing is left holding a lock at exit.
"""

from __future__ import annotations

import math
import os
import select
import socket
import sys
import threading
from collections.abc import Iterator

import numpy as np

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.sources.base import Chunk, Scale, SourceStats

FORMATS = {"f32le": np.dtype("<f4"), "s16le": np.dtype("<i2")}
POLL_S = 0.2


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


def _check_raw(fs: float | None, channels: int | None) -> None:
    if not fs or not channels:
        raise DrsnEdgeError("a raw stream needs its rate and channel count: --fs and --raw-channels")
    if not (math.isfinite(fs) and fs > 0) or channels < 1:
        raise DrsnEdgeError("--fs must be positive and --raw-channels at least 1")


class _FdReader:
    """Reads bytes from file descriptors until EOF or stop, never blocking longer than ``POLL_S``."""

    def __init__(self) -> None:
        self.stopped = threading.Event()

    def read_fd(self, fd: int, size: int) -> bytes | None:
        """Bytes (b"" at EOF), or None when stopped."""
        while not self.stopped.is_set():
            try:
                ready, _, _ = select.select([fd], [], [], POLL_S)
            except (OSError, ValueError):
                return b""
            if ready:
                try:
                    return os.read(fd, size)
                except BlockingIOError:
                    continue
                except OSError:
                    return b""
        return None


class StdinSource(_FdReader):
    """Standard input (a pipe, a file, a terminal)."""

    live = True

    def __init__(self, fs: float, channels: int, fmt: str = "f32le", scale: Scale | None = None,
                 block_frames: int = 1024, fd: int | None = None) -> None:
        super().__init__()
        _check_raw(fs, channels)
        self.fs, self.channels = float(fs), channels
        self.fd = sys.stdin.fileno() if fd is None else fd
        self.decoder = RawDecoder(fmt, channels, scale or Scale())
        self.block = block_frames * self.decoder.frame
        self.stats = SourceStats()
        self.name = "stdin"

    def chunks(self) -> Iterator[Chunk]:
        while True:
            data = self.read_fd(self.fd, self.block)
            if not data:
                break
            x = self.decoder.decode(data)
            if x.shape[1]:
                self.stats.chunks += 1
                self.stats.samples += x.shape[1]
                yield Chunk(x)
        _partial(self.decoder, self.stats)

    def stop(self) -> None:
        self.stopped.set()

    def close(self) -> None:
        self.stopped.set()


def _partial(decoder: RawDecoder, stats: SourceStats) -> None:
    if decoder.pending:
        stats.rejected_bytes += len(decoder.pending)
        stats.notes.append(f"discarded {len(decoder.pending)} bytes of a partial frame at end of input")
        decoder.pending = b""


def _address(url: str) -> tuple[str, int]:
    rest = url.split("://", 1)[1]
    host, _, port = rest.rpartition(":")
    try:
        return host.strip("[]") or "127.0.0.1", int(port)
    except ValueError:
        raise DrsnEdgeError(f"bad socket address {url!r}: expected tcp://HOST:PORT or tcp-listen://HOST:PORT") from None


class TcpSource(_FdReader):
    """``tcp://HOST:PORT`` connects to a sender; ``tcp-listen://HOST:PORT`` serves one sender after another until
    stopped (a new sender's data follows a gap)."""

    live = True

    def __init__(self, url: str, fs: float, channels: int, fmt: str = "f32le", scale: Scale | None = None,
                 block_frames: int = 1024, connect_timeout: float = 10.0) -> None:
        super().__init__()
        _check_raw(fs, channels)
        self.url, self.fs, self.channels = url, float(fs), channels
        self.listen = url.startswith("tcp-listen://")
        self.addr = _address(url)
        self.decoder = RawDecoder(fmt, channels, scale or Scale())
        self.block = block_frames * self.decoder.frame
        self.stats = SourceStats()
        self.name = f"tcp-{self.addr[0]}-{self.addr[1]}"
        self.server: socket.socket | None = None
        self.conn: socket.socket | None = None
        try:
            if self.listen:
                family = socket.AF_INET6 if ":" in self.addr[0] else socket.AF_INET
                self.server = socket.create_server(self.addr, family=family)
                self.server.setblocking(False)
            else:
                self.conn = socket.create_connection(self.addr, timeout=connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise DrsnEdgeError(f"cannot open {url}: {exc}") from None

    def _accept(self) -> socket.socket | None:
        while not self.stopped.is_set():
            try:
                ready, _, _ = select.select([self.server], [], [], POLL_S)
            except (OSError, ValueError):
                return None
            if ready:
                try:
                    conn, _ = self.server.accept()
                    return conn
                except (BlockingIOError, OSError):
                    continue
        return None

    def chunks(self) -> Iterator[Chunk]:
        first = True
        while not self.stopped.is_set():
            conn = self.conn if not self.listen else self._accept()
            if conn is None:
                break
            self.conn = conn
            conn.setblocking(True)
            gap = not first
            first = False
            while True:
                data = self.read_fd(conn.fileno(), self.block)
                if not data:
                    break
                x = self.decoder.decode(data)
                if x.shape[1]:
                    self.stats.chunks += 1
                    self.stats.samples += x.shape[1]
                    yield Chunk(x, gap_before=gap)
                    gap = False
            _partial(self.decoder, self.stats)
            conn.close()
            self.conn = None
            if not self.listen:
                break

    def stop(self) -> None:
        self.stopped.set()

    def close(self) -> None:
        self.stopped.set()
        if self.server is not None:
            self.server.close()
        if self.conn is not None:
            self.conn.close()


def stdin_source(fs: float, channels: int, fmt: str = "f32le", scale: Scale | None = None) -> StdinSource:
    return StdinSource(fs, channels, fmt, scale)


def tcp_source(url: str, fs: float, channels: int, fmt: str = "f32le", scale: Scale | None = None) -> TcpSource:
    return TcpSource(url, fs, channels, fmt, scale)
