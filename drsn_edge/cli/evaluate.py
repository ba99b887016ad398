"""``drsn-edge evaluate`` (alias ``eval``)."""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

from drsn_edge.bearing import bearing_from_text, check_speed
from drsn_edge.cli.parser import (
    ENROLLED,
    HOP,
    add_alarm_options,
    add_bearing_options,
    add_data_options,
    add_provider_options,
    alarm_settings,
    data_given,
    data_spec_from_args,
    examples,
    model_arg,
)
from drsn_edge.cli.progress import progress_bar
from drsn_edge.data.dataset import DataSpec
from drsn_edge.data.noise import parse_noise_types, parse_snr_list
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.evaluation.alarm_replay import format_alarms
from drsn_edge.evaluation.grid import format_table
from drsn_edge.evaluation.job import evaluate_model
from drsn_edge.evaluation.locations import format_locations
from drsn_edge.evaluation.metrics import format_confusion, format_recordings, format_report
from drsn_edge.evaluation.plots import plot_report
from drsn_edge.runtime.config import StreamConfig
from drsn_edge.runtime.loader import describe_model
from drsn_edge.runtime.providers import ProviderSettings


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", aliases=["eval"], help="how well a model does, on its test split or your data",
                       description="Evaluate a checkpoint, .onnx or .engine (the file you deploy) on the test split it "
                                   "was trained with, or on any labelled folder / manifest (--data: every window is "
                                   "test), clean and under noise: accuracy, balanced accuracy, macro-F1, per-class "
                                   "recall and precision, confusion matrix, per-recording verdicts, fault detection "
                                   "and false-alarm rates.",
                       epilog=examples("drsn-edge evaluate model.onnx --data my-new-recordings/",
                                       "drsn-edge evaluate model.safetensors --channels FE   # same files, fan end",
                                       "drsn-edge evaluate model.safetensors --snr -4,0,clean --json r.json --plot r.png"))
    p.add_argument("model", type=model_arg, help="checkpoint (.safetensors), .onnx or .engine, or a zoo name")
    add_data_options(p)
    add_bearing_options(p.add_argument_group("bearing evidence (fault location by physics, beside the model's)"))
    a = p.add_argument_group("alarms (replayed as stream would raise them: false alarms per day, detection delay)")
    a.add_argument("--hop", **HOP)
    add_alarm_options(a, enrolled=ENROLLED)
    a.add_argument("--sweep", action="store_true", help="also the trade-off at other operating points (an enrolled "
                   "machine's threshold, else --raise), the chosen one marked")
    p.add_argument("--strict", action="store_true", help="refuse data with warnings too (e.g. clipped files)")
    p.add_argument("--noise", default="gaussian,laplacian,pink", help="noise types: gaussian,laplacian,pink | all | none")
    p.add_argument("--snr", default="-4,0,4,clean", help="comma-separated SNRs in dB, 'clean' for none")
    p.add_argument("--repeats", type=int, default=1, help="noise realizations per test window")
    p.add_argument("--seed", type=int, default=0)
    add_provider_options(p)
    p.add_argument("--json", help="write the full report (per class, per recording, confusion matrices) here (default: none)")
    p.add_argument("--plot", help="write a PNG (accuracy vs SNR, confusion matrix) here (default: none)")
    p.set_defaults(func=run)


def _writable(path: str | None) -> None:
    if path and not Path(path).resolve().parent.is_dir():
        raise DrsnEdgeError(f"cannot write {path}: folder {Path(path).parent} does not exist")


def run(args: argparse.Namespace) -> int:
    kinds = parse_noise_types(args.noise)
    snrs = parse_snr_list(args.snr)
    if args.repeats < 1:
        raise DrsnEdgeError("--repeats must be at least 1")
    _writable(args.json)
    _writable(args.plot)
    if args.bearing:
        bearing_from_text(args.bearing)
    if args.tacho_channel is not None:
        raise DrsnEdgeError("--tacho-channel is for stream; evaluate takes the speed from --rpm / --shaft-hz, a manifest's "
                            "rpm column or what each file records")
    shaft_hz = check_speed(args.rpm, args.shaft_hz)
    md = describe_model(args.model)
    hop, smoothing, alarm = alarm_settings(args, (md.enrolment or {}).get("alarm"))
    alarms = StreamConfig(hop=hop, smoothing=smoothing, alarm=alarm)
    data = data_spec_from_args(args, base=DataSpec.from_dict(md.data), default_split="all") if data_given(args) else None
    with contextlib.ExitStack() as stack:
        report = evaluate_model(args.model, data, kinds, snrs, seed=args.seed, repeats=args.repeats,
                                settings=ProviderSettings(provider=args.provider, precision=args.precision), strict=args.strict,
                                log=lambda s: print(s),
                                progress=lambda n: stack.enter_context(progress_bar(n, "noise conditions")),
                                bearing=args.bearing, shaft_hz=shaft_hz, alarms=alarms, sweep=args.sweep)
    split = report["split"]["split"]
    print(f"{report['model']} ({report['backend']}, {report['precision']}) on {DataSpec.from_dict(report['data']).describe()}, "
          f"{split['kind']} split, test part")
    if split["kind"] == "time":
        print("note: a time split puts neighbouring windows of one recording in train and test; expect less on "
              "recordings the model never saw (train with --split recording or --split group to measure that)")
    for n in report["split"]["notes"]:
        print(f"note: {n}")
    print(format_report(report["clean"]))
    print()
    print(format_confusion(report["clean"]))
    if report["clean"].get("per_recording"):
        print()
        print(format_recordings(report["clean"]))
    if "clean_held_out_only" in report:
        h = report["clean_held_out_only"]
        print(f"held-out recordings only (without time-split fallbacks): accuracy {100 * h['accuracy']:.2f} %, "
              f"balanced accuracy {100 * h['balanced_accuracy']:.2f} %")
    for name, n in report["unknown_labels"].items():
        print(f"note: label {name!r} is not a class of the model: its {n} windows are not scored")
    if "locations" in report:
        print()
        print(format_locations(report["locations"]))
    print()
    print(format_alarms(report["alarms"]))
    if len(report["results"]) > 1:
        print("\naccuracy %")
        print(format_table(report))
        print("\nbalanced accuracy %")
        print(format_table(report, "balanced_accuracy"))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
        print(f"wrote {args.json}")
    if args.plot:
        plot_report(report, args.plot)
        print(f"wrote {args.plot}")
    return 0
