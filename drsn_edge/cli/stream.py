"""``drsn-edge stream``."""

from __future__ import annotations

import argparse
import sys

from drsn_edge.bearing import bearing_from_text, check_speed
from drsn_edge.cli.parser import (
    ENROLLED,
    HOP,
    NORMAL_LABEL,
    add_alarm_options,
    add_bearing_options,
    add_input_options,
    add_provider_options,
    alarm_settings,
    enrolled_alarm,
    examples,
)
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import is_triton_url
from drsn_edge.readers import split_channels
from drsn_edge.runtime.app import EXIT_NO_WINDOWS, InputOptions, OutputOptions, StreamJob, no_window_reason, run_stream
from drsn_edge.runtime.config import StreamConfig, parse_channel_map, parse_duration
from drsn_edge.runtime.providers import ProviderSettings
from drsn_edge.runtime.sinks.console import verdict_table
from drsn_edge.runtime.sinks.mqtt import MqttOptions

EXIT_CODES = ("exit codes, the first that applies: 2 bad input or settings (an input that failed, even midway), 4 an "
              "output failed (a full disk, a broker that refused the connection), 1 an alarm was raised, 3 no window "
              "processed (input shorter than a window), 0 otherwise; a stop by SIGINT / SIGTERM ends with the summary "
              "and the code of what was seen until then; SIGHUP reopens the output files (logrotate)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stream", help="continuous inference on recordings or live streams, with alarms",
                       description="Windows -> decisions -> alarms from files (WAV/FLAC/OGG, .npy, CSV, .mat), folders, "
                                   "globs, a manifest, standard input ('-') or a socket (tcp://HOST:PORT, "
                                   "tcp-listen://HOST:PORT). On a terminal: readable alarm lines, progress and a verdict "
                                   "table; JSON lines with --jsonl or when the output is not a terminal. " + EXIT_CODES,
                       epilog=examples("drsn-edge stream model.onnx recordings/ --report run.html",
                                       "drsn-edge stream model.onnx a.wav b.csv --time-column time_s --jsonl out.jsonl",
                                       "arecord -f S16_LE -r 48000 -c 2 | drsn-edge stream model.onnx - --fs 48000 "
                                       "--raw-channels 2 --format s16le --sensitivity 100 --mqtt mqtt://broker:1883"))
    p.add_argument("model", help="exported .onnx (or TensorRT .engine) with drsn-edge metadata, or a model on a Triton "
                                 "server: triton://HOST:PORT/MODEL")
    p.add_argument("input", nargs="+", help="files, folders, globs, a manifest CSV, '-' for stdin, tcp://HOST:PORT or "
                                            "tcp-listen://HOST:PORT")
    p.add_argument("--server-wait", type=float, default=None, metavar="S",
                   help="triton:// models: wait out a server outage this long, resending, before giving up (default 60)")
    i = p.add_argument_group("input")
    add_input_options(i)
    i.add_argument("--raw-channels", type=int, metavar="N", help="raw streams (stdin, tcp): channels interleaved in "
                   "the stream (required there) (default: none)")
    i.add_argument("--format", default="f32le", choices=["f32le", "s16le"], help="raw stream sample format")
    i.add_argument("--force", action="store_true", help="accept an input rate far from the model's (a unit slip otherwise)")
    i.add_argument("--realtime", action="store_true", help="replay files at recording speed (default: as fast as possible)")
    add_bearing_options(p.add_argument_group("bearing evidence"))
    i.add_argument("--stream-id", help="name of the stream in records, MQTT topics and metrics (default: the input's name)")
    w = p.add_argument_group("windows and batching")
    w.add_argument("--hop", **HOP)
    w.add_argument("--channel-map", help="sensors per unit: 0,1,2 (one unit each) or 0+1,2+3 (default: none)")
    w.add_argument("--batch-size", type=int, help="windows per model run at most (default 64; a partial batch runs "
                                                  "after --max-latency-ms)")
    w.add_argument("--max-latency-ms", type=float, default=5.0, help="deadline for a partial micro-batch")
    w.add_argument("--queue", type=int, default=256, help="bounded window queue size")
    w.add_argument("--policy", choices=["block", "drop-oldest"], help="when the queue is full (default: block for files, "
                                                                      "drop-oldest for live input)")
    w.add_argument("--clip-level", type=float, help="sensor full scale in g; windows at it are rejected as clipped "
                   "(default: none)")
    d = p.add_argument_group("decisions and alarms")
    add_alarm_options(d, enrolled=ENROLLED)
    d.add_argument("--smooth-mode", choices=["mean", "vote"], default="mean")
    d.add_argument("--normal-label", **{**NORMAL_LABEL, "help": NORMAL_LABEL["help"].replace("where the data has it", "the "
                                                                                             "model's healthy class")})
    o = p.add_argument_group("outputs")
    o.add_argument("--jsonl", help="JSON lines to a file, '-' for stdout, or none (default: stdout when it is not a "
                                   "terminal)")
    o.add_argument("--jsonl-rotate", metavar="SIZE|AGE", help="rotate the --jsonl file at a size (100MB) or an age "
                   "(1d, 6h): out.jsonl -> out.jsonl.1 ..., between whole lines (default: none; logrotate + SIGHUP "
                   "works too)")
    o.add_argument("--jsonl-keep", type=int, default=5, metavar="N", help="rotated JSON lines files kept")
    o.add_argument("--alarms-only", action="store_true", help="no per-window records (alarms and events only)")
    o.add_argument("--report", help="write a self-contained HTML report (timelines, alarms, verdicts) here (default: none)")
    o.add_argument("--report-every", metavar="AGE", help="also rewrite the --report while streaming, this often (90s, "
                   "10m, 1h): a service's report stays current (default: only at the end)")
    o.add_argument("--plot", help="write a PNG timeline per input into this folder (default: none)")
    o.add_argument("--mqtt", help="broker: mqtt://[user@]HOST[:PORT] or mqtts://... (TLS); [::1] for IPv6 (default: none)")
    o.add_argument("--mqtt-prefix", default="drsn")
    o.add_argument("--mqtt-qos", type=int, choices=[0, 1, 2], default=1, help="QoS of alarms and events")
    o.add_argument("--mqtt-window-qos", type=int, choices=[0, 1, 2], default=1, help="QoS of window decisions")
    o.add_argument("--mqtt-user", help="MQTT user name (default: none)")
    o.add_argument("--mqtt-password-env", help="environment variable holding the MQTT password (never echoed) (default: none)")
    o.add_argument("--mqtt-password-file", help="file whose first line is the MQTT password (default: none)")
    o.add_argument("--mqtt-ca", help="CA certificate file for mqtts:// (default: none)")
    o.add_argument("--mqtt-cert", help="client certificate file (mutual TLS) (default: none)")
    o.add_argument("--mqtt-key", help="client key file (mutual TLS) (default: none)")
    o.add_argument("--prometheus", help="serve metrics: PORT (on 127.0.0.1) or HOST:PORT (default: none)")
    b = p.add_argument_group("backend")
    add_provider_options(b)
    b.add_argument("--trt-cache", help="TensorRT EP engine cache folder (default: none)")
    b.add_argument("--trt-fp16", action="store_true")
    b.add_argument("--trt-int8", action="store_true")
    b.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (default 1: one core per "
                                                          "stream, idle threads do not spin)")
    b.add_argument("--cuda-graph", action="store_true", help="CUDA provider: capture and replay a CUDA graph")
    b.add_argument("--tf32", action="store_true", help="CUDA provider: allow TF32 convolutions (faster, ~1e-3 error)")
    p.set_defaults(func=run)


def job_from_args(args: argparse.Namespace) -> tuple[StreamJob, bool]:
    """The stream job a command line (or one input of a deployment file) asks for, and whether it is shown on a
    terminal."""
    if args.bearing:  # an unknown bearing or a bad speed: said before the model loads
        bearing_from_text(args.bearing)
    shaft_hz = check_speed(args.rpm, args.shaft_hz)
    hop, smoothing, alarm = alarm_settings(args, enrolled_alarm(args.model))
    live = any(x == "-" or x.startswith("tcp") for x in args.input)
    if live and len(args.input) > 1:
        raise DrsnEdgeError("standard input and sockets stream alone: give one live input per run")
    channels, raw_channels = args.channels, args.raw_channels
    if live and raw_channels is None and channels and channels.strip().isdigit():  # the 0.1 spelling for a raw stream
        print(f"drsn-edge: note: for a raw stream, --channels {channels} is now --raw-channels {channels} (the old "
              "spelling works until 0.3)", file=sys.stderr)
        channels, raw_channels = None, int(channels)
    report_every = parse_duration(args.report_every, "--report-every") if args.report_every else None
    if report_every and not args.report:
        raise DrsnEdgeError("--report-every rewrites the --report file: give --report PATH too")
    human = sys.stdout.isatty() and args.jsonl is None
    jsonl = None if human or args.jsonl == "none" else (args.jsonl or "-")
    mqtt = None
    if args.mqtt:
        mqtt = MqttOptions(args.mqtt, prefix=args.mqtt_prefix, qos=args.mqtt_qos, window_qos=args.mqtt_window_qos,
                           username=args.mqtt_user, password_env=args.mqtt_password_env,
                           password_file=args.mqtt_password_file, ca_file=args.mqtt_ca, cert_file=args.mqtt_cert,
                           key_file=args.mqtt_key, windows=not args.alarms_only)

    if args.server_wait is not None and not is_triton_url(args.model):
        raise DrsnEdgeError("--server-wait applies to a model on a Triton server (triton://HOST:PORT/MODEL)")
    job = StreamJob(
        model=args.model, input=args.input, stream_id=args.stream_id, force=args.force,
        server_wait_s=60.0 if args.server_wait is None else args.server_wait,
        inputs=InputOptions(fs=args.fs, raw_channels=raw_channels, fmt=args.format, scale=args.scale,
                            sensitivity=args.sensitivity, time_column=args.time_column,
                            channels=split_channels(channels) if channels else None, layout=args.layout,
                            realtime=args.realtime, allow_outside=bool(args.allow_outside), bearing=args.bearing,
                            shaft_hz=shaft_hz, tacho_channel=args.tacho_channel),
        outputs=OutputOptions(jsonl=jsonl, jsonl_rotate=args.jsonl_rotate, jsonl_keep=args.jsonl_keep,
                              windows=not args.alarms_only, mqtt=mqtt,
                              prometheus=args.prometheus, console=human, report=args.report, plot_dir=args.plot,
                              report_every_s=report_every),
        config=StreamConfig(hop=hop, channel_map=parse_channel_map(args.channel_map) if args.channel_map else None,
                            batch_size=StreamConfig.batch_size if args.batch_size is None else args.batch_size,
                            max_latency_s=args.max_latency_ms / 1000, queue_size=args.queue,
                            policy=args.policy or ("drop-oldest" if live else "block"), smoothing=smoothing,
                            smoothing_mode=args.smooth_mode, alarm=alarm, normal_label=args.normal_label,
                            clip_level=args.clip_level),
        provider=ProviderSettings(provider=args.provider, precision=args.precision, trt_engine_cache=args.trt_cache,
                                  trt_fp16=args.trt_fp16,
                                  trt_int8=args.trt_int8, intra_op_threads=args.threads, streaming=True,
                                  cuda_graph=args.cuda_graph, tf32=args.tf32),
    )
    return job, human


def run(args: argparse.Namespace) -> int:
    job, human = job_from_args(args)
    return tell(run_stream(job), job, human)


def tell(s: dict, job: StreamJob, human: bool, command: str = "stream") -> int:
    """A run's summary on standard error (and the verdicts on a terminal); returns its exit code."""
    alarm = job.config.alarm
    if human:
        verdict_table(s)
    lat = s["latency_ms"]
    print(f"windows in {s['windows_in']}, processed {s['processed']}, dropped {s['dropped']}, rejected {s['rejected']}, "
          f"gaps {s['gaps']}, alarm changes {s['alarms']}; latency ms p50 {lat['p50']:.2f} p90 {lat['p90']:.2f} "
          f"p99 {lat['p99']:.2f} max {lat['max']:.2f}; real-time factor "
          + (f"{s['real_time_factor']:.1f}x" if s["real_time_factor"] is not None else "- (no time passed)"), file=sys.stderr)
    for st in s["streams"]:
        for note in st["source"]["notes"]:
            print(f"input {st['stream']}: {note}", file=sys.stderr)
        if human and not s["model"].get("healthy_class"):  # an alarm there needs a class held with high confidence
            for v in st["verdicts"]:
                if not v["alarms_raised"] and v["windows"]:
                    print(f"input {st['stream']} channel {v['unit']}: no alarm: the most likely class's smoothed "
                          f"probability peaked at {v['p_fault_max']:.2f}, below --raise {alarm.raise_at:g}",
                          file=sys.stderr)
    for name, o in s["outputs"].items():
        if o.get("error") or o.get("dropped") or o.get("waiting") or o.get("refused"):
            print(f"output {name}: {', '.join(f'{k} {v}' for k, v in o.items())}", file=sys.stderr)
    b = s.get("backend")
    if b and (b["outages"] or b["retried_requests"]):
        print(f"server {job.model}: {b['outages']} outage(s), {b['outage_seconds']:.1f} s away, "
              f"{b['retried_requests']} request(s) resent, {b['reconnects']} reconnect(s); no window lost", file=sys.stderr)
    if s["exit_code"] == EXIT_NO_WINDOWS:
        m = s["model"]
        print(f"drsn-edge {command}: no window processed: {no_window_reason(s, m['window_samples'], m['sample_rate_hz'])}",
              file=sys.stderr)
    return s["exit_code"]
