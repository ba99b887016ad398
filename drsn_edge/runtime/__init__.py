"""Torch-free on-device runtime: numpy + onnxruntime (or TensorRT). Never imports torch."""

from drsn_edge.modelfile import ModelMetadata
from drsn_edge.runtime.config import StreamConfig, parse_channel_map
from drsn_edge.runtime.decisions import AlarmConfig, AlarmEvent, AlarmStateMachine, Smoother
from drsn_edge.runtime.loader import describe_model, open_model
from drsn_edge.runtime.providers import ProviderSettings, make_session
from drsn_edge.runtime.runner import StreamRunner

__all__ = ["AlarmConfig", "AlarmEvent", "AlarmStateMachine", "ModelMetadata", "ProviderSettings", "Smoother",
           "StreamConfig", "StreamRunner", "describe_model", "make_session", "open_model", "parse_channel_map"]
