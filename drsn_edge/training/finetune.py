"""Starting from a trained model (``train --init``): its network and description, a new classifier head where the
classes differ, and which layers train.

What is kept: every weight of the backbone (stem, residual units, the last BatchNorm) and, where the class list is the
same (names and order), the classifier; the novelty and noise heads are fitted again on the new data after training,
as for any model. The rate and window follow the initial model (the data is resampled to its rate). What trains:
``freeze`` ``none`` (all), ``stem`` (all but the first convolution) or ``backbone`` (the classifier only; BatchNorm
statistics still follow the new data). The schedule is ``train``'s one-cycle (a warm-up over the first 15 % of steps,
then a cosine decay), with the backbone at ``backbone_lr_scale`` times the head's learning rate (0.1 by default when
fine-tuning): the features it learnt move slowly, the new head quickly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import ModelMetadata, detect_format
from drsn_edge.modelfile.checkpoint import read_checkpoint_file
from drsn_edge.modelfile.hashing import sha256_file
from drsn_edge.models.checkpoint import load_checkpoint
from drsn_edge.models.config import ModelConfig
from drsn_edge.models.factory import model_from_config

FREEZE = ("none", "stem", "backbone")
#: parameters of the classifier head: trained at the full learning rate, never frozen
HEAD = ("fc.",)
#: parameters fitted after training, not by gradient (their shapes follow the class count)
FITTED = ("novelty.", "noise.")


def read_init(path: str | Path) -> tuple[torch.nn.Module, ModelMetadata]:
    """The initial model and its description; a one-line error for what is not a training checkpoint."""
    p = Path(path)
    if not p.is_file():
        raise DrsnEdgeError(f"--init {path}: no such file")
    kind = detect_format(p)
    if kind != "checkpoint":
        raise DrsnEdgeError(f"--init {path} is {'an ONNX model' if kind == 'onnx' else f'a {kind} file'}: fine-tuning "
                            "starts from the training checkpoint (.safetensors) it was exported from")
    ckpt = read_checkpoint_file(p)
    return load_checkpoint(ckpt)


def start_from(init: torch.nn.Module, init_md: ModelMetadata, config: ModelConfig, class_names: list[str],
               freeze: str = "none", path: str | Path | None = None) -> tuple[torch.nn.Module, dict[str, Any]]:
    """A network of ``config`` (the initial model's, for ``class_names`` and the data's channels) that starts from
    ``init``'s weights, with ``freeze`` applied; and what the new model's description records about where it
    started."""
    in_channels = config.in_channels
    if freeze not in FREEZE:
        raise DrsnEdgeError(f"unknown --freeze {freeze!r}; choose from {', '.join(FREEZE)}")
    if in_channels != init_md.in_channels:
        raise DrsnEdgeError(f"the data has {in_channels} channel(s) per recording, the initial model takes "
                            f"{init_md.in_channels}; choose channels (--channels) or start from another model")
    same = list(class_names) == list(init_md.class_names)
    model = model_from_config(config)
    keep = {k: v for k, v in init.state_dict().items()
            if not k.startswith(FITTED) and (same or not k.startswith(HEAD))}
    missing, unexpected = model.load_state_dict(keep, strict=False)
    if unexpected or any(not k.startswith(HEAD + FITTED) for k in missing):
        raise DrsnEdgeError(f"the initial model's weights do not fit its own description ({(unexpected or missing)[0]})")
    for name, p in model.named_parameters():
        if name.startswith(HEAD + FITTED):
            continue
        if freeze == "backbone" or (freeze == "stem" and name.startswith("stem.")):
            p.requires_grad_(False)
    info = {"file": Path(path).name if path else None, "sha256": sha256_file(path) if path else None,
            "classes": list(init_md.class_names), "data": init_md.data, "head": "kept" if same else "new",
            "freeze": freeze}
    return model, info


def parameter_groups(model: torch.nn.Module, lr: float, backbone_scale: float) -> list[dict[str, Any]]:
    """The optimizer's groups: the classifier at ``lr``, the rest at ``lr * backbone_scale``; frozen weights left
    out."""
    head = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith(HEAD)]
    rest = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith(HEAD)]
    groups = [{"params": head, "lr": lr}]
    if rest:
        groups.append({"params": rest, "lr": lr * backbone_scale})
    return groups
