import pytest
import torch

from drsn_edge import DrsnEdgeError, create_model
from drsn_edge.models import Shrinkage, ThresholdNet


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_paper_parameter_counts_match_zhao_2020():
    # Table II of the paper, 8 classes: about 11.5k (CW) and 10.2k (CS) parameters.
    assert n_params(create_model("drsn-cw", "paper", num_classes=8)) == 11552
    assert n_params(create_model("drsn-cs", "paper", num_classes=8)) == 10220
    assert not any(isinstance(m, Shrinkage) for m in create_model("resnet", "paper").modules())


@pytest.mark.parametrize("arch", ["drsn-cw", "drsn-cs", "resnet"])
@pytest.mark.parametrize("preset", ["paper", "wide"])
def test_shapes_multichannel(arch, preset):
    m = create_model(arch, preset, in_channels=3, num_classes=5).eval()
    assert m(torch.randn(2, 3, 2048)).shape == (2, 5)
    assert m(torch.randn(1, 3, 1024)).shape == (1, 5)  # any length: global average pooling


def test_threshold_shapes_cw_vs_cs():
    x = torch.randn(4, 6, 32)
    cw, cs = ThresholdNet(6, channel_wise=True).eval(), ThresholdNet(6, channel_wise=False).eval()
    t_cw, t_cs = cw(x), cs(x)
    assert t_cw.shape == (4, 6, 1) and t_cs.shape == (4, 1, 1)
    a = x.abs().mean(-1)
    # tau = alpha * a with alpha in (0, 1)
    assert torch.all(t_cw.squeeze(-1) <= a) and torch.all(t_cw > 0)
    assert torch.all(t_cs.squeeze(-1) <= a.mean(1, keepdim=True))


def test_threshold_mode_switch_keeps_outputs():
    torch.manual_seed(0)
    m = create_model("drsn-cw", "paper", num_classes=4).eval()
    x = torch.randn(3, 1, 2048)
    ref = m(x)
    for mode in ("clamp", "relu", "sign"):
        m.set_threshold_mode(mode)
        assert torch.equal(m(x), ref)


def test_normalization_makes_output_scale_invariant():
    torch.manual_seed(0)
    m = create_model("drsn-cw", "paper", num_classes=4).eval()
    x = torch.randn(2, 1, 2048)
    torch.testing.assert_close(m(x), m(10 * x + 3), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("bad", [dict(name="drsn-xx"), dict(preset="huge")])
def test_unknown_model_or_preset(bad):
    with pytest.raises(DrsnEdgeError, match="unknown"):
        create_model(**bad)


def test_sizes_configurable():
    m = create_model("drsn-cw", "paper", stages=[(8, 2), (16, 2)], stem_channels=8, window=1024)
    assert m.config.window == 1024 and len(m.units) == 4
