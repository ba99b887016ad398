"""Per-window input normalization, part of the network so training and device cannot drift."""

from __future__ import annotations

import torch
from torch import nn


class WindowStandardize(nn.Module):
    """Zero mean, unit RMS per window and channel: ``(x - mean) / sqrt(var + eps)``.

    Exported with the graph (ReduceMean, Sub, Mul, Add, Sqrt, Div), so a device feeds raw
    samples in the training units (g) and gets the same logits as PyTorch.
    """

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centered = x - torch.mean(x, dim=-1, keepdim=True)
        var = torch.mean(centered * centered, dim=-1, keepdim=True)
        return centered / torch.sqrt(var + self.eps)
