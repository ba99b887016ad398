"""JSON lines to standard output or a file: one record per window decision, alarm change or event."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO


class JsonLinesSink:
    def __init__(self, path: str | None = None, windows: bool = True) -> None:
        self.path = path
        self.windows = windows
        self.f: TextIO = open(path, "a", buffering=1) if path and path != "-" else sys.stdout

    def emit(self, record: dict[str, Any]) -> None:
        if record["type"] == "window" and not self.windows:
            return
        self.f.write(json.dumps(record, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self.f.flush()
        if self.f is not sys.stdout:
            self.f.close()
