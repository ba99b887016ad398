"""Pre-activation residual unit, with or without shrinkage (RSBU of Zhao et al. 2020, Fig. 4/5)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from drsn_edge.models.shrinkage import Shrinkage


class ResidualUnit(nn.Module):
    """BN-ReLU-Conv(k, stride)-BN-ReLU-Conv(k) [-> shrinkage] + identity.

    ``shrinkage`` is ``"cw"`` (channel-wise thresholds, DRSN-CW), ``"cs"`` (channel-shared,
    DRSN-CS) or ``None`` (plain pre-activation ResNet unit, He et al. 2016).
    ``shortcut="pad"`` matches the paper's parameter-free identity (subsample by the stride, zero-pad
    new channels); ``"conv"`` uses a 1x1 projection.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        kernel_size: int = 3,
        shrinkage: str | None = "cw",
        shortcut: str = "pad",
        threshold_mode: str = "sign",
    ) -> None:
        super().__init__()
        if shortcut not in ("pad", "conv"):
            raise ValueError(f"unknown shortcut {shortcut!r}; choose 'pad' or 'conv'")
        if out_channels < in_channels and shortcut == "pad":
            raise ValueError("a 'pad' shortcut cannot reduce channels; use shortcut='conv'")
        pad = kernel_size // 2
        self.bn1 = nn.BatchNorm1d(in_channels)
        self.conv1 = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride, padding=pad)
        self.bn2 = nn.BatchNorm1d(out_channels)
        self.conv2 = nn.Conv1d(out_channels, out_channels, kernel_size, padding=pad)
        self.shrink = (
            Shrinkage(out_channels, channel_wise=shrinkage == "cw", mode=threshold_mode)
            if shrinkage
            else nn.Identity()
        )
        self.stride = stride
        self.extra_channels = out_channels - in_channels
        self.project = (
            nn.Conv1d(in_channels, out_channels, 1, stride=stride)
            if shortcut == "conv" and (stride != 1 or in_channels != out_channels)
            else None
        )

    def _identity(self, x: torch.Tensor) -> torch.Tensor:
        if self.project is not None:
            return self.project(x)
        if self.stride != 1:
            x = x[:, :, :: self.stride]  # a strided Slice: half the time of ONNX Runtime's AveragePool(k=1)
        if 0 < self.extra_channels <= x.shape[1]:
            # zeros as x[:, :k] * 0: exports as Slice, Mul, Concat (F.pad on the channel axis exports as a
            # shape-computing subgraph that simplifiers and TensorRT handle less well)
            x = torch.cat([x, x[:, : self.extra_channels] * 0], dim=1)
        elif self.extra_channels:
            x = F.pad(x, (0, 0, 0, self.extra_channels))
        return x

    def forward(self, x: torch.Tensor, with_alpha: bool = False):
        """The unit's output; with ``with_alpha`` also its shrinkage ratios alpha = tau / mean|x| (None for a plain
        ResNet unit)."""
        out = self.conv2(torch.relu(self.bn2(self.conv1(torch.relu(self.bn1(x))))))
        alpha = None
        if isinstance(self.shrink, Shrinkage):
            out, alpha = self.shrink(out, with_alpha=True)
        else:
            out = self.shrink(out)
        out = out + self._identity(x)
        return (out, alpha) if with_alpha else out
