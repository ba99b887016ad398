"""Argument parsing shared by the subcommands: one-line errors, common data options."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from typing import Any, NoReturn

from drsn_edge.data.dataset import DataSpec
from drsn_edge.data.sources import get_source, resolve_data
from drsn_edge.data.splits import SplitSpec
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import is_triton_url, read_description
from drsn_edge.runtime.config import StreamConfig
from drsn_edge.runtime.decisions import AlarmConfig
from drsn_edge.zoo import resolve_model


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' lines, and shows every option's default (where an option has a value of its own)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" in text or action.default is None or action.default is False
                or action.default == argparse.SUPPRESS or not action.option_strings):
            return text
        return f"{text} (default: %(default)s)"


#: Old spellings that keep working for a release, each with a one-line note: old -> new (same meaning).
DEPRECATED = {"--file-fs": "--fs", "--normal": "--normal-label", "--gain": "--scale", "--columns": "--channels",
              "--mat-channels": "--channels"}


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit code 2, defaults in ``--help``, and the deprecated
    spellings of :data:`DEPRECATED` rewritten with a note."""

    #: Options whose values may start with '-' (``--snr -6:10``); argparse would take them for flags.
    NEGATIVE_VALUE_OPTIONS = ("--snr",)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        argv = list(sys.argv[1:] if args is None else args)
        joined: list[str] = []
        i = 0
        while i < len(argv):
            flag, eq, value = argv[i].partition("=")
            if flag in DEPRECATED and argv[i - 1:i] != ["--"]:
                sys.stderr.write(f"drsn-edge: note: {flag} is now {DEPRECATED[flag]} (the old spelling works until "
                                 "0.3)\n")
                argv[i] = DEPRECATED[flag] + eq + value
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


#: The options that read recordings, with one meaning in every command (train, evaluate, adapt, data inspect, export,
#: verify, bench and stream): flag -> add_argument's keywords.
INPUT_OPTIONS: dict[str, dict[str, Any]] = {
    "--fs": dict(type=float, metavar="HZ", help="the input's sample rate, for inputs that store none (.npy, CSV without "
                 "time stamps, raw streams); a file that stores its own rate is read at it (default: the file's own)"),
    "--channels": dict(help="which channels: names (CWRU: DE, FE, BA; CSV columns; .mat variables such as bearing.gs) "
                       "or numbers, comma-separated (default: all)"),
    "--layout": dict(choices=["channels-first", "samples-first"],
                     help="layout of a 2-D .npy / .mat array (default: channels-first, i.e. (channels, samples))"),
    "--time-column": dict(help="CSV column (name or number) of time stamps in s: rate and gaps from it (default: a "
                          "column named like one)"),
    "--scale": dict(type=float, help="raw value x scale = g (default: 1; for inputs in volts give --sensitivity)"),
    "--sensitivity": dict(type=float, metavar="MV_PER_G", help="sensor sensitivity in mV/g, for inputs in volts "
                          "(default: none, the input is in g)"),
    "--allow-outside": dict(action="store_true", default=None, help="let a manifest name files outside its own folder "
                            "(default: refused)"),
}
NORMAL_LABEL = dict(metavar="CLASS", help="the healthy class: an alarm means P(not this class) is high (default: "
                    "'normal' where the data has it; without one, an alarm means some class is predicted with high "
                    "confidence)")


#: bearing evidence, in stream and evaluate alike
BEARING_OPTIONS: dict[str, dict[str, Any]] = {
    "--bearing": dict(metavar="NAME|n,d,D,angle", help="the bearing the sensor watches, for envelope evidence: a name "
                      "(6205-2RS-JEM, 6203-2RS-JEM, MFPT, 6203, UER204, ZA-2115) or balls,ball diameter,pitch diameter "
                      "(mm),contact angle (deg) (default: none, evidence off)"),
    "--rpm": dict(type=float, help="shaft speed in rpm (default: a manifest's rpm column, else what the file records, "
                  "else --tacho-channel)"),
    "--shaft-hz": dict(type=float, metavar="HZ", help="shaft speed in Hz (instead of --rpm) (default: as --rpm)"),
    "--tacho-channel": dict(type=int, metavar="N", help="a sensor channel with once-per-revolution pulses, for the "
                            "speed (default: none)"),
}


#: where a model runs: ONNX Runtime's providers, or OpenVINO (the [openvino] extra)
PROVIDERS = ["cpu", "cuda", "tensorrt", "openvino"]


def add_provider_options(g: argparse._ArgumentGroup | argparse.ArgumentParser) -> None:
    """``--provider`` and ``--precision``, one meaning in every command."""
    g.add_argument("--provider", choices=PROVIDERS, default="cpu",
                   help="ONNX Runtime provider (cpu, cuda, tensorrt) or openvino (Intel's runtime, the [openvino] extra)")
    g.add_argument("--precision", choices=["f32", "bf16"], default="f32",
                   help="openvino: inference precision (bf16 where the CPU has AVX512-BF16 or AMX; check its accuracy)")


#: the alarm settings a flag left out takes (an enrolled model's own, where it has them, come first)
ALARM_DEFAULTS = {"smoothing": StreamConfig.smoothing, **{f.name: f.default for f in fields(AlarmConfig)}}


def add_alarm_options(g: argparse._ArgumentGroup, defaults: dict | None = None, enrolled: str = "") -> None:
    """How windows become alarms: the same flags in ``stream``, ``evaluate`` and ``enrol``. A flag left out takes the
    model's enrolled setting where it has one (``enrolled`` says so in the help), else ``defaults``."""
    d = {**ALARM_DEFAULTS, **(defaults or {})}
    also = f"; {enrolled}" if enrolled else ""
    g.add_argument("--smooth", type=int, help=f"windows averaged (or voting) per decision (default {d['smoothing']}{also})")
    g.add_argument("--raise", dest="raise_at", type=float,
                   help="P(fault), or for an enrolled machine the share of windows above its threshold, that raises "
                        f"an alarm (default {d['raise_at']:g}{also})")
    g.add_argument("--clear", dest="clear_at", type=float,
                   help=f"the same, below which it clears (default {d['clear_at']:g}{also})")
    g.add_argument("--min-raise-s", type=float, help=f"held this long to raise (default {d['min_raise_s']:g}{also})")
    g.add_argument("--min-clear-s", type=float, help=f"held this long to clear (default {d['min_clear_s']:g}{also})")
    g.add_argument("--suppress-s", type=float, help=f"no new alarm this long after a clear (default {d['suppress_s']:g})")
    g.set_defaults(alarm_defaults=d)


#: ``--hop``, alike wherever windows are cut at the model rate
#: torch's threads for a training job (train, adapt, enrol): the same meaning as stream's --threads for its model
TORCH_THREADS = dict(type=int, metavar="N", help="threads to compute with (default: the cores this process may use; "
                     "train's follow the cores other processes leave free, adapt's and enrol's sleep rather than spin "
                     "while they wait, so a stream beside keeps its cores)")


def check_threads(n: int | None) -> int | None:
    if n is not None and not 1 <= n <= 256:
        raise DrsnEdgeError(f"--threads must be from 1 to 256, got {n}")
    return n


#: ``--speed``, in train and enrol: how far windows are resampled, as a shaft speed would move them
SPEED_JITTER = dict(type=float, metavar="FRACTION", help="speed jitter: windows resampled by up to +-this fraction (0: off)")

HOP = {"type": int, "help": "samples between windows at the model rate (default: the model's)"}

#: what an enrolled model's description adds to a flag's help
ENROLLED = "an enrolled model: the setting it was enrolled with"


def alarm_settings(args: argparse.Namespace, enrolled: dict | None = None) -> tuple[int | None, int, AlarmConfig]:
    """(hop, smoothing, alarm) from the flags given, else the model's enrolled settings, else the defaults."""
    base = {**args.alarm_defaults, **{k: v for k, v in (enrolled or {}).items() if k in ALARM_DEFAULTS or k == "hop"}}
    given = {"smoothing": args.smooth, "hop": args.hop, **{k: getattr(args, k) for k in ALARM_DEFAULTS if k != "smoothing"}}
    pick = {k: given[k] if given[k] is not None else base.get(k) for k in given}
    hop = pick["hop"]
    try:
        alarm = AlarmConfig(pick["raise_at"], pick["clear_at"], pick["min_raise_s"], pick["min_clear_s"],
                            pick["suppress_s"])
    except ValueError as exc:
        raise DrsnEdgeError(str(exc)) from None
    return hop, int(pick["smoothing"]), alarm


def enrolled_alarm(model: str) -> dict | None:
    """The alarm settings a local model file was enrolled with (None: not enrolled, or a server's model)."""
    if is_triton_url(model):
        return None
    try:
        return (read_description(model).enrolment or {}).get("alarm")
    except DrsnEdgeError:
        return None  # the command opening the model says what is wrong with it


def add_bearing_options(g: argparse._ArgumentGroup) -> None:
    for flag, kw in BEARING_OPTIONS.items():
        g.add_argument(flag, **kw)


def add_input_options(g: argparse._ArgumentGroup, skip: tuple[str, ...] = ()) -> None:
    """How recordings are read, in the words every command shares."""
    for flag, kw in INPUT_OPTIONS.items():
        if flag not in skip:
            g.add_argument(flag, **kw)


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
    "fs": ("file_fs", ("folder", "manifest")),
    "layout": ("layout", ("folder", "manifest")),
    "time_column": ("time_column", ("folder", "manifest")),
    "scale": ("scale", ("folder", "manifest")),
    "sensitivity": ("sensitivity", ("folder", "manifest")),
    "normal_label": ("normal", ("folder", "manifest")),
    "allow_outside": ("allow_outside", ("manifest",)),
}
_LISTS = {"channels", "classes", "loads"}


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def add_data_options(p: argparse.ArgumentParser, training: bool = False) -> None:
    """Data and split options. ``--data`` is a registered dataset (sim, cwru), a folder or a manifest CSV."""
    g = p.add_argument_group("data")
    g.add_argument("--data", help="sim (built-in simulator), cwru (with --data-dir), both pooled (cwru+sim, with "
                                  "--labels 4), a folder with one subfolder per label, or a manifest CSV "
                                  "(path,label[,group,fs,channels,...]); adapt and enrol also take one recording "
                                  "(default: the model's own data, or sim)")
    g.add_argument("--data-dir", help="cwru: the folder of CWRU .mat files, e.g. ../shared/data/cwru/12k_drive_end "
                                      "(default: none)")
    g.add_argument("--labels", help="sim / cwru label set: 10 (condition x size) or 4 (condition) (default: sim 4, "
                                    "cwru 10)")
    add_input_options(g)
    g.add_argument("--loads", help="cwru: motor loads in hp, e.g. 0,1,2 (default: all)")
    g.add_argument("--group-by", help="cwru: what a group is for group splits: load, file, none (default: load)")
    g.add_argument("--classes", help="files: class order, comma-separated (default: classes.txt, else sorted)")
    g.add_argument("--normal-label", **NORMAL_LABEL)
    g.add_argument("--sim-duration", type=float, help="sim: seconds per simulated recording (default: 10)")
    g.add_argument("--sim-recordings", type=int, help="sim: recordings (machines) per class (default: 4)")
    if training:
        g.add_argument("--model-fs", type=float, metavar="HZ",
                       help="the model's sample rate; recordings at other rates are resampled to it (default: 12000 "
                            "for sim / cwru; for your files, the rate most of them have, lowered where a window would "
                            "span less than 0.15 s: data inspect says which)")
    s = p.add_argument_group("split")
    s.add_argument("--split", choices=["time", "recording", "group", "all"],
                   help="time: inside each recording (optimistic); recording: whole recordings held out per label; "
                        "group: --test-group held out; all: every window is test (default: recording to train, all "
                        "to evaluate given --data)")
    s.add_argument("--test-group", help="group(s) held out for testing, comma-separated (implies --split group) "
                                        "(default: none)")
    s.add_argument("--split-fractions", help="train,val,test shares (default: 0.7,0.1,0.2)")
    s.add_argument("--split-seed", type=int, help="seed of the assignment of recordings to splits (default: 0)")
    if training:
        s.add_argument("--cv", choices=["group"], help="leave-one-group-out: one model per group, one report over all "
                                                       "(default: one model)")


def _options_from_args(args: argparse.Namespace, source: str, parts: tuple[str, ...] = ()) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for dest, (name, sources) in DATA_FLAGS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        if source not in sources and not set(parts) & set(sources):
            if parts:
                raise DrsnEdgeError(f"{_flag(dest)} applies to none of --data {'+'.join(parts)}")
            where = "your own files (a folder or manifest)" if sources == ("folder", "manifest") else \
                ", ".join(f"--data {s}" for s in sources)
            hint = {"data_dir": "; for your own recordings use --data FOLDER or --data MANIFEST.csv",
                    "fs": "; the model's rate is --model-fs"}.get(dest, "")
            raise DrsnEdgeError(f"{_flag(dest)} applies to {where}, not to --data {source}{hint}")
        if dest in _LISTS:
            value = [v.strip() for v in str(value).split(",") if v.strip()]
            if dest == "loads":
                try:
                    value = [int(v) for v in value]
                except ValueError:
                    raise DrsnEdgeError(f"bad --loads {args.loads!r}: expected numbers of hp like 0,1,2") from None
            if dest == "channels" and "cwru" in (source, *parts):
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
        if args.data_dir and "cwru" not in (base.source, *base.options.get("parts", ())):
            raise DrsnEdgeError("--data-dir is the CWRU folder: use it with --data cwru; for your own recordings "
                                "use --data FOLDER or --data MANIFEST.csv")
        source = base.source
        opts = {**base.options, **_options_from_args(args, source, tuple(base.options.get("parts", ())))}
        split = base.split
    else:
        source, root = resolve_data(args.data)
        parts = tuple(args.data.split("+")) if source == "mix" else ()
        if "cwru" in (source, *parts) and not args.data_dir:
            raise DrsnEdgeError(f"--data {args.data} needs --data-dir DIR (the folder of CWRU .mat files)")
        opts = _options_from_args(args, source, parts)
        if parts:
            opts["parts"] = list(parts)
        if root is not None:
            opts["root"] = root
        split = SplitSpec(default_split) if default_split else SplitSpec()
    split = _split_from_args(args, split)
    seed = args.split_seed if getattr(args, "split_seed", None) is not None else (base.seed if base and args.data is None else 0)
    fs = getattr(args, "model_fs", None) or (base.fs if base is not None and args.data is None else None)
    spec = DataSpec(source, opts, fs, split, seed)

    get_source(source).options(spec.options)  # refuse bad option values now, before any work
    return spec


def unlabelled_data_spec(args: argparse.Namespace):
    """The data of a machine whose labels are ignored (``adapt``, ``enrol``): every recording (split ``all``), folders
    without label folders and manifests without a label column taken as they are."""
    spec = data_spec_from_args(args, default_split="all")
    if spec.source in ("folder", "manifest"):
        spec.options["unlabelled"] = True
    return spec


def data_given(args: argparse.Namespace) -> bool:
    """Whether any data or split option was given on the command line."""
    return any(getattr(args, d, None) is not None for d in [*DATA_FLAGS, "data", "split", "test_group", "split_fractions",
                                                             "split_seed", "model_fs"])


def model_arg(text: str) -> str:
    """argparse type of a checkpoint argument: a path, or the name of a model in the zoo (``drsn-edge models``)."""
    try:
        return str(resolve_model(text))
    except DrsnEdgeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def examples(*commands: str) -> str:
    """The end of a command's --help: copy-paste examples."""
    return "examples:\n" + "\n".join(f"  {c}" for c in commands)
