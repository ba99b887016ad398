"""``drsn-edge stream``."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stream", help="continuous inference on a recording or live stream, with alarms",
                       description="Windows -> decisions -> alarms from a file (WAV/FLAC/.npy/CSV/CWRU .mat), "
                                   "standard input ('-') or a socket (tcp://HOST:PORT, tcp-listen://HOST:PORT).")
    p.add_argument("model", help="exported .onnx (or TensorRT .engine) with drsn-edge metadata")
    p.add_argument("input", help="file, '-' for stdin, tcp://HOST:PORT or tcp-listen://HOST:PORT")
    i = p.add_argument_group("input")
    i.add_argument("--fs", type=float, help="input sample rate, Hz (read from WAV/FLAC/.mat files)")
    i.add_argument("--channels", type=int, help="sensor channels in the input (raw streams: required)")
    i.add_argument("--format", default="f32le", choices=["f32le", "s16le"], help="raw stream sample format")
    i.add_argument("--gain", type=float, help="g per input unit (default 1)")
    i.add_argument("--sensitivity", type=float, help="sensor sensitivity in mV/g, for inputs in volts")
    i.add_argument("--time-column", help="CSV column (name or number) holding time stamps in s: rate and gaps from it")
    i.add_argument("--columns", help="which channels: CSV columns or .mat variables by name (bearing.gs, DE for CWRU "
                                     "files), or channel numbers; comma-separated (default: all)")
    i.add_argument("--mat-channels", dest="columns", help=argparse.SUPPRESS)  # the 0.1 name
    i.add_argument("--layout", choices=["channels-first", "samples-first"],
                   help="layout of a 2-D .npy / .mat array (default channels-first: (channels, samples))")
    i.add_argument("--realtime", action="store_true", help="replay a file at recording speed (default: as fast as possible)")
    w = p.add_argument_group("windows and batching")
    w.add_argument("--hop", type=int, help="samples between windows at the model rate (default: the model's)")
    w.add_argument("--channel-map", help="sensors per unit: 0,1,2 (one unit each) or 0+1,2+3")
    w.add_argument("--batch-size", type=int, default=16)
    w.add_argument("--max-latency-ms", type=float, default=5.0, help="deadline for a partial micro-batch")
    w.add_argument("--queue", type=int, default=256, help="bounded window queue size")
    w.add_argument("--policy", choices=["block", "drop-oldest"], default="block", help="when the queue is full")
    w.add_argument("--clip-level", type=float, help="sensor full scale in g; windows at it are rejected as clipped")
    d = p.add_argument_group("decisions and alarms")
    d.add_argument("--smooth", type=int, default=5, help="windows averaged (or voting) per decision")
    d.add_argument("--smooth-mode", choices=["mean", "vote"], default="mean")
    d.add_argument("--raise", dest="raise_at", type=float, default=0.8, help="P(fault) that raises an alarm")
    d.add_argument("--clear", dest="clear_at", type=float, default=0.4, help="P(fault) below which it clears")
    d.add_argument("--min-raise-s", type=float, default=0.5)
    d.add_argument("--min-clear-s", type=float, default=1.0)
    d.add_argument("--suppress-s", type=float, default=0.0, help="no new alarm this long after a clear")
    d.add_argument("--normal-label", default="normal")
    o = p.add_argument_group("outputs")
    o.add_argument("--jsonl", default="-", help="JSON lines file ('-' stdout, 'none' off)")
    o.add_argument("--alarms-only", action="store_true", help="no per-window records (alarms and events only)")
    o.add_argument("--mqtt", help="broker, mqtt://HOST:PORT")
    o.add_argument("--mqtt-prefix", default="drsn")
    o.add_argument("--mqtt-qos", type=int, choices=[0, 1, 2], default=1)
    o.add_argument("--prometheus", type=int, help="serve metrics on this port")
    b = p.add_argument_group("backend")
    b.add_argument("--provider", choices=["cpu", "cuda", "tensorrt"], default="cpu", help="ONNX Runtime provider")
    b.add_argument("--trt-cache", help="TensorRT EP engine cache folder")
    b.add_argument("--trt-fp16", action="store_true")
    b.add_argument("--trt-int8", action="store_true")
    b.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: default)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from drsn_edge.runtime.app import InputOptions, OutputOptions, StreamJob, run_stream
    from drsn_edge.runtime.decisions import AlarmConfig
    from drsn_edge.runtime.providers import ProviderSettings
    from drsn_edge.runtime.runner import StreamConfig, parse_channel_map

    try:
        alarm = AlarmConfig(args.raise_at, args.clear_at, args.min_raise_s, args.min_clear_s, args.suppress_s)
    except ValueError as exc:
        from drsn_edge.errors import DrsnEdgeError

        raise DrsnEdgeError(str(exc)) from None
    job = StreamJob(
        model=args.model, input=args.input,
        inputs=InputOptions(fs=args.fs, channels=args.channels, fmt=args.format, gain=args.gain,
                            sensitivity_mv_per_g=args.sensitivity, time_column=args.time_column,
                            columns=tuple(c.strip() for c in args.columns.split(",")) if args.columns else None,
                            layout=args.layout, realtime=args.realtime),
        outputs=OutputOptions(jsonl=None if args.jsonl == "none" else args.jsonl, windows=not args.alarms_only,
                              mqtt=args.mqtt, mqtt_prefix=args.mqtt_prefix, mqtt_qos=args.mqtt_qos,
                              prometheus_port=args.prometheus),
        config=StreamConfig(hop=args.hop, channel_map=parse_channel_map(args.channel_map) if args.channel_map else None,
                            batch_size=args.batch_size, max_latency_s=args.max_latency_ms / 1000, queue_size=args.queue,
                            policy=args.policy, smoothing=args.smooth, smoothing_mode=args.smooth_mode, alarm=alarm,
                            normal_label=args.normal_label, clip_level=args.clip_level),
        provider=ProviderSettings(provider=args.provider, trt_engine_cache=args.trt_cache, trt_fp16=args.trt_fp16,
                                  trt_int8=args.trt_int8, intra_op_threads=args.threads),
    )
    s = run_stream(job)
    lat = s["latency_ms"]
    print(f"windows in {s['windows_in']}, processed {s['processed']}, dropped {s['dropped']}, rejected {s['rejected']}, "
          f"gaps {s['gaps']}, alarm changes {s['alarms']}; latency ms p50 {lat['p50']:.2f} p90 {lat['p90']:.2f} "
          f"p99 {lat['p99']:.2f} max {lat['max']:.2f}; real-time factor {s['real_time_factor']:.1f}x", file=sys.stderr)
    for note in s["source"]["notes"]:
        print(f"input: {note}", file=sys.stderr)
    return 0
