"""The heads fitted on a network's features (models/heads.py)."""

import torch

from drsn_edge.models.heads import AnomalyHead, NoiseHead


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


def test_a_noise_feature_near_constant_at_fitting_does_not_throw_the_estimate_when_it_moves():
    """A shrinkage ratio saturated on every fitting window (near 1, moving by 1e-5 with the noise): at inference it
    moves by 0.01, and the noise estimate stays within a few dB of what it was (without the floor, its own spread
    scaled that to a thousand spreads and the estimate by hundreds of dB)."""
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(400, 6, generator=g)
    feats[:, 2] = 1e-5 * feats[:, 0]  # the log of a ratio saturated at 1, following the noise a little
    level = feats[:, 0] * 5 + feats[:, 1] * 3 + torch.randn(400, generator=g) * 0.1
    head = NoiseHead(6)
    head.fit(feats, level)
    moved = feats[:50].clone()
    moved[:, 2] = -0.01
    assert torch.all((head(moved) - head(feats[:50])).abs() < 3.0)
    assert torch.corrcoef(torch.stack([head(feats), level]))[0, 1] > 0.99
