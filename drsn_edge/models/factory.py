"""``create_model``: the library entry point for building networks by name."""

from __future__ import annotations

from typing import Any

from drsn_edge.models.config import ARCHITECTURES, PRESETS, ModelConfig, resolve_config
from drsn_edge.models.network import ResidualShrinkageNet1d


def list_models() -> dict[str, list[str]]:
    """Model names and the presets each accepts."""
    return {name: list(PRESETS) for name in ARCHITECTURES}


def create_model(
    name: str = "drsn-cw",
    preset: str = "paper",
    in_channels: int = 1,
    num_classes: int = 10,
    **overrides: Any,
) -> ResidualShrinkageNet1d:
    """Build ``drsn-cw``, ``drsn-cs`` or ``resnet`` from a preset; any size can be overridden.

    >>> model = create_model("drsn-cw", preset="paper", in_channels=1, num_classes=10)
    """
    config = resolve_config(name, preset, in_channels=in_channels, num_classes=num_classes, **overrides)
    return ResidualShrinkageNet1d(config)


def model_from_config(config: ModelConfig | dict[str, Any]) -> ResidualShrinkageNet1d:
    """Rebuild a network from a stored configuration."""
    if isinstance(config, dict):
        config = ModelConfig.from_dict(config)
    return ResidualShrinkageNet1d(config)
