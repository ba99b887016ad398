"""The training job behind ``drsn-edge train``: data -> model -> best-on-validation epoch -> refit on training +
validation recordings -> heads -> test report -> checkpoint with the model's description."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from drsn_edge._version import __version__
from drsn_edge.data.dataset import DataSpec, VibrationDataset, load_dataset
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.evaluation.metrics import classification_report
from drsn_edge.modelfile import ModelMetadata
from drsn_edge.models.checkpoint import save_checkpoint
from drsn_edge.models.config import ARCHITECTURES, ModelConfig, resolve_config
from drsn_edge.models.factory import model_from_config
from drsn_edge.training.config import LAST_EPOCH_TOLERANCE, TrainConfig
from drsn_edge.training.finetune import read_init, start_from
from drsn_edge.training.heads import fit_heads
from drsn_edge.training.trainer import predict_logits, train

NORMALIZATION = {
    "kind": "per-window standardization inside the graph",
    "formula": "(x - mean(x)) / sqrt(var(x) + 1e-8), per window and channel",
    "input_units": "g",
}


def describe_split(dataset: VibrationDataset, shown: int = 6) -> list[str]:
    """Lines saying what each split holds (its groups, else its recordings, by name), and every fallback, for the
    training log."""
    s = dataset.summary()
    lines = [f"split: {dataset.spec.split.describe()}"]
    for split in ("train", "val", "test"):
        cells = s["per_split"].get(split, {})
        if cells:
            recs = sum(c["recordings"] for c in cells.values())
            secs = sum(c["seconds"] for c in cells.values())
            members = [dataset.recordings[i] for i in dataset.plan.recordings_in(split)]
            groups = sorted({r.group for r in members if r.group is not None})
            names = [f"group {g}" for g in groups] if groups else [r.rid for r in members]
            listed = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
            lines.append(f"  {split}: {recs} recording span(s), {secs:.0f} s, {len(cells)} class(es): {listed}")
    lines += [f"  note: {n}" for n in s["notes"]]
    return lines


def test_report(model: torch.nn.Module, dataset: VibrationDataset, md: ModelMetadata) -> dict[str, Any]:
    """The clean test-split report (window and recording level) stored with the model."""
    try:
        ws = dataset.window_set("test", md.window, md.hop)
    except DrsnEdgeError:
        return {"split": dataset.spec.split.kind, "test_windows": 0}
    pred = predict_logits(model, ws.x).argmax(1)
    rep = classification_report(ws.y, pred, dataset.class_names, ws.rec, [r.rid for r in dataset.recordings],
                                dataset.normal_label)
    fallback = set(dataset.plan.fallback)
    return {"split": dataset.spec.split.kind, "test_windows": rep["windows"], "accuracy": rep["accuracy"],
            "balanced_accuracy": rep["balanced_accuracy"], "macro_f1": rep["macro_f1"],
            "recording_verdict_accuracy": rep.get("recording_verdict_accuracy"),
            "per_class_recall": {k: v["recall"] for k, v in rep["per_class"].items()},
            "time_split_fallback_recordings": sorted(fallback)}


def default_heads(arch: str) -> list[str]:
    """Novelty for every model; the noise level where there are shrinkage thresholds to read it from."""
    return ["novelty", "noise"] if ARCHITECTURES.get(arch) else ["novelty"]


def train_checkpoint(
    data: DataSpec,
    arch: str,
    preset: str,
    train_cfg: TrainConfig,
    out: str | Path,
    model_overrides: dict[str, Any] | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    dataset: VibrationDataset | None = None,
    strict: bool = False,
    selection: dict[str, Any] | None = None,
    init: str | Path | None = None,
    freeze: str = "none",
) -> tuple[torch.nn.Module, ModelMetadata]:
    """Train ``arch``/``preset`` on ``data`` and write a checkpoint to ``out`` (``selection``: see
    :func:`~drsn_edge.training.trainer.train`). ``init``: start from this checkpoint instead (its architecture, rate
    and window; :mod:`~drsn_edge.training.finetune`), with ``freeze`` applied."""
    out = Path(out)
    if out.is_dir():
        raise DrsnEdgeError(f"--out {out} is a folder; give a file name such as model.safetensors")
    started = None
    if init is not None:
        init_model, init_md = read_init(init)
        data = DataSpec(data.source, data.options, init_md.sample_rate, data.split, data.seed)  # the model's rate
        config = ModelConfig.from_dict(init_md.model)
        config.heads = list(config.heads) or default_heads(config.arch)  # an older model without heads gets them
        config.novelty_input = ModelConfig.novelty_input  # the heads are fitted again: today's novelty score
    else:
        overrides = dict(model_overrides or {})
        overrides.setdefault("heads", default_heads(arch))
        config = resolve_config(arch, preset, **overrides)
    dataset = dataset or load_dataset(data, min_samples=config.window, strict=strict)
    for p in dataset.problems:
        log(f"warning: {p.line()}")
    for n in dataset.notes:
        log(f"note: {n}")
    torch.manual_seed(train_cfg.seed)  # the weight initialization is part of a seeded run
    config.in_channels, config.num_classes = dataset.in_channels, len(dataset.class_names)
    if init is not None:
        model, started = start_from(init_model, init_md, config, list(dataset.class_names), freeze, init)
        log(f"starting from {Path(init).name} ({init_md.model['arch']}/{init_md.model.get('preset')}, classes "
            f"{', '.join(init_md.class_names)}): classifier {started['head']}, frozen: {freeze}, backbone at "
            f"{train_cfg.backbone_lr_scale:g} x the learning rate"
            + (", the epoch: the last" if train_cfg.selection_tolerance >= LAST_EPOCH_TOLERANCE else
               f", the epoch: the latest within {100 * train_cfg.selection_tolerance:g} points of the best on "
               "validation" if train_cfg.selection_tolerance else ""))
    else:
        model = model_from_config(config)
    log(f"data: {dataset.spec.describe()}, {len(dataset.recordings)} recordings, {len(dataset.class_names)} classes, "
        f"{dataset.fs:g} Hz; model: {arch}/{preset}, {sum(p.numel() for p in model.parameters())} parameters")
    for line in describe_split(dataset):
        log(line)
    result = train(model, dataset, train_cfg, progress=progress, log=log, selection=selection)
    history = result.pop("history")
    selected = None
    if (state := result.pop("selected_state")) is not None and config.heads:
        selected = model_from_config(config)
        selected.load_state_dict(state)
    heads = fit_heads(model.cpu(), dataset, train_cfg, selected=selected) if config.heads else {}
    md = ModelMetadata(
        class_names=list(dataset.class_names), sample_rate=dataset.fs, window=config.window, hop=config.window // 2,
        in_channels=dataset.in_channels, channels=list(dataset.channel_names), normal_label=dataset.normal_label,
        normalization=NORMALIZATION, model=config.to_dict(),
        training={**train_cfg.describe(), **result, "machine": dataset.machine(),
                  **({"init": started} if started else {})},
        data=dataset.spec.to_dict(), drsn_edge_version=__version__,
        extra_outputs=model.head_outputs(),
        novelty=heads.get("novelty", {}), noise=heads.get("noise", {}),
    )
    md.metrics = test_report(model, dataset, md)
    save_checkpoint(out, model.cpu(), md, history)
    m = md.metrics
    if m.get("test_windows"):
        log(f"test ({dataset.spec.split.kind} split, clean): accuracy {100 * m['accuracy']:.2f} %, balanced accuracy "
            f"{100 * m['balanced_accuracy']:.2f} % on {m['test_windows']} windows; saved {out}")
    else:
        log(f"no test windows in this split; saved {out}")
    return model, md
