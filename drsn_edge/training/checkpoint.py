"""Checkpoints: safetensors weights plus JSON metadata, no pickled code.

The metadata (under the safetensors header key ``drsn_edge``) holds the model config, class names,
sample rate, window length, suggested hop, normalization, data description, training settings and
metrics: everything export and the runtime need.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from drsn_edge._version import __version__
from drsn_edge.errors import DrsnEdgeError

FORMAT = "drsn-edge-checkpoint/1"
META_KEY = "drsn_edge"


def save_checkpoint(path: str | Path, model: torch.nn.Module, meta: dict[str, Any]) -> Path:
    """Write weights and metadata to ``path`` (a ``.safetensors`` file)."""
    from safetensors.torch import save_file

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DrsnEdgeError(f"cannot create folder for {path}: {exc.strerror}") from None
    full = {"format": FORMAT, "drsn_edge_version": __version__, "model": model.config.to_dict(), **meta}
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    try:
        save_file(state, str(path), metadata={META_KEY: json.dumps(full)})
    except OSError as exc:
        raise DrsnEdgeError(f"cannot write checkpoint {path}: {exc.strerror}") from None
    return path


def read_checkpoint_meta(path: str | Path) -> dict[str, Any]:
    """Metadata of a checkpoint without loading the weights."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise DrsnEdgeError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get(META_KEY)
    except Exception:
        raise DrsnEdgeError(f"{path}: not a drsn-edge checkpoint (unreadable safetensors file)") from None
    if raw is None:
        raise DrsnEdgeError(f"{path}: safetensors file without drsn-edge metadata")
    meta = json.loads(raw)
    if meta.get("format") != FORMAT:
        raise DrsnEdgeError(f"{path}: unsupported checkpoint format {meta.get('format')!r} (expected {FORMAT})")
    return meta


def load_checkpoint(path: str | Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the model (in eval mode) and return it with the checkpoint metadata."""
    from safetensors.torch import load_file

    from drsn_edge.models.factory import model_from_config

    meta = read_checkpoint_meta(path)
    model = model_from_config(meta["model"])
    try:
        model.load_state_dict(load_file(str(path)))
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise DrsnEdgeError(f"{path}: weights do not match the stored model config ({first})") from None
    return model.eval(), meta
