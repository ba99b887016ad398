"""``drsn-edge data inspect``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from drsn_edge.cli.parser import add_data_options, data_spec_from_args, examples
from drsn_edge.cli.progress import progress_bar
from drsn_edge.data.inspect import format_inspection, inspect_entries
from drsn_edge.data.sources import get_source
from drsn_edge.data.sources.files import default_model_rate
from drsn_edge.errors import DrsnEdgeError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="look at a dataset before training on it")
    dsub = p.add_subparsers(dest="data_command", required=True, parser_class=type(p))
    i = dsub.add_parser("inspect", help="files, durations, rates, channels and problems per label and group",
                        description="Read every recording (block by block) and report per label and group: files, "
                                    "total duration, sample rates, channels, windows, and every problem found "
                                    "(unreadable, too short, NaN / Inf, clipping, constant signal, unknown label), "
                                    "one line per file. Exit code 2 when train would refuse the data.",
                        epilog=examples("drsn-edge data inspect my-recordings/",
                                        "drsn-edge data inspect manifest.csv --strict",
                                        "drsn-edge data inspect cwru --data-dir ../shared/data/cwru/12k_drive_end"))
    i.add_argument("path", help="a folder (one subfolder per label), a manifest CSV, or cwru (with --data-dir)")
    add_data_options(i)
    i.add_argument("--window", type=int, default=2048, help="window length in samples, for the window counts")
    i.add_argument("--model-fs", type=float, metavar="HZ", help="the model's rate, for the window counts (default: as "
                   "train would choose it, said on the first line)")
    i.add_argument("--strict", action="store_true", help="any problem, warnings too, makes the exit code 2")
    i.add_argument("--json", help="write the full report (JSON) here (default: none)")
    i.set_defaults(func=run_inspect, command="data inspect")


def run_inspect(args: argparse.Namespace) -> int:
    if args.window < 2:
        raise DrsnEdgeError("--window must be at least 2 samples")
    args.data = args.path
    spec = data_spec_from_args(args)
    if spec.source == "folder" and Path(args.path).is_file():  # one recording: what it holds, labels aside
        spec.options["unlabelled"] = True
    source = get_source(spec.source)
    opts = source.options(spec.options)
    found = source.entries(opts)
    entries, names = found.files, found.class_names
    for note in found.notes:
        print(f"note: {note}")
    rate, why = args.model_fs or source.default_fs(opts), None
    if rate is None:
        try:
            rate, why = default_model_rate(entries, args.window)
        except DrsnEdgeError:  # no file readable: the table below says why, file by file
            why = "no file could be read, so no model rate is chosen (window counts at each file's own rate)"
    if why:
        print(f"{why}\n")
    with progress_bar(len(entries), "reading") as tick:
        report = inspect_entries(entries, names, args.window, rate, progress=tick)
    print(format_inspection(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    refused = [p for p in report["problems"] if p["error"] or args.strict]
    if refused:
        print(f"{len(refused)} problem(s) would stop training{' (--strict)' if args.strict else ''}", file=sys.stderr)
        return 2
    return 0
