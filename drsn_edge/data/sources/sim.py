"""The built-in bearing simulator as a data source (the offline default)."""

from __future__ import annotations

from dataclasses import dataclass

from drsn_edge.data.simulator import SIM_LABEL_SETS, make_sim_recordings
from drsn_edge.data.sources.base import DataSource, SourceData
from drsn_edge.errors import DrsnEdgeError


@dataclass
class SimOptions:
    label_set: str = "4"  # 4 conditions, or 10 (condition x severity)
    duration: float = 10.0  # seconds per recording
    recordings_per_class: int = 4  # each its own machine (structure, speed, severity): group m0, m1, ...
    channels: tuple[str, ...] = ("DE",)

    def __post_init__(self) -> None:
        if self.label_set not in SIM_LABEL_SETS:
            raise DrsnEdgeError(f"unknown simulator label set {self.label_set!r}; choose from {', '.join(SIM_LABEL_SETS)}")
        if tuple(self.channels) != ("DE",):
            raise DrsnEdgeError("the simulator produces one channel; leave --channels out")
        if not self.duration > 0 or self.recordings_per_class < 1:
            raise DrsnEdgeError("simulator duration and recordings per class must be positive")


class SimSource(DataSource):
    name = "sim"
    Options = SimOptions

    def load(self, opts: SimOptions, fs: float, seed: int, min_samples: int | None) -> SourceData:
        recs, names = make_sim_recordings(opts.label_set, fs=fs, duration=opts.duration,
                                          recordings_per_class=opts.recordings_per_class, seed=seed)
        for r in recs:
            r.rid = f"sim/{names[r.label]}/{r.meta['index']}"
            r.group = f"m{r.meta['index']}"
        return SourceData(recs, names, "normal", ["DE"])
