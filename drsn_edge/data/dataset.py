"""The data description stored in checkpoints (``DataSpec``) and the windowed dataset it builds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from drsn_edge.data.checks import Problem
from drsn_edge.data.recording import Recording, cut_windows
from drsn_edge.data.sources import get_source
from drsn_edge.data.splits import SplitPlan, SplitSpec, plan_split
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile.description import legacy_data_spec
from drsn_edge.readers import data_stamp


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


@dataclass
class DataSpec:
    """Where windows come from and how they are split: enough to rebuild the same test set later.

    ``source`` is a registered name (``sim``, ``cwru``) or ``folder`` / ``manifest``; ``options`` are that source's
    (its defaults fill the rest); ``fs`` is the model's rate (files at other rates are resampled), None for the
    source's default; ``seed`` seeds the simulator and the assignment of recordings to splits.
    """

    source: str = "sim"
    options: dict[str, Any] = field(default_factory=dict)
    fs: float | None = None
    split: SplitSpec = field(default_factory=SplitSpec)
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "options": _plain(self.options), "fs": self.fs, "split": self.split.to_dict(),
                "seed": self.seed}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataSpec:
        d = dict(d) if "options" in d else legacy_data_spec(d)  # drsn-edge 0.1: flat keys, split by time
        return cls(d.get("source", "sim"), dict(d.get("options") or {}), d.get("fs"), SplitSpec.from_dict(d.get("split")),
                   int(d.get("seed", 0)))

    def key(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def describe(self) -> str:
        root = self.options.get("root")
        name = "+".join(self.options["parts"]) if self.source == "mix" else self.source
        if self.source == "folder" and root and Path(root).is_file():
            name = "recording"
        return f"{name}{f' ({root})' if root else ''}"


@dataclass
class WindowSet:
    x: np.ndarray  # (N, C, T)
    y: np.ndarray  # (N,) label index
    rec: np.ndarray  # (N,) index into the dataset's recordings
    end: np.ndarray | None = None  # (N,) sample one past each window's end, in its recording


@dataclass
class VibrationDataset:
    recordings: list[Recording]
    class_names: list[str]
    fs: float
    plan: SplitPlan
    spec: DataSpec
    normal_label: str | None = "normal"
    channel_names: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def in_channels(self) -> int:
        return self.recordings[0].signal.shape[0]

    @property
    def description(self) -> dict[str, Any]:
        return self.spec.to_dict()

    def machine(self) -> dict[str, Any]:
        """The bearings and shaft speeds the recordings name (what a model trained on them has heard)."""
        speeds = [r.shaft_hz for r in self.recordings if r.shaft_hz]
        return {"bearings": sorted({str(r.meta["bearing"]) for r in self.recordings if r.meta.get("bearing")}),
                "shaft_hz": [round(min(speeds), 3), round(max(speeds), 3)] if speeds else None}

    def window_set(self, split: str, window: int, hop: int) -> WindowSet:
        """All windows of a split, cut every ``hop`` samples inside each of its spans."""
        xs, ys, rs, es = [], [], [], []
        for i, rec in enumerate(self.recordings):
            for start, stop in self.plan.spans[i].get(split, []):
                w = cut_windows(rec.signal, start, stop, window, hop)
                xs.append(w)
                ys.append(np.full(len(w), rec.label, dtype=np.int64))
                rs.append(np.full(len(w), i, dtype=np.int64))
                es.append(start + window + hop * np.arange(len(w), dtype=np.int64))
        if not xs or sum(len(a) for a in xs) == 0:
            raise DrsnEdgeError(f"the {split} split has no window of {window} samples; use longer recordings or another split")
        return WindowSet(np.concatenate(xs), np.concatenate(ys), np.concatenate(rs), np.concatenate(es))

    def windows(self, split: str, window: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
        ws = self.window_set(split, window, hop)
        return ws.x, ws.y

    def sample(self, split: str | tuple[str, ...], window: int, count: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``count`` crops of ``window`` samples at random offsets from the span(s) ``split`` names; classes drawn
        uniformly (class-balanced), then a recording of the class, then an offset."""
        splits = (split,) if isinstance(split, str) else tuple(split)
        by_class: dict[int, list[tuple[int, int, int]]] = {}
        for i, rec in enumerate(self.recordings):
            for start, stop in (s for name in splits for s in self.plan.spans[i].get(name, [])):
                if stop - start >= window:
                    by_class.setdefault(rec.label, []).append((i, start, stop))
        if not by_class:
            raise DrsnEdgeError(f"the {' + '.join(splits)} split has no span of {window} samples")
        labels = rng.choice(sorted(by_class), size=count)
        x = np.empty((count, self.in_channels, window), dtype=np.float32)
        for k, label in enumerate(labels):
            spans = by_class[label]
            i, start, stop = spans[rng.integers(len(spans))]
            o = rng.integers(start, stop - window + 1)
            x[k] = self.recordings[i].signal[:, o : o + window]
        return x, labels.astype(np.int64)

    def summary(self, window: int | None = None) -> dict[str, Any]:
        """Recordings and seconds per split and class (what a split report prints)."""
        out: dict[str, dict[str, dict[str, float]]] = {}
        for i, rec in enumerate(self.recordings):
            for split, spans in self.plan.spans[i].items():
                cell = out.setdefault(split, {}).setdefault(self.class_names[rec.label], {"recordings": 0, "seconds": 0.0})
                cell["recordings"] += 1
                cell["seconds"] += sum(b - a for a, b in spans) / rec.fs
        return {"split": self.spec.split.to_dict(), "per_split": out, "fallback": self.plan.fallback,
                "notes": self.plan.notes}


def load_dataset(spec: DataSpec, min_samples: int | None = None, strict: bool = False) -> VibrationDataset:
    """Build the dataset a :class:`DataSpec` describes; refuse data with problems (one line naming the file).

    Building is deterministic, so the last few are kept: training, evaluation, export and the benchmarks of one job
    share one build, as long as the files under the data's root are unchanged (:func:`files_stamp`). Each call gets
    its own ``Recording`` objects over read-only arrays.
    """
    data, fs = _build(spec.key(), min_samples, strict, files_stamp(spec))
    recs = [Recording(r.signal, r.fs, r.label, dict(r.meta), r.rid, r.group, r.native) for r in data.recordings]
    resolved = DataSpec(spec.source, spec.options, fs, spec.split, spec.seed)
    plan = plan_split(recs, data.class_names, spec.split, spec.seed)
    return VibrationDataset(recs, list(data.class_names), fs, plan, resolved, data.normal_label, list(data.channel_names),
                            list(data.problems), list(data.notes))


def refuse_problems(problems: list[Problem], strict: bool, hint: str = "") -> None:
    bad = [p for p in problems if p.error or strict]
    if bad:
        more = f" (and {len(bad) - 1} more; drsn-edge data inspect lists them all)" if len(bad) > 1 else ""
        raise DrsnEdgeError(f"{bad[0].line()}{more}{hint}")


def files_stamp(spec: DataSpec) -> tuple:
    """What a kept build depends on besides its description: the data under its root (:func:`data_stamp`); nothing
    for a built-in source without a root."""
    root = spec.options.get("root")
    return data_stamp(root) if isinstance(root, str) and root else ()


@lru_cache(maxsize=4)
def _build(spec_json: str, min_samples: int | None, strict: bool, stamp: tuple = ()):  # noqa: ARG001 - in the key
    spec = DataSpec.from_dict(json.loads(spec_json))
    source = get_source(spec.source)
    opts = source.options(spec.options)
    fs = spec.fs or source.default_fs(opts)
    data = source.load(opts, fs, spec.seed, min_samples)
    refuse_problems(data.problems, strict)
    if not data.recordings:
        raise DrsnEdgeError(f"no usable recordings in {spec.describe()}")
    for r in data.recordings:
        r.signal.flags.writeable = False
    return data, float(data.recordings[0].fs)
