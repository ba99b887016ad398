"""What a data source gives (labelled recordings at the model rate), and the one path by which files are read."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from drsn_edge.data.checks import Problem, SignalCheck
from drsn_edge.data.recording import Recording
from drsn_edge.data.resample import resample
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.readers import ReadOptions, open_reader


@dataclass
class FileEntry:
    """One labelled file to read: where, what it is, and what the user said about it."""

    path: Path
    label: str
    rid: str  # how reports name it (relative to the dataset)
    group: str | None = None
    read: ReadOptions = field(default_factory=ReadOptions)
    start_s: float | None = None
    stop_s: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Entries:
    """The files a file-backed source would read, before reading them: what ``data inspect`` lists."""

    files: list[FileEntry]
    class_names: list[str]
    where: Path
    notes: list[str] = field(default_factory=list)


@dataclass
class SourceData:
    recordings: list[Recording]
    class_names: list[str]
    normal_label: str | None = "normal"
    channel_names: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class DataSource:
    """A named way of building labelled recordings (the simulator, the CWRU catalogue, a folder, a manifest).

    ``Options`` is the dataclass of what the source accepts; each source owns its defaults.
    """

    name: str = ""
    Options: type = object

    def default_fs(self, opts: Any) -> float | None:
        return 12000.0

    def load(self, opts: Any, fs: float | None, seed: int, min_samples: int | None) -> SourceData:
        raise NotImplementedError

    def entries(self, opts: Any) -> Entries:
        """The files of a file-backed source, without reading them."""
        raise DrsnEdgeError(f"the {self.name} data source has no files to inspect")

    def options(self, given: dict[str, Any]) -> Any:
        """The source's options from plain values; an option it does not take is an error."""
        known = {f.name for f in dataclasses.fields(self.Options)}
        extra = sorted(k for k, v in given.items() if k not in known and v is not None)
        if extra:
            flag = "--" + extra[0].replace("_", "-")
            raise DrsnEdgeError(f"{flag} does not apply to --data {self.name} (it takes: "
                                f"{', '.join('--' + k.replace('_', '-') for k in sorted(known))})")
        try:
            return self.Options(**{k: v for k, v in given.items() if v is not None})
        except TypeError as exc:
            raise DrsnEdgeError(f"bad option for --data {self.name}: {exc}") from None


def read_entries(entries: list[FileEntry], class_names: list[str], fs: float,
                 min_samples: int | None = None) -> tuple[list[Recording], list[Problem], list[str]]:
    """Read every file through its reader, check it block by block, crop, resample to ``fs``.

    Files with problems are left out and reported (never silently): the caller decides whether to go on.
    """
    recs: list[Recording] = []
    problems: list[Problem] = []
    channel_names: list[str] = []
    index = {n: i for i, n in enumerate(class_names)}
    for e in entries:
        if e.label not in index:
            problems.append(Problem(e.rid, "unknown_label", f"label {e.label!r} is not one of the classes "
                                                            f"({', '.join(class_names)})"))
            continue
        try:
            with open_reader(e.path, e.read) as r:
                info = r.info
                check = SignalCheck(e.rid, info.channel_names)
                parts = []
                for b in r.blocks():
                    check.update(b.data)
                    parts.append(b.data)
                check.extra += [Problem(e.rid, "rate", n, error=False) for n in info.notes if "truncated" in n]
        except DrsnEdgeError as exc:
            problems.append(Problem(e.rid, "unreadable", str(exc).removeprefix(f"{e.path}: ")))
            continue
        x = np.concatenate(parts, axis=1) if parts else np.zeros((info.channels, 0), np.float32)
        a, b = _crop(e, info.fs, x.shape[1])
        if a >= b and x.shape[1]:
            problems.append(Problem(e.rid, "too_short", f"start_s..stop_s ({e.start_s}..{e.stop_s}) leaves no samples"))
            continue
        x = x[:, a:b]
        found = check.problems(info.fs)
        need = None if min_samples is None else int(np.ceil(min_samples * info.fs / fs))
        if need is not None and 0 < x.shape[1] < need:
            found.append(Problem(e.rid, "too_short", f"too short: {x.shape[1] / info.fs:.3g} s; one window needs "
                                                     f"{need / info.fs:.3g} s"))
        problems += found
        if any(p.error for p in found):
            continue
        if channel_names and len(info.channel_names) != len(channel_names):
            problems.append(Problem(e.rid, "channels", f"{len(info.channel_names)} channel(s) "
                                                       f"({', '.join(info.channel_names)}), the others have "
                                                       f"{len(channel_names)}; choose channels (--channels)"))
            continue
        channel_names = channel_names or list(info.channel_names)
        meta = {"file": e.rid, "original_fs": info.fs, "channels": info.channel_names,
                **({"shaft_hz": info.shaft_hz} if info.shaft_hz else {}), **e.meta}
        native = functools.partial(read_native, e) if info.fs != fs else None
        recs.append(Recording(resample(x, info.fs, fs), fs, index[e.label], meta, e.rid, e.group, native))
    return recs, problems, channel_names


def _crop(e: FileEntry, fs: float, n: int) -> tuple[int, int]:
    """The samples ``start_s``..``stop_s`` of an entry read at ``fs`` with ``n`` samples."""
    a = int(round((e.start_s or 0.0) * fs))
    return a, n if e.stop_s is None else min(n, int(round(e.stop_s * fs)))


def read_native(e: FileEntry) -> tuple[np.ndarray, float]:
    """An entry's signal at its own rate, cropped as :func:`read_entries` crops it: ((channels, samples), rate)."""
    with open_reader(e.path, e.read) as r:
        x = np.concatenate([b.data for b in r.blocks()], axis=1)
        a, b = _crop(e, r.info.fs, x.shape[1])
        return x[:, a:b], r.info.fs
