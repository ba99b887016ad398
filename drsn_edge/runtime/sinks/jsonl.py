"""JSON lines to standard output or a file: one record per window decision, alarm change or event.

Lines are written with ``os.write``, whole lines only, so what is counted is what reached the file: on a full disk
the count stops at the last whole line, a line cut short is cut back off the file, and the rest is counted as lost
(the summary said 118 records while the file held 41). SIGHUP (:data:`drsn_edge.lifecycle.REOPEN`) closes the file
and opens it again at the same path, the logrotate convention.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from drsn_edge.errors import DrsnEdgeError, readable_os_error
from drsn_edge.runtime.sinks.records import strict_json


class JsonLinesSink:
    """Events and alarms are written at once; window records at least every ``FLUSH_S`` (a file followed with
    ``tail -f`` during a live stream stays current, a fast offline run is not slowed by a write per window)."""

    name = "jsonl"
    FLUSH_S = 0.5
    #: window records held before a write, at most
    BUFFER = 4096

    def __init__(self, path: str | None = None, windows: bool = True) -> None:
        self.path = path if path and path != "-" else None
        self.windows = windows
        self.written = 0  # whole lines in the file (or the pipe)
        self.lost = 0  # handed over, never written whole
        self.reopened = 0
        self._lines: list[str] = []
        self._flushed = time.monotonic()
        self.fd = self._open() if self.path else None

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise DrsnEdgeError(f"cannot write {self.path}: {readable_os_error(exc)}") from None

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
        return out

    def close(self) -> None:
        try:
            self._write()
        finally:
            if self.path:
                os.close(self.fd)
