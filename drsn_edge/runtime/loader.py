"""Open a model as a backend plus its description: ONNX (ONNX Runtime), a TensorRT engine (native), a model on a
Triton server, or a drsn-edge checkpoint (PyTorch eager, where torch is installed: the reference for parity and evaluation)."""

from __future__ import annotations

from pathlib import Path

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.metadata import ModelMetadata
from drsn_edge.runtime.model_file import detect_format, read_description
from drsn_edge.runtime.providers import ProviderSettings


def open_model(path: str | Path, settings: ProviderSettings | None = None, warmup: int = 2,
               allow_checkpoint: bool = False, server_wait_s: float = 60.0) -> tuple[object, ModelMetadata]:
    """``(backend, description)``; the format is recognised by content. The backend is not yet activated.
    ``triton://HOST:PORT/MODEL``: a model on a Triton server (its description read from the server; an outage longer
    than ``server_wait_s`` ends the run)."""
    from drsn_edge.runtime.backends.triton_backend import is_triton_url

    if is_triton_url(path):
        from drsn_edge.runtime.backends.triton_backend import TritonBackend

        be = TritonBackend(str(path), outage_timeout_s=server_wait_s)
        return be, be.describe()
    path = Path(path)
    kind = detect_format(path)
    if kind == "engine":
        from drsn_edge.runtime.backends.tensorrt_backend import TensorRTBackend

        be = TensorRTBackend(str(path))
        return be, be.md
    if kind == "checkpoint":
        if not allow_checkpoint:
            raise DrsnEdgeError(f"{path} is a training checkpoint; export it first (drsn-edge export {path} -o model.onnx)")
        try:
            from drsn_edge.export.torch_backend import TorchBackend
        except ImportError:
            raise DrsnEdgeError(f"{path} is a training checkpoint, which needs PyTorch; export it to ONNX for the "
                                "runtime (drsn-edge export)") from None
        be = TorchBackend(str(path))
        return be, be.md
    from drsn_edge.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

    md = read_description(path)
    return OnnxRuntimeBackend(str(path), settings, warmup=warmup, md=md), md
