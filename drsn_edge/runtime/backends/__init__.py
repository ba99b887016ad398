"""Inference backends behind one protocol."""

from drsn_edge.runtime.backends.base import Backend, InputSpec
from drsn_edge.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

__all__ = ["Backend", "InputSpec", "OnnxRuntimeBackend"]
