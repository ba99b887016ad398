"""One stream: source -> resample -> windows -> bounded queue -> micro-batches -> backend -> decisions -> sinks.

A reader thread fills the queue; the calling thread infers and decides, a whole batch at a time (quality checks,
softmax, smoothing and alarm updates are array operations; per-window records are built only for sinks that
want them). With a backlog and a backend that allows it (ONNX Runtime on the CPU), the next batch's inference runs
on a worker thread while the calling thread decides the current batch, so the decisions cost no model time.
Memory is fixed: ring buffers, a bounded queue, a histogram of latencies.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from drsn_edge.bearing import familiar_machine
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.lifecycle import REOPEN
from drsn_edge.modelfile import ModelMetadata
from drsn_edge.runtime.config import StreamConfig, check_config, unit_map
from drsn_edge.runtime.decisions import Decider, softmax
from drsn_edge.runtime.evidence import EvidenceSettings, StreamEvidence, compact
from drsn_edge.runtime.quality import MODEL_OUTPUT, OK, REASONS, window_problems
from drsn_edge.runtime.resampler import StreamResampler
from drsn_edge.runtime.sinks.records import alarm_record, event_record
from drsn_edge.runtime.sinks.sinkset import SinkSet
from drsn_edge.runtime.stats import StreamStats
from drsn_edge.runtime.window_queue import Batch, Marker, WindowQueue
from drsn_edge.runtime.windowing import RingWindower


@dataclass
class BatchResult:
    """The decisions of one batch, as arrays (what sinks receive)."""

    stream: str
    units: np.ndarray  # (k,)
    t: np.ndarray  # (k,) stream seconds at each window's end
    probs: np.ndarray  # (k, K)
    smoothed: np.ndarray  # (k, K)
    p_fault: np.ndarray  # (k,)
    latency_ms: np.ndarray  # (k,)
    wall_time: float
    extra: dict[str, np.ndarray]  # optional per-window outputs of the model (novelty, noise_level)
    labels: np.ndarray | None = None  # (k,) class index per window, -1 for "unknown" (None: the argmax of probs)
    evidence: list | None = None  # per window, the bearing evidence it carries (compact), where evidence is on
    diagnosis: list | None = None  # per window, the model's label weighed against that evidence

    def __len__(self) -> int:
        return len(self.units)


class StreamRunner:
    def __init__(self, backend, md: ModelMetadata, source, sinks: list | SinkSet, cfg: StreamConfig | None = None,
                 stream_id: str = "0", stop: threading.Event | None = None, evidence: EvidenceSettings | None = None,
                 evidence_off: str = "no bearing given (--bearing)") -> None:
        self.backend, self.md, self.source = backend, md, source
        self.sinks = sinks if isinstance(sinks, SinkSet) else SinkSet(sinks)
        self.cfg = cfg = cfg or StreamConfig()
        self.normal = check_config(cfg, md)
        self.stream_id = stream_id
        self.window = md.window
        self.hop = cfg.hop or md.hop
        self.map = unit_map(cfg.channel_map, source.channels, md.in_channels)
        # every unit's sensors in unit order: the stream itself (no copy) where the map is the identity
        rows = [c for u in self.map for c in u]
        self._select = None if rows == list(range(source.channels)) else np.asarray(rows)
        self.resampler = StreamResampler(source.fs, md.sample_rate, source.channels)
        self.windower = RingWindower(len(self.map), md.in_channels, self.window, self.hop)
        self.decider = Decider(len(self.map), md, cfg, self.normal)
        self.q = WindowQueue(cfg.queue_size, cfg.policy)
        self.stop = stop or threading.Event()
        self.stats = StreamStats(stream_id, list(md.class_names), getattr(source, "name", ""), len(self.map))
        self.model_samples = 0
        self.reader_error: BaseException | None = None
        self._gap_pending = False
        self._dropped_seen = 0
        self.wants_windows = self.sinks.wants_windows
        self._told: dict[int, tuple[str, bool] | None] = {}  # per unit in alarm: what its evidence last said (_said)
        self._weighed: dict[int, str] = {}  # ...and the model's label its evidence is weighed against (an anomaly's hint)
        self.evidence = None
        self.stats.evidence = {"on": False, "why": evidence_off}
        if evidence:
            familiar = familiar_machine(md.training.get("machine"), evidence.bearing,
                                        getattr(source, "channel_names", None), md.channels)
            lag_s = self.cfg.queue_size * self.hop / (len(self.map) * md.sample_rate)  # the queue, in stream time
            self.evidence = StreamEvidence(evidence, source.fs, [u[0] for u in self.map], familiar, lag_s)
            # every window carries evidence, or Prometheus trends it: every block is read, on the reader thread
            if self.sinks.wants_evidence:
                for u in range(len(self.map)):
                    self.evidence.watch(u, True)
            self.stats.evidence = {**evidence.describe(), "model_trained_on": md.training.get("machine"),
                                   "models_own_machine": familiar}
        self._backend_events = getattr(backend, "drain_events", None)
        self.heartbeat = time.monotonic()  # the consumer's last turn: a service watchdog pings only while it moves
        self.finished = False
        self._decided_t = 0.0
        self._next_model: tuple[object, ModelMetadata, dict, threading.Event] | None = None  # to take between batches
        self._stat_classes: np.ndarray | None = None  # where the model's classes count in the stats (after a swap)

    # ---- reader thread -------------------------------------------------------------------------------------
    def _read(self) -> None:
        try:
            for chunk in self.source.chunks():
                if self.stop.is_set():
                    break
                y = self.resampler.process(chunk.data)
                if chunk.gap_before or self._gap_pending:
                    self._gap_pending = False
                    self.q.mark(Marker("gap", self.model_samples))
                    self.model_samples += int(round(chunk.gap_s * self.md.sample_rate))  # stream time goes on
                    self.windower.reset(self.model_samples)
                    if self.evidence is not None:
                        self.evidence.reset()
                if self.evidence is not None:
                    self.evidence.push(chunk.data, self.model_samples / self.md.sample_rate)
                arrival = time.perf_counter()
                data, ends, units = self.windower.push(y if self._select is None else y[self._select])
                if len(data):  # one queue item per chunk, every unit's windows in it
                    self.stats.windows_in += len(data)
                    # input checks here, on the reader's core, beside the inference
                    codes = window_problems(data, self.cfg.clip_level, self.cfg.max_abs)
                    self.q.put(units, data, ends, arrival, codes)
                self.model_samples += y.shape[1]
        except BaseException as exc:  # reported by the consumer, never lost silently
            self.reader_error = exc
        finally:
            self.q.close()

    # ---- consumer ------------------------------------------------------------------------------------------
    def _emit(self, record: dict[str, Any]) -> None:
        self.sinks.emit(record)

    def _gap(self, at: int) -> None:
        self.stats.gaps += 1
        self.decider.reset()
        self._emit(event_record("gap", stream=self.stream_id, stream_time=at / self.md.sample_rate))

    def _reject(self, codes: np.ndarray, units: np.ndarray, ends: np.ndarray) -> None:
        self.stats.add_rejected(codes, units)
        for c, u, e in zip(codes, units, ends):
            self._emit(event_record("rejected", stream=self.stream_id, unit=int(u), reason=REASONS[c],
                                    stream_time=round(float(e) / self.md.sample_rate, 6)))

    def _infer(self, b: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
        """The model's outputs for a batch's windows that passed the input checks: (codes, good, logits, extra)."""
        codes = b.codes.copy()
        good = codes == OK
        if not good.any():
            return codes, good, None, {}
        x = b.data if good.all() else b.data[good]
        t0 = time.perf_counter()
        logits, extra = self.backend.infer_all(x) if hasattr(self.backend, "infer_all") else (self.backend.infer(x), {})
        self.stats.infer_seconds += time.perf_counter() - t0  # one inference at a time: one writer
        return codes, good, logits, extra

    def _decide(self, b: Batch, inferred: Future | None = None) -> None:
        """Decisions, alarms and records for a batch; ``inferred``: its :meth:`_infer` already under way."""
        codes, good, logits, extra = inferred.result() if inferred is not None else self._infer(b)
        if self._backend_events is not None:  # a remote server went away or came back
            for ev in self._backend_events():
                self._emit(event_record(ev.pop("kind"), stream=self.stream_id, **ev))
        if logits is not None:
            finite = np.isfinite(logits).all(axis=1)
            if not finite.all():  # a model that returns NaN must never produce a label
                idx = np.nonzero(good)[0]
                codes[idx[~finite]] = MODEL_OUTPUT
                good[idx[~finite]] = False
                logits = logits[finite]
                extra = {k: v[finite] for k, v in extra.items()}
        if not good.all():
            self._reject(codes[~good], b.units[~good], b.ends[~good])
        if not good.any():
            return
        units, ends, arrival = b.units[good], b.ends[good], b.arrival[good]
        probs = softmax(logits)
        now_pc, now = time.perf_counter(), time.time()
        latency = (now_pc - arrival) * 1e3
        t = ends / self.md.sample_rate
        self._decided_t = float(t.max())
        smoothed, p_fault, labels, events = self.decider.decide(units, probs, extra, t)
        counted = labels if self._stat_classes is None else np.where(labels >= 0, self._stat_classes[labels], -1)
        self.stats.add_decisions(units, counted, p_fault, t, extra.get("noise_level"))
        self.stats.latency.add(latency)
        result = BatchResult(self.stream_id, units, t, probs, smoothed, p_fault, latency, now, extra, labels)
        if self.evidence is not None and self.sinks.wants_windows:
            names = [*self.md.class_names, "unknown"]
            result.evidence, result.diagnosis = self.evidence.window_fields(units, t, [names[k] for k in labels.tolist()],
                                                                           self.normal)
        self.sinks.batch(result, self.md)
        for e in sorted(events, key=lambda e: e.stream_time):
            record = self._alarm(e)
            if self.evidence is not None:
                self.evidence.watch(e.unit, e.state == "alarm" or self.sinks.wants_evidence)
            if self.evidence is not None and e.state == "alarm":
                self._weighed[e.unit] = e.hint or e.label
                record.update(self.evidence.alarm_fields(e.unit, e.stream_time, self._weighed[e.unit], self.normal))
                self._told[e.unit] = _said(record["evidence"])
            self._emit(record)
        if self.evidence is not None:
            seen = np.unique(units).tolist()  # each one's latest window of this batch: stats.last_t (add_decisions)
            self._tell_evidence(seen)
            if self.sinks.wants_trend:
                self._keep_trend(seen)

    def _alarm(self, e) -> dict[str, Any]:
        """An alarm change counted; its record."""
        self.stats.alarms += 1
        self.stats.alarms_raised[e.unit] += e.state == "alarm"
        self.stats.alarm[e.unit] = e.label if e.state == "alarm" else None
        return alarm_record(e, self.stream_id)

    def _tell_evidence(self, units: list[int]) -> None:
        """An active alarm whose evidence changed (it arrived after the raise, or names another location now): a
        ``diagnosis`` record with the evidence and the spectrum, so that no alarm stands without what the physics
        says once it can say it. ``units``: those this batch decided, in order."""
        for u in units:
            label, last_t = self.stats.alarm[u], float(self.stats.last_t[u])
            if label is None:
                continue
            ev, _ = self.evidence.at(u, last_t)
            self._verdict_diagnosis(u, self._weighed.get(u, label), ev)  # a live report's verdicts so far
            if ev is None or self._told.get(u, "none") == _said(ev):
                continue
            self._told[u] = _said(ev)
            weighed = self._weighed.get(u, label)
            self._emit(event_record("diagnosis", stream=self.stream_id, unit=u, stream_time=round(last_t, 6),
                                    alarm_label=label, **self.evidence.alarm_fields(u, last_t, weighed, self.normal)))

    def _keep_trend(self, units: list[int]) -> None:
        """Each unit's latest evidence in the counters (read at scrape time); every block is already analysed, on
        the reader thread (the units are watched)."""
        for u in units:
            ev, _ = self.evidence.at(u, float(self.stats.last_t[u]))
            if ev is not None:
                self.stats.latest_evidence[u] = compact(ev)

    def _final_diagnoses(self) -> None:
        """Each unit's diagnosis at the end, for its verdict: the active alarm's label (an anomaly's hint), else the
        class most of its windows got ("unknown" when none), weighed against its latest evidence. Without it the
        verdict would name only the model's class, wrong on a machine the model does not know where the evidence
        is right. While a stream runs, only units in alarm have one (their evidence is read anyway)."""
        st = self.stats
        for u in np.flatnonzero(st.seen).tolist():
            label = self._weighed.get(u, st.alarm[u]) if st.alarm[u] is not None else st.dominant(u) or "unknown"
            self._verdict_diagnosis(u, label, self.evidence.at(u, float(st.last_t[u]))[0])

    def _verdict_diagnosis(self, unit: int, label: str, ev: dict[str, Any] | None) -> None:
        self.stats.diagnosis[unit] = {**self.evidence.diagnose(label, ev, self.normal).to_dict(), "model_label": label,
                                      "evidence": compact(ev)}

    def _count_drops(self) -> None:
        delta = self.q.dropped - self._dropped_seen
        if delta:
            self._dropped_seen = self.q.dropped
            self.stats.add_dropped("queue", delta)
            self._emit(event_record("dropped", stream=self.stream_id, cause="queue", count=delta))

    def swap_model(self, backend, md: ModelMetadata, hashes: dict[str, str | None]) -> threading.Event:
        """Take ``backend`` and its description ``md`` (same rate, window and channels; its classes, thresholds and
        heads may differ: :func:`check_config` passed) between two batches; the event is set once taken (at once when
        this stream has ended)."""
        taken = threading.Event()
        self._next_model = (backend, md, hashes, taken)
        if self.finished:
            taken.set()
        return taken

    def _take_model(self) -> None:
        """The swap itself: the decisions go on from the old model's state (:meth:`Decider.take_over`); a
        ``model_changed`` record says when (the last window the old model decided) and what changed in the classes;
        an alarm the new model cannot hold is cleared, with ``reason: model_changed``."""
        backend, md, hashes, taken = self._next_model
        self._next_model = None
        old = self.md
        normal = check_config(self.cfg, md)
        decider = Decider(len(self.map), md, self.cfg, normal)
        t = round(self._decided_t, 6)
        cleared = decider.take_over(self.decider, t)
        self.backend, self.md, self.normal, self.decider = backend, md, normal, decider
        self._backend_events = getattr(backend, "drain_events", None)
        self._stat_classes = self.stats.class_index(md.class_names)
        fields: dict[str, Any] = {}
        if list(md.class_names) != list(old.class_names):
            fields["classes"] = {"before": list(old.class_names), "now": list(md.class_names),
                                 "added": [c for c in md.class_names if c not in old.class_names],
                                 "removed": [c for c in old.class_names if c not in md.class_names]}
        if (md.enrolment or {}).get("threshold") != (old.enrolment or {}).get("threshold"):
            fields["anomaly_threshold"] = (md.enrolment or {}).get("threshold")
        self._emit(event_record("model_changed", stream=self.stream_id, **hashes, stream_time=t, **fields,
                                alarms_cleared=[e.unit for e in cleared]))
        for e in cleared:
            self._emit({**self._alarm(e), "reason": "model_changed"})
        taken.set()

    def _warm(self) -> None:
        """A full batch through the backend before the stream's clock starts, and one hop of every unit (what a live
        stream's batches mostly are), once per backend and size: see
        :meth:`~drsn_edge.runtime.backends.base.BackendBase.warm`."""
        for batch in sorted({self.cfg.batch_size, min(self.cfg.batch_size, len(self.map))}, reverse=True):
            shape = (batch, self.md.in_channels, self.window)
            if hasattr(self.backend, "warm"):
                self.backend.warm(*shape)
            else:  # a backend of the bare protocol
                self.backend.infer(np.zeros(shape, np.float32))

    def run(self, handle_signals: bool = True) -> dict[str, Any]:
        """Stream to the end of the input (or a stop); returns this stream's summary."""
        previous = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: self.stop.set())
        self._warm()
        t0 = time.perf_counter()
        reader = threading.Thread(target=self._read, name=f"drsn-reader-{self.stream_id}", daemon=True)
        reader.start()
        last_data = time.perf_counter()
        stop_seen: float | None = None
        # with a backlog, the next batch's inference runs (outside the GIL) while this one's decisions are made
        worker = ThreadPoolExecutor(1, f"drsn-infer-{self.stream_id}") \
            if self.cfg.overlap and getattr(self.backend, "overlap", False) else None
        pending: tuple[Batch, Future] | None = None
        try:
            while True:
                self.heartbeat = time.monotonic()
                if self._next_model is not None:  # a new model: this batch's decisions first, on the old one
                    if pending is not None:
                        self._decide(*pending)
                        pending = None
                    self._take_model()
                if pending is not None and not self.q.ready(self.cfg.batch_size, self.cfg.max_latency_s):
                    self._decide(*pending)  # nothing else is ready: no batch waits for a later one's inference
                    pending = None
                if REOPEN.is_set():  # SIGHUP: a log rotation moved the output files
                    REOPEN.clear()
                    self.sinks.reopen()
                item = self.q.get(self.cfg.batch_size, self.cfg.max_latency_s, idle=0.1)
                if pending is not None and not isinstance(item, Batch):
                    self._decide(*pending)
                    pending = None
                if item is None:
                    break
                if item is False:  # idle
                    if self.stop.is_set():
                        stop_seen = stop_seen or time.perf_counter()
                        self.q.stop.set()
                        self.source.stop()  # a reader waiting on a silent input sees it at its next poll
                        if time.perf_counter() - stop_seen > 2.0:
                            break  # a reader that does not come back: summarize anyway
                    elif self.source.live and time.perf_counter() - last_data > self.cfg.gap_timeout_s \
                            and self.stats.windows_in:
                        self._gap_pending = True
                        self._gap(self.model_samples)
                        last_data = time.perf_counter()
                    continue
                if isinstance(item, Marker):
                    self._gap(item.at)
                    continue
                if worker is None:
                    self._decide(item)
                else:
                    started = worker.submit(self._infer, item)
                    if pending is not None:
                        self._decide(*pending)
                    pending = (item, started)
                self._count_drops()
                last_data = time.perf_counter()
                if self.stop.is_set():
                    self.q.stop.set()
                    self.source.stop()
            if pending is not None:
                self._decide(*pending)
        finally:
            if worker is not None:
                worker.shutdown(wait=True, cancel_futures=True)
            self.q.stop.set()
            self.source.stop()
            reader.join(timeout=2.0)
            if reader.is_alive():  # blocked in a read that cannot be interrupted: leave its file to the process's end
                self.stats.notes.append("the input's reader did not stop within 2 s; its file is left open")
            else:
                self.source.close()  # only now: closing under a running reader unmapped the file it was reading
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.finished = True
            if self._next_model is not None:  # offered as the stream ended: nothing left to decide
                self._next_model[2].set()
        self._count_drops()
        st = self.stats
        st.wall_seconds = time.perf_counter() - t0
        st.stream_seconds = self.model_samples / self.md.sample_rate
        st.stopped = self.stop.is_set()
        if self.evidence is not None:
            self._final_diagnoses()
        if self.evidence is not None and self.evidence.skipped:
            st.evidence = {**st.evidence, "skipped": sorted(self.evidence.skipped)}
            # said once: at a known speed the command said it before the stream began; a tachometer's speed, here
            told = {*self.evidence.settings.out_of_band(self.source.fs), *self.evidence.settings.below_resolution()}
            if later := sorted(self.evidence.skipped - told):
                st.notes.append(f"bearing evidence: {', '.join(later).upper()} skipped: at the tachometer's speed "
                                f"{'its' if len(later) == 1 else 'their'} harmonics lie beyond the envelope spectrum's "
                                "band or below its resolution")
        src = getattr(self.source, "stats", None)
        if src is not None:
            st.samples, st.rejected_bytes, st.notes = src.samples, src.rejected_bytes, [*src.notes, *st.notes]
        err = self.reader_error
        if err is not None and not isinstance(err, KeyboardInterrupt):  # the input failed: said, counted, never lost
            st.error = str(err) if isinstance(err, DrsnEdgeError) else f"input failed: {type(err).__name__}: {err}"
        summary = st.summary()
        self._emit(event_record("stream_end", **summary))
        return summary


def _said(ev: dict[str, Any] | None) -> tuple[str, bool] | None:
    """What evidence says that can change a diagnosis: the location it names and whether firmly (None: silent)."""
    return None if ev is None or ev["location"] is None else (ev["location"], ev["firm"])
