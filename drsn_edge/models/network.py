"""The 1-D residual (shrinkage) network: stem, stages of residual units, head."""

from __future__ import annotations

import torch
from torch import nn

from drsn_edge.models.config import ARCHITECTURES, NOVELTY_INPUTS, ModelConfig
from drsn_edge.models.heads import HEADS, AnomalyHead, NoiseHead, NoveltyHead
from drsn_edge.models.normalization import WindowStandardize
from drsn_edge.models.residual_unit import ResidualUnit
from drsn_edge.models.shrinkage import THRESHOLD_MODES, Shrinkage


class ResidualShrinkageNet1d(nn.Module):
    """DRSN-CW / DRSN-CS (Zhao et al., IEEE TII 16(7), 2020) or a plain pre-activation ResNet.

    Input ``(N, in_channels, window)`` raw samples; output ``(N, num_classes)`` logits.
    Layout (Table II of the paper for the ``paper`` preset): [per-window standardization] ->
    Conv(stem) -> stages of residual units (first unit of each stage stride 2) -> BN-ReLU-GAP -> FC.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        shrinkage = ARCHITECTURES[config.arch]
        self.norm = WindowStandardize() if config.normalize else nn.Identity()
        self.stem = nn.Conv1d(
            config.in_channels,
            config.stem_channels,
            config.stem_kernel,
            stride=config.stem_stride,
            padding=config.stem_kernel // 2,
        )
        units: list[nn.Module] = []
        channels = config.stem_channels
        for out_channels, count in config.stages:
            for i in range(count):
                units.append(
                    ResidualUnit(
                        channels,
                        out_channels,
                        stride=2 if i == 0 else 1,
                        kernel_size=config.kernel_size,
                        shrinkage=shrinkage,
                        shortcut=config.shortcut,
                        threshold_mode=config.threshold_mode,
                    )
                )
                channels = out_channels
        self.units = nn.Sequential(*units)
        self.bn = nn.BatchNorm1d(channels)
        self.dropout = nn.Dropout(config.dropout) if config.dropout > 0 else nn.Identity()
        self.fc = nn.Linear(channels, config.num_classes)
        heads = set(config.heads)
        if heads - set(HEADS):
            raise ValueError(f"unknown heads {sorted(heads - set(HEADS))}; a model has {', '.join(HEADS)}")
        if config.novelty_input not in NOVELTY_INPUTS:
            raise ValueError(f"unknown novelty input {config.novelty_input!r}; choose from {', '.join(NOVELTY_INPUTS)}")
        alpha_features = sum(u.shrink.threshold.fc2.out_features for u in self.units if hasattr(u.shrink, "threshold"))
        with_ratios = config.novelty_input == "features+ratios"
        self.novelty = (NoveltyHead(config.num_classes, channels + (alpha_features if with_ratios else 0))
                        if "novelty" in heads else None)
        if "noise" in heads and not alpha_features:
            raise ValueError("a noise head needs shrinkage units (drsn-cw or drsn-cs)")
        self.noise = NoiseHead(alpha_features) if "noise" in heads else None
        self.anomaly = AnomalyHead(channels + alpha_features) if "anomaly" in heads else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled feature vector before the classifier, ``(N, C)``."""
        return self.features_and_alphas(x)[0]

    def features_and_alphas(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Pooled features ``(N, C)`` and every shrinkage unit's alpha = tau / mean|x|."""
        h = self.stem(self.norm(x))
        alphas = []
        for unit in self.units:
            h, alpha = unit(h, with_alpha=True)
            if alpha is not None:
                alphas.append(alpha)
        return torch.mean(torch.relu(self.bn(h)), dim=-1), alphas

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.features(x)))

    def novelty_features(self, f: torch.Tensor, ratios: torch.Tensor | None) -> torch.Tensor:
        """What the novelty head scores (``config.novelty_input``): the pooled features ``f``, with the log threshold
        ratios (``NoiseHead.features``; None without shrinkage units) where the config says so."""
        return torch.cat([f, ratios], dim=1) if ratios is not None and self.config.novelty_input == "features+ratios" else f

    def head_outputs(self) -> list[str]:
        """Names of the outputs this network's fitted heads add beside the logits."""
        return [name for name, head in (("novelty", self.novelty), ("noise_level", self.noise), ("anomaly", self.anomaly))
                if head is not None]

    def forward_all(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits and every fitted head's output: ``novelty`` (N,), ``noise_level`` (N,) in dB, ``anomaly`` (N,)."""
        f, alphas = self.features_and_alphas(x)
        ratios = NoiseHead.features(alphas) if alphas else None  # once: three heads read them
        out = {"logits": self.fc(self.dropout(f))}
        if self.novelty is not None:
            out["novelty"] = self.novelty(self.novelty_features(f, ratios))
        if self.noise is not None:
            out["noise_level"] = self.noise(ratios)
        if self.anomaly is not None:
            out["anomaly"] = self.anomaly(f if ratios is None else torch.cat([f, ratios], dim=1))
        return out

    def set_threshold_mode(self, mode: str) -> None:
        """Switch every shrinkage layer to another (numerically identical) decomposition."""
        if mode not in THRESHOLD_MODES:
            raise ValueError(f"unknown soft-threshold mode {mode!r}")
        for m in self.modules():
            if isinstance(m, Shrinkage):
                m.mode = mode
        self.config.threshold_mode = mode
