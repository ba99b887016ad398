"""Adaptation to a new machine from its unlabelled recordings."""


import numpy as np
import torch
from torch import nn

from drsn_edge.data.augment import Augment
from drsn_edge.data.simulator import simulate_bearing
from drsn_edge.modelfile import read_description
from drsn_edge.models.checkpoint import load_checkpoint
from drsn_edge.training.adapt import adabn
from drsn_edge.zoo import MODELS
from tests.cli_helpers import assert_one_line_error, run_cli


def test_adapt_to_a_new_machine_then_export(stream_model, tmp_path, capsys):
    ckpt, _ = stream_model
    target = tmp_path / "new-machine"
    target.mkdir()
    for i, c in enumerate(["normal", "ball", "outer_race", "inner_race"]):
        x = simulate_bearing(c, duration=3.0, seed=200 + i, resonance_band=(3000, 5500))  # another structure
        np.save(target / f"{i}.npy", x[None])
    out = tmp_path / "adapted.safetensors"
    code, _, err = run_cli(capsys, ["adapt", str(ckpt), "--data", str(target), "--fs", "12000", "-o", str(out),
                                    "--method", "tent"])
    assert code == 0, err
    md = read_description(out)
    assert md.adaptation["method"] == "tent" and "4 recordings" in md.adaptation["target"] and md.metrics == {}
    a, _ = load_checkpoint(ckpt)
    b, _ = load_checkpoint(out)
    assert not torch.allclose(a.stem.weight, a.stem.weight * 0)
    assert not torch.allclose(a.bn.running_mean, b.bn.running_mean)  # statistics of the new machine
    assert torch.equal(a.stem.weight, b.stem.weight)  # convolutions untouched
    code, text, err = run_cli(capsys, ["export", str(out), "-o", str(tmp_path / "a.onnx")])
    assert code == 0 and "PASS" in text, err
    assert read_description(tmp_path / "a.onnx").adaptation["method"] == "tent"


def test_adapt_refuses_a_target_recorded_in_one_state(tmp_path, capsys):
    """Recordings of a healthy machine alone: AdaBN normalises away what tells healthy from faulty (measured: a model
    calling 99 % of these windows healthy called 25 % healthy after it). ``adapt`` refuses in one line and writes
    nothing; before, it wrote that model without a word."""
    model = MODELS["sim-paper"].path
    target = tmp_path / "healthy"
    target.mkdir()
    for s in (21, 22):
        np.save(target / f"pump-{s}.npy", simulate_bearing("normal", duration=12.0, seed=s).astype(np.float32))
    out = tmp_path / "adapted.safetensors"
    assert_one_line_error(capsys, ["adapt", str(model), "--data", str(target), "--fs", "12000", "-o", str(out),
                                   "--method", "adabn"], "relabelled")
    assert not out.exists()
    code, _, _ = run_cli(capsys, ["adapt", str(model), "--data", str(target), "--fs", "12000", "-o", str(out),
                                  "--method", "adabn", "--force"])
    assert code == 0 and out.is_file()


def test_adabn_measures_statistics_under_the_training_augmentation():
    """The source statistics were measured on polarity-flipped (and noise-mixed) windows: AdaBN measures the target's
    the same way, or it moves them by what training added rather than by the machine."""
    x = (np.abs(np.random.default_rng(0).standard_normal((512, 1, 256))) + 1.0).astype(np.float32)  # all positive
    plain, flipped = nn.Sequential(nn.BatchNorm1d(1)), nn.Sequential(nn.BatchNorm1d(1))
    adabn(plain, x)
    adabn(flipped, x, augment=Augment(speed=0.0, gain_db=0.0, polarity=True))
    assert float(plain[0].running_mean[0]) > 1.5
    assert abs(float(flipped[0].running_mean[0])) < 0.2
