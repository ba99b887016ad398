"""Every output of a run behind one interface: a sink that fails (a full disk, a closed pipe) is reported once and
set aside, and the others go on; what it could not take is counted. Streams running side by side (``serve``) share
one set: a lock keeps each record (and each batch's records) whole and in order."""

from __future__ import annotations

import sys
import threading
from typing import Any

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.sinks.records import window_records


def _name(sink: Any) -> str:
    return getattr(sink, "name", type(sink).__name__.removesuffix("Sink").lower())


class SinkSet:
    def __init__(self, sinks: list, warn=None) -> None:
        self.sinks = list(sinks)
        self.failed: dict[str, dict[str, Any]] = {}
        self.warn = warn or (lambda msg: print(f"drsn-edge stream: {msg}", file=sys.stderr))
        self.lock = threading.RLock()

    @property
    def wants_windows(self) -> bool:
        return any(getattr(s, "windows", True) for s in self.live())

    @property
    def wants_evidence(self) -> bool:
        """Whether an output reads every unit's bearing evidence as it is made: window records, or a trend of it
        (a sink with ``evidence = True``: Prometheus)."""
        return self.wants_windows or self.wants_trend

    @property
    def wants_trend(self) -> bool:
        return any(getattr(s, "evidence", False) for s in self.live())

    def live(self) -> list:
        return [s for s in self.sinks if _name(s) not in self.failed]

    def _call(self, sink: Any, fn: str, *args: Any) -> None:
        done = 0
        try:
            if fn == "emit_many" and not hasattr(sink, "emit_many"):
                for r in args[0]:
                    sink.emit(r)
                    done += 1
                return
            getattr(sink, fn)(*args)
        except Exception as exc:  # noqa: BLE001 - one output must not stop the others
            # a sink that counts what reached its file itself (JSON lines) has counted this call already
            lost = 0 if hasattr(sink, "lost") else {"emit": 1, "emit_many": len(args[0]) - done}.get(fn, 0)
            self._fail(sink, exc, lost)

    def _fail(self, sink: Any, exc: Exception, lost: int) -> None:
        name = _name(sink)
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        self.failed[name] = {"error": f"{type(exc).__name__}: {reason}", "lost": lost}
        self.warn(f"output {name} failed ({reason}); it is set aside, the other outputs go on")

    def _lost(self, sink: Any, n: int) -> None:
        self.failed[_name(sink)]["lost"] += n

    def emit(self, record: dict[str, Any]) -> None:
        with self.lock:
            self._emit(record)

    def _emit(self, record: dict[str, Any]) -> None:
        for s in self.sinks:
            if _name(s) in self.failed:
                self._lost(s, 1)
            else:
                self._call(s, "emit", record)

    def batch(self, result, md) -> None:
        with self.lock:
            self._batch(result, md)

    def _batch(self, result, md) -> None:
        records = None
        for s in self.sinks:
            if _name(s) in self.failed:
                if getattr(s, "windows", True):
                    self._lost(s, len(result))
                continue
            if hasattr(s, "on_batch"):
                self._call(s, "on_batch", result, md)
            if getattr(s, "windows", True):
                if records is None:
                    records = window_records(result, md.class_names)
                self._call(s, "emit_many", records)

    def start(self, stream: str, duration_s: float | None) -> None:
        """A new input begins (sinks that show progress, keep per-input timelines or announce streams use it). A sink
        that refuses the stream itself (an id another process streams on the broker) refuses the run."""
        with self.lock:
            self._start(stream, duration_s)

    def _start(self, stream: str, duration_s: float | None) -> None:
        for s in self.live():
            if hasattr(s, "start"):
                try:
                    s.start(stream, duration_s)
                except DrsnEdgeError:
                    raise
                except Exception as exc:  # noqa: BLE001 - one output must not stop the others
                    self._fail(s, exc, 0)

    def reopen(self) -> None:
        """SIGHUP: outputs that write files close and open them again (after a log rotation)."""
        with self.lock:
            for s in self.live():
                if hasattr(s, "reopen"):
                    self._call(s, "reopen")

    def stats(self) -> dict[str, Any]:
        """Per output: what it delivered, dropped and failed (MQTT reports its buffer)."""
        out: dict[str, Any] = {}
        for s in self.sinks:
            name = _name(s)
            st = dict(s.stats()) if hasattr(s, "stats") else {}
            if name in self.failed:
                st["error"] = self.failed[name]["error"]
                st["lost"] = st.get("lost", 0) + self.failed[name]["lost"]
            out[name] = st
        return out

    def close(self) -> None:
        for s in self.sinks:
            try:
                s.close()
            except Exception as exc:  # noqa: BLE001
                if _name(s) not in self.failed:
                    self.warn(f"output {_name(s)} failed while closing ({exc})")
