"""The streaming pipeline: source -> resample -> windows -> bounded queue -> micro-batches -> backend ->
smoothing -> alarms -> sinks. A reader thread fills the queue; the calling thread infers and decides."""

from __future__ import annotations

import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.decisions import AlarmConfig, AlarmStateMachine, Smoother
from drsn_edge.runtime.metadata import ModelMetadata
from drsn_edge.runtime.quality import window_problem
from drsn_edge.runtime.resampler import StreamResampler
from drsn_edge.runtime.sinks.records import WindowDecision, alarm_record, event_record, window_record
from drsn_edge.runtime.windowing import RingWindower, Window


@dataclass
class StreamConfig:
    window: int | None = None  # default: the model's
    hop: int | None = None  # default: the model's suggested hop
    channel_map: list[list[int]] | None = None  # sensor channels feeding each unit's model inputs
    batch_size: int = 16
    max_latency_s: float = 0.005  # a partial batch runs once its oldest window waited this long
    queue_size: int = 256  # windows
    policy: str = "block"  # block | drop-oldest
    smoothing: int = 5
    smoothing_mode: str = "mean"
    alarm: AlarmConfig = field(default_factory=AlarmConfig)
    normal_label: str = "normal"
    clip_level: float | None = None
    max_abs: float = 1e4  # |sample| beyond this (in g) is not a plausible vibration
    gap_timeout_s: float = 2.0  # live sources: no data this long = a gap


def default_channel_map(sensor_channels: int, model_channels: int) -> list[list[int]]:
    """One unit per sensor for a 1-input model; one unit over all sensors for a multi-input model."""
    if model_channels == 1:
        return [[c] for c in range(sensor_channels)]
    if sensor_channels == model_channels:
        return [list(range(sensor_channels))]
    raise DrsnEdgeError(f"the model takes {model_channels} channels, the stream has {sensor_channels}; "
                        "give --channel-map (e.g. 0+1 for sensors 0 and 1 into one unit)")


def parse_channel_map(text: str) -> list[list[int]]:
    """``"0,1,2"`` (three units) or ``"0+1,2+3"`` (two units of two sensors)."""
    try:
        return [[int(c) for c in unit.split("+")] for unit in text.split(",")]
    except ValueError:
        raise DrsnEdgeError(f"bad --channel-map {text!r}: expected e.g. 0,1 or 0+1,2+3") from None


class StreamRunner:
    def __init__(self, backend, md: ModelMetadata, source, sinks: list, cfg: StreamConfig | None = None) -> None:
        self.backend, self.md, self.source, self.sinks = backend, md, source, sinks
        self.cfg = cfg = cfg or StreamConfig()
        if cfg.policy not in ("block", "drop-oldest"):
            raise DrsnEdgeError(f"unknown backpressure policy {cfg.policy!r}; choose block or drop-oldest")
        self.window = cfg.window or md.window
        self.hop = cfg.hop or md.hop
        if self.window != md.window:
            raise DrsnEdgeError(f"window {self.window} differs from the model's fixed input length {md.window}")
        if self.hop <= 0:
            raise DrsnEdgeError("hop must be positive")
        self.map = cfg.channel_map or default_channel_map(source.channels, md.in_channels)
        for unit in self.map:
            if len(unit) != md.in_channels:
                raise DrsnEdgeError(f"each unit needs {md.in_channels} sensor channel(s); channel map has {unit}")
            bad = [c for c in unit if not 0 <= c < source.channels]
            if bad:
                raise DrsnEdgeError(f"channel map names sensor {bad[0]}, the stream has {source.channels} channel(s)")
        self.resampler = StreamResampler(source.fs, md.sample_rate, source.channels)
        self.windowers = [RingWindower(u, md.in_channels, self.window, self.hop) for u in range(len(self.map))]
        self.smoothers = [Smoother(len(md.class_names), cfg.smoothing, cfg.smoothing_mode) for _ in self.map]
        self.alarms = [AlarmStateMachine(u, cfg.alarm, md.class_names, cfg.normal_label) for u in range(len(self.map))]
        self.q: queue.Queue[Window | None] = queue.Queue(maxsize=cfg.queue_size)
        self.stop = threading.Event()
        self.counts = {"windows_in": 0, "processed": 0, "dropped": 0, "rejected": 0, "gaps": 0, "alarms": 0}
        self.latencies: list[float] = []
        self.model_samples = 0
        self.reader_error: BaseException | None = None

    # ---- reader thread -------------------------------------------------------------------------------------
    def _emit(self, record: dict[str, Any]) -> None:
        for s in self.sinks:
            s.emit(record)

    def _gap(self, at: int) -> None:
        self.counts["gaps"] += 1
        for w in self.windowers:
            w.reset(at)
        for s in self.smoothers:
            s.reset()
        self._emit(event_record("gap", stream_time=at / self.md.sample_rate))

    def _enqueue(self, w: Window) -> None:
        self.counts["windows_in"] += 1
        if self.cfg.policy == "block":
            while not self.stop.is_set():
                try:
                    self.q.put(w, timeout=0.1)
                    return
                except queue.Full:
                    continue
            return
        while True:
            try:
                self.q.put_nowait(w)
                return
            except queue.Full:
                try:
                    self.q.get_nowait()
                    self.counts["dropped"] += 1
                except queue.Empty:
                    pass

    def _read(self) -> None:
        try:
            for chunk in self.source.chunks():
                if self.stop.is_set():
                    break
                y = self.resampler.process(chunk.data)
                if chunk.gap_before:
                    self._gap(self.model_samples)
                arrival = time.perf_counter()
                for u, chans in enumerate(self.map):
                    for w in self.windowers[u].push(y[chans], arrival):
                        self._enqueue(w)
                self.model_samples += y.shape[1]
        except BaseException as exc:  # reported by the consumer, never lost silently
            self.reader_error = exc
        finally:
            self.q.put(None)

    # ---- consumer ------------------------------------------------------------------------------------------
    def _decide(self, batch: list[Window]) -> None:
        good: list[Window] = []
        for w in batch:
            problem = window_problem(w.data, self.cfg.clip_level)
            if problem is None and float(np.abs(w.data).max()) > self.cfg.max_abs:
                problem = "out_of_range"
            if problem:
                self.counts["rejected"] += 1
                self._emit(event_record("rejected", unit=w.unit, reason=problem,
                                        stream_time=w.end_sample / self.md.sample_rate))
            else:
                good.append(w)
        if not good:
            return
        logits = self.backend.infer(np.stack([w.data for w in good]))
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs = z / z.sum(axis=1, keepdims=True)
        now_pc, now = time.perf_counter(), time.time()
        for w, p in zip(good, probs):
            smoothed = self.smoothers[w.unit].update(p)
            t = w.end_sample / self.md.sample_rate
            alarm = self.alarms[w.unit]
            latency = (now_pc - w.arrival) * 1000
            self.latencies.append(latency)
            self.counts["processed"] += 1
            d = WindowDecision(w.unit, t, self.md.class_names[int(np.argmax(p))], p,
                               self.md.class_names[int(np.argmax(smoothed))], alarm.p_fault(smoothed), latency, now)
            self._emit(window_record(d, self.md.class_names))
            event = alarm.update(smoothed, t)
            if event:
                self.counts["alarms"] += 1
                self._emit(alarm_record(event))

    def _take_nowait(self) -> Window | None | bool:
        try:
            return self.q.get_nowait()
        except queue.Empty:
            return False

    def run(self, handle_signals: bool = True) -> dict[str, Any]:
        previous = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: self.stop.set())
        t0 = time.perf_counter()
        reader = threading.Thread(target=self._read, name="drsn-reader", daemon=True)
        reader.start()
        batch: list[Window] = []
        done = False
        last_data = time.perf_counter()
        try:
            while not done:
                # with windows waiting, sleep until the oldest one's deadline; idle, wake every 0.1 s for stop/gaps
                wait = max(0.0, batch[0].arrival + self.cfg.max_latency_s - time.perf_counter()) if batch else 0.1
                try:
                    item = self.q.get(timeout=wait)
                except queue.Empty:
                    item = False
                if item is None:
                    done = True
                elif item is not False:
                    batch.append(item)
                    last_data = time.perf_counter()
                elif self.source.live and not batch and time.perf_counter() - last_data > self.cfg.gap_timeout_s:
                    self._gap(self.model_samples)
                    last_data = time.perf_counter()
                if self.stop.is_set() and not done:  # signal: take what is queued, decide it, finish
                    while (item := self._take_nowait()) is not False:
                        if item is None:
                            break
                        batch.append(item)
                    done = True
                if batch and (done or len(batch) >= self.cfg.batch_size
                              or time.perf_counter() - batch[0].arrival >= self.cfg.max_latency_s):
                    self._decide(batch)
                    batch = []
        finally:
            self.stop.set()
            self.source.close()
            reader.join(timeout=2.0)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        wall = time.perf_counter() - t0
        summary = self.summary(wall)
        self._emit(event_record("summary", **summary))
        if self.reader_error is not None and not isinstance(self.reader_error, KeyboardInterrupt):
            err = self.reader_error
            if isinstance(err, DrsnEdgeError):
                raise err
            raise DrsnEdgeError(f"input failed: {type(err).__name__}: {err}") from None
        return summary

    def summary(self, wall: float) -> dict[str, Any]:
        lat = np.array(self.latencies) if self.latencies else np.zeros(1)
        stream_s = self.model_samples / self.md.sample_rate
        return {
            **self.counts,
            "units": len(self.map),
            "latency_ms": {"p50": float(np.percentile(lat, 50)), "p90": float(np.percentile(lat, 90)),
                           "p99": float(np.percentile(lat, 99)), "max": float(lat.max())},
            "stream_seconds": stream_s, "wall_seconds": wall,
            "real_time_factor": stream_s / wall if wall > 0 else float("inf"),
            "source": {"samples": self.source.stats.samples, "rejected_bytes": self.source.stats.rejected_bytes,
                       "notes": self.source.stats.notes},
        }
