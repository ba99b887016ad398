import pytest
import torch

from drsn_edge import soft_threshold
from drsn_edge.models.shrinkage import THRESHOLD_MODES


def reference(x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.clamp(torch.abs(x) - tau, min=0)


@pytest.mark.parametrize("mode", THRESHOLD_MODES)
def test_formula_at_edges(mode):
    tau = torch.tensor(0.5)
    x = torch.tensor([-2.0, -0.5, -0.25, 0.0, 0.25, 0.5, 2.0])
    y = soft_threshold(x, tau, mode)
    assert torch.equal(y, torch.tensor([-1.5, 0.0, 0.0, 0.0, 0.0, 0.0, 1.5]))


@pytest.mark.parametrize("mode", THRESHOLD_MODES)
def test_broadcast_per_sample_and_per_channel_exact(mode):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 50, generator=g)
    tau_sample = torch.rand(4, 1, 1, generator=g)
    tau_channel = torch.rand(4, 3, 1, generator=g)
    for tau in (tau_sample, tau_channel):
        y = soft_threshold(x, tau, mode)
        assert torch.equal(y, reference(x, tau)), "every decomposition must equal the formula bit for bit"
    # per-channel tau really acts per channel
    y = soft_threshold(x, tau_channel, mode)
    assert torch.all((y == 0) == (x.abs() <= tau_channel))


@pytest.mark.parametrize("mode", THRESHOLD_MODES)
def test_gradient_one_outside_zero_inside(mode):
    x = torch.tensor([-3.0, -1.0, -0.2, 0.1, 0.2, 1.0, 3.0], requires_grad=True)
    tau = torch.tensor(0.5)
    soft_threshold(x, tau, mode).sum().backward()
    assert torch.equal(x.grad, torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0]))


def test_tau_gradient_sign():
    x = torch.tensor([2.0, -2.0, 0.1])
    tau = torch.tensor(0.5, requires_grad=True)
    soft_threshold(x, tau).sum().backward()
    assert tau.grad.item() == pytest.approx(0.0)  # +1 shrinks by -1, -2 by +1, 0.1 dead
    tau.grad = None
    soft_threshold(x, tau).abs().sum().backward()
    assert tau.grad.item() == pytest.approx(-2.0)


def test_unknown_mode():
    with pytest.raises(ValueError, match="unknown soft-threshold mode"):
        soft_threshold(torch.zeros(1), torch.zeros(1), "shrink")
