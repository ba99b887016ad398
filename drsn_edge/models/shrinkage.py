"""Soft thresholding and the learned-threshold sub-network of Zhao et al. (2020).

M. Zhao, S. Zhong, X. Fu, B. Tang, M. Pecht, "Deep residual shrinkage networks for fault
diagnosis", IEEE Trans. Industrial Informatics 16(7), 4681-4690, 2020.
"""

from __future__ import annotations

import torch
from torch import nn

#: Ways of writing y = sign(x) * max(|x| - tau, 0) with standard ONNX ops. All are exact in fp32.
THRESHOLD_MODES = ("sign", "clamp", "relu")


def soft_threshold(x: torch.Tensor, tau: torch.Tensor, mode: str = "sign") -> torch.Tensor:
    """Soft thresholding ``sign(x) * max(|x| - tau, 0)`` with a broadcastable, non-negative ``tau``.

    ``mode`` picks the decomposition the ONNX exporter sees (ONNX ``Shrink`` takes only a scalar):

    - ``"sign"``:  ``sign(x) * relu(|x| - tau)``  (Abs, Sub, Relu, Sign, Mul)
    - ``"clamp"``: ``x - min(max(x, -tau), tau)``  (Neg, Max, Min, Sub; no Sign, for TensorRT < 8.2)
    - ``"relu"``:  ``relu(x - tau) - relu(-x - tau)``  (Sub, Neg, Relu; no Sign)
    """
    if mode == "sign":
        return torch.sign(x) * torch.relu(torch.abs(x) - tau)
    if mode == "clamp":
        return x - torch.minimum(torch.maximum(x, -tau), tau)
    if mode == "relu":
        return torch.relu(x - tau) - torch.relu(-x - tau)
    raise ValueError(f"unknown soft-threshold mode {mode!r}; choose from {', '.join(THRESHOLD_MODES)}")


class ThresholdNet(nn.Module):
    """Attention sub-network that learns tau from the feature map (Zhao et al. 2020, Figs. 4 and 5).

    a = GAP(|x|) per channel; alpha = sigmoid(FC(BN-ReLU(FC(a)))); tau = alpha * a for the
    channel-wise variant (DRSN-CW), tau = alpha * mean_c(a) for the channel-shared one (DRSN-CS).
    Returns tau shaped ``(N, C, 1)`` (CW) or ``(N, 1, 1)`` (CS), ready to broadcast over time.
    """

    def __init__(self, channels: int, channel_wise: bool = True) -> None:
        super().__init__()
        self.channel_wise = channel_wise
        self.fc1 = nn.Linear(channels, channels)
        self.bn = nn.BatchNorm1d(channels)
        self.fc2 = nn.Linear(channels, channels if channel_wise else 1)

    def forward(self, x: torch.Tensor, with_alpha: bool = False):
        """tau ``(N, C or 1, 1)``; with ``with_alpha`` also the learned ratio alpha = tau / mean|x| ``(N, C or 1)``."""
        a = torch.mean(torch.abs(x), dim=-1)
        alpha = torch.sigmoid(self.fc2(torch.relu(self.bn(self.fc1(a)))))
        if not self.channel_wise:
            a = torch.mean(a, dim=1, keepdim=True)
        tau = (alpha * a).unsqueeze(-1)
        return (tau, alpha) if with_alpha else tau


class Shrinkage(nn.Module):
    """Soft thresholding with a threshold learned per sample (and per channel for CW)."""

    def __init__(self, channels: int, channel_wise: bool = True, mode: str = "sign") -> None:
        super().__init__()
        if mode not in THRESHOLD_MODES:
            raise ValueError(f"unknown soft-threshold mode {mode!r}")
        self.mode = mode
        self.threshold = ThresholdNet(channels, channel_wise)

    def forward(self, x: torch.Tensor, with_alpha: bool = False):
        """The thresholded map; with ``with_alpha`` also the threshold sub-network's alpha.

        Sub-modules are always entered through ``__call__`` so that exported node names keep their module scope
        (``.../shrink/threshold/...``): INT8 quantization finds the threshold sub-networks by it."""
        tau, alpha = self.threshold(x, with_alpha=True)
        y = soft_threshold(x, tau, self.mode)
        return (y, alpha) if with_alpha else y
