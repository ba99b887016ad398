"""``evaluate``: a model file (checkpoint, .onnx or .engine, through the same backends as the device) on its own
test split or on any labelled data, clean and under noise, with every figure of :mod:`metrics`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.evaluation.alarm_replay import alarm_report, recording_streams
from drsn_edge.evaluation.grid import evaluate_grid
from drsn_edge.evaluation.locations import location_report, window_evidence
from drsn_edge.evaluation.metrics import classification_report
from drsn_edge.evaluation.model_files import open_any_model
from drsn_edge.runtime.config import StreamConfig, enrolled_config
from drsn_edge.runtime.decisions import softmax
from drsn_edge.runtime.providers import ProviderSettings


def batched(infer: Callable[[np.ndarray], np.ndarray], batch: int = 256) -> Callable[[np.ndarray], np.ndarray]:
    def predict(x: np.ndarray) -> np.ndarray:
        return np.concatenate([infer(x[i : i + batch]) for i in range(0, len(x), batch)])

    return predict


def model_outputs(infer_all, x: np.ndarray, batch: int = 256) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Logits and every extra output of ``x`` through ``infer_all``, in batches."""
    parts = [infer_all(x[i : i + batch]) for i in range(0, len(x), batch)]
    extra = {k: np.concatenate([p[1][k] for p in parts]) for k in (parts[0][1] if parts else {})}
    return np.concatenate([p[0] for p in parts]), extra


def test_alarms(ds, md, infer_all, cfg: StreamConfig | None = None, sweep: bool = False,
                computed: tuple[Any, np.ndarray, dict[str, np.ndarray]] | None = None) -> dict[str, Any]:
    """Alarm-level figures of ``ds``'s test recordings through ``infer_all`` (logits and extra outputs), decided as
    ``stream`` decides (``cfg``; default: as it runs the model). ``computed``: (window set, logits, extra outputs) at the
    model's hop, reused when the alarms run at that hop."""
    cfg = cfg or enrolled_config(md)
    hop = cfg.hop or md.hop
    if computed is not None and hop == md.hop:
        ws, logits, extra = computed
    else:
        ws = ds.window_set("test", md.window, hop)
        logits, extra = model_outputs(infer_all, ws.x)
    return alarm_report(recording_streams(ds, ws, hop, softmax(logits), extra), md, cfg, hop, sweep)


def evaluate_model(
    model: str | Path,
    data: DataSpec | None = None,
    noise_types: tuple[str, ...] = (),
    snrs: list[float | None] | None = None,
    seed: int = 0,
    repeats: int = 1,
    settings: ProviderSettings | None = None,
    strict: bool = False,
    log: Callable[[str], None] = lambda s: None,
    progress: Callable[[int], Callable[[], None]] | None = None,
    bearing: str | None = None,
    shaft_hz: float | None = None,
    alarms: StreamConfig | None = None,
    sweep: bool = False,
) -> dict[str, Any]:
    """Evaluate ``model`` on the test part of ``data`` (default: the data and split it was trained with).

    ``progress(n)`` returns a callback called once per noise condition (n of them). With a ``bearing`` (or recordings
    that name theirs), the report also holds ``locations``: the fault location by the model, by the bearing evidence
    and by the two combined (:mod:`drsn_edge.evaluation.locations`). ``alarms``: the stream settings the report's
    alarm figures replay (:mod:`drsn_edge.evaluation.alarm_replay`; default: as ``stream`` runs the model, an
    enrolled machine with its enrolled settings); ``sweep``: with the trade-off at other operating points."""
    backend, md = open_any_model(model, settings, warmup=0)
    spec = data or DataSpec.from_dict(md.data)
    spec = DataSpec(spec.source, spec.options, md.sample_rate, spec.split, spec.seed)  # always at the model's rate
    ds = load_dataset(spec, min_samples=md.window, strict=strict)
    for p in ds.problems:
        log(f"warning: {p.line()}")
    if ds.in_channels != md.in_channels:
        raise DrsnEdgeError(f"the data has {ds.in_channels} channel(s) per recording, the model takes {md.in_channels}")
    if data is None and not ds.plan.recordings_in("test"):
        raise DrsnEdgeError(f"{Path(model).name} trained on every recording of its data ({spec.describe()}): it has no "
                            "test split; give --data with recordings it did not train on")
    ws = ds.window_set("test", md.window, md.hop)
    to_model = np.array([md.class_names.index(n) if n in md.class_names else -1 for n in ds.class_names])
    y = to_model[ws.y]
    unknown = {ds.class_names[c]: int(np.sum(ws.y == c)) for c in np.unique(ws.y) if to_model[c] < 0}
    keep = y >= 0
    if not keep.any():
        raise DrsnEdgeError(f"none of the data's labels ({', '.join(ds.class_names)}) is a class of the model "
                            f"({', '.join(md.class_names)})")
    x, y, rec = ws.x[keep], y[keep], ws.rec[keep]
    backend.activate()
    try:
        infer_all = backend.infer_all if hasattr(backend, "infer_all") else lambda b: (backend.infer(b), {})
        all_logits, all_extra = model_outputs(infer_all, ws.x)  # every window: alarms need no label the model knows
        logits = all_logits[keep]
        clean = classification_report(y, logits.argmax(1), md.class_names, rec, [r.rid for r in ds.recordings],
                                      md.normal_label)
        noisy = [s for s in (snrs or []) if s is not None]
        tick = progress(len(noise_types) * len(noisy)) if progress and noise_types and noisy else None
        grid = evaluate_grid(batched(backend.infer), x, y, md.class_names, noise_types, noisy, seed=seed,
                             repeats=repeats, progress=tick) if noise_types and noisy else {"results": []}
        alarm_level = test_alarms(ds, md, infer_all, alarms, sweep, (ws, all_logits, all_extra))
    finally:
        backend.close()
    fallback = set(ds.plan.fallback)
    held_out = np.array([ds.recordings[r].rid not in fallback for r in rec])
    report: dict[str, Any] = {
        "model": str(model), "backend": backend.name, "precision": md.precision, "class_names": md.class_names,
        "data": spec.to_dict(), "split": ds.summary(), "clean": clean, "results": [
            {"noise": "clean", "snr_db": None, "windows": clean["windows"], "accuracy": clean["accuracy"],
             "balanced_accuracy": clean["balanced_accuracy"], "macro_f1": clean["macro_f1"],
             "confusion": clean["confusion"]}, *grid["results"]],
        "unknown_labels": unknown, "alarms": alarm_level,
    }
    if bearing or any(r.meta.get("bearing") for r in ds.recordings):
        evidence, firm, familiar, notes = window_evidence(ds, ws, "test", bearing, shaft_hz, md.training.get("machine"),
                                                    md.channels)
        for n in notes:
            log(f"note: {n}")
        report["locations"] = location_report(y, logits.argmax(1), rec, [e for e, k in zip(evidence, keep) if k],
                                              md.class_names, [r.rid for r in ds.recordings], md.normal_label,
                                              [f for f, k in zip(familiar, keep) if k],
                                              [f for f, k in zip(firm, keep) if k])
    if fallback and held_out.any() and not held_out.all():
        report["clean_held_out_only"] = classification_report(
            y[held_out], logits.argmax(1)[held_out], md.class_names, normal_label=md.normal_label)
    return report
