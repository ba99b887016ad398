"""Argument parsing shared by the subcommands: one-line errors, common data options."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from drsn_edge.data.dataset import DataSpec
from drsn_edge.data.sources import get_source, resolve_data
from drsn_edge.data.splits import SplitSpec
from drsn_edge.errors import DrsnEdgeError


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit code 2."""

    #: Options whose values may start with '-' (``--snr -6:10``); argparse would take them for flags.
    NEGATIVE_VALUE_OPTIONS = ("--snr",)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)  # keep the examples' lines
        super().__init__(*args, **kwargs)

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


#: CLI flag -> (option name, the sources it applies to). The library speaks in option names; only here are flags.
DATA_FLAGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "data_dir": ("root", ("cwru",)),
    "labels": ("label_set", ("sim", "cwru")),
    "channels": ("channels", ("cwru", "folder", "manifest")),
    "loads": ("loads", ("cwru",)),
    "group_by": ("group_by", ("cwru",)),
    "sim_duration": ("duration", ("sim",)),
    "sim_recordings": ("recordings_per_class", ("sim",)),
    "classes": ("classes", ("cwru", "folder", "manifest")),
    "file_fs": ("file_fs", ("folder", "manifest")),
    "layout": ("layout", ("folder", "manifest")),
    "time_column": ("time_column", ("folder", "manifest")),
    "scale": ("scale", ("folder", "manifest")),
    "sensitivity": ("sensitivity", ("folder", "manifest")),
    "normal": ("normal", ("folder", "manifest")),
}
_LISTS = {"channels", "classes", "loads"}


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def add_data_options(p: argparse.ArgumentParser, training: bool = False) -> None:
    """Data and split options. ``--data`` is a registered dataset (sim, cwru), a folder or a manifest CSV."""
    g = p.add_argument_group("data")
    g.add_argument("--data", help="sim (built-in simulator), cwru (with --data-dir), a folder with one subfolder per "
                                  "label, or a manifest CSV (path,label[,group,fs,channels,...])")
    g.add_argument("--data-dir", help="cwru: the folder of CWRU .mat files (e.g. ../shared/data/cwru/12k_drive_end)")
    g.add_argument("--labels", help="sim / cwru label set: 10 (condition x size) or 4 (condition)")
    g.add_argument("--channels", help="cwru: DE, FE, BA; files: CSV columns / .mat variables / channel numbers, "
                                      "comma-separated (default: all)")
    g.add_argument("--loads", help="cwru: motor loads in hp, e.g. 0,1,2")
    g.add_argument("--group-by", help="cwru: what a group is for group splits: load (default), file, none")
    g.add_argument("--classes", help="files: class order, comma-separated (default: classes.txt, else sorted)")
    g.add_argument("--file-fs", type=float, help="files: sample rate of files that store none (.npy, CSV without time)")
    g.add_argument("--layout", choices=["channels-first", "samples-first"], help="files: layout of 2-D arrays")
    g.add_argument("--time-column", help="files: CSV column of time stamps (name or number)")
    g.add_argument("--scale", type=float, help="files: raw value x scale = g")
    g.add_argument("--sensitivity", type=float, help="files: sensor sensitivity in mV/g, for files in volts")
    g.add_argument("--normal", help="files: the healthy class (default: normal)")
    g.add_argument("--sim-duration", type=float, help="sim: seconds per simulated recording (default 10)")
    g.add_argument("--sim-recordings", type=int, help="sim: recordings (machines) per class (default 4)")
    if training:
        g.add_argument("--fs", type=float, help="model sample rate in Hz (default: 12000 for sim / cwru, else the rate "
                                                "most files have); other rates are resampled")
    s = p.add_argument_group("split")
    s.add_argument("--split", choices=["time", "recording", "group", "all"],
                   help="time: inside each recording (optimistic); recording: whole recordings held out per label; "
                        "group: --test-group held out; all: every window is test (evaluate on new data)")
    s.add_argument("--test-group", help="group(s) held out for testing, comma-separated (implies --split group)")
    s.add_argument("--split-fractions", help="train,val,test shares (default 0.7,0.1,0.2)")
    s.add_argument("--split-seed", type=int, help="seed of the assignment of recordings to splits (default 0)")
    if training:
        s.add_argument("--cv", choices=["group"], help="leave-one-group-out: one model per group, one report over all")


def _options_from_args(args: argparse.Namespace, source: str) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for dest, (name, sources) in DATA_FLAGS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        if source not in sources:
            where = "your own files (a folder or manifest)" if sources == ("folder", "manifest") else \
                ", ".join(f"--data {s}" for s in sources)
            hint = "; for your own recordings use --data FOLDER or --data MANIFEST.csv" if dest == "data_dir" else ""
            raise DrsnEdgeError(f"{_flag(dest)} applies to {where}, not to --data {source}{hint}")
        if dest in _LISTS:
            value = [v.strip() for v in str(value).split(",") if v.strip()]
            if dest == "loads":
                try:
                    value = [int(v) for v in value]
                except ValueError:
                    raise DrsnEdgeError(f"bad --loads {args.loads!r}: expected numbers of hp like 0,1,2") from None
            if dest == "channels" and source == "cwru":
                value = [v.upper() for v in value]
        opts[name] = value
    return opts


def _split_from_args(args: argparse.Namespace, base) -> Any:
    kind = args.split or ("group" if args.test_group else None)
    if kind is None and args.split_fractions is None:
        return base
    fractions = base.fractions
    if args.split_fractions:
        try:
            fractions = tuple(float(v) for v in args.split_fractions.split(","))
        except ValueError:
            raise DrsnEdgeError(f"bad --split-fractions {args.split_fractions!r}: expected e.g. 0.7,0.1,0.2") from None
    groups = tuple(g.strip() for g in (args.test_group or "").split(",") if g.strip())
    if groups and (kind or base.kind) != "group":
        raise DrsnEdgeError("--test-group needs --split group")
    return SplitSpec(kind or base.kind, fractions, groups or (base.test_groups if (kind or base.kind) == "group" else ()))


def data_spec_from_args(args: argparse.Namespace, base=None, default_split: str | None = None):
    """The DataSpec the data options describe. Without ``--data``: ``base`` (a model's own data) with the options
    given applied to it, or the simulator. With ``--data``: that data, split ``default_split`` unless given."""
    if args.data is None:
        if base is None:
            base = DataSpec("sim", split=SplitSpec(default_split) if default_split else SplitSpec())
        if args.data_dir and base.source != "cwru":
            raise DrsnEdgeError("--data-dir is the CWRU folder: use it with --data cwru; for your own recordings "
                                "use --data FOLDER or --data MANIFEST.csv")
        source, opts = base.source, {**base.options, **_options_from_args(args, base.source)}
        split = base.split
    else:
        source, root = resolve_data(args.data)
        if source == "cwru" and not args.data_dir:
            raise DrsnEdgeError("--data cwru needs --data-dir DIR (the folder of CWRU .mat files)")
        opts = _options_from_args(args, source)
        if root is not None:
            opts["root"] = root
        split = SplitSpec(default_split) if default_split else SplitSpec()
    split = _split_from_args(args, split)
    seed = args.split_seed if getattr(args, "split_seed", None) is not None else (base.seed if base and args.data is None else 0)
    fs = getattr(args, "fs", None) or (base.fs if base is not None and args.data is None else None)
    spec = DataSpec(source, opts, fs, split, seed)

    get_source(source).options(spec.options)  # refuse bad option values now, before any work
    return spec


def data_given(args: argparse.Namespace) -> bool:
    """Whether any data or split option was given on the command line."""
    return any(getattr(args, d, None) is not None for d in [*DATA_FLAGS, "data", "split", "test_group", "split_fractions",
                                                             "split_seed"])


def examples(*commands: str) -> str:
    """The end of a command's --help: copy-paste examples."""
    return "examples:\n" + "\n".join(f"  {c}" for c in commands)
