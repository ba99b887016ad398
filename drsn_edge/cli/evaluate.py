"""``drsn-edge eval``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from drsn_edge.cli.parser import add_data_options, data_spec_for_model
from drsn_edge.errors import DrsnEdgeError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="accuracy of a checkpoint per noise type and SNR",
                       description="Evaluate on the checkpoint's test split (or other data) under noise.")
    p.add_argument("checkpoint")
    add_data_options(p, defaults=False)
    p.add_argument("--noise", default="gaussian,laplacian,pink", help="noise types: gaussian,laplacian,pink | all")
    p.add_argument("--snr", default="-4,-2,0,2,4,clean", help="comma-separated SNRs in dB, 'clean' for none")
    p.add_argument("--repeats", type=int, default=1, help="noise realizations per test window")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the full report (with confusion matrices) here")
    p.add_argument("--plot", help="write a PNG plot here")
    p.set_defaults(func=run)


def _writable(path: str | None) -> None:
    if path and not Path(path).resolve().parent.is_dir():
        raise DrsnEdgeError(f"cannot write {path}: folder {Path(path).parent} does not exist")


def run(args: argparse.Namespace) -> int:
    from drsn_edge.data.noise import parse_noise_types, parse_snr_list
    from drsn_edge.training.checkpoint import read_checkpoint_meta
    from drsn_edge.training.evaluate import format_table, plot_report
    from drsn_edge.training.pipeline import evaluate_checkpoint

    kinds = parse_noise_types(args.noise)
    snrs = parse_snr_list(args.snr)
    _writable(args.json)
    _writable(args.plot)
    data = data_spec_for_model(args, read_checkpoint_meta(args.checkpoint)) if args.data else None
    report = evaluate_checkpoint(args.checkpoint, kinds, snrs, data=data, seed=args.seed, repeats=args.repeats)
    print(format_table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
        print(f"wrote {args.json}")
    if args.plot:
        plot_report(report, args.plot)
        print(f"wrote {args.plot}")
    return 0
