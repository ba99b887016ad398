"""Dataset description (stored in checkpoints) and the windowed, time-split dataset it builds."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from drsn_edge.data.recording import DEFAULT_SPLIT, Recording, cut_windows
from drsn_edge.errors import DrsnEdgeError


@dataclass
class DataSpec:
    """Where the windows come from; enough to rebuild the same split later (``eval``)."""

    source: str = "sim"  # sim | cwru
    data_dir: str | None = None
    label_set: str = "4"
    channels: tuple[str, ...] = ("DE",)
    fs: float = 12000.0
    split: tuple[float, float, float] = DEFAULT_SPLIT
    sim_duration: float = 10.0
    sim_recordings_per_class: int = 4
    seed: int = 0
    loads: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataSpec:
        d = dict(d)
        for k in ("channels", "split", "loads"):
            if d.get(k) is not None:
                d[k] = tuple(d[k])
        return cls(**d)


@dataclass
class VibrationDataset:
    recordings: list[Recording]
    class_names: list[str]
    fs: float
    split: tuple[float, float, float] = DEFAULT_SPLIT
    description: dict[str, Any] = field(default_factory=dict)

    @property
    def in_channels(self) -> int:
        return self.recordings[0].signal.shape[0]

    def windows(self, split: str, window: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
        """All windows of a split, cut every ``hop`` samples inside each recording's span."""
        xs, ys = [], []
        for rec in self.recordings:
            start, stop = rec.span(split, self.split)
            w = cut_windows(rec.signal, start, stop, window, hop)
            xs.append(w)
            ys.append(np.full(len(w), rec.label, dtype=np.int64))
        x, y = np.concatenate(xs), np.concatenate(ys)
        if len(x) == 0:
            raise DrsnEdgeError(f"the {split} split has no window of {window} samples; use longer recordings")
        return x, y

    def sample(self, split: str, window: int, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``count`` windows at random offsets (random crops), classes drawn uniformly."""
        by_class: dict[int, list[Recording]] = {}
        for rec in self.recordings:
            by_class.setdefault(rec.label, []).append(rec)
        labels = rng.choice(sorted(by_class), size=count)
        x = np.empty((count, self.in_channels, window), dtype=np.float32)
        for i, label in enumerate(labels):
            recs = by_class[label]
            rec = recs[rng.integers(len(recs))]
            start, stop = rec.span(split, self.split)
            if stop - start < window:
                raise DrsnEdgeError(f"the {split} span of a recording is shorter than the window ({window})")
            o = rng.integers(start, stop - window + 1)
            x[i] = rec.signal[:, o : o + window]
        return x, labels.astype(np.int64)


def load_dataset(spec: DataSpec) -> VibrationDataset:
    """Build the dataset a :class:`DataSpec` describes.

    Building is deterministic, so the last few are kept: training, evaluation, export, calibration and the
    benchmarks of one job share one build. Each call gets its own ``Recording`` objects over read-only arrays.
    """
    recs, names = _build(json.dumps(spec.to_dict(), sort_keys=True))
    own = [Recording(r.signal, r.fs, r.label, dict(r.meta)) for r in recs]
    return VibrationDataset(own, list(names), spec.fs, spec.split, spec.to_dict())


@lru_cache(maxsize=4)
def _build(spec_json: str) -> tuple[list[Recording], list[str]]:
    spec = DataSpec.from_dict(json.loads(spec_json))
    recs, names = _read(spec)
    for r in recs:
        r.signal.flags.writeable = False
    return recs, names


def _read(spec: DataSpec) -> tuple[list[Recording], list[str]]:
    if spec.source == "cwru":
        from drsn_edge.data.cwru import load_cwru

        if not spec.data_dir:
            raise DrsnEdgeError("--data cwru needs --data-dir pointing at the folder of CWRU .mat files")
        recs, names = load_cwru(spec.data_dir, spec.label_set, spec.channels, spec.fs, spec.loads)
    elif spec.source == "sim":
        from drsn_edge.data.simulator import make_sim_recordings

        if spec.channels != ("DE",):
            raise DrsnEdgeError("the simulator produces one channel; leave --channels at DE")
        recs, names = make_sim_recordings(
            spec.label_set, fs=spec.fs, duration=spec.sim_duration,
            recordings_per_class=spec.sim_recordings_per_class, seed=spec.seed,
        )
    else:
        raise DrsnEdgeError(f"unknown data source {spec.source!r}; choose 'sim' or 'cwru'")
    return recs, names
