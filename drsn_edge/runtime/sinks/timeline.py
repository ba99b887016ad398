"""Keeps every input's history in fixed memory (:class:`~drsn_edge.runtime.timeline.Timeline`, alarm spans, gaps)
and, at the end, writes the HTML report (``--report``) and a PNG per input (``--plot DIR``); with ``every_s``, the
report is also rewritten while the streams run (replaced whole: a reader never sees half a file)."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.report import plot_stream, render_report
from drsn_edge.runtime.stats import class_columns
from drsn_edge.runtime.timeline import Timeline

#: alarm spans and gaps kept per input (the oldest go first beyond this; counted)
MAX_EVENTS = 2000
#: alarm spans whose envelope spectrum the report draws (the latest)
MAX_SPECTRA = 100


@dataclass
class StreamHistory:
    stream: str
    duration_s: float | None
    units: dict[int, Timeline] = field(default_factory=dict)
    spans: list[dict[str, Any]] = field(default_factory=list)  # {unit, start, end, label, kind}
    gaps: list[float] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    events_dropped: int = 0


class TimelineSink:
    name = "report"
    windows = False

    def __init__(self, report: str | None, plot_dir: str | None, every_s: float | None = None,
                 live: Callable[[], list] = list) -> None:
        """``every_s``: rewrite the report this often while streaming; ``live()``: the running streams' statistics
        (their verdicts so far)."""
        self.report, self.plot_dir = report, plot_dir
        self.every_s, self.live = every_s, live
        self._written = time.monotonic()
        self.reports_written = 0
        self._classes: list[str] = []  # every class seen (a swapped-in model may bring others)
        self._md_of = None  # the model description self.md was made from
        for target in filter(None, (report, plot_dir)):
            parent = Path(target).resolve().parent if target == report else Path(target).resolve()
            if target == plot_dir:
                try:
                    parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise DrsnEdgeError(f"cannot create {plot_dir}: {exc.strerror}") from None
            elif not parent.is_dir():
                raise DrsnEdgeError(f"cannot write {report}: folder {parent} does not exist")
        self.streams: dict[str, StreamHistory] = {}
        self.current: StreamHistory | None = None
        self.md = None
        self.run_summary: dict[str, Any] | None = None
        self._spectra: list[dict[str, Any]] = []  # spans holding an envelope spectrum, oldest first

    def start(self, stream: str, duration_s: float | None) -> None:
        self.current = self.streams.setdefault(stream, StreamHistory(stream, duration_s))

    def _history(self, stream: str) -> StreamHistory:
        if stream not in self.streams:
            self.start(stream, None)
        return self.streams[stream]

    def on_batch(self, r, md) -> None:
        columns = self._columns_of(md)
        smoothed = r.smoothed
        if columns is not None:  # this model's classes into the columns of every class seen
            smoothed = np.zeros((len(r.smoothed), len(self._classes)))
            smoothed[:, columns] = r.smoothed
        h = self._history(r.stream)
        noise = r.extra.get("noise_level")
        for u in set(r.units.tolist()):
            idx = r.units == u
            tl = h.units.setdefault(u, Timeline(len(self._classes)))
            tl.add(r.t[idx], smoothed[idx], r.p_fault[idx], None if noise is None else noise[idx])
        if self.every_s and self.report and time.monotonic() - self._written >= self.every_s:
            self.write_report()

    def _columns_of(self, md) -> np.ndarray | None:
        """Where ``md``'s classes go among every class seen (None: they are all of them, in order)."""
        known, columns = class_columns(self._classes, md.class_names)
        if len(known) > len(self._classes):
            for h in self.streams.values():
                for tl in h.units.values():
                    tl.widen(len(known))
        self._classes = known
        if md is not self._md_of or len(self.md.class_names) != len(known):  # the report's: every class seen
            self._md_of = md
            self.md = md if columns is None else dataclasses.replace(md, class_names=list(known))
        return columns

    def write_report(self) -> None:
        """The report as it stands (streams still running show their verdicts so far), replacing the file whole."""
        self._written = time.monotonic()
        if self.md is None:
            return
        running = {st.stream: st.summary() for st in self.live()}
        histories = [h if h.summary is not None or h.stream not in running else
                     dataclasses.replace(h, summary=running[h.stream]) for h in self.streams.values()]
        tmp = Path(f"{self.report}.tmp")
        tmp.write_text(render_report(histories, self.md, self.run_summary), encoding="utf-8")
        os.replace(tmp, self.report)
        self.reports_written += 1

    def emit(self, record: dict[str, Any]) -> None:
        kind = record["type"]
        if kind == "summary":
            self.run_summary = record
            return
        stream = str(record.get("stream", ""))
        if not stream:
            return
        h = self._history(stream)
        if kind == "alarm":
            if record["state"] == "alarm":
                self._keep(h, h.spans, {"unit": record["unit"], "start": record["stream_time"], "end": None,
                                        "label": record["label"] if not record.get("hint") else
                                        f"{record['label']} (hint: {record['hint']})", "kind": record.get("kind", "fault")})
                self._evidence(h, h.spans[-1], record)
            else:
                for s in reversed(h.spans):
                    if s["unit"] == record["unit"] and s["end"] is None:
                        s["end"] = record["stream_time"]
                        break
        elif kind == "diagnosis":
            for s in reversed(h.spans):
                if s["unit"] == record["unit"] and s["end"] is None:
                    self._evidence(h, s, record)
                    break
        elif kind == "rejected" and self.md is not None:
            h.units.setdefault(record["unit"], Timeline(len(self._classes))).reject(record["stream_time"])
        elif kind == "gap":
            self._keep(h, h.gaps, record["stream_time"])
        elif kind == "stream_end":
            h.summary = record

    def _evidence(self, h: StreamHistory, span: dict[str, Any], record: dict[str, Any]) -> None:
        """The latest evidence of an alarm span; the spectra of the last :data:`MAX_SPECTRA` spans are kept."""
        if "diagnosis" not in record:
            return
        span["diagnosis"], span["evidence"] = record["diagnosis"], record.get("evidence")
        if record.get("envelope_spectrum"):
            span["spectrum"] = record["envelope_spectrum"]
            self._spectra.append(span)
            if len(self._spectra) > MAX_SPECTRA:
                self._spectra.pop(0).pop("spectrum", None)

    @staticmethod
    def _keep(h: StreamHistory, items: list, item: Any) -> None:
        items.append(item)
        if len(items) > MAX_EVENTS:
            del items[0]
            h.events_dropped += 1

    def close(self) -> None:
        if self.md is None and not self.streams:
            return
        for h in self.streams.values():  # an alarm still active at the end spans to the last window
            end = h.summary["stream_seconds"] if h.summary else None
            for s in h.spans:
                if s["end"] is None:
                    s["end"], s["open"] = end if end is not None else s["start"], True
        if self.report:
            self.live = list  # every stream has ended: its own summary
            self.write_report()
        if self.plot_dir:
            for h in self.streams.values():
                plot_stream(h, self.md, Path(self.plot_dir) / f"{_safe(h.stream)}.png")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "stream"
