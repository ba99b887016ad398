"""No silent wrong answers: settings and models that would mislabel windows are refused before streaming, with a
clear message; a model returning NaN never produces a label."""

import json

import numpy as np
import onnx
import pytest

from drsn_edge.data.simulator import simulate_bearing
from tests.cli_helpers import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def rec(tmp_path_factory):
    d = tmp_path_factory.mktemp("rec")
    np.save(d / "r.npy", simulate_bearing("normal", duration=3.0, seed=1)[None])
    return d / "r.npy"


@pytest.mark.parametrize("args,needle", [
    (["--normal-label", "Normal"], "normal label 'Normal' is not a class of the model (normal, inner_race, ball, "
                                   "outer_race); did you mean 'normal'?"),
    (["--queue", "0"], "queue size (windows) must be a whole number from 1 to 65,536, got 0"),
    (["--batch-size", "0"], "batch size (windows) must be a whole number from 1 to 4,096, got 0"),
    (["--batch-size", "-1"], "batch size (windows) must be a whole number from 1 to 4,096, got -1"),
    (["--smooth", "0"], "smoothing (windows) must be a whole number from 1 to 10,000, got 0"),
    (["--hop", "0"], "hop (samples) must be a whole number from 1 to 10,000,000, got 0"),
])
def test_settings_that_cannot_work_are_refused(stream_model, rec, capsys, args, needle):
    _, onnx_path = stream_model
    assert_one_line_error(capsys, ["stream", str(onnx_path), str(rec), "--fs", "12000", *args], needle)


@pytest.mark.parametrize("fs", ["12", "1", "1000000"])
def test_implausible_rates_are_refused_unless_forced(stream_model, rec, capsys, fs):
    _, onnx_path = stream_model
    assert_one_line_error(capsys, ["stream", str(onnx_path), str(rec), "--fs", fs], "is implausible: a unit slip")


def test_a_forced_rate_and_a_low_rate_say_what_they_cost(stream_model, tmp_path, capsys):
    _, onnx_path = stream_model
    np.save(tmp_path / "low.npy", simulate_bearing("normal", fs=6100.0, duration=3.0, seed=2)[None])
    code, _, err = run_cli(capsys, ["stream", str(onnx_path), str(tmp_path / "low.npy"), "--fs", "6100", "--jsonl", "none"])
    assert code in (0, 1)
    assert "sampled at 6100 Hz, below the model's 12000 Hz: it carries nothing above 3050 Hz, so 49 % of the model's band" \
        in err


def test_channels_first_npy_is_four_sensors(stream_model, tmp_path, capsys):
    _, onnx_path = stream_model
    np.save(tmp_path / "four.npy", np.stack([simulate_bearing("normal", duration=3.0, seed=s) for s in range(4)]))
    code, out, _ = run_cli(capsys, ["stream", str(onnx_path), str(tmp_path / "four.npy"), "--fs", "12000"])
    summary = json.loads(out.splitlines()[-1])
    assert summary["units"] == 4 and summary["processed"] == 4 * ((36000 - 2048) // 1024 + 1)


def _edit_metadata(src, dst, **changes):
    proto = onnx.load(str(src))
    for p in proto.metadata_props:
        if p.key == "drsn_edge":
            d = json.loads(p.value)
            for k, v in changes.items():
                if v is None:
                    d.pop(k, None)
                else:
                    d[k] = v
            p.value = json.dumps(d)
    onnx.save(proto, str(dst))


@pytest.mark.parametrize("changes,needle", [
    ({"class_names": ["normal", "ball"]}, "the graph outputs ['batch', 4] scores per window, its metadata names 2 classes"),
    ({"class_names": ["normal"]}, "metadata needs at least two class names"),
    ({"sample_rate": 0}, "metadata sample_rate must be a positive number of Hz, is 0"),
    ({"window": 1024}, "the graph takes input ['batch', 1, 2048], its metadata says (batch, 1, 1024)"),
    ({"extra_key": 1}, "unknown metadata key(s) extra_key"),
    ({"window": None}, "metadata lacks window"),
    ({"normal_label": "healthy"}, "metadata normal_label 'healthy' is not one of the classes"),
])
def test_malformed_model_metadata_is_refused(stream_model, rec, tmp_path, capsys, changes, needle):
    _, onnx_path = stream_model
    bad = tmp_path / "bad.onnx"
    _edit_metadata(onnx_path, bad, **changes)
    assert_one_line_error(capsys, ["stream", str(bad), str(rec), "--fs", "12000"], needle)


def test_a_model_that_returns_nan_never_labels(stream_model, rec, tmp_path, capsys):
    """Regression: NaN logits were printed as bare NaN, labelled 'normal', and never alarmed."""
    _, onnx_path = stream_model
    proto = onnx.load(str(onnx_path))
    out = proto.graph.output[0].name
    nan = onnx.helper.make_tensor("nan_c", onnx.TensorProto.FLOAT, [], [float("nan")])
    proto.graph.initializer.append(nan)
    for n in proto.graph.node:
        for i, o in enumerate(n.output):
            if o == out:
                n.output[i] = "pre_nan"
    proto.graph.node.append(onnx.helper.make_node("Mul", ["pre_nan", "nan_c"], [out]))
    onnx.save(proto, str(tmp_path / "nan.onnx"))
    code, text, err = run_cli(capsys, ["stream", str(tmp_path / "nan.onnx"), str(rec), "--fs", "12000"])
    recs = [json.loads(line) for line in text.splitlines()]
    assert code == 3 and "every window was rejected (model_output" in err
    assert not any(r["type"] == "window" for r in recs) and "NaN" not in text
    assert recs[-1]["rejected_by_reason"] == {"model_output": recs[-1]["windows_in"]}


def test_streaming_sessions_cache_the_optimized_graph(stream_model, rec, tmp_path, monkeypatch, capsys):
    """The graph is optimized once; later starts load the optimized copy (one thread, no spinning)."""
    _, onnx_path = stream_model
    monkeypatch.setenv("DRSN_EDGE_CACHE", str(tmp_path / "cache"))
    outs = []
    for _ in range(2):
        code, out, _ = run_cli(capsys, ["stream", str(onnx_path), str(rec), "--fs", "12000"])
        outs.append([json.loads(line)["label"] for line in out.splitlines() if '"window"' in line])
    cached = list((tmp_path / "cache" / "ort").glob("*.onnx"))
    assert len(cached) == 1 and outs[0] == outs[1] and outs[0]
    from drsn_edge.runtime.providers import ProviderSettings, make_session

    s = make_session(str(onnx_path), ProviderSettings(streaming=True))
    assert s.get_session_options().intra_op_num_threads == 1
    assert s.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_a_model_without_a_healthy_class_says_what_alarms_mean(tmp_path, capsys):
    import torch

    from drsn_edge import create_model
    from drsn_edge.export.onnx_export import export_onnx
    from drsn_edge.modelfile import ModelMetadata
    from drsn_edge.models.checkpoint import save_checkpoint

    torch.manual_seed(0)
    md = ModelMetadata(class_names=["a", "b", "c", "d"], sample_rate=12000.0, window=2048, hop=1024, in_channels=1,
                       channels=["DE"], normal_label=None, data={"source": "sim", "options": {}})
    save_checkpoint(tmp_path / "m.safetensors", create_model("drsn-cw", "paper", num_classes=4), md)
    export_onnx(tmp_path / "m.safetensors", tmp_path / "m.onnx")
    np.save(tmp_path / "r.npy", simulate_bearing("normal", duration=1.0, seed=1)[None].astype(np.float32))
    code, _, err = run_cli(capsys, ["stream", str(tmp_path / "m.onnx"), str(tmp_path / "r.npy"), "--fs", "12000",
                                    "--jsonl", "none"])
    assert code in (0, 1) and "the model has no healthy class (its classes: a, b, c, d)" in err
    assert "--normal-label" in err
