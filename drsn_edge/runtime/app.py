"""A stream job from plain options (used by ``drsn-edge stream``; importable without torch): one model, one or
many inputs (files, folders, globs, a manifest, standard input, sockets), one set of outputs, one summary.

Exit codes (documented, for scripts), first that applies: 2 bad input or settings (an input that failed, even
midway); 4 an output failed (set aside, or a broker that refused the connection); 1 an alarm was raised; 3 no window
was processed (input shorter than a window, or nothing readable); 0 otherwise. A stop request (SIGINT / SIGTERM) ends
the run with its summary and the code of what was seen until then. One function decides it (:func:`exit_code`): the
process returns what the summary records.
"""

from __future__ import annotations

import dataclasses
import glob
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drsn_edge.bearing import bearing_from_text, check_speed
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.lifecycle import catch_stop_signals
from drsn_edge.modelfile import is_triton_url
from drsn_edge.readers import ManifestRow, is_manifest, no_recordings, read_manifest, scale_factor, walk_recordings
from drsn_edge.runtime.config import (
    StreamConfig,
    check_config,
    check_input_rate,
    check_number,
    check_numbers,
    enrolment_mismatch,
    no_normal_warning,
)
from drsn_edge.runtime.evidence import EvidenceSettings
from drsn_edge.runtime.loader import open_model
from drsn_edge.runtime.measured import openvino_advice
from drsn_edge.runtime.model_swap import FileWatch, ModelWatcher
from drsn_edge.runtime.providers import ProviderSettings
from drsn_edge.runtime.runner import StreamRunner
from drsn_edge.runtime.service import Watchdog
from drsn_edge.runtime.sinks.console import ConsoleSink
from drsn_edge.runtime.sinks.jsonl import JsonLinesSink
from drsn_edge.runtime.sinks.mqtt import MqttSink
from drsn_edge.runtime.sinks.prometheus import PrometheusSink
from drsn_edge.runtime.sinks.records import event_record
from drsn_edge.runtime.sinks.sinkset import SinkSet
from drsn_edge.runtime.sinks.timeline import TimelineSink
from drsn_edge.runtime.sources import open_file_source, stdin_source, tcp_source
from drsn_edge.runtime.sources.base import Scale
from drsn_edge.runtime.stats import combine

EXIT_OK, EXIT_ALARM, EXIT_BAD_INPUT, EXIT_NO_WINDOWS, EXIT_OUTPUT_FAILED = 0, 1, 2, 3, 4


@dataclass
class InputOptions:
    fs: float | None = None  # the rate of inputs that store none (raw streams, .npy, CSV without time stamps)
    fs_stated: float | None = None  # a manifest row's fs: the rate its file has (checked against one it stores)
    raw_channels: int | None = None  # raw streams: channels interleaved
    fmt: str = "f32le"  # raw streams: sample format
    scale: float | None = None  # raw value x scale = g
    sensitivity: float | None = None  # mV/g, for inputs in volts
    time_column: str | None = None  # CSV: name or number of the time stamp column
    channels: tuple[str, ...] | None = None  # which channels: CSV columns / .mat variables / channel numbers
    layout: str | None = None  # 2-D arrays: channels-first (default) or samples-first
    allow_outside: bool = False  # manifest rows may name files outside the manifest's folder
    bearing: str | None = None  # for bearing evidence: a name or n,d,D,angle (None: evidence off)
    shaft_hz: float | None = None  # the shaft speed (None: the file's own record of it, or the tachometer channel)
    tacho_channel: int | None = None  # a sensor channel of once-per-revolution pulses
    realtime: bool = False
    block: int = 1024


@dataclass
class OutputOptions:
    jsonl: str | None = "-"
    jsonl_rotate: str | None = None  # rotate the JSON lines file by size (100MB) or age (1d)
    jsonl_keep: int = 5  # rotated files kept
    windows: bool = True
    mqtt: Any = None  # MqttOptions
    prometheus: str | None = None  # PORT or HOST:PORT
    console: bool = False  # readable alarm lines, progress and a verdict table (a terminal)
    report: str | None = None  # self-contained HTML report
    report_every_s: float | None = None  # rewrite the report this often while streaming (None: at the end only)
    plot_dir: str | None = None  # a PNG timeline per input


@dataclass
class StreamJob:
    model: str
    input: str | list[str]
    inputs: InputOptions = field(default_factory=InputOptions)
    outputs: OutputOptions = field(default_factory=OutputOptions)
    config: StreamConfig = field(default_factory=StreamConfig)
    provider: ProviderSettings = field(default_factory=ProviderSettings)
    stream_id: str | None = None  # with one input; default: from the input's name
    force: bool = False  # accept implausible input rates
    server_wait_s: float = 60.0  # triton:// models: how long to wait out a server outage before giving up


def expand_inputs(specs: list[str], warn: Callable[[str], None] = lambda note: None,
                  allow_outside: bool = False) -> list[tuple[str, str, dict[str, Any]]]:
    """(input, stream id, read options) for every recording named by files, folders (recursively), globs, manifests,
    ``-`` and socket URLs; ids are the file names (without suffix), made unique with their folder where needed. A
    manifest row's ``fs``, ``channels``, ``scale`` and ``sensitivity`` apply to its file."""
    found: list[tuple[str, str]] = []
    options: dict[int, dict[str, Any]] = {}
    for spec in specs:
        if spec == "-" or spec.startswith(("tcp://", "tcp-listen://")):
            found.append((spec, "stdin" if spec == "-" else spec.split("://", 1)[1].replace(":", "-")))
            continue
        p = Path(spec)
        if any(ch in spec for ch in "*?[") and not p.exists():
            matches = sorted(m for m in glob.glob(spec, recursive=True) if Path(m).is_file())
            if not matches:
                raise DrsnEdgeError(f"no file matches {spec!r}")
            found += [(m, "") for m in matches]
        elif p.is_dir():
            files = walk_recordings(p)
            if not files:
                raise no_recordings(spec)
            found += [(str(f), "") for f in files]
        elif is_manifest(p):
            manifest = read_manifest(p, allow_outside)
            if manifest.note():
                warn(manifest.note())
            for row in manifest:
                options[len(found)] = _row_options(row)
                found.append((str(row.path), ""))
        elif p.exists():
            found.append((spec, ""))
        else:
            raise DrsnEdgeError(f"input file not found: {spec}")
    return [(f, sid, options.get(i, {})) for i, (f, sid) in enumerate(_unique_ids(found))]


def _row_options(row: ManifestRow) -> dict[str, Any]:
    """The read options a manifest row sets; a column the stream cannot apply is refused, never ignored."""
    for col in ("start_s", "stop_s"):
        if getattr(row, col) is not None:
            raise DrsnEdgeError(f"{row.where}: {col} is for training and evaluation; stream reads whole files "
                                "(cut the file, or leave the column empty)")
    given = {"fs_stated": row.fs, "channels": row.channels, "scale": row.scale, "sensitivity": row.sensitivity,
             "bearing": row.bearing, "shaft_hz": check_speed(rpm=row.rpm) if row.rpm is not None else None}
    return {k: v for k, v in given.items() if v is not None}


def _unique_ids(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    stems = [sid or Path(f).stem for f, sid in found]
    out = []
    for (f, sid), stem in zip(found, stems):
        if not sid and stems.count(stem) > 1:
            parts = Path(f).with_suffix("").parts
            stem = "-".join(parts[-2:]) if len(parts) > 1 else stem
        out.append((f, stem))
    seen: dict[str, int] = {}
    result = []
    for f, sid in out:
        seen[sid] = seen.get(sid, 0) + 1
        result.append((f, sid if seen[sid] == 1 else f"{sid}-{seen[sid]}"))
    return result


def open_source(spec: str, o: InputOptions):
    if o.block < 1:
        raise DrsnEdgeError("the read block must be at least one sample")
    scale = Scale(scale_factor(o.scale, o.sensitivity))
    if spec == "-":
        return stdin_source(o.fs, o.raw_channels, o.fmt, scale)
    if spec.startswith(("tcp://", "tcp-listen://")):
        return tcp_source(spec, o.fs, o.raw_channels, o.fmt, scale)
    if o.raw_channels is not None:
        raise DrsnEdgeError("--raw-channels is for raw streams (stdin, tcp); a file says its own channels (choose some "
                            "with --channels)")
    return open_file_source(spec, o.fs, scale, o.block, o.realtime, o.time_column, o.channels, o.layout, o.fs_stated)


def open_sinks(o: OutputOptions, streams, md, outputs_stats, stream_ids: list[str] = (), warn=None) -> list:
    sinks: list = []
    try:
        if o.console:
            sinks.append(ConsoleSink(md))
        if o.jsonl:
            sinks.append(JsonLinesSink(o.jsonl, windows=o.windows, rotate=o.jsonl_rotate, keep=o.jsonl_keep))
        if o.mqtt is not None:
            sinks.append(MqttSink(o.mqtt, streams=list(stream_ids), warn=warn))
        if o.prometheus is not None:
            sinks.append(PrometheusSink(o.prometheus, streams, outputs_stats))
        if o.report or o.plot_dir:
            sinks.append(TimelineSink(o.report, o.plot_dir, o.report_every_s, streams))
    except OSError as exc:
        for s in sinks:
            s.close()
        raise DrsnEdgeError(f"cannot open output: {exc}") from None
    except DrsnEdgeError:
        for s in sinks:
            s.close()
        raise
    return sinks


def run_stream(job: StreamJob, warn=None) -> dict[str, Any]:
    """Open model, inputs and outputs; stream every input; return the summary (with ``exit_code``)."""
    return run_streams([job], warn)


def planned_inputs(job: StreamJob, warn: Callable[[str], None] = lambda note: None) -> list[tuple[str, str, dict[str, Any]]]:
    """(input, stream id, read options) of every recording a job names, its stream id applied."""
    inputs = expand_inputs([job.input] if isinstance(job.input, str) else list(job.input), warn,
                           job.inputs.allow_outside)
    if job.stream_id:
        inputs = [(f, job.stream_id if len(inputs) == 1 else f"{job.stream_id}/{sid}", o) for f, sid, o in inputs]
    return inputs


def run_streams(jobs: list[StreamJob], warn=None, watch_model_s: float | None = None,
                follow: tuple[str, Callable[[], str | None]] | None = None) -> dict[str, Any]:
    """Several jobs side by side (``serve``), one thread each, on one model and one set of outputs (the first job's
    model, backend settings and outputs; each job its own inputs and stream settings); one summary over them all. A
    single job runs on the calling thread, exactly as ``stream``. ``watch_model_s``: poll the model file this often and
    swap a replaced one in while the streams run (:mod:`~drsn_edge.runtime.model_swap`). ``follow``: a file (the
    deployment file) polled as often, and what to call when it changes: it returns the model path the file names now
    (None: no model to swap), and the watcher follows it."""
    warn = warn or (lambda m: print(f"drsn-edge stream: warning: {m}", file=sys.stderr))
    first = jobs[0]
    for job in jobs:
        for settings in (job.inputs, job.config, job.config.alarm, job.provider):  # every number, before any work
            check_numbers(settings)
        check_number("server_wait_s", job.server_wait_s)
    stop = catch_stop_signals()
    planned = [planned_inputs(job, warn) for job in jobs]
    ids = [sid for inputs in planned for _, sid, _ in inputs]
    if dup := sorted({i for i in ids if ids.count(i) > 1}):
        raise DrsnEdgeError(f"two inputs stream as {dup[0]!r}: give each input its own stream id")
    backend, md = open_model(first.model, first.provider, server_wait_s=first.server_wait_s)
    healthy = None
    for job in jobs:
        healthy = check_config(job.config, md)
        if mismatch := enrolment_mismatch(job.config, md):
            warn(mismatch)
    if healthy is None:
        warn(no_normal_warning(md))
    if not is_triton_url(first.model) and (advice := openvino_advice(first.model, first.provider.provider,
                                                                     first.provider)):
        warn(advice)
    runners: list = []
    sinks = SinkSet([], warn=warn)
    sinks.sinks += open_sinks(first.outputs, lambda: [r.stats for r in runners], md, sinks.stats, ids, warn)
    failed: list[str] = []
    started = time.monotonic()

    def progress() -> float:  # the stream that moved least recently; none running: now
        running = [r.heartbeat for r in runners if not r.finished]
        return min(running) if running else time.monotonic()

    watchdog = Watchdog(progress if len(jobs) > 1 else lambda: runners[-1].heartbeat if runners else started)
    watcher = None
    if watch_model_s and not is_triton_url(first.model):
        watcher = ModelWatcher(first.model, first.provider, backend, md, lambda: list(runners), sinks.emit, warn,
                               first.config.batch_size, watch_model_s)
    current = (lambda: (watcher.backend, watcher.md)) if watcher else (lambda: (backend, md))
    deploy = FileWatch(follow[0], lambda: _follow(watcher, follow[1]), watch_model_s, "drsn-deploy-watch") \
        if watcher and follow else None
    try:
        if not stop.is_set():
            _activate(backend, stop, warn)
            for w in filter(None, (watcher, deploy)):
                w.start()
            watchdog.ready(f"streaming {len(ids)} input(s)")
            if len(jobs) == 1:
                _stream_inputs(first, planned[0], current, sinks, runners, failed, stop, warn)
            else:
                _side_by_side(jobs, planned, current, sinks, runners, failed, stop, warn)
    finally:
        watchdog.stopping()
        for w in filter(None, (deploy, watcher)):
            w.stop()
        final_backend, final_md = current()
        if final_md is not md:
            healthy = check_config(first.config, final_md)
        summary = _finish(runners, sinks, failed, stop.is_set(), final_backend, final_md, healthy)
        if watcher:
            summary["model_swaps"] = {"swapped": watcher.swaps, "refused": watcher.refused, "model": watcher.hash,
                                      "path": str(watcher.path)}
        final_backend.close()
    return summary


def _follow(watcher: ModelWatcher, model_now: Callable[[], str | None]) -> None:
    """The deployment file changed: follow the model it names now (its own problems were said by ``model_now``)."""
    path = model_now()
    if path is not None:
        watcher.follow(path)


def _activate(backend, stop, warn) -> None:
    if hasattr(backend, "stop_event"):  # a remote backend waiting out an outage stops waiting on a stop
        backend.stop_event = stop
    backend.activate()
    for note in getattr(backend, "notes", []):
        warn(note)


def _side_by_side(jobs: list[StreamJob], planned, current, sinks, runners: list, failed: list, stop, warn) -> None:
    """Each job on its own thread; an input that fails is said and counted, and the others go on."""
    def one(job: StreamJob, inputs) -> None:
        try:
            _stream_inputs(job, inputs, current, sinks, runners, failed, stop, warn)
        except DrsnEdgeError as exc:  # already counted in ``failed`` by the input's own path
            warn(f"input failed: {exc}")

    threads = [threading.Thread(target=one, args=(job, inputs), name=f"drsn-job-{i}", daemon=True)
               for i, (job, inputs) in enumerate(zip(jobs, planned))]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():  # the main thread stays free for signals
            t.join(timeout=0.2)


def _stream_inputs(job: StreamJob, inputs, current, sinks, runners: list, failed: list, stop, warn) -> None:
    """Each input of one job in turn; ``current()`` is the model (backend, description) to start each on (the newest,
    after a swap)."""
    for spec, sid, row_options in inputs:
        if stop.is_set():
            break
        backend, md = current()
        try:
            options = dataclasses.replace(job.inputs, **row_options) if row_options else job.inputs
            source = open_source(spec, options)
            for w in check_input_rate(source.fs, md, job.force, spec if spec != "-" else "the input"):
                warn(w)
            evidence, off = evidence_settings(options, source)
            if evidence and options.tacho_channel is not None and evidence.tacho_channel is None:
                warn(f"bearing evidence: --tacho-channel {options.tacho_channel} not used: the shaft speed given "
                     f"({60 * evidence.shaft_hz:g} rpm) comes first")
            if evidence and (beyond := evidence.out_of_band(source.fs)):
                warn(f"bearing evidence: {', '.join(n.upper() for n in beyond)} skipped: at {evidence.shaft_hz:g} Hz "
                     f"{'its' if len(beyond) == 1 else 'their'} harmonics lie beyond the envelope spectrum's band")
            if evidence and (slow := evidence.below_resolution()):
                warn(f"bearing evidence: {', '.join(n.upper() for n in slow)} skipped: at {evidence.shaft_hz:g} Hz "
                     f"({60 * evidence.shaft_hz:g} rpm) {'its line lies' if len(slow) == 1 else 'their lines lie'} "
                     f"below what {evidence.block_s:g}-s blocks resolve")
            runner = StreamRunner(backend, md, source, sinks, job.config, sid, stop, evidence, off or "")
        except DrsnEdgeError as exc:
            failed.append(str(exc) if spec in str(exc) else f"{spec}: {exc}")
            if len(inputs) == 1:
                raise  # one line; the summary the outputs get says so too
            warn(f"input skipped: {failed[-1]}")
            continue
        runners.append(runner)
        try:
            sinks.start(sid, getattr(source, "duration", None))
        except DrsnEdgeError as exc:  # an output refuses this stream (its id is another process's on the broker)
            failed.append(str(exc))
            source.close()
            raise
        runner.run(handle_signals=False)
        if runner.stats.error:  # failed midway: said at once, and the later inputs still run
            failed.append(runner.stats.error if spec in runner.stats.error else f"{spec}: {runner.stats.error}")
            warn(f"input failed: {failed[-1]}")


def evidence_settings(o: InputOptions, source) -> tuple[EvidenceSettings | None, str]:
    """Bearing evidence for one input, or why it is off: the bearing, and the shaft speed by precedence (the command's
    or the manifest row's, then a tachometer channel, which starts from what the file records where it records one,
    then what the file records)."""
    if not o.bearing:
        return None, "no bearing given (--bearing NAME or n,d,D,angle; a manifest's bearing column)"
    bearing = bearing_from_text(o.bearing)
    shaft = o.shaft_hz or getattr(source, "shaft_hz", None)
    if o.tacho_channel is not None and not 0 <= o.tacho_channel < source.channels:
        raise DrsnEdgeError(f"the tachometer channel {o.tacho_channel} is not one of the input's {source.channels} "
                            "channel(s)")
    if shaft is None and o.tacho_channel is None:
        raise DrsnEdgeError("bearing evidence needs the shaft speed: give --rpm or --shaft-hz, an rpm column in the "
                            "manifest, or a tachometer channel (--tacho-channel N); this input records none")
    return EvidenceSettings(bearing, shaft, o.tacho_channel if o.shaft_hz is None else None), ""


def _finish(runners: list, sinks, failed: list[str], stopped: bool, backend=None, md=None,
            healthy: str | None = None) -> dict[str, Any]:
    """The one summary over every stream, sent to every output, then the outputs closed."""
    summary = combine([r.stats for r in runners])
    summary.update(stopped=stopped, failed_inputs=failed, outputs=sinks.stats())
    if md is not None:  # what a window is, for whoever reads the summary alone
        summary["model"] = {"window_samples": md.window, "sample_rate_hz": md.sample_rate, "classes": list(md.class_names),
                            "healthy_class": healthy}
    if getattr(backend, "health", None) is not None:  # a remote server: requests, outages, retries
        summary["backend"] = {"name": backend.name, **backend.health}
    summary["exit_code"] = exit_code(summary, stopped)
    sinks.emit(event_record("summary", **{k: v for k, v in summary.items() if k != "streams"},
                            streams=[_brief(s) for s in summary["streams"]]))
    sinks.close()
    summary["outputs"] = sinks.stats()  # what the outputs delivered, closed (flushed) included
    summary["exit_code"] = exit_code(summary, stopped)
    return summary


def _brief(s: dict[str, Any]) -> dict[str, Any]:
    return {k: s[k] for k in ("stream", "input", "windows_in", "processed", "rejected", "dropped", "alarms",
                              "stream_seconds", "verdicts", "evidence")}


def exit_code(summary: dict[str, Any], stopped: bool) -> int:
    """The one authority for a run's exit code: the process returns it and the summary records it."""
    if summary.get("failed_inputs"):
        return EXIT_BAD_INPUT
    if any(o.get("error") or o.get("refused") for o in summary.get("outputs", {}).values()):
        return EXIT_OUTPUT_FAILED
    if any(v["alarms_raised"] for s in summary["streams"] for v in s["verdicts"]):
        return EXIT_ALARM
    if not summary["processed"] and not stopped:
        return EXIT_NO_WINDOWS
    return EXIT_OK


def no_window_reason(summary: dict[str, Any], window: int, fs: float) -> str:
    if summary["windows_in"] and not summary["processed"]:
        reasons = ", ".join(f"{k} {v}" for k, v in summary["rejected_by_reason"].items()) or "dropped"
        return f"every window was rejected ({reasons})"
    seconds = summary["stream_seconds"]
    return (f"the input ({seconds:.3g} s at the model's rate) is shorter than one window "
            f"({window} samples = {window / fs:.3g} s)" if seconds < window / fs else "no window was produced")


__all__ = ["EXIT_ALARM", "EXIT_BAD_INPUT", "EXIT_NO_WINDOWS", "EXIT_OK", "EXIT_OUTPUT_FAILED", "InputOptions",
           "OutputOptions", "StreamJob", "expand_inputs", "open_sinks", "open_source", "planned_inputs", "run_stream",
           "run_streams"]
