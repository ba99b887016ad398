"""Open a model as a backend plus its description: ONNX (ONNX Runtime, or OpenVINO), a TensorRT engine (native), or a model on a
Triton server. A training checkpoint is not for the device: it is refused with the command that exports it."""

from __future__ import annotations

from pathlib import Path

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import ModelMetadata, detect_format, read_description
from drsn_edge.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend
from drsn_edge.runtime.backends.openvino_backend import OpenVinoBackend
from drsn_edge.runtime.backends.tensorrt_backend import TensorRTBackend
from drsn_edge.runtime.backends.triton_backend import TritonBackend
from drsn_edge.runtime.providers import ProviderSettings


def open_model(path: str | Path, settings: ProviderSettings | None = None, warmup: int = 2,
               server_wait_s: float = 60.0) -> tuple[object, ModelMetadata]:
    """``(backend, description)``; the format is recognised by content. The backend is not yet activated.
    ``triton://HOST:PORT/MODEL``: a model on a Triton server (its description read from the server; an outage longer
    than ``server_wait_s`` ends the run)."""
    kind = detect_format(path)
    if kind == "triton":
        be = TritonBackend(str(path), outage_timeout_s=server_wait_s)
        return be, be.describe()
    if kind == "engine":
        be = TensorRTBackend(str(path))
        return be, be.md
    if kind == "checkpoint":
        raise DrsnEdgeError(f"{path} is a training checkpoint; export it first (drsn-edge export {path} -o model.onnx)")
    md = read_description(path)
    if settings is not None and settings.provider == "openvino":
        return OpenVinoBackend(str(path), settings, warmup=warmup, md=md), md
    return OnnxRuntimeBackend(str(path), settings, warmup=warmup, md=md), md


def describe_model(path: str | Path) -> ModelMetadata:
    """The description of a model file, or of a model on a Triton server (asked of the server)."""
    if detect_format(path) != "triton":
        return read_description(path)
    be, md = open_model(path)
    be.close()
    return md
