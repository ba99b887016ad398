"""JSON lines to standard output or a file: one record per window decision, alarm change or event."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.readers import readable_os_error


class JsonLinesSink:
    """Events and alarms are flushed at once; window records at least every ``FLUSH_S`` (a file followed with
    ``tail -f`` during a live stream stays current, a fast offline run is not slowed by a flush per window)."""

    name = "jsonl"
    FLUSH_S = 0.5

    def __init__(self, path: str | None = None, windows: bool = True) -> None:
        self.path = path
        self.windows = windows
        self.written = 0
        self._flushed = time.monotonic()
        if path and path != "-":
            try:
                self.f: TextIO = open(path, "a", buffering=1 << 16, encoding="utf-8")
            except OSError as exc:
                raise DrsnEdgeError(f"cannot write {path}: {readable_os_error(exc)}") from None
        else:
            self.f = sys.stdout

    def emit(self, record: dict[str, Any]) -> None:
        if record["type"] == "window" and not self.windows:
            return
        self.f.write(json.dumps(record, separators=(",", ":")) + "\n")
        self.written += 1
        if record["type"] != "window":
            self._flush()  # events and alarms reach the file (or pipe) at once
        elif time.monotonic() - self._flushed > self.FLUSH_S:
            self._flush()

    def emit_many(self, records: list[dict[str, Any]]) -> None:
        if not records or (records[0]["type"] == "window" and not self.windows):
            return
        self.f.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
        self.written += len(records)
        if time.monotonic() - self._flushed > self.FLUSH_S:
            self._flush()

    def _flush(self) -> None:
        self.f.flush()
        self._flushed = time.monotonic()

    def stats(self) -> dict[str, Any]:
        return {"records": self.written}

    def close(self) -> None:
        self.f.flush()
        if self.f is not sys.stdout:
            self.f.close()
