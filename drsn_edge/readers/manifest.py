"""Where recordings are listed: a manifest CSV (one row per file) or a folder walked recursively. The one reader of
both, for training, evaluation, adaptation, ``data inspect`` and ``stream`` alike.

Manifest columns (paths relative to the manifest)::

    path          the recording (required)
    label         its class (training and evaluation need it; stream ignores it)
    group         machine / load / run, for group splits
    fs            the rate of a file that stores none (checked against a file's own)
    channels      CSV columns / .mat variables / channel numbers, separated by ',', ';' or '|'
    scale         raw value x scale = g
    sensitivity   mV/g, for files in volts (scale = 1000 / sensitivity)
    start_s       keep the file from here (s)
    stop_s        ... to here (s)
    bearing       the bearing the sensor watches: a name (6205, MFPT...) or n,d,D,angle (for bearing evidence)
    rpm           the shaft speed (for bearing evidence)
    onset_s       where in the file a fault starts (s; healthy before it), for evaluate's alarm figures

Other columns (a checksum, a note, a load) are ignored and named once; one that looks like a misspelt column
(``sensitvity``) is refused with the column it resembles.
"""

from __future__ import annotations

import csv
import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.readers.registry import SUFFIXES, is_readable

MANIFEST_COLUMNS = ("path", "label", "group", "fs", "channels", "scale", "sensitivity", "start_s", "stop_s", "bearing",
                    "rpm", "onset_s")
_NUMBERS = ("fs", "scale", "sensitivity", "start_s", "stop_s", "rpm", "onset_s")


@dataclass(frozen=True)
class ManifestRow:
    where: str  # "manifest.csv line 3", for messages
    path: Path  # resolved against the manifest's folder
    rel: str  # as written in the manifest
    label: str | None = None
    group: str | None = None
    fs: float | None = None
    channels: tuple[str, ...] | None = None
    scale: float | None = None
    sensitivity: float | None = None
    start_s: float | None = None
    stop_s: float | None = None
    bearing: str | None = None
    rpm: float | None = None
    onset_s: float | None = None


def split_channels(text: str) -> tuple[str, ...]:
    """``"a,b"``, ``"a;b"`` or ``"a|b"`` -> ``("a", "b")``."""
    return tuple(c.strip() for c in re.split(r"[;|,]", text) if c.strip())


def scale_factor(scale: float | None = None, sensitivity: float | None = None) -> float:
    """Raw value -> g: ``value * scale``, or volts / (sensitivity in V per g); 1 when neither is given."""
    if scale is not None and sensitivity is not None:
        raise DrsnEdgeError("give a scale or a sensitivity, not both")
    for name, v in (("scale", scale), ("sensitivity", sensitivity)):
        if v is not None and not (math.isfinite(v) and v > 0):
            raise DrsnEdgeError(f"the {name} must be a positive number, got {v}")
    if sensitivity is not None:
        return 1000.0 / sensitivity
    return 1.0 if scale is None else float(scale)


def is_manifest(path: str | Path) -> bool:
    """A CSV / TSV file whose header names a ``path`` column."""
    p = Path(path)
    if p.suffix.lower() not in (".csv", ".tsv") or not p.is_file():
        return False
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            head = next(csv.reader(f, delimiter=_delimiter(p)), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return "path" in [h.strip() for h in head]


def _delimiter(p: Path) -> str:
    return "\t" if p.suffix.lower() == ".tsv" else ","


def _number(value: str, col: str, where: str) -> float | None:
    if not value:
        return None
    try:
        v = float(value)
    except ValueError:
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise DrsnEdgeError(f"{where}: {col} {shown!r} is not a number") from None
    if not math.isfinite(v):
        raise DrsnEdgeError(f"{where}: {col} must be a finite number, got {value}")
    return v


@dataclass
class Manifest:
    """A manifest's rows, and the columns it has that drsn-edge does not read."""

    path: Path
    rows: list[ManifestRow]
    ignored: list[str] = field(default_factory=list)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def note(self) -> str | None:
        """The one line that says which columns were not read (None when all were)."""
        if not self.ignored:
            return None
        return f"{self.path}: column(s) {', '.join(self.ignored)} are not drsn-edge columns and are not read"


def read_manifest(path: str | Path, allow_outside: bool = False) -> Manifest:
    """Every row of a manifest, checked: a path on every row, numbers where numbers go, no misspelt column, and
    files inside the manifest's folder unless ``allow_outside`` (a manifest from elsewhere must not read any file the
    process can)."""
    path = Path(path)
    if not path.is_file():
        raise DrsnEdgeError(f"manifest not found: {path}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=_delimiter(path))
            header = [h.strip() for h in next(reader, [])]
            rows = [(reader.line_num, r) for r in reader if any(c.strip() for c in r)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DrsnEdgeError(f"{path}: not a readable CSV manifest ({exc})") from None
    if "path" not in header:
        raise DrsnEdgeError(f"{path}: the manifest needs a 'path' column (it has: {', '.join(header) or 'none'})")
    unknown = [h for h in header if h not in MANIFEST_COLUMNS]
    for h in unknown:
        near = difflib.get_close_matches(h.lower(), MANIFEST_COLUMNS, n=1, cutoff=0.8)
        if near:
            raise DrsnEdgeError(f"{path}: unknown manifest column {h!r}: did you mean {near[0]!r}? (columns are "
                                f"{', '.join(MANIFEST_COLUMNS)})")
    if not rows:
        raise DrsnEdgeError(f"{path}: the manifest has no rows (expected a header with path and one row per file)")
    out = []
    for line, cells in rows:
        where = f"{path} line {line}"
        if len(cells) > len(header):
            raise DrsnEdgeError(f"{where}: {len(cells)} cells, the header names {len(header)}")
        row = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header) if h not in unknown}
        if not row["path"]:
            raise DrsnEdgeError(f"{where}: empty path")
        if len(row["path"]) > 4096 or "\0" in row["path"]:
            raise DrsnEdgeError(f"{where}: not a file path")
        nums = {k: _number(row.get(k, ""), k, where) for k in _NUMBERS}
        if nums["rpm"] is not None and nums["rpm"] <= 0:
            raise DrsnEdgeError(f"{where}: rpm must be a positive number, got {row['rpm']}")
        if nums["onset_s"] is not None and not (nums["start_s"] or 0.0) <= nums["onset_s"] < (nums["stop_s"] or math.inf):
            raise DrsnEdgeError(f"{where}: onset_s {row['onset_s']} lies outside the part of the file that is read "
                                f"(start_s..stop_s)")
        file = (path.parent / row["path"]).resolve()
        if not allow_outside and not file.is_relative_to(path.parent.resolve()):
            raise DrsnEdgeError(f"{where}: {row['path']!r} is outside the manifest's folder {path.parent.resolve()}; "
                                "move it there, or allow it with --allow-outside")
        out.append(ManifestRow(where, file, row["path"], row.get("label") or None,
                               row.get("group") or None, channels=split_channels(row["channels"])
                               if row.get("channels") else None, bearing=row.get("bearing") or None, **nums))
    return Manifest(path, out, unknown)


def walk_recordings(root: str | Path) -> list[Path]:
    """Every readable recording under a folder, recursively, in sorted order; hidden files and folders are skipped."""
    root = Path(root)
    return sorted(f for f in root.rglob("*") if f.is_file() and is_readable(f)
                  and not any(part.startswith(".") for part in f.relative_to(root).parts))


def data_stamp(root: str | Path) -> tuple:
    """What data under ``root`` is, for a kept build: the size and modification time of a manifest, or of every
    recording under a folder; (root, None) where it cannot be read (the build says why)."""
    path = Path(root)
    try:
        files = walk_recordings(path) if path.is_dir() else [path]
        return tuple((str(f), (st := f.stat()).st_size, st.st_mtime_ns) for f in files)
    except OSError:
        return (str(path), None)


def no_recordings(root: str | Path, expected: str = "") -> DrsnEdgeError:
    known = ", ".join(s.lstrip(".") for s in SUFFIXES)
    return DrsnEdgeError(f"{root}: no recordings found{f' (expected {expected})' if expected else ''}; known suffixes: {known}")
