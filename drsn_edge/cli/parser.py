"""Argument parsing shared by the subcommands: one-line errors, common data options."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from drsn_edge.errors import DrsnEdgeError


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit code 2."""

    #: Options whose values may start with '-' (``--snr -6:10``); argparse would take them for flags.
    NEGATIVE_VALUE_OPTIONS = ("--snr",)

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        argv = list(sys.argv[1:] if args is None else args)
        joined: list[str] = []
        i = 0
        while i < len(argv):
            if argv[i] in self.NEGATIVE_VALUE_OPTIONS and i + 1 < len(argv) and argv[i + 1].startswith("-"):
                joined.append(f"{argv[i]}={argv[i + 1]}")
                i += 2
            else:
                joined.append(argv[i])
                i += 1
        return super().parse_args(joined, namespace)

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def add_data_options(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--data", choices=["sim", "cwru"], default="sim" if defaults else None,
                   help="built-in bearing simulator (offline default) or CWRU .mat files")
    g.add_argument("--data-dir", help="folder of CWRU .mat files (e.g. ../shared/data/cwru/12k_drive_end)")
    g.add_argument("--labels", default=None, help="label set: 10 (condition x size) or 4 (condition)")
    g.add_argument("--channels", default="DE", help="CWRU channels, comma-separated: DE, FE, BA")
    g.add_argument("--fs", type=float, default=12000.0, help="model sampling rate in Hz (data is resampled)")
    g.add_argument("--sim-duration", type=float, default=10.0, help="seconds per simulated recording")


def data_spec_from_args(args: argparse.Namespace, seed: int = 0):
    from drsn_edge.data.dataset import DataSpec

    if args.data == "cwru" and not args.data_dir:
        raise DrsnEdgeError("--data cwru needs --data-dir DIR (the folder of CWRU .mat files)")
    labels = args.labels or ("10" if args.data == "cwru" else "4")
    channels = tuple(c.strip().upper() for c in args.channels.split(",") if c.strip())
    return DataSpec(source=args.data, data_dir=args.data_dir, label_set=labels, channels=channels,
                    fs=args.fs, seed=seed, sim_duration=getattr(args, "sim_duration", 10.0))


def data_spec_for_model(args: argparse.Namespace, meta: dict):
    """``--data`` options for evaluating an existing model: its rate and label set unless given; None without --data."""
    if not args.data:
        return None
    args.fs = meta["sample_rate"]
    args.labels = args.labels or meta["data"].get("label_set")
    return data_spec_from_args(args)
