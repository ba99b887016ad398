"""Checkpoints: safetensors weights plus the model description, no pickled code.

The safetensors header key ``drsn_edge`` holds ``{"format", "description", "history"}``: ``description`` is the
same :class:`~drsn_edge.runtime.metadata.ModelMetadata` the ONNX file carries (with the model config, data spec
and split), so export, verify, bench and the runtime read one description. The data path is stored relative to
the checkpoint's folder, so a checkpoint finds its data from any working directory.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.metadata import META_KEY, ModelMetadata
from drsn_edge.runtime.model_file import description_from_checkpoint_header, read_checkpoint_header

FORMAT = "drsn-edge-checkpoint/2"


def save_checkpoint(path: str | Path, model: torch.nn.Module, md: ModelMetadata,
                    history: list[dict[str, Any]] | None = None) -> Path:
    """Write weights and description to ``path`` atomically (a temporary name, renamed when complete)."""
    from safetensors.torch import save_file

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
    d = md.to_dict()
    d["data"] = md.data_relative_to(str(path.resolve().parent))
    header = {"format": FORMAT, "description": d, "history": history or []}
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        save_file(state, tmp, metadata={META_KEY: json.dumps(header)})
        os.replace(tmp, path)
    except OSError as exc:
        raise DrsnEdgeError(f"cannot write checkpoint {path}: {exc.strerror}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_checkpoint(path: str | Path) -> tuple[ModelMetadata, dict[str, Any]]:
    """(description, header) of a checkpoint without loading the weights; the data path resolved."""
    header = read_checkpoint_header(path)
    md = description_from_checkpoint_header(header, str(path))
    md.resolve_data(str(Path(path).resolve().parent))
    return md, header


def load_checkpoint(path: str | Path) -> tuple[torch.nn.Module, ModelMetadata]:
    """Rebuild the model (in eval mode) and return it with its description."""
    from safetensors.torch import load_file

    from drsn_edge.models.factory import model_from_config

    md, _ = read_checkpoint(path)
    model = model_from_config(md.model)
    try:
        state = load_file(str(path))
    except Exception as exc:
        raise DrsnEdgeError(f"{path}: damaged checkpoint ({str(exc).splitlines()[0][:160]})") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise DrsnEdgeError(f"{path}: weights do not match the stored model config ({first})") from None
    return model.eval(), md
