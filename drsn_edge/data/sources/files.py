"""The user's own recordings: a folder with one subfolder per label, or a manifest CSV.

Folder layout::

    DATA/normal/run1.wav            label = first subfolder; files of any readable format
    DATA/outer_race/pump-3/a.csv    a deeper subfolder names the group (machine / load / run)
    DATA/classes.txt                optional: one label per line, fixing the class order (else sorted)

Manifest (CSV, paths relative to it)::

    path,label,group,fs,channels,scale,sensitivity,start_s,stop_s
    rec/a.wav,normal,pump-1,,,,,,
    rec/b.npy,inner_race,pump-2,25600,,,100,0,60
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drsn_edge.data.sources.base import DataSource, FileEntry, SourceData, read_entries
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.readers import ReadOptions, is_readable, open_reader

MANIFEST_COLUMNS = ("path", "label", "group", "fs", "channels", "scale", "sensitivity", "start_s", "stop_s")


@dataclass
class FileDataOptions:
    """Options shared by folder and manifest data (a manifest row overrides them per file)."""

    root: str | None = None  # the folder, or the manifest file
    classes: tuple[str, ...] | None = None  # label order; default classes.txt beside the data, else sorted
    channels: tuple[str, ...] | None = None  # CSV columns / .mat variables / channel numbers; default: all
    file_fs: float | None = None  # rate of files that store none (.npy, CSV without a time column)
    layout: str | None = None  # 2-D arrays: channels-first (default) or samples-first
    time_column: str | None = None  # CSV time stamps (name or number)
    scale: float | None = None  # raw value x scale = g
    sensitivity: float | None = None  # mV/g, for files in volts (scale = 1000 / sensitivity)
    normal: str = "normal"  # the healthy class, for alarms and false-alarm rates
    unlabelled: bool = False  # every recording under the folder, labels ignored (adaptation to a new machine)

    def read_options(self, **row: Any) -> ReadOptions:
        scale, sens = row.get("scale", self.scale), row.get("sensitivity", self.sensitivity)
        if scale is not None and sens is not None:
            raise DrsnEdgeError("give scale or sensitivity, not both")
        return ReadOptions(fs=row.get("fs"), fallback_fs=self.file_fs, channels=row.get("channels", self.channels),
                           time_column=self.time_column, layout=self.layout,
                           scale=1000.0 / sens if sens else (scale if scale is not None else 1.0))


def _classes(opts: FileDataOptions, beside: Path, found: list[str]) -> list[str]:
    if opts.classes:
        return list(opts.classes)
    txt = beside / "classes.txt"
    if txt.is_file():
        names = [ln.strip() for ln in txt.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
        if len(set(names)) != len(names):
            raise DrsnEdgeError(f"{txt}: a class is listed twice")
        return names
    return sorted(set(found))


def common_rate(entries: list[FileEntry]) -> float:
    """The rate most files have (the model rate when none is given); ties go to the higher rate."""
    rates: Counter[float] = Counter()
    for e in entries:
        try:
            with open_reader(e.path, e.read) as r:
                rates[r.info.fs] += 1
        except DrsnEdgeError:
            continue  # reported when the files are read
    if not rates:
        raise DrsnEdgeError(f"none of the {len(entries)} files can be read (drsn-edge data inspect says why)")
    return max(rates, key=lambda f: (rates[f], f))


def _finish(entries: list[FileEntry], names: list[str], opts: FileDataOptions, fs: float | None,
            min_samples: int | None, where: Path) -> SourceData:
    if len(names) < 2 and not opts.unlabelled:
        raise DrsnEdgeError(f"{where}: {len(names)} class(es) found ({', '.join(names) or 'none'}); a classifier needs two")
    fs = fs or common_rate(entries)
    recs, problems, channels = read_entries(entries, names, fs, min_samples)
    normal = opts.normal if opts.normal in names else None
    notes = [] if normal else [f"no class named {opts.normal!r}: every window will be some class; alarms then mean "
                               "'not the first class' only if you set the normal class (--normal)"]
    return SourceData(recs, names, normal, channels, problems, notes)


class FolderSource(DataSource):
    name = "folder"
    Options = FileDataOptions

    def default_fs(self, opts: FileDataOptions) -> float | None:
        return None  # the files' own rate

    def entries(self, opts: FileDataOptions) -> tuple[list[FileEntry], list[str], Path]:
        root = Path(opts.root or ".")
        if not root.is_dir():
            raise DrsnEdgeError(f"data folder not found: {root}")
        if opts.unlabelled:
            files = sorted(f for f in root.rglob("*") if f.is_file() and not f.name.startswith(".") and is_readable(f))
            if not files:
                raise DrsnEdgeError(f"{root}: no recordings found (known suffixes: wav, flac, ogg, npy, csv, mat)")
            return ([FileEntry(f, "unlabelled", f.relative_to(root).as_posix(), None, opts.read_options()) for f in files],
                    ["unlabelled"], root)
        entries = []
        for label_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for f in sorted(label_dir.rglob("*")):
                if not f.is_file() or f.name.startswith(".") or not is_readable(f):
                    continue
                rel = f.relative_to(root)
                group = rel.parts[1] if len(rel.parts) > 2 else None
                entries.append(FileEntry(f, label_dir.name, rel.as_posix(), group, opts.read_options()))
        if not entries:
            raise DrsnEdgeError(f"{root}: no recordings found (expected LABEL/FILE, e.g. normal/run1.wav)")
        return entries, _classes(opts, root, [e.label for e in entries]), root

    def load(self, opts: FileDataOptions, fs: float, seed: int, min_samples: int | None) -> SourceData:
        entries, names, root = self.entries(opts)
        return _finish(entries, names, opts, fs, min_samples, root)


def _float(value: str, what: str, where: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise DrsnEdgeError(f"{where}: {what} {value!r} is not a number") from None


class ManifestSource(DataSource):
    name = "manifest"
    Options = FileDataOptions

    def default_fs(self, opts: FileDataOptions) -> float | None:
        return None

    def entries(self, opts: FileDataOptions) -> tuple[list[FileEntry], list[str], Path]:
        path = Path(opts.root or "")
        if not path.is_file():
            raise DrsnEdgeError(f"manifest not found: {path}")
        try:
            with open(path, newline="", encoding="utf-8-sig") as f:
                rows = list(csv.DictReader(f))
                header = [h.strip() for h in (rows[0].keys() if rows else [])]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise DrsnEdgeError(f"{path}: not a readable CSV manifest ({exc})") from None
        if not rows:
            raise DrsnEdgeError(f"{path}: the manifest has no rows (expected a header path,label and one row per file)")
        for col in ("path", "label"):
            if col not in header:
                raise DrsnEdgeError(f"{path}: the manifest needs a {col!r} column (it has: {', '.join(header)})")
        unknown = [h for h in header if h not in MANIFEST_COLUMNS]
        if unknown:
            raise DrsnEdgeError(f"{path}: unknown manifest column {unknown[0]!r}; columns are {', '.join(MANIFEST_COLUMNS)}")
        entries = []
        for n, raw in enumerate(rows, start=2):
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
            where = f"{path} line {n}"
            if not row["path"] or not row["label"]:
                raise DrsnEdgeError(f"{where}: empty path or label")
            per: dict[str, Any] = {}
            for k in ("fs", "scale", "sensitivity"):
                v = _float(row.get(k, ""), k, where)
                if v is not None:
                    per[k] = v
            if row.get("channels"):
                per["channels"] = tuple(c.strip() for c in re.split(r"[;|,]", row["channels"]) if c.strip())
            file = (path.parent / row["path"]).resolve()
            entries.append(FileEntry(file, row["label"], row["path"], row.get("group") or None, opts.read_options(**per),
                                     _float(row.get("start_s", ""), "start_s", where),
                                     _float(row.get("stop_s", ""), "stop_s", where)))
        return entries, _classes(opts, path.parent, [e.label for e in entries]), path

    def load(self, opts: FileDataOptions, fs: float, seed: int, min_samples: int | None) -> SourceData:
        entries, names, path = self.entries(opts)
        return _finish(entries, names, opts, fs, min_samples, path)
