"""Models that say what they do not know: novelty and noise-level outputs in the exported graph, "unknown" windows
and novelty alarms in the runtime."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import torch
from scipy.stats import spearmanr

from drsn_edge.data.noise import add_noise
from drsn_edge.data.simulator import simulate_bearing, simulate_sequence
from drsn_edge.modelfile import read_description
from drsn_edge.models.checkpoint import load_checkpoint
from drsn_edge.runtime import open_model
from tests.cli_helpers import run_cli


def test_heads_in_the_exported_graph_match_pytorch(stream_model):
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
