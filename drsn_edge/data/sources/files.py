"""The user's own recordings: a folder with one subfolder per label, or a manifest CSV (both read by
:mod:`drsn_edge.readers.manifest`, the one reader of manifests and folders).

Folder layout::

    DATA/normal/run1.wav            label = first subfolder; files of any readable format
    DATA/outer_race/pump-3/a.csv    a deeper subfolder names the group (machine / load / run)
    DATA/classes.txt                optional: one label per line, fixing the class order (else sorted)

Manifest: see :mod:`drsn_edge.readers.manifest` for its columns.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drsn_edge.data.sources.base import DataSource, Entries, FileEntry, SourceData, read_entries
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import NO_HEALTHY_CLASS
from drsn_edge.readers import ReadOptions, no_recordings, open_reader, read_manifest, scale_factor, walk_recordings

UNLABELLED = "unlabelled"


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
    unlabelled: bool = False  # every recording, labels ignored (adaptation to a new machine, enrolment); the label
    # a file was given (its label folder, its manifest row's) is kept as meta["given_label"], for guards
    allow_outside: bool = False  # manifest rows may name files outside the manifest's folder

    def read_options(self, **row: Any) -> ReadOptions:
        """How to read one file: these options, with a manifest row's own values over them."""
        scale, sens = row.get("scale"), row.get("sensitivity")
        if scale is None and sens is None:
            scale, sens = self.scale, self.sensitivity
        return ReadOptions(fs=row.get("fs"), fallback_fs=self.file_fs, channels=row.get("channels") or self.channels,
                           time_column=self.time_column, layout=self.layout, scale=scale_factor(scale, sens))


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
    first = None
    for e in entries:
        try:
            with open_reader(e.path, e.read) as r:
                rates[r.info.fs] += 1
        except DrsnEdgeError as exc:
            first = first or str(exc)  # each file is reported when the files are read
    if not rates:
        raise DrsnEdgeError(f"none of the {len(entries)} files can be read; the first: {first} (drsn-edge data inspect "
                            "lists every file)")
    return max(rates, key=lambda f: (rates[f], f))


#: a window should span at least this long: a few shaft turns and several defect impacts at the usual speeds (at the
#: files' 48,828 Hz, MFPT's 2048-sample windows spanned 42 ms and scored 88.6 % on held-out loads; resampled to 12 kHz,
#: 170 ms, 100 %)
MIN_WINDOW_S = 0.15
#: rates a model is resampled to when the files' own would make its window too short (the highest that fits is taken)
STANDARD_RATES = (51200.0, 48000.0, 25600.0, 24000.0, 20000.0, 16000.0, 12000.0, 10000.0, 8000.0, 6000.0, 5000.0,
                  4000.0, 2000.0, 1000.0)


def default_model_rate(entries: list[FileEntry], window: int | None) -> tuple[float, str]:
    """The model's rate when none is given, and why: the rate most files have, lowered to a standard rate where a
    ``window``-sample window would span less than :data:`MIN_WINDOW_S` at it."""
    common = common_rate(entries)
    if window is None or window / common >= MIN_WINDOW_S:
        span = "" if window is None else f"; a {window}-sample window spans {window / common:.3f} s"
        return common, f"model rate {common:g} Hz, the rate most files have{span}"
    rate = next((r for r in STANDARD_RATES if window / r >= MIN_WINDOW_S), window / MIN_WINDOW_S)
    return rate, (f"model rate {rate:g} Hz: a {window}-sample window spans {window / rate:.3f} s there; at the files' "
                  f"{common:g} Hz it would span {window / common:.3f} s, shorter than {MIN_WINDOW_S:g} s, so the files are "
                  "resampled (--model-fs sets another)")


def _finish(found: Entries, opts: FileDataOptions, fs: float | None, min_samples: int | None) -> SourceData:
    entries, names, notes = found.files, found.class_names, list(found.notes)
    if len(names) < 2 and not opts.unlabelled:
        raise DrsnEdgeError(f"{found.where}: {len(names)} class(es) found ({', '.join(names) or 'none'}); a classifier "
                            "needs two")
    if not fs:
        fs, why = default_model_rate(entries, min_samples)
        notes.append(why)
    recs, problems, channels = read_entries(entries, names, fs, min_samples)
    normal = opts.normal if opts.normal in names else None
    if normal is None:
        notes.append(f"no class named {opts.normal!r}, so the model has no healthy class: {NO_HEALTHY_CLASS}; name the "
                     "healthy class with --normal-label if the data has one")
    return SourceData(recs, names, normal, channels, problems, notes)


class FolderSource(DataSource):
    name = "folder"
    Options = FileDataOptions

    def default_fs(self, opts: FileDataOptions) -> float | None:
        return None  # the files' own rate

    def entries(self, opts: FileDataOptions) -> Entries:
        root = Path(opts.root or ".")
        if root.is_file():  # one recording (resolve_data): a machine's healthy run to enrol on, or one to adapt to
            if not opts.unlabelled:
                raise DrsnEdgeError(f"{root}: one recording has no label to train or score on; give a folder "
                                    "(LABEL/FILE, e.g. normal/run1.wav) or a manifest with a label column")
            return Entries([FileEntry(root, UNLABELLED, root.name, None, opts.read_options())], [UNLABELLED], root.parent)
        if not root.is_dir():
            raise DrsnEdgeError(f"data folder not found: {root}")
        if opts.unlabelled:
            files = walk_recordings(root)
            if not files:
                raise no_recordings(root)
            return Entries([FileEntry(f, UNLABELLED, rel.as_posix(), None, opts.read_options(),
                                      meta={"given_label": rel.parts[0]} if len(rel.parts) > 1 else {})
                            for f in files for rel in [f.relative_to(root)]], [UNLABELLED], root)
        entries = []
        for label_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for f in walk_recordings(label_dir):
                rel = f.relative_to(root)
                group = rel.parts[1] if len(rel.parts) > 2 else None
                entries.append(FileEntry(f, label_dir.name, rel.as_posix(), group, opts.read_options()))
        if not entries:
            raise no_recordings(root, "LABEL/FILE, e.g. normal/run1.wav")
        return Entries(entries, _classes(opts, root, [e.label for e in entries]), root)

    def load(self, opts: FileDataOptions, fs: float, seed: int, min_samples: int | None) -> SourceData:
        return _finish(self.entries(opts), opts, fs, min_samples)


class ManifestSource(DataSource):
    name = "manifest"
    Options = FileDataOptions

    def default_fs(self, opts: FileDataOptions) -> float | None:
        return None

    def entries(self, opts: FileDataOptions) -> Entries:
        path = Path(opts.root or "")
        rows = read_manifest(path, opts.allow_outside)
        if not opts.unlabelled and all(r.label is None for r in rows):
            raise DrsnEdgeError(f"{path}: the manifest needs a 'label' column for training (a class on every row)")
        entries = []
        for row in rows:
            label = UNLABELLED if opts.unlabelled else row.label
            if label is None:
                raise DrsnEdgeError(f"{row.where}: empty label (a manifest for training needs a label on every row)")
            per = {k: getattr(row, k) for k in ("fs", "channels", "scale", "sensitivity") if getattr(row, k) is not None}
            onset = None if row.onset_s is None else row.onset_s - (row.start_s or 0.0)  # in the part read
            meta = {k: v for k, v in (("bearing", row.bearing), ("shaft_hz", None if row.rpm is None else row.rpm / 60),
                                      ("onset_s", onset), ("given_label", row.label if opts.unlabelled else None))
                    if v is not None}
            entries.append(FileEntry(row.path, label, row.rel, row.group, opts.read_options(**per), row.start_s,
                                     row.stop_s, meta))
        names = [UNLABELLED] if opts.unlabelled else _classes(opts, path.parent, [e.label for e in entries])
        return Entries(entries, names, path, [n for n in [rows.note()] if n])

    def load(self, opts: FileDataOptions, fs: float, seed: int, min_samples: int | None) -> SourceData:
        return _finish(self.entries(opts), opts, fs, min_samples)
