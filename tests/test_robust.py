"""Models that say what they do not know: novelty and noise-level outputs in the exported graph, "unknown" windows
and novelty alarms in the runtime, and adaptation to a new machine."""

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from cli_helpers import assert_one_line_error, run_cli
from scipy.stats import spearmanr

from drsn_edge.data.noise import add_noise
from drsn_edge.data.simulator import simulate_bearing, simulate_sequence


def test_heads_in_the_exported_graph_match_pytorch(stream_model):
    from drsn_edge.runtime.model_file import read_description
    from drsn_edge.training.checkpoint import load_checkpoint

    ckpt, onnx_path = stream_model
    md = read_description(onnx_path)
    assert md.extra_outputs == ["novelty", "noise_level"] and md.novelty["threshold"] > 0 and md.noise["unit"] == "dB"
    proto = onnx.load(str(onnx_path))
    assert [o.name for o in proto.graph.output] == ["logits", "novelty", "noise_level"]
    model, _ = load_checkpoint(ckpt)
    x = np.stack([simulate_bearing(c, duration=0.2, seed=i)[None, :2048] for i, c in
                  enumerate(["normal", "ball", "outer_race", "inner_race"])]).astype(np.float32)
    ref = model.forward_all(torch.from_numpy(x))
    got = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    for r, g in zip((ref["logits"], ref["novelty"], ref["noise_level"]), got):
        np.testing.assert_allclose(g, r.detach().numpy(), rtol=1e-3, atol=1e-3)


def test_noise_level_follows_the_injected_noise(stream_model):
    from drsn_edge.runtime import open_model

    _, onnx_path = stream_model
    be, md = open_model(onnx_path)
    be.activate()
    x = np.stack([simulate_bearing(c, duration=2.0, seed=40 + i)[None, k * 2048 : (k + 1) * 2048]
                  for i, c in enumerate(["normal", "ball", "outer_race", "inner_race"]) for k in range(10)])
    rng = np.random.default_rng(0)
    levels, est = [], []
    for snr in (-6, 0, 6, 12, 20):
        _, extra = be.infer_all(add_noise(x, snr, "gaussian", rng).astype(np.float32))
        est.append(extra["noise_level"])
        levels.append(np.full(len(x), -snr))
    rho = spearmanr(np.concatenate(est), np.concatenate(levels)).statistic
    # a short simulator fit (the stream fixture) lands at 0.79-0.9 depending on its weights; the CWRU acceptance
    # run, benchmarks/results/noise_telemetry.md, asks >= 0.9
    assert rho > 0.7, rho


def test_windows_unlike_every_class_are_unknown_and_raise_a_novelty_alarm(stream_model, tmp_path, capsys):
    _, onnx_path = stream_model
    t = np.arange(12000 * 12) / 12000
    # a pure 1 kHz tone (an electrical or gear-mesh line no bearing state makes): this fixture's recipe trained on one
    # torch thread scored it 8x the threshold (4.6x with the refit); a 37 Hz square wave, used before, scored below
    # the threshold for that model (training differs in the last bits between thread counts)
    strange = np.concatenate([simulate_sequence([("normal", 4.0)], seed=5),
                              0.3 * np.sin(2 * np.pi * 1000 * t[: 12000 * 8])
                              + 0.003 * np.random.default_rng(1).standard_normal(12000 * 8)])
    np.save(tmp_path / "s.npy", strange[None].astype(np.float32))
    code, out, _ = run_cli(capsys, ["stream", str(onnx_path), str(tmp_path / "s.npy"), "--fs", "12000"])
    recs = [json.loads(line) for line in out.splitlines()]
    windows = [r for r in recs if r["type"] == "window"]
    late = [w for w in windows if w["stream_time"] > 6.0]
    assert sum(w["label"] == "unknown" for w in late) > 0.8 * len(late)
    assert all("noise_level" in w and "novelty" in w for w in windows)
    alarms = [r for r in recs if r["type"] == "alarm" and r["state"] == "alarm"]
    assert alarms and all(a["kind"] == "novelty" and a["label"] == "unknown" for a in alarms)
    verdict = recs[-1]["streams"][0]["verdicts"][0]
    assert verdict["unknown"] == sum(w["label"] == "unknown" for w in windows)


def test_adapt_to_a_new_machine_then_export(stream_model, tmp_path, capsys):
    from drsn_edge.training.checkpoint import load_checkpoint, read_checkpoint

    ckpt, _ = stream_model
    target = tmp_path / "new-machine"
    target.mkdir()
    for i, c in enumerate(["normal", "ball", "outer_race", "inner_race"]):
        x = simulate_bearing(c, duration=3.0, seed=200 + i, resonance_band=(3000, 5500))  # another structure
        np.save(target / f"{i}.npy", x[None])
    out = tmp_path / "adapted.safetensors"
    code, _, err = run_cli(capsys, ["adapt", str(ckpt), "--data", str(target), "--file-fs", "12000", "-o", str(out),
                                    "--method", "tent"])
    assert code == 0, err
    md, _ = read_checkpoint(out)
    assert md.adaptation["method"] == "tent" and "4 recordings" in md.adaptation["target"] and md.metrics == {}
    a, _ = load_checkpoint(ckpt)
    b, _ = load_checkpoint(out)
    assert not torch.allclose(a.stem.weight, a.stem.weight * 0)
    assert not torch.allclose(a.bn.running_mean, b.bn.running_mean)  # statistics of the new machine
    assert torch.equal(a.stem.weight, b.stem.weight)  # convolutions untouched
    code, text, err = run_cli(capsys, ["export", str(out), "-o", str(tmp_path / "a.onnx")])
    assert code == 0 and "PASS" in text, err
    from drsn_edge.runtime.model_file import read_description

    assert read_description(tmp_path / "a.onnx").adaptation["method"] == "tent"


def test_adapt_refuses_a_target_recorded_in_one_state(tmp_path, capsys):
    """Recordings of a healthy machine alone: AdaBN normalises away what tells healthy from faulty (measured: a model
    calling 99 % of these windows healthy called 25 % healthy after it). ``adapt`` refuses in one line and writes
    nothing; before, it wrote that model without a word."""
    model = Path(__file__).resolve().parents[1] / "benchmarks" / "models" / "sim-paper-cw.safetensors"
    target = tmp_path / "healthy"
    target.mkdir()
    for s in (21, 22):
        np.save(target / f"pump-{s}.npy", simulate_bearing("normal", duration=12.0, seed=s).astype(np.float32))
    out = tmp_path / "adapted.safetensors"
    assert_one_line_error(capsys, ["adapt", str(model), "--data", str(target), "--file-fs", "12000", "-o", str(out),
                                   "--method", "adabn"], "relabelled")
    assert not out.exists()
    code, _, _ = run_cli(capsys, ["adapt", str(model), "--data", str(target), "--file-fs", "12000", "-o", str(out),
                                  "--method", "adabn", "--force"])
    assert code == 0 and out.is_file()


def test_adabn_measures_statistics_under_the_training_augmentation():
    """The source statistics were measured on polarity-flipped (and noise-mixed) windows: AdaBN measures the target's
    the same way, or it moves them by what training added rather than by the machine."""
    from torch import nn

    from drsn_edge.data.augment import Augment
    from drsn_edge.training.adapt import adabn

    x = (np.abs(np.random.default_rng(0).standard_normal((512, 1, 256))) + 1.0).astype(np.float32)  # all positive
    plain, flipped = nn.Sequential(nn.BatchNorm1d(1)), nn.Sequential(nn.BatchNorm1d(1))
    adabn(plain, x)
    adabn(flipped, x, augment=Augment(speed=0.0, gain_db=0.0, polarity=True))
    assert float(plain[0].running_mean[0]) > 1.5
    assert abs(float(flipped[0].running_mean[0])) < 0.2
