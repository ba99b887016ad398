"""``drsn-edge enrol``."""

from __future__ import annotations

import argparse

from drsn_edge.cli.parser import (
    HOP,
    SPEED_JITTER,
    TORCH_THREADS,
    add_alarm_options,
    add_data_options,
    alarm_settings,
    check_threads,
    examples,
    model_arg,
    unlabelled_data_spec,
)
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.config import ENROL_ALARM, StreamConfig
from drsn_edge.training.config import ENROL_SPEED_RANGE
from drsn_edge.training.threads import use_threads


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("enrol", help="learn a machine's healthy state from its healthy recordings; alarm when it leaves it",
                       description="Fits the machine's healthy baseline on the model's pooled features and shrinkage "
                                   "ratios (Ledoit-Wolf), exported in the graph as an 'anomaly' output; holds part of the "
                                   "data out and replays it through the runtime's alarm logic to set the threshold for "
                                   "--false-alarms-per-day. The classifier stays: its fault class becomes a hint on each "
                                   "anomaly alarm. Labels in the data are ignored. Enrolling an enrolled model again "
                                   "(after maintenance) replaces the baseline and keeps the old one in its history.",
                       epilog=examples("drsn-edge enrol model.safetensors --data pump-healthy/ -o pump.safetensors",
                                       "drsn-edge enrol model.safetensors --data healthy.csv --false-alarms-per-day 0.5 "
                                       "--min-raise-s 2 -o pump.safetensors",
                                       "drsn-edge export pump.safetensors -o pump.onnx && drsn-edge stream pump.onnx "
                                       "live.wav"))
    p.add_argument("model", type=model_arg, help="the checkpoint to enrol the machine on (.safetensors), or a zoo name")
    p.add_argument("-o", "--out", required=True, help="where to write the enrolled checkpoint")
    p.add_argument("--false-alarms-per-day", type=float, default=1.0,
                   help="the false-alarm rate the threshold is set for (the rate the data can vouch for is reported "
                        "beside it)")
    p.add_argument("--speed", default=ENROL_SPEED_RANGE, **{**SPEED_JITTER, "help": SPEED_JITTER["help"] + ": the baseline is "
                   "also fitted on healthy windows at shaft speeds this far off, since a machine's speed moves with its "
                   "load over hours while a short recording holds one (default: %(default)s)"})
    p.add_argument("--force", action="store_true", help="enrol even on recordings labelled as faults (their label "
                   "folder, manifest label or data set names a fault): everything given is taken as healthy")
    a = p.add_argument_group("alarms (as stream will run them; the threshold holds for these)")
    a.add_argument("--hop", **HOP)
    add_alarm_options(a, defaults=ENROL_ALARM)
    add_data_options(p)
    p.add_argument("--threads", **TORCH_THREADS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from drsn_edge.training.enrol import enrol_checkpoint  # torch: loaded only when the command runs
    use_threads(check_threads(args.threads))

    if not args.data:
        raise DrsnEdgeError("give the machine's healthy recordings with --data (a folder, a manifest, or files)")
    if not 0 <= args.speed < 0.5:
        raise DrsnEdgeError(f"--speed must be from 0 to 0.5 (a share of the shaft speed), is {args.speed:g}")
    if not args.false_alarms_per_day > 0:
        raise DrsnEdgeError(f"--false-alarms-per-day must be above 0, is {args.false_alarms_per_day:g}")
    if args.model.endswith(".onnx") or args.model.endswith(".plan") or args.model.endswith(".engine"):
        raise DrsnEdgeError(f"{args.model}: enrol fits a head into the network and needs its checkpoint (.safetensors), "
                            "then export the enrolled checkpoint")
    hop, smoothing, alarm = alarm_settings(args)
    if hop is not None and hop < 1:
        raise DrsnEdgeError(f"--hop must be a positive number of samples, is {hop}")
    enrol_checkpoint(args.model, unlabelled_data_spec(args), args.out, args.false_alarms_per_day,
                     StreamConfig(hop=hop, smoothing=smoothing, alarm=alarm), speed_range=args.speed, force=args.force)
    return 0
