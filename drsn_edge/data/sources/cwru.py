"""Case Western Reserve University bearing data: a built-in catalogue over the Data Center's original MATLAB files.

File numbers map to conditions by the Data Center's published tables (12 kHz drive-end fault data; the normal
baseline recorded at 48 kHz). Files are read by the .mat reader (its CWRU naming rule finds ``_DE_time``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from drsn_edge.data.sources.base import DataSource, Entries, FileEntry, SourceData, read_entries
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.readers import ReadOptions
from drsn_edge.readers.matlab import CWRU_CHANNELS, CWRU_RATES

NOMINAL_RPM = {0: 1797, 1: 1772, 2: 1750, 3: 1730}
#: the seeded faults of these files are in the drive-end bearing: every sensor (DE, FE, BA) hears its lines
FAULTED_BEARING = "6205-2RS-JEM"
GROUP_BY = ("load", "file", "none")


@dataclass(frozen=True)
class CwruFile:
    number: int
    condition: str  # normal | inner_race | ball | outer_race
    fault_size: float | None  # inches
    load_hp: int
    fs: float
    position: str | None = None  # outer race: "6" (centred), "3" (orthogonal), "12" (opposite)


def _catalogue() -> dict[int, CwruFile]:
    cat: dict[int, CwruFile] = {}
    for load, num in enumerate((97, 98, 99, 100)):
        cat[num] = CwruFile(num, "normal", None, load, CWRU_RATES[num])
    groups = [
        ("inner_race", 0.007, None, 105), ("ball", 0.007, None, 118), ("outer_race", 0.007, "6", 130),
        ("outer_race", 0.007, "3", 144), ("outer_race", 0.007, "12", 156),
        ("inner_race", 0.014, None, 169), ("ball", 0.014, None, 185), ("outer_race", 0.014, "6", 197),
        ("inner_race", 0.021, None, 209), ("ball", 0.021, None, 222), ("outer_race", 0.021, "6", 234),
        ("outer_race", 0.021, "3", 246), ("outer_race", 0.021, "12", 258),
        ("inner_race", 0.028, None, 3001), ("ball", 0.028, None, 3005),
    ]
    for cond, size, pos, first in groups:
        for load in range(4):
            cat[first + load] = CwruFile(first + load, cond, size, load, CWRU_RATES[first + load], pos)
    return cat


CATALOGUE = _catalogue()

#: Label sets. ``10``: normal + 3 conditions x 3 sizes (outer race centred at 6 o'clock); ``4``: condition.
LABEL_SETS: dict[str, list[str]] = {
    "10": ["normal"] + [f"{c}_{s}" for s in ("0.007", "0.014", "0.021") for c in ("inner_race", "ball", "outer_race")],
    "4": ["normal", "inner_race", "ball", "outer_race"],
}


def class_of(entry: CwruFile, label_set: str) -> str | None:
    """The class name of a file in a label set, or None if the set leaves it out."""
    if label_set == "4":
        return entry.condition
    if label_set == "10":
        if entry.condition == "normal":
            return "normal"
        if entry.fault_size not in (0.007, 0.014, 0.021) or entry.position not in (None, "6"):
            return None
        return f"{entry.condition}_{entry.fault_size:.3f}"
    raise DrsnEdgeError(f"unknown CWRU label set {label_set!r}; choose from {', '.join(LABEL_SETS)}")


@dataclass
class CwruOptions:
    root: str | None = None  # the folder of .mat files, e.g. ../shared/data/cwru/12k_drive_end
    label_set: str = "10"
    channels: tuple[str, ...] = ("DE",)  # DE, FE, BA
    loads: tuple[int, ...] | None = None  # motor loads (hp) to use; None: all
    group_by: str = "load"  # what a group is, for group splits: load | file | none
    classes: tuple[str, ...] | None = None  # a subset of the label set, in this order (e.g. to hold a class out)

    def __post_init__(self) -> None:
        if not self.root:
            raise DrsnEdgeError("the CWRU source needs the folder of CWRU .mat files (option root)")
        if self.label_set not in LABEL_SETS:
            raise DrsnEdgeError(f"unknown CWRU label set {self.label_set!r}; choose from {', '.join(LABEL_SETS)}")
        self.channels = tuple(str(c).upper() for c in self.channels)
        for ch in self.channels:
            if ch not in CWRU_CHANNELS:
                raise DrsnEdgeError(f"unknown CWRU channel {ch!r}; choose from {', '.join(CWRU_CHANNELS)}")
        if self.group_by not in GROUP_BY:
            raise DrsnEdgeError(f"unknown CWRU grouping {self.group_by!r}; choose from {', '.join(GROUP_BY)}")
        if self.loads is not None:
            self.loads = tuple(int(x) for x in self.loads)
        if self.classes is not None:
            unknown = [c for c in self.classes if c not in LABEL_SETS[self.label_set]]
            if unknown:
                raise DrsnEdgeError(f"no CWRU class {unknown[0]!r} in label set {self.label_set}")


class CwruSource(DataSource):
    name = "cwru"
    Options = CwruOptions

    def entries(self, opts: CwruOptions) -> Entries:
        root = Path(opts.root)
        if not root.is_dir():
            raise DrsnEdgeError(f"CWRU data folder not found: {root}")
        names = list(opts.classes) if opts.classes else LABEL_SETS[opts.label_set]
        entries = []
        for path in sorted(root.glob("*.mat"), key=lambda p: p.name):
            m = re.fullmatch(r"(\d+)\.mat", path.name)
            entry = CATALOGUE.get(int(m.group(1))) if m else None
            if entry is None or (opts.loads is not None and entry.load_hp not in opts.loads):
                continue
            name = class_of(entry, opts.label_set)
            if name is None or name not in names:
                continue
            group = {"load": f"{entry.load_hp}hp", "file": path.stem, "none": None}[opts.group_by]
            entries.append(FileEntry(
                path, name, path.name, group, ReadOptions(fs=entry.fs, channels=opts.channels),
                meta={"source": "cwru", "condition": entry.condition, "fault_size_in": entry.fault_size,
                      "load_hp": entry.load_hp, "rpm": NOMINAL_RPM[entry.load_hp], "bearing": FAULTED_BEARING}))
        if not entries:
            raise DrsnEdgeError(f"no CWRU recordings of label set {opts.label_set!r} found in {root} (expected e.g. 105.mat)")
        return Entries(entries, names, root)

    def load(self, opts: CwruOptions, fs: float, seed: int, min_samples: int | None) -> SourceData:
        found = self.entries(opts)
        names, root = found.class_names, found.where
        recs, problems, _ = read_entries(found.files, names, fs, min_samples)
        bad = [p for p in problems if p.error]
        if bad:  # a catalogued file that cannot be read is an error of the data set, not a skipped file
            raise DrsnEdgeError(bad[0].line())
        present = {r.label for r in recs}
        missing = [c for i, c in enumerate(names) if i not in present]
        if missing:
            raise DrsnEdgeError(f"CWRU folder {root} has no recordings for classes: {', '.join(missing)}")
        return SourceData(recs, names, "normal", list(opts.channels), problems)


def load_cwru(data_dir: str | Path, label_set: str = "10", channels: tuple[str, ...] = ("DE",), fs: float = 12000.0,
              loads: tuple[int, ...] | None = None):
    """The recordings and class names of a CWRU folder (library shortcut)."""
    d = CwruSource().load(CwruOptions(str(data_dir), label_set, channels, loads), fs, 0, None)
    return d.recordings, d.class_names
