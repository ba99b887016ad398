"""Leave-one-group-out cross-validation (``train --cv group``): one model per held-out group, one report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.data.splits import leave_one_group_out
from drsn_edge.models.config import resolve_config
from drsn_edge.training.config import TrainConfig
from drsn_edge.training.pipeline import train_checkpoint


def fold_path(out: Path, group: str) -> Path:
    return out.with_name(f"{out.stem}.fold-{group}{out.suffix or '.safetensors'}")


def cross_validate(data: DataSpec, arch: str, preset: str, cfg: TrainConfig, out: str | Path,
                   model_overrides: dict[str, Any] | None = None, progress: bool = True,
                   log: Callable[[str], None] = print, strict: bool = False) -> dict[str, Any]:
    """Train one checkpoint per group (``OUT.fold-G.safetensors``); write ``OUT.cv.json`` and ``OUT.cv.md``."""
    out = Path(out)
    window = resolve_config(arch, preset, **(model_overrides or {})).window
    base = load_dataset(data, min_samples=window, strict=strict)
    folds = []
    for split in leave_one_group_out(base.recordings, data.split):
        spec = DataSpec(data.source, data.options, data.fs, split, data.seed)
        group = split.test_groups[0]
        log(f"== fold: test group {group}")
        _, md = train_checkpoint(spec, arch, preset, cfg, fold_path(out, group), model_overrides, progress, log,
                                 strict=strict)
        m = md.metrics
        folds.append({"test_group": group, "checkpoint": str(fold_path(out, group)), **{
            k: m.get(k) for k in ("test_windows", "accuracy", "balanced_accuracy", "macro_f1", "recording_verdict_accuracy",
                                  "per_class_recall", "time_split_fallback_recordings")}})
    report = {"data": data.to_dict(), "model": {"arch": arch, "preset": preset}, "training": cfg.describe(),
              "folds": folds, "mean": _mean(folds)}
    out.parent.mkdir(parents=True, exist_ok=True)
    written = [out.with_suffix(".cv.json"), out.with_suffix(".cv.md")]
    written[0].write_text(json.dumps(report, indent=1))
    written[1].write_text(format_cv(report))
    log(format_cv(report))
    log("wrote " + ", ".join(str(p) for p in [*(f["checkpoint"] for f in folds), *written]))
    return report


def _mean(folds: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for k in ("accuracy", "balanced_accuracy", "macro_f1"):
        v = np.array([f[k] for f in folds if f.get(k) is not None], dtype=float)
        out[k] = {"mean": float(v.mean()) if v.size else None, "std": float(v.std()) if v.size else None,
                  "worst": float(v.min()) if v.size else None}
    return out


def format_cv(report: dict[str, Any]) -> str:
    pct = lambda v: "-" if v is None else f"{100 * v:.2f}"  # noqa: E731
    lines = ["| held-out group | test windows | accuracy % | balanced accuracy % | macro-F1 % | note |",
             "|---|---|---|---|---|---|"]
    for f in report["folds"]:
        note = "time-split fallback: " + ", ".join(f["time_split_fallback_recordings"]) if f.get(
            "time_split_fallback_recordings") else ""
        lines.append(f"| {f['test_group']} | {f['test_windows']} | {pct(f['accuracy'])} | {pct(f['balanced_accuracy'])} | "
                     f"{pct(f['macro_f1'])} | {note} |")
    m = report["mean"]
    lines.append(f"| **mean +- std** | | {pct(m['accuracy']['mean'])} +- {pct(m['accuracy']['std'])} | "
                 f"{pct(m['balanced_accuracy']['mean'])} +- {pct(m['balanced_accuracy']['std'])} | "
                 f"{pct(m['macro_f1']['mean'])} | |")
    return "\n".join(lines) + "\n"
