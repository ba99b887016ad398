"""JSON lines to standard output or a file: one record per window decision, alarm change or event.

Lines are written with ``os.write``, whole lines only, so what is counted is what reached the file: on a full disk
the count stops at the last whole line, a line cut short is cut back off the file, and the rest is counted as lost
(the summary said 118 records while the file held 41). SIGHUP (:data:`drsn_edge.lifecycle.REOPEN`) closes the file
and opens it again at the same path, the logrotate convention. Without logrotate, the sink rotates the file itself by
size or age (``out.jsonl`` -> ``out.jsonl.1`` -> ... ``out.jsonl.KEEP``, the oldest dropped), only between whole
lines.
"""

from __future__ import annotations

import os
import re
import sys
import time
from typing import Any

from drsn_edge.errors import DrsnEdgeError, readable_os_error
from drsn_edge.runtime.config import DURATION_UNITS
from drsn_edge.runtime.sinks.records import strict_json

_SIZE = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9}


def parse_rotation(text: str) -> tuple[int | None, float | None]:
    """``100MB`` (size) or ``1d`` / ``6h`` / ``30m`` (age) -> (bytes, seconds); a one-line error otherwise."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*", text or "")
    unit = m.group(2).lower() if m else ""
    if not m or unit not in (*_SIZE, *DURATION_UNITS) or float(m.group(1)) <= 0:
        raise DrsnEdgeError(f"bad JSON lines rotation {text!r}: give a size (100MB, 1GB) or an age (6h, 1d)")
    value = float(m.group(1))
    if unit in _SIZE:
        return max(int(value * _SIZE[unit]), 1024), None
    return None, max(value * DURATION_UNITS[unit], 1.0)


class JsonLinesSink:
    """Events and alarms are written at once; window records at least every ``FLUSH_S`` (a file followed with
    ``tail -f`` during a live stream stays current, a fast offline run is not slowed by a write per window)."""

    name = "jsonl"
    FLUSH_S = 0.5
    #: window records held before a write, at most
    BUFFER = 4096

    def __init__(self, path: str | None = None, windows: bool = True, rotate: str | None = None, keep: int = 5) -> None:
        self.path = path if path and path != "-" else None
        self.windows = windows
        self.written = 0  # whole lines in the file (or the pipe)
        self.lost = 0  # handed over, never written whole
        self.reopened = self.rotated = 0
        self.rotate_bytes, self.rotate_s = parse_rotation(rotate) if rotate else (None, None)
        if rotate and not self.path:
            raise DrsnEdgeError("JSON lines rotation needs a file (--jsonl PATH), not standard output")
        if not 1 <= keep <= 1000:
            raise DrsnEdgeError(f"rotated JSON lines files to keep must be from 1 to 1,000, got {keep}")
        self.keep = keep
        self._lines: list[str] = []
        self._flushed = time.monotonic()
        self.fd = self._open() if self.path else None

    def _open(self) -> int:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise DrsnEdgeError(f"cannot write {self.path}: {readable_os_error(exc)}") from None
        self._size, self._opened = os.fstat(fd).st_size, time.monotonic()
        return fd

    def _rotate_if_due(self) -> None:
        due = (self.rotate_bytes is not None and self._size >= self.rotate_bytes) or \
            (self.rotate_s is not None and time.monotonic() - self._opened >= self.rotate_s)
        if not due or not self._size:
            return
        os.close(self.fd)
        for k in range(self.keep - 1, 0, -1):
            if os.path.exists(f"{self.path}.{k}"):
                os.replace(f"{self.path}.{k}", f"{self.path}.{k + 1}")
        os.replace(self.path, f"{self.path}.1")
        self.fd = self._open()
        self.rotated += 1

    def emit(self, record: dict[str, Any]) -> None:
        if record["type"] == "window" and not self.windows:
            return
        self._lines.append(strict_json(record))
        if record["type"] != "window" or len(self._lines) >= self.BUFFER or time.monotonic() - self._flushed > self.FLUSH_S:
            self._write()  # events and alarms reach the file (or pipe) at once

    def emit_many(self, records: list[dict[str, Any]]) -> None:
        if not records or (records[0]["type"] == "window" and not self.windows):
            return
        self._lines += [strict_json(r) for r in records]
        if len(self._lines) >= self.BUFFER or time.monotonic() - self._flushed > self.FLUSH_S:
            self._write()

    def _write(self) -> None:
        """Write the held lines; on failure count the whole lines that made it and raise (the sink is set aside)."""
        lines, self._lines = self._lines, []
        self._flushed = time.monotonic()
        if not lines:
            return
        if self.fd is None:  # standard output (whatever Python has made of it): flushed, then counted
            try:
                sys.stdout.write("\n".join(lines) + "\n")
                sys.stdout.flush()
            except OSError:
                self.lost += len(lines)
                raise
            self.written += len(lines)
            return
        data = ("\n".join(lines) + "\n").encode()
        done = 0
        try:
            while done < len(data):
                done += os.write(self.fd, data[done:])
        except OSError:
            whole = data.count(b"\n", 0, done)
            self.written += whole
            self.lost += len(lines) - whole
            self._cut_partial(done - (data.rfind(b"\n", 0, done) + 1))
            raise
        self.written += len(lines)
        self._size += len(data)
        if self.rotate_bytes is not None or self.rotate_s is not None:
            self._rotate_if_due()

    def _cut_partial(self, tail: int) -> None:
        """Take a line cut short back off the file, so that it holds whole records only."""
        if tail and self.path:
            try:
                os.ftruncate(self.fd, os.fstat(self.fd).st_size - tail)
            except OSError:
                pass

    def reopen(self) -> None:
        """After a rotation: the file at ``path`` anew (the held lines go to it)."""
        if not self.path:
            return
        os.close(self.fd)
        self.fd = self._open()
        self.reopened += 1

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"records": self.written}
        if self.lost or self._lines:
            out["lost"] = self.lost + len(self._lines)
        if self.reopened:
            out["reopened"] = self.reopened
        if self.rotated:
            out["rotated"] = self.rotated
        return out

    def close(self) -> None:
        try:
            self._write()
        finally:
            if self.path:
                os.close(self.fd)
