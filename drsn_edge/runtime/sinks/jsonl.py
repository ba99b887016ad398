"""JSON lines to standard output or a file: one record per window decision, alarm change or event."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from drsn_edge.errors import DrsnEdgeError


class JsonLinesSink:
    name = "jsonl"

    def __init__(self, path: str | None = None, windows: bool = True) -> None:
        self.path = path
        self.windows = windows
        self.written = 0
        if path and path != "-":
            try:
                self.f: TextIO = open(path, "a", buffering=1 << 16, encoding="utf-8")
            except OSError as exc:
                from drsn_edge.readers import readable_os_error

                raise DrsnEdgeError(f"cannot write {path}: {readable_os_error(exc)}") from None
        else:
            self.f = sys.stdout

    def emit(self, record: dict[str, Any]) -> None:
        if record["type"] == "window" and not self.windows:
            return
        self.f.write(json.dumps(record, separators=(",", ":")) + "\n")
        self.written += 1
        if record["type"] != "window":
            self.f.flush()  # events and alarms reach the file (or pipe) at once

    def emit_many(self, records: list[dict[str, Any]]) -> None:
        if not records or (records[0]["type"] == "window" and not self.windows):
            return
        self.f.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
        self.written += len(records)

    def stats(self) -> dict[str, Any]:
        return {"records": self.written}

    def close(self) -> None:
        self.f.flush()
        if self.f is not sys.stdout:
            self.f.close()
