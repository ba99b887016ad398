"""Torch-free on-device runtime: numpy + onnxruntime (or TensorRT). Never imports torch."""

from drsn_edge.runtime.metadata import ModelMetadata, read_onnx_metadata
from drsn_edge.runtime.providers import ProviderSettings, make_session

__all__ = ["ModelMetadata", "ProviderSettings", "make_session", "read_onnx_metadata"]
