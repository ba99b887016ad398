"""Two extra outputs of a trained network, fitted after training and exported with standard ops.

- :class:`NoveltyHead`: how unlike every known class a window is: the Mahalanobis distance of its pooled features (and,
  by default, every shrinkage unit's log threshold ratio: the inner layers' view, as Lee et al. combine layers) to the
  nearest class mean under a shared covariance (Lee et al., "A simple unified framework for detecting
  out-of-distribution samples and adversarial attacks", NeurIPS 2018). With the ratios, a CWRU fault class left out of
  training ranked above the known classes' test windows with a mean AUROC of 0.945, against 0.919 for the pooled
  features alone on the same networks (benchmarks/results/open_set.md).
- :class:`NoiseHead`: the noise level of a window in dB (noise power relative to the vibration, about -SNR), read from
  the network's own soft thresholds: every shrinkage unit learns tau = alpha * mean|x| to remove noise, so the
  ratios alpha say how noisy the window looks to it. A ridge regression on log(alpha), fitted on training windows
  with noise of known level.
- :class:`AnomalyHead`: how unlike *this machine's* healthy state a window is (``drsn-edge enrol``): the Mahalanobis
  distance of its pooled features and log shrinkage ratios (the noise the network sees: a healthy machine's is part of
  its baseline) to their healthy mean, under a Ledoit-Wolf shrunk
  covariance fitted on the machine's healthy windows only, divided by the feature count (about 1 on healthy windows).
"""

from __future__ import annotations

import torch
from torch import nn

#: the heads a network may have, by the name its config lists
HEADS = ("novelty", "noise", "anomaly")


#: no feature's spread is taken below this share of the median feature's: a unit that is silent on every fitted window
#: (a ReLU's zero, a saturated ratio) otherwise scales the smallest stray value to thousands of spreads. Measured on
#: CWRU's fan-end healthy recording: five features had a spread under 1e-4, one alone put the healthy second half at
#: 870 spreads, and the anomaly threshold it set (7e5) held off ball-fault alarms for 2-10 s
#: (benchmarks/results/enrolment.md)
SCALE_FLOOR = 0.05


def floored_spread(feats: torch.Tensor) -> torch.Tensor:
    """Each feature's standard deviation over the rows of ``feats``, floored at ``SCALE_FLOOR`` of the median one."""
    spread = feats.std(0)
    return torch.clamp(spread, min=float(SCALE_FLOOR * spread.median()) + 1e-6)


class NoveltyHead(nn.Module):
    def __init__(self, num_classes: int, features: int) -> None:
        super().__init__()
        self.register_buffer("means", torch.zeros(num_classes, features))
        self.register_buffer("precision", torch.eye(features))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        d = f.unsqueeze(1) - self.means.unsqueeze(0)  # (N, K, C)
        q = torch.sum(torch.matmul(d, self.precision) * d, dim=-1)  # (N, K)
        return torch.min(q, dim=1).values

    @torch.no_grad()
    def fit(self, f: torch.Tensor, y: torch.Tensor, shrink: float = 1e-3) -> None:
        k = self.means.shape[0]
        means = torch.stack([f[y == c].mean(0) if (y == c).any() else torch.zeros(f.shape[1]) for c in range(k)])
        centred = f - means[y]
        cov = centred.T @ centred / max(1, len(f) - k)
        cov += shrink * torch.trace(cov) / cov.shape[0] * torch.eye(cov.shape[0])  # keep it invertible
        self.means.copy_(means)
        self.precision.copy_(torch.linalg.inv(cov))


class NoiseHead(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("scale", torch.ones(features))
        self.register_buffer("weight", torch.zeros(features))
        self.register_buffer("bias", torch.zeros(()))

    @staticmethod
    def features(alphas: list[torch.Tensor]) -> torch.Tensor:
        return torch.log(torch.cat(alphas, dim=1) + 1e-6)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return torch.matmul((feats - self.mean) / self.scale, self.weight) + self.bias

    @torch.no_grad()
    def fit(self, feats: torch.Tensor, level_db: torch.Tensor, ridge: float = 1.0) -> None:
        mean, scale = feats.mean(0), floored_spread(feats)
        z = (feats - mean) / scale
        target = level_db - level_db.mean()
        w = torch.linalg.solve(z.T @ z + ridge * torch.eye(z.shape[1]), z.T @ target)
        self.mean.copy_(mean)
        self.scale.copy_(scale)
        self.weight.copy_(w)
        self.bias.copy_(level_db.mean())


class AnomalyHead(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.count = features  # a constant in the graph (a Shape op is not on the export allow-list)
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("scale", torch.ones(features))
        self.register_buffer("precision", torch.eye(features))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        z = (feats - self.mean) / self.scale
        return torch.sum(torch.matmul(z, self.precision) * z, dim=-1) / self.count

    @torch.no_grad()
    def fit(self, feats: torch.Tensor) -> dict[str, float]:
        """Fit on healthy windows' features; returns the Ledoit-Wolf shrinkage chosen."""
        from sklearn.covariance import LedoitWolf

        mean, scale = feats.mean(0), floored_spread(feats)
        z = ((feats - mean) / scale).double().numpy()
        lw = LedoitWolf(assume_centered=True).fit(z)
        self.mean.copy_(mean)
        self.scale.copy_(scale)
        self.precision.copy_(torch.from_numpy(lw.precision_).float())
        return {"shrinkage": float(lw.shrinkage_)}
