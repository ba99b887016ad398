"""Torch-free on-device runtime: numpy + onnxruntime (or TensorRT). Never imports torch."""

from drsn_edge.runtime.config import StreamConfig, parse_channel_map
from drsn_edge.runtime.decisions import AlarmConfig, AlarmEvent, AlarmStateMachine, Smoother
from drsn_edge.runtime.loader import open_model
from drsn_edge.runtime.metadata import ModelMetadata, read_onnx_metadata
from drsn_edge.runtime.providers import ProviderSettings, make_session
from drsn_edge.runtime.runner import StreamRunner

__all__ = ["AlarmConfig", "AlarmEvent", "AlarmStateMachine", "ModelMetadata", "ProviderSettings", "Smoother",
           "StreamConfig", "StreamRunner", "make_session", "open_model", "parse_channel_map", "read_onnx_metadata"]
