"""Training loop: random crops from the training span, noise per window, the best validation epoch, then a refit
on training + validation recordings up to that epoch."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from drsn_edge.data.dataset import VibrationDataset
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.training.config import TrainConfig
from drsn_edge.training.finetune import parameter_groups
from drsn_edge.training.threads import poll_free_cores


def duration(seconds: float) -> str:
    """``"1 h 05 min"``, ``"3 min 20 s"``, ``"12 s"``."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def seed_everything(seed: int) -> np.random.Generator:
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


@torch.no_grad()
def predict_logits(model: nn.Module, x: np.ndarray, batch_size: int = 256, device: torch.device | None = None) -> np.ndarray:
    """Logits for windows ``(N, C, T)`` as float32 numpy."""
    model.eval()
    device = device or next(model.parameters()).device
    out = [model(torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size])).to(device)).cpu().numpy()
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.empty((0, 0), dtype=np.float32)


def train(
    model: nn.Module,
    dataset: VibrationDataset,
    cfg: TrainConfig,
    progress: bool = True,
    log: Callable[[str], None] = print,
    selection: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train in place and return the history.

    Pass 1 trains on the training recordings and keeps the epoch with the best balanced accuracy on the validation
    recordings. With ``cfg.refit`` pass 2 starts again from the same initial weights and trains on the training and
    validation recordings together, on the same schedule, up to that epoch: with validation held out by recording,
    pass 1 alone never sees one recording of each class (on CWRU's leave-one-load-out, one of three training loads
    per class, a different load for each class).

    ``selection``: pass 1's result from an earlier run with the same data, split, seed and settings (``best_epoch``,
    ``best_val_balanced_acc`` and its weights, ``state``); pass 1 is then skipped, since it would choose
    the same epoch (benchmarks resume so). The result's ``selected_state`` holds pass 1's weights when a refit
    followed (None otherwise): they calibrate the novelty threshold (see :func:`~drsn_edge.training.heads.fit_heads`).
    """
    device = resolve_device(cfg.device)
    model.to(device)
    window = model.config.window
    start = copy.deepcopy(model.state_dict())
    try:
        x_val, y_val = dataset.windows("val", window, window // 2)
        x_val = cfg.noise.apply(x_val, np.random.default_rng(cfg.seed + 1))
    except DrsnEdgeError:
        x_val = y_val = None
        log("note: no validation windows in this split; keeping the last epoch's weights")
    t0 = time.perf_counter()
    if selection is None:
        history, best_epoch, best_score = _run(model, dataset, cfg, ("train",), cfg.epochs, (x_val, y_val), device,
                                               progress, log)
    else:
        history, best_epoch, best_score = [], int(selection["best_epoch"]), selection.get("best_val_balanced_acc")
        model.load_state_dict(selection["state"])
        log(f"epoch {best_epoch} chosen on validation by an earlier run of these settings")
    refit = selected = None
    if cfg.refit and x_val is not None:
        log(f"refit: training again from the start on the training and validation recordings, {best_epoch} epochs")
        selected = copy.deepcopy(model.state_dict())
        model.load_state_dict(start)
        refit_history, _, _ = _run(model, dataset, cfg, ("train", "val"), best_epoch, (None, None), device, progress,
                                   log)
        history += [{**row, "pass": "refit"} for row in refit_history]
        refit = {"epochs": best_epoch, "splits": ["train", "val"]}
    model.eval()
    return {
        "history": history,
        "best_epoch": best_epoch,
        "best_val_balanced_acc": best_score if x_val is not None else None,
        "refit": refit,
        "train_seconds": round(time.perf_counter() - t0, 1),
        "device": str(device),
        "selected_state": selected,
    }


def _run(model: nn.Module, dataset: VibrationDataset, cfg: TrainConfig, splits: tuple[str, ...], stop: int,
         val: tuple[np.ndarray | None, np.ndarray | None], device: torch.device, progress: bool,
         log: Callable[[str], None]) -> tuple[list[dict[str, float]], int, float]:
    """Epochs 1..``stop`` of ``cfg``'s schedule on crops of ``splits``; loads the chosen epoch's weights: the latest
    whose validation score is within ``cfg.selection_tolerance`` of the best (the last epoch's without validation
    windows). Returns the history, the chosen epoch and its score."""
    rng = seed_everything(cfg.seed)
    x_val, y_val = val
    window = model.config.window
    groups = parameter_groups(model, cfg.lr, cfg.backbone_lr_scale)
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[g["lr"] for g in groups], total_steps=cfg.epochs * cfg.steps_per_epoch, pct_start=0.15
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    history: list[dict[str, float]] = []
    best = (-1.0, 0, copy.deepcopy(model.state_dict()))  # the chosen epoch's score, epoch and weights
    top = -1.0  # the best score so far
    augment = cfg.augment.enabled
    crop = cfg.augment.crop_length(window) if augment else window
    from tqdm.auto import tqdm

    started = time.perf_counter()
    for epoch in range(1, stop + 1):
        model.train()
        total, correct, loss_sum = 0, 0, 0.0
        quiet = None if progress else True  # None: bars only on a terminal
        bar = tqdm(range(cfg.steps_per_epoch), desc=f"epoch {epoch}/{stop}", leave=False, disable=quiet)
        for _ in bar:
            poll_free_cores()
            if augment:
                xb, yb = dataset.sample(splits, crop, cfg.batch_size, rng)
                xb = cfg.augment.apply(xb, window, rng)
            else:
                xb, yb = dataset.sample(splits, window, cfg.batch_size, rng)
            xb = cfg.noise.apply(xb, rng)
            xt, yt = torch.from_numpy(xb).to(device), torch.from_numpy(yb).to(device)
            logits = model(xt)
            loss = loss_fn(logits, yt)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(yb)
            correct += int((logits.argmax(1) == yt).sum())
            total += len(yb)
        row = {"epoch": epoch, "loss": loss_sum / total, "train_acc": correct / total}
        if x_val is not None:
            pred = predict_logits(model, x_val, device=device).argmax(1)
            row["val_acc"] = float((pred == y_val).mean())
            # model selection on balanced accuracy: a large class must not hide a class the model misses
            row["val_balanced_acc"] = float(np.mean([(pred[y_val == c] == c).mean() for c in np.unique(y_val)]))
        history.append(row)
        score = row.get("val_balanced_acc", float(epoch))
        top = max(top, score)
        # the latest epoch within the tolerance of the best so far; a later best is itself within it, so the epoch
        # kept is also the latest within the tolerance of the final best
        if score >= top - cfg.selection_tolerance:
            best = (score, epoch, copy.deepcopy(model.state_dict()))
        per_epoch = (time.perf_counter() - started) / epoch
        row["seconds"] = round(per_epoch, 2)
        log(f"epoch {epoch:3d}/{stop}  loss {row['loss']:.4f}  train acc {row['train_acc']:.4f}" + (
            f"  val acc {row['val_acc']:.4f}  val balanced {row['val_balanced_acc']:.4f}" if x_val is not None else "")
            + f"  {per_epoch:.1f} s/epoch, {duration(per_epoch * (stop - epoch))} left" + (
                " in this pass (then the refit)" if cfg.refit and x_val is not None and "val" not in splits else ""))
        if cfg.patience is not None and x_val is not None and epoch - best[1] >= cfg.patience:
            log(f"early stop: no better validation balanced accuracy for {cfg.patience} epochs (best: epoch {best[1]})")
            break
    model.load_state_dict(best[2])
    return history, best[1], best[0]
