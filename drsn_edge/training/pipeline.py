"""High-level jobs behind the CLI: train a model on a dataset, evaluate a checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from drsn_edge.data.dataset import DataSpec, VibrationDataset, load_dataset
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.models.factory import create_model
from drsn_edge.training.checkpoint import load_checkpoint, save_checkpoint
from drsn_edge.training.evaluate import evaluate_grid
from drsn_edge.training.trainer import TrainConfig, predict_logits, train

NORMALIZATION = {
    "kind": "per-window standardization inside the graph",
    "formula": "(x - mean(x)) / sqrt(var(x) + 1e-8), per window and channel",
    "input_units": "g",
}


def test_windows(dataset: VibrationDataset, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The test split's windows at 50 % overlap (all inside the test span)."""
    return dataset.windows("test", window, window // 2)


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
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train ``arch``/``preset`` on ``data`` and write a checkpoint to ``out``."""
    out = Path(out)
    if out.exists() and out.is_dir():
        raise DrsnEdgeError(f"--out {out} is a folder; give a file name such as model.safetensors")
    dataset = dataset or load_dataset(data)
    torch.manual_seed(train_cfg.seed)  # the weight initialization is part of a seeded run
    model = create_model(
        arch, preset=preset, in_channels=dataset.in_channels, num_classes=len(dataset.class_names),
        **(model_overrides or {}),
    )
    window = model.config.window
    log(f"data: {data.source}, {len(dataset.recordings)} recordings, {len(dataset.class_names)} classes, "
        f"{dataset.fs:g} Hz; model: {arch}/{preset}, {sum(p.numel() for p in model.parameters())} parameters")
    result = train(model, dataset, train_cfg, progress=progress, log=log)
    x, y = test_windows(dataset, window)
    clean_acc = float((predict_logits(model, x).argmax(1) == y).mean())
    meta = {
        "class_names": dataset.class_names,
        "sample_rate": dataset.fs,
        "window": window,
        "hop": window // 2,
        "in_channels": dataset.in_channels,
        "channels": list(data.channels),
        "normalization": NORMALIZATION,
        "data": data.to_dict(),
        "training": {**train_cfg.describe(), **{k: v for k, v in result.items() if k != "history"}},
        "history": result["history"],
        "metrics": {"test_clean_accuracy": clean_acc, "test_windows": int(len(y))},
    }
    save_checkpoint(out, model.cpu(), meta)
    log(f"test accuracy (clean): {100 * clean_acc:.2f} % on {len(y)} windows; saved {out}")
    return model, meta


def evaluate_checkpoint(
    checkpoint: str | Path,
    noise_types: tuple[str, ...],
    snrs: list[float | None],
    data: DataSpec | None = None,
    seed: int = 0,
    repeats: int = 1,
    dataset: VibrationDataset | None = None,
) -> dict[str, Any]:
    """Accuracy grid of a checkpoint on its test split (or another dataset's test split)."""
    model, meta = load_checkpoint(checkpoint)
    data = data or DataSpec.from_dict(meta["data"])
    dataset = dataset or load_dataset(data)
    if dataset.class_names != meta["class_names"]:
        raise DrsnEdgeError(
            f"the data's classes {dataset.class_names} differ from the checkpoint's {meta['class_names']}"
        )
    if dataset.in_channels != meta["in_channels"]:
        raise DrsnEdgeError(f"the data has {dataset.in_channels} channels, the model expects {meta['in_channels']}")
    x, y = test_windows(dataset, meta["window"])
    report = evaluate_grid(lambda xb: predict_logits(model, xb), x, y, meta["class_names"], noise_types, snrs,
                           seed=seed, repeats=repeats)
    report.update({"checkpoint": str(checkpoint), "model": meta["model"], "data": data.to_dict()})
    return report
