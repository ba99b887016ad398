"""Assemble a stream job from plain options (used by ``drsn-edge stream``; importable without torch)."""

from __future__ import annotations

from dataclasses import dataclass, field

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.providers import ProviderSettings
from drsn_edge.runtime.runner import StreamConfig, StreamRunner
from drsn_edge.runtime.sources.base import Scale


@dataclass
class InputOptions:
    fs: float | None = None
    channels: int | None = None
    fmt: str = "f32le"
    gain: float | None = None
    sensitivity_mv_per_g: float | None = None
    time_column: str | None = None  # CSV: name or number of the time stamp column
    columns: tuple[str, ...] | None = None  # CSV columns / .mat variables / channel numbers to stream
    layout: str | None = None  # 2-D arrays: channels-first (default) or samples-first
    realtime: bool = False
    block: int = 1024


@dataclass
class OutputOptions:
    jsonl: str | None = "-"
    windows: bool = True
    mqtt: str | None = None
    mqtt_prefix: str = "drsn"
    mqtt_qos: int = 1
    prometheus_port: int | None = None


@dataclass
class StreamJob:
    model: str
    input: str
    inputs: InputOptions = field(default_factory=InputOptions)
    outputs: OutputOptions = field(default_factory=OutputOptions)
    config: StreamConfig = field(default_factory=StreamConfig)
    provider: ProviderSettings = field(default_factory=ProviderSettings)


def open_source(spec: str, o: InputOptions):
    from drsn_edge.runtime.sources import open_file_source, stdin_source, tcp_source

    scale = Scale.from_options(o.gain, o.sensitivity_mv_per_g)
    if spec == "-":
        return stdin_source(o.fs, o.channels, o.fmt, scale)
    if spec.startswith(("tcp://", "tcp-listen://")):
        return tcp_source(spec, o.fs, o.channels, o.fmt, scale)
    return open_file_source(spec, o.fs, o.channels, scale, o.block, o.realtime, o.time_column, o.columns, o.layout)


def open_sinks(o: OutputOptions) -> list:
    sinks: list = []
    try:
        if o.jsonl:
            from drsn_edge.runtime.sinks.jsonl import JsonLinesSink

            sinks.append(JsonLinesSink(o.jsonl, windows=o.windows))
        if o.mqtt:
            from drsn_edge.runtime.sinks.mqtt import MqttSink

            sinks.append(MqttSink(o.mqtt, o.mqtt_prefix, qos=o.mqtt_qos, windows=o.windows))
        if o.prometheus_port is not None:
            from drsn_edge.runtime.sinks.prometheus import PrometheusSink

            sinks.append(PrometheusSink(o.prometheus_port))
    except OSError as exc:
        for s in sinks:
            s.close()
        raise DrsnEdgeError(f"cannot open output: {exc}") from None
    except DrsnEdgeError:
        for s in sinks:
            s.close()
        raise
    return sinks


def run_stream(job: StreamJob) -> dict:
    """Open model, source and sinks; stream to the end of input (or a signal); return the summary."""
    from drsn_edge.runtime.loader import open_model

    backend, md = open_model(job.model, job.provider)
    source = open_source(job.input, job.inputs)
    backend.activate()
    sinks = open_sinks(job.outputs)
    try:
        return StreamRunner(backend, md, source, sinks, job.config).run()
    finally:
        for s in sinks:
            s.close()
        backend.close()
