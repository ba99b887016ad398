"""Model configuration: architecture name, preset and every size, serializable to JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from drsn_edge.errors import DrsnEdgeError

#: Architectures: name -> shrinkage kind of the residual units.
ARCHITECTURES: dict[str, str | None] = {"drsn-cw": "cw", "drsn-cs": "cs", "resnet": None}
#: What the novelty head scores: the pooled features alone (models written before this
#: choice existed), or with every shrinkage
#: unit's log threshold ratio (the default; a network without shrinkage units has none, so features alone)
NOVELTY_INPUTS = ("features", "features+ratios")


@dataclass
class ModelConfig:
    """Everything needed to rebuild a network (weights aside)."""

    arch: str = "drsn-cw"
    preset: str = "paper"
    in_channels: int = 1
    num_classes: int = 10
    window: int = 2048
    stem_channels: int = 4
    stem_kernel: int = 3
    stem_stride: int = 2
    #: (channels, units) per stage; the first unit of each stage has stride 2.
    stages: list[tuple[int, int]] = field(default_factory=lambda: [(4, 4), (8, 4), (16, 4)])
    kernel_size: int = 3
    shortcut: str = "pad"
    normalize: bool = True
    threshold_mode: str = "sign"
    dropout: float = 0.0
    #: extra outputs fitted after training: "novelty" (distance to the known classes), "noise" (noise level, dB)
    heads: list[str] = field(default_factory=list)
    #: one of ``NOVELTY_INPUTS``
    novelty_input: str = "features+ratios"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stages"] = [list(s) for s in self.stages]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise DrsnEdgeError(f"model config has unknown keys: {', '.join(sorted(unknown))}")
        d = dict(d)
        d.setdefault("novelty_input", "features")  # written before the ratios joined the novelty score
        if "stages" in d:
            d["stages"] = [tuple(s) for s in d["stages"]]
        return cls(**d)


#: Presets. ``paper`` is Table II of Zhao et al. (2020); ``wide`` adds a WDCNN-style wide first
#: kernel (Zhang et al., "A new deep learning model for fault diagnosis with good anti-noise and
#: domain adaptation ability on raw vibration signals", Sensors 17(2), 2017) and more channels.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": dict(
        window=2048, stem_channels=4, stem_kernel=3, stem_stride=2,
        stages=[(4, 4), (8, 4), (16, 4)],
    ),
    "wide": dict(
        window=2048, stem_channels=16, stem_kernel=64, stem_stride=8,
        stages=[(16, 2), (32, 2), (64, 2)],
    ),
}


def resolve_config(arch: str, preset: str = "paper", **overrides: Any) -> ModelConfig:
    """Build a :class:`ModelConfig` from an architecture, a preset and explicit overrides."""
    if arch not in ARCHITECTURES:
        raise DrsnEdgeError(f"unknown model {arch!r}; choose from {', '.join(ARCHITECTURES)}")
    if preset not in PRESETS:
        raise DrsnEdgeError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    values = {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return ModelConfig(arch=arch, preset=preset, **values)
    except TypeError as exc:
        raise DrsnEdgeError(f"bad model option: {exc}") from None
