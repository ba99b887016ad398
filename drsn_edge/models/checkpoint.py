"""Checkpoints' weights: safetensors tensors beside the description, no pickled code.

The container (the header, its format string, the description in it) is :mod:`drsn_edge.modelfile.checkpoint`;
this module writes and loads the weights through it. The data path is stored relative to the checkpoint's folder,
so a checkpoint finds its data from any working directory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import ModelMetadata
from drsn_edge.modelfile.checkpoint import CheckpointFile, encode_entry, read_checkpoint_file
from drsn_edge.models.factory import model_from_config


def save_checkpoint(path: str | Path, model: torch.nn.Module, md: ModelMetadata,
                    history: list[dict[str, Any]] | None = None) -> Path:
    """Write weights and description to ``path`` atomically (a temporary name, renamed when complete)."""
    path = Path(path)
    if path.is_dir():
        raise DrsnEdgeError(f"{path} is a folder; give a file name such as model.safetensors")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DrsnEdgeError(f"cannot create folder for {path}: {exc.strerror}") from None
    md.model = model.config.to_dict()
    md.extra_outputs = model.head_outputs()  # the description follows the weights, never the other way round
    if "novelty" not in md.extra_outputs:
        md.novelty = {}
    if "noise_level" not in md.extra_outputs:
        md.noise = {}
    if "anomaly" not in md.extra_outputs:
        md.enrolment = {}
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        safetensors.torch.save_file(state, tmp, metadata=encode_entry(md, path.resolve().parent, history))
        os.replace(tmp, path)
    except OSError as exc:
        raise DrsnEdgeError(f"cannot write checkpoint {path}: {exc.strerror}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(source: str | Path | CheckpointFile) -> tuple[torch.nn.Module, ModelMetadata]:
    """Rebuild the model (in eval mode) and return it with its description. ``source``: a path, or a
    :class:`~drsn_edge.modelfile.checkpoint.CheckpointFile` already read (its bytes are not read again)."""
    ckpt = source if isinstance(source, CheckpointFile) else read_checkpoint_file(source)
    model = model_from_config(ckpt.md.model)
    try:
        state = safetensors.torch.load(ckpt.data)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types for a damaged file
        raise DrsnEdgeError(f"{ckpt.path}: damaged checkpoint ({str(exc).splitlines()[0][:160]})") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise DrsnEdgeError(f"{ckpt.path}: weights do not match the stored model config ({first})") from None
    return model.eval(), ckpt.md
