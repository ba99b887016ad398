"""Registered sources trained on as one (``--data cwru+sim``): their recordings pooled, their class lists equal.

Each flat option goes to every part that takes it (``--labels 4`` to both CWRU and the simulator, ``--data-dir`` to
CWRU only); an option no part takes is an error, as for a single source.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from drsn_edge.data.sources.base import DataSource, SourceData
from drsn_edge.errors import DrsnEdgeError


@dataclass
class MixOptions:
    parts: tuple[str, ...]
    part_options: dict[str, Any] = field(default_factory=dict)  # part name -> that source's options


class MixSource(DataSource):
    name = "mix"
    Options = MixOptions

    def __init__(self, sources: dict[str, DataSource]) -> None:
        self.sources = sources

    def options(self, given: dict[str, Any]) -> MixOptions:
        parts = tuple(given.get("parts") or ())
        if len(parts) < 2 or len(set(parts)) != len(parts):
            raise DrsnEdgeError(f"a mix of data sources needs two or more different ones (e.g. cwru+sim), got "
                                f"{'+'.join(parts) or 'none'}")
        unknown = [p for p in parts if p not in self.sources]
        if unknown:
            raise DrsnEdgeError(f"unknown data source {unknown[0]!r} in {'+'.join(parts)}")
        flat = {k: v for k, v in given.items() if k != "parts" and v is not None}
        taken: set[str] = set()
        part_options = {}
        for p in parts:
            known = {f.name for f in dataclasses.fields(self.sources[p].Options)}
            taken |= known & set(flat)
            part_options[p] = self.sources[p].options({k: v for k, v in flat.items() if k in known})
        extra = sorted(set(flat) - taken)
        if extra:
            raise DrsnEdgeError(f"--{extra[0].replace('_', '-')} applies to none of {'+'.join(parts)}")
        return MixOptions(parts, part_options)

    def default_fs(self, opts: MixOptions) -> float | None:
        return self.sources[opts.parts[0]].default_fs(opts.part_options[opts.parts[0]])

    def load(self, opts: MixOptions, fs: float, seed: int, min_samples: int | None) -> SourceData:
        loaded = {p: self.sources[p].load(opts.part_options[p], fs, seed, min_samples) for p in opts.parts}
        first = loaded[opts.parts[0]]
        for p, d in loaded.items():
            if d.class_names != first.class_names:
                raise DrsnEdgeError(f"{'+'.join(opts.parts)}: the class lists differ ({opts.parts[0]}: "
                                    f"{', '.join(first.class_names)}; {p}: {', '.join(d.class_names)}); choose a label "
                                    "set they share (--labels 4)")
            if len(d.channel_names) != len(first.channel_names):
                raise DrsnEdgeError(f"{'+'.join(opts.parts)}: {opts.parts[0]} gives {len(first.channel_names)} "
                                    f"channel(s), {p} {len(d.channel_names)}")
        recs = []
        for p, d in loaded.items():
            for r in d.recordings:
                r.rid = r.rid if r.rid.startswith(f"{p}/") else f"{p}/{r.rid}"
                r.group = None if r.group is None else f"{p}/{r.group}"
                recs.append(r)
        return SourceData(recs, list(first.class_names), first.normal_label, list(first.channel_names),
                          [x for d in loaded.values() for x in d.problems], [x for d in loaded.values() for x in d.notes])
