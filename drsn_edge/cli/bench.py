"""``drsn-edge bench``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from drsn_edge.bench.report import write_report
from drsn_edge.bench.suite import BenchOptions, run_bench
from drsn_edge.cli.parser import add_data_options, data_given, data_spec_from_args, examples, model_arg
from drsn_edge.data.dataset import DataSpec
from drsn_edge.data.noise import parse_noise_types, parse_snr_list
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile.checkpoint import read_checkpoint_description
from drsn_edge.runtime.measured import record_bench


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="size, accuracy under noise, latency, memory of every format, side by side",
                       description="Benchmark a checkpoint in every format available here, plus the streaming runtime.",
                       epilog=examples("drsn-edge bench model.safetensors --out bench-out",
                                       "drsn-edge bench model.safetensors --quick --floor-accuracy 90",
                                       "drsn-edge bench model.safetensors --threads 4 --batch 128"))
    p.add_argument("checkpoint", type=model_arg, help="the checkpoint to export and measure, or a zoo name")
    p.add_argument("-o", "--out", default="bench-out", help="folder for models, bench.json, bench.md and plots")
    p.add_argument("--quick", action="store_true", help="fewer SNRs, windows and channels (a CI smoke test, < 2 min)")
    p.add_argument("--batch", type=int, default=64, help="batch N for the throughput measurement")
    p.add_argument("--threads", type=int, default=1, help="inference threads (1: single-core numbers)")
    p.add_argument("--snr", default=None, help="SNRs for accuracy, e.g. -4,0,clean (default -6..4 and clean)")
    p.add_argument("--noise", default=None, help="noise types (default all three)")
    p.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds (each format in turn, every round)")
    p.add_argument("--no-capacity", action="store_true", help="skip the bisection of channels sustained per core")
    p.add_argument("--stream-channels", type=int, default=64, help="channels for the drsn-edge stream measurement")
    p.add_argument("--floor-accuracy", type=float, help="minimum clean accuracy %% of every format; exit 1 below "
                   "(default: no floor)")
    p.add_argument("--floor-latency-ms", type=float, help="maximum batch-1 median latency; exit 1 above (default: no floor)")
    add_data_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    md = read_checkpoint_description(args.checkpoint)
    data = data_spec_from_args(args, base=DataSpec.from_dict(md.data)) if data_given(args) else None

    if min(args.batch, args.threads, args.rounds, args.stream_channels) < 1:
        raise DrsnEdgeError("--batch, --threads, --rounds and --stream-channels must be at least 1")
    opts = BenchOptions(checkpoint=args.checkpoint, out_dir=args.out, quick=args.quick, batch=args.batch,
                        threads=args.threads, rounds=args.rounds, capacity=not args.no_capacity,
                        stream_channels=args.stream_channels, data_spec=data,
                        floor_accuracy=None if args.floor_accuracy is None else args.floor_accuracy / 100,
                        floor_latency_ms=args.floor_latency_ms)
    if args.snr:
        opts.snrs = parse_snr_list(args.snr)
    if args.noise:
        opts.noise_types = parse_noise_types(args.noise)
    report = run_bench(opts, log=lambda s: print(s, file=sys.stderr))
    command = "drsn-edge " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[0].endswith("drsn-edge") else ""
    files = write_report(report, Path(args.out), command)
    print(Path(args.out, "bench.md").read_text())
    print("wrote " + ", ".join(str(f) for f in files))
    if record_bench(report):  # stream on one of these files says so where another backend ran it faster here
        print(f"kept for stream: the timings of {len(report['formats'])} rows on this CPU", file=sys.stderr)
    if not report["floors"]["passed"]:
        for f in report["floors"]["failures"]:
            print(f"floor missed: {f}", file=sys.stderr)
        return 1
    return 0
