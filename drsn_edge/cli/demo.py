"""``drsn-edge demo``: the main job end to end on built-in defaults, offline."""

from __future__ import annotations

import argparse
from pathlib import Path

from drsn_edge.demo import run_demo


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the whole pipeline on the built-in simulator, offline, in a few minutes",
                       description="Train a DRSN-CW on simulated bearings under noise, evaluate it, export and verify "
                                   "ONNX, quantize, compare the formats and stream a recording with alarms; then enrol a "
                                   "simulated machine from its healthy signal only and stream it as a fault develops.",
                       epilog="examples:\n  drsn-edge demo\n  drsn-edge demo --out /tmp/demo --epochs 20")
    p.add_argument("-o", "--out", default="demo-out", help="folder for the demo's files")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--quick", action="store_true", help="a much shorter run (for smoke tests)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    run_demo(Path(args.out), epochs=2 if args.quick else args.epochs, quick=args.quick)
    return 0
