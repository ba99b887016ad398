"""Open a deployable model file (ONNX or TensorRT engine) as a backend plus its metadata."""

from __future__ import annotations

from pathlib import Path

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.metadata import ModelMetadata, read_onnx_metadata
from drsn_edge.runtime.providers import ProviderSettings


def open_model(path: str | Path, settings: ProviderSettings | None = None):
    """``(backend, metadata)`` for ``.onnx`` (ONNX Runtime with ``settings``) or ``.engine`` (native TensorRT)."""
    path = Path(path)
    if not path.is_file():
        raise DrsnEdgeError(f"model not found: {path}")
    if path.suffix == ".engine":
        from drsn_edge.runtime.backends.tensorrt_backend import TensorRTBackend

        be = TensorRTBackend(str(path))
        return be, be.md
    if path.suffix == ".onnx":
        from drsn_edge.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

        md: ModelMetadata = read_onnx_metadata(str(path))
        return OnnxRuntimeBackend(str(path), settings), md
    raise DrsnEdgeError(f"{path}: unknown model type {path.suffix!r} (expected .onnx or .engine)")
