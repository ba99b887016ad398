"""The heads fitted on a network's features (models/heads.py)."""

import torch

from drsn_edge.models.heads import AnomalyHead


def test_a_feature_silent_on_healthy_windows_does_not_scale_a_stray_value_to_thousands():
    """A unit that is zero on every healthy window (a ReLU's): a healthy window where it reads 1e-3 scores about as
    every other healthy window, while a window where it fires scores high."""
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(500, 8, generator=g)
    feats[:, 3] = 0.0
    head = AnomalyHead(8)
    head.fit(feats)
    healthy = head(feats[:50])
    stray = feats[:50].clone()
    stray[:, 3] = 1e-3
    fired = feats[:50].clone()
    fired[:, 3] = 1.0
    assert torch.all((head(stray) - healthy).abs() < 0.01)
    assert torch.all(head(fired) > healthy.max() * 10)
