"""Model files recognised by their content, not their suffix: a drsn-edge checkpoint (safetensors), an ONNX model,
or a TensorRT engine (with its ``ENGINE.json`` sidecar); and a model served by Triton (``triton://`` address)."""

from __future__ import annotations

import os
from pathlib import Path

from drsn_edge.errors import DrsnEdgeError, readable_os_error
from drsn_edge.modelfile.checkpoint import read_checkpoint_description, safetensors_header
from drsn_edge.modelfile.description import ModelMetadata
from drsn_edge.modelfile.engine import read_sidecar, sidecar_path
from drsn_edge.modelfile.onnx_props import read_onnx_description

TRITON_SCHEME = "triton://"
FORMATS = ("checkpoint", "onnx", "engine", "triton")


def is_triton_url(model: object) -> bool:
    return isinstance(model, str) and model.startswith(TRITON_SCHEME)


def detect_format(path: str | Path) -> str:
    """``checkpoint``, ``engine``, ``onnx`` or ``triton`` (a triton:// address); a one-line error for a missing file."""
    if is_triton_url(path):
        return "triton"
    path = Path(path)
    if not path.is_file():
        raise DrsnEdgeError(f"model not found: {path}")
    try:
        if safetensors_header(path) is not None:
            return "checkpoint"
    except OSError as exc:
        raise DrsnEdgeError(f"{path}: cannot be read ({readable_os_error(exc)})") from None
    if sidecar_path(path).is_file():
        return "engine"
    if path.suffix.lower() == ".safetensors":
        raise DrsnEdgeError(f"{path}: not a drsn-edge checkpoint (not a safetensors file)")
    return "onnx"


def read_description(path: str | Path) -> ModelMetadata:
    """The description of a model file (checkpoint, ONNX or engine), its data path taken against the file's folder.
    A model on a Triton server is described by the server (:func:`drsn_edge.runtime.loader.describe_model`)."""
    kind = detect_format(path)
    if kind == "triton":
        raise DrsnEdgeError(f"{path} is a model on a Triton server: its description comes from the server")
    if kind == "checkpoint":
        return read_checkpoint_description(path)
    md = read_sidecar(path)[0] if kind == "engine" else read_onnx_description(path)
    md.resolve_data(os.path.dirname(os.path.abspath(path)))
    return md
