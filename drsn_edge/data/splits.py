"""Train / validation / test splits: by time inside each recording, by whole recording, or by group.

A time split is the weakest test: neighbouring windows of one recording land on both sides of it, and a model
that scores 99 % there labels about half of the windows of unseen recordings correctly. Split by recording or
by group (machine, load, run) to measure what a user will see.

The plan gives every recording the sample spans it contributes to each split. A label whose recordings all fall on
one side (CWRU has one normal recording) cannot be held out and trained on at once: such recordings are split by
time instead, listed in ``fallback`` and reported, never silently.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from drsn_edge.data.recording import DEFAULT_SPLIT, SPLITS, Recording, time_span
from drsn_edge.errors import DrsnEdgeError

SPLIT_KINDS = ("time", "recording", "group", "all")


@dataclass
class SplitSpec:
    """How windows are assigned; stored in checkpoints so evaluation rebuilds exactly the same test set."""

    kind: str = "recording"  # recording | group | time | all (everything is test: evaluating on new data)
    fractions: tuple[float, float, float] = DEFAULT_SPLIT
    test_groups: tuple[str, ...] = ()  # kind == "group"

    def __post_init__(self) -> None:
        if self.kind not in SPLIT_KINDS:
            raise DrsnEdgeError(f"unknown split {self.kind!r}; choose from {', '.join(SPLIT_KINDS)}")
        self.fractions = tuple(float(f) for f in self.fractions)  # type: ignore[assignment]
        if len(self.fractions) != 3 or min(self.fractions) < 0 or self.fractions[0] <= 0 or sum(self.fractions) <= 0:
            raise DrsnEdgeError(f"bad split fractions {self.fractions}: expected train,val,test shares like 0.7,0.1,0.2")
        self.test_groups = tuple(str(g) for g in self.test_groups)
        if self.kind == "group" and not self.test_groups:
            raise DrsnEdgeError("a group split needs the group(s) to hold out for testing (--test-group G)")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "fractions": list(self.fractions), "test_groups": list(self.test_groups)}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | list | tuple | None) -> SplitSpec:
        if d is None:
            return cls()
        if isinstance(d, (list, tuple)):  # checkpoints before splits had kinds: time-split fractions
            return cls("time", tuple(d))
        return cls(d.get("kind", "recording"), tuple(d.get("fractions", DEFAULT_SPLIT)), tuple(d.get("test_groups", ())))

    def describe(self) -> str:
        if self.kind == "group":
            return f"group split, test group(s) {', '.join(self.test_groups)}"
        if self.kind == "recording":
            return "recording split (whole recordings held out, per label)"
        if self.kind == "all":
            return "all windows as test"
        return "time split inside each recording (optimistic: neighbouring windows of one recording on both sides)"


@dataclass
class SplitPlan:
    """``spans[i][split]``: the sample ranges recording ``i`` gives to ``split``."""

    spans: list[dict[str, list[tuple[int, int]]]]
    fallback: list[str] = field(default_factory=list)  # recordings split by time although the split is not by time
    notes: list[str] = field(default_factory=list)

    def recordings_in(self, split: str) -> list[int]:
        return [i for i, s in enumerate(self.spans) if s.get(split)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _whole(rec: Recording, split: str) -> dict[str, list[tuple[int, int]]]:
    return {split: [(0, rec.samples)]}


def _by_time(rec: Recording, fractions: tuple[float, float, float], splits=SPLITS) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for s in splits:
        a, b = time_span(rec.samples, s, fractions)
        if b > a:
            out[s] = [(a, b)]
    return out


def plan_split(recordings: list[Recording], class_names: list[str], spec: SplitSpec, seed: int = 0) -> SplitPlan:
    """Assign every recording (or its time spans) to train / val / test under ``spec``."""
    if spec.kind == "time":
        return SplitPlan([_by_time(r, spec.fractions) for r in recordings])
    if spec.kind == "all":
        return SplitPlan([_whole(r, "test") for r in recordings])
    spans: list[dict[str, list[tuple[int, int]]]] = [{} for _ in recordings]
    plan = SplitPlan(spans)
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, r in enumerate(recordings):
        by_label[r.label].append(i)
    rng = np.random.default_rng(seed)
    f_train, f_val, f_test = spec.fractions
    if spec.kind == "group":
        groups = sorted({str(r.group) for r in recordings if r.group is not None})
        if not groups:
            raise DrsnEdgeError("a group split needs groups: this data has none (give a group column, or --group-by)")
        missing = [g for g in spec.test_groups if g not in groups]
        if missing:
            raise DrsnEdgeError(f"no group {missing[0]!r} in the data; groups are {', '.join(groups)}")
        if set(spec.test_groups) == set(groups):
            raise DrsnEdgeError("every group is a test group: nothing is left to train on")
    for label, idx in sorted(by_label.items()):
        name = class_names[label]
        if spec.kind == "group":
            test = [i for i in idx if str(recordings[i].group) in spec.test_groups]
            pool = [i for i in idx if i not in test]
        else:
            order = [idx[k] for k in rng.permutation(len(idx))]
            n_test = max(1, round(len(order) * f_test / sum(spec.fractions))) if len(order) >= 2 and f_test > 0 else 0
            test, pool = order[:n_test], order[n_test:]
        if spec.kind == "recording" and len(idx) == 1:  # one recording cannot be both trained and tested on
            test, pool = idx, []
        if not pool:  # nothing of this class to train on: time-split its held-out recordings, and say so
            for i in test:
                spans[i] = _by_time(recordings[i], spec.fractions)
                plan.fallback.append(recordings[i].rid)
            plan.notes.append(f"class {name!r}: every recording is held out for testing ({len(test)}); "
                              f"split by time instead, so its test windows come from recordings it also trained on")
            continue
        for i in test:
            spans[i] = _whole(recordings[i], "test")
        pool = [pool[k] for k in rng.permutation(len(pool))]
        n_val = max(1, round(len(pool) * f_val / (f_train + f_val))) if len(pool) >= 2 and f_val > 0 else 0
        for i in pool[:n_val]:
            spans[i] = _whole(recordings[i], "val")
        for i in pool[n_val:]:
            if n_val or f_val == 0:
                spans[i] = _whole(recordings[i], "train")
            else:  # one training recording: validate on its tail (time), train on the rest
                spans[i] = _by_time(recordings[i], (f_train, f_val, 0.0), ("train", "val"))
        if not n_val and f_val > 0:
            plan.notes.append(f"class {name!r}: one training recording; validation windows from its last "
                              f"{100 * f_val / (f_train + f_val):.0f} %")
    return plan


def leave_one_group_out(recordings: list[Recording], base: SplitSpec) -> list[SplitSpec]:
    """One group split per group: the folds of ``--cv group``."""
    groups = sorted({str(r.group) for r in recordings if r.group is not None})
    if len(groups) < 2:
        raise DrsnEdgeError(f"cross-validation by group needs at least two groups; the data has {len(groups)}")
    return [SplitSpec("group", base.fractions, (g,)) for g in groups]
