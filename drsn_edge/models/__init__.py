"""DRSN-CW, DRSN-CS and the plain ResNet baseline (PyTorch)."""

from drsn_edge.models.config import ARCHITECTURES, PRESETS, ModelConfig
from drsn_edge.models.factory import create_model, list_models, model_from_config
from drsn_edge.models.network import ResidualShrinkageNet1d
from drsn_edge.models.shrinkage import THRESHOLD_MODES, Shrinkage, ThresholdNet, soft_threshold

__all__ = [
    "ARCHITECTURES", "PRESETS", "THRESHOLD_MODES", "ModelConfig", "ResidualShrinkageNet1d",
    "Shrinkage", "ThresholdNet", "create_model", "list_models", "model_from_config", "soft_threshold",
]
