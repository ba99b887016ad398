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


@pytest.mark.parametrize("arch, ratios", [("drsn-cw", 4 * 4 + 8 * 4 + 16 * 4), ("drsn-cs", 12), ("resnet", 0)])
def test_the_novelty_head_scores_pooled_features_and_every_log_threshold_ratio(arch, ratios):
    m = create_model(arch, "paper", num_classes=3, heads=["novelty"]).eval()
    assert m.novelty.means.shape == (3, 16 + ratios)
    x = torch.randn(5, 1, 2048, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        f, alphas = m.features_and_alphas(x)
        inputs = torch.cat([f, *[torch.log(a + 1e-6) for a in alphas]], dim=1)
        m.novelty.means.copy_(torch.randn(3, inputs.shape[1], generator=torch.Generator().manual_seed(1)))
        d = inputs[:, None] - m.novelty.means[None]
        assert torch.allclose(m.forward_all(x)["novelty"], (d * d).sum(-1).min(1).values, rtol=1e-5)


def test_a_model_written_before_the_ratios_joined_keeps_its_novelty_input():
    """A stored config without ``novelty_input`` (every checkpoint written before it) scores the pooled features only,
    so its fitted head's weights still load."""
    from drsn_edge.models.config import ModelConfig
    from drsn_edge.models.factory import model_from_config

    d = create_model("drsn-cw", "paper", num_classes=4, heads=["novelty"]).config.to_dict()
    assert d.pop("novelty_input") == "features+ratios"
    old = model_from_config(ModelConfig.from_dict(d))
    assert old.config.novelty_input == "features" and old.novelty.means.shape == (4, 16)
    with pytest.raises(ValueError, match="unknown novelty input"):
        model_from_config(ModelConfig.from_dict({**d, "novelty_input": "logits"}))
