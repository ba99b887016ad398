"""Export: standard ops only, exact decompositions, metadata, parity with PyTorch."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from drsn_edge import DrsnEdgeError, create_model, soft_threshold
from drsn_edge.export.allowlist import ALLOWED_OPS, check_allowed_ops
from drsn_edge.export.onnx_export import DEFAULT_THRESHOLD_MODE, export_onnx
from drsn_edge.export.optimize import optimize_onnx
from drsn_edge.export.verify import verify
from drsn_edge.modelfile import ModelMetadata, read_description
from drsn_edge.models.checkpoint import save_checkpoint
from drsn_edge.models.shrinkage import THRESHOLD_MODES


def fake_checkpoint(path, arch, preset, window=2048):
    torch.manual_seed(0)
    model = create_model(arch, preset, num_classes=4, window=window)
    md = ModelMetadata(class_names=["a", "b", "c", "d"], sample_rate=12000.0, window=window, hop=window // 2,
                       in_channels=1, channels=["DE"], normal_label=None, data={"source": "sim", "options": {}})
    save_checkpoint(path, model, md)
    return model


@pytest.mark.parametrize("arch", ["drsn-cw", "drsn-cs", "resnet"])
@pytest.mark.parametrize("preset", ["paper", "wide"])
@pytest.mark.parametrize("mode", THRESHOLD_MODES)
def test_graph_ops_in_allow_list(tmp_path, arch, preset, mode):
    fake_checkpoint(tmp_path / "c.safetensors", arch, preset)
    export_onnx(tmp_path / "c.safetensors", tmp_path / "m.onnx", threshold_mode=mode)
    optimize_onnx(tmp_path / "m.onnx", tmp_path / "o.onnx")
    for f in ("m.onnx", "o.onnx"):
        proto = onnx.load(str(tmp_path / f))
        ops = check_allowed_ops(proto)
        assert ops <= ALLOWED_OPS
        assert all(n.domain in ("", "ai.onnx") for n in proto.graph.node)
        assert "Shrink" not in ops and "Clip" not in ops
        if arch != "resnet":
            assert ("Sign" in ops) == (mode == "sign")


def test_allow_list_rejects_other_ops():
    node = onnx.helper.make_node("Shrink", ["x"], ["y"], lambd=0.5)
    graph = onnx.helper.make_graph([node], "g", [onnx.helper.make_tensor_value_info("x", 1, [1])],
                                   [onnx.helper.make_tensor_value_info("y", 1, [1])])
    with pytest.raises(DrsnEdgeError, match="Shrink"):
        check_allowed_ops(onnx.helper.make_model(graph))
    custom = onnx.helper.make_node("SoftThreshold", ["x"], ["y"], domain="com.example")
    graph = onnx.helper.make_graph([custom], "g", [onnx.helper.make_tensor_value_info("x", 1, [1])],
                                   [onnx.helper.make_tensor_value_info("y", 1, [1])])
    with pytest.raises(DrsnEdgeError, match="custom domain"):
        check_allowed_ops(onnx.helper.make_model(graph))


class _Soft(torch.nn.Module):
    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def forward(self, x, tau):
        return soft_threshold(x, tau, self.mode)


@pytest.mark.parametrize("mode", THRESHOLD_MODES)
def test_decomposition_exact_in_onnxruntime_fp32(tmp_path, mode):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 4, 256)).astype(np.float32)
    x[0, 0, :4] = [0.0, -0.0, 0.5, -0.5]
    tau = rng.uniform(0, 1, (8, 4, 1)).astype(np.float32)
    tau[0, 0, 0] = 0.5
    path = str(tmp_path / f"{mode}.onnx")
    torch.onnx.export(_Soft(mode), (torch.from_numpy(x), torch.from_numpy(tau)), path, dynamo=False,
                      input_names=["x", "tau"], opset_version=17)
    y = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x, "tau": tau})[0]
    ref = np.sign(x) * np.maximum(np.abs(x) - tau, 0)
    assert np.array_equal(y, ref)


def test_metadata_complete_and_read_by_runtime(sim_checkpoint, tmp_path):
    md = export_onnx(sim_checkpoint, tmp_path / "m.onnx")
    got = read_description(str(tmp_path / "m.onnx"))
    assert got == md
    assert got.class_names == ["normal", "inner_race", "ball", "outer_race"]
    assert got.sample_rate == 12000 and got.window == 2048 and got.hop == 1024 and got.in_channels == 1
    assert got.model["arch"] == "drsn-cw" and got.model["preset"] == "paper"
    assert got.model["threshold_mode"] == DEFAULT_THRESHOLD_MODE
    assert got.training["noise"]["kinds"] == ["gaussian"] and got.training["noise"]["snr_low"] == -2
    assert len(got.source_checkpoint_sha256) == 64 and got.drsn_edge_version
    assert "per-window" in got.normalization["kind"]


def test_model_without_metadata_is_refused(tmp_path):
    path = str(tmp_path / "plain.onnx")
    torch.onnx.export(torch.nn.Linear(3, 2), (torch.zeros(1, 3),), path, dynamo=False)
    with pytest.raises(DrsnEdgeError, match="no drsn-edge metadata"):
        read_description(path)


def test_raw_window_in_same_logits_as_pytorch(sim_checkpoint, tmp_path):
    """Normalization is inside the graph: raw samples (in g, any offset and scale) give PyTorch's logits."""
    from drsn_edge.models.checkpoint import load_checkpoint

    export_onnx(sim_checkpoint, tmp_path / "m.onnx")
    model, _ = load_checkpoint(sim_checkpoint)
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((5, 1, 2048)) * 3 + 0.7).astype(np.float32)
    y = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    with torch.no_grad():
        np.testing.assert_allclose(y, model(torch.from_numpy(x)).numpy(), atol=1e-4)


@pytest.mark.parametrize("opset", [13, 17])
def test_parity_report_on_real_windows(sim_checkpoint, tmp_path, opset):
    export_onnx(sim_checkpoint, tmp_path / "m.onnx", opset=opset)
    optimize_onnx(tmp_path / "m.onnx", tmp_path / "o.onnx")
    for f in ("m.onnx", "o.onnx"):
        r = verify(sim_checkpoint, tmp_path / f, max_windows=96)
        lg = r["outputs"]["logits"]
        assert r["passed"] and r["top1_agreement"] == 1.0
        assert lg["abs_error"]["max"] <= 1e-4 and lg["nan"] == 0 and lg["inf"] == 0
        assert lg["min_passing_atol"] == lg["abs_error"]["max"]
        assert r["graph"]["onnx_checker"] == "ok" and r["graph"]["reference_evaluator_agrees"]


def test_dynamic_batch(sim_checkpoint, tmp_path):
    export_onnx(sim_checkpoint, tmp_path / "m.onnx")
    s = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    for b in (1, 3, 17):
        assert s.run(None, {"x": np.zeros((b, 1, 2048), np.float32)})[0].shape == (b, 4)


def test_verify_detects_a_different_model(sim_checkpoint, tmp_path):
    md = read_description(sim_checkpoint)
    torch.manual_seed(1)
    other = create_model("drsn-cw", "paper", num_classes=4)  # same shape, other weights
    save_checkpoint(tmp_path / "other.safetensors", other, md)
    export_onnx(tmp_path / "other.safetensors", tmp_path / "other.onnx")
    r = verify(sim_checkpoint, tmp_path / "other.onnx", max_windows=48)
    assert not r["passed"] and r["outputs"]["logits"]["abs_error"]["max"] > 1e-2


def test_verify_refuses_models_of_other_classes(sim_checkpoint, tmp_path):
    fake_checkpoint(tmp_path / "abcd.safetensors", "drsn-cw", "paper")
    export_onnx(tmp_path / "abcd.safetensors", tmp_path / "abcd.onnx")
    with pytest.raises(DrsnEdgeError, match="differ in class_names"):
        verify(sim_checkpoint, tmp_path / "abcd.onnx", max_windows=48)


def test_fp16_near_tie_flip_passes_a_decisive_flip_fails():
    """An FP16 export failed verification when one window whose two best logits differed by 0.01 flipped, though
    every logit was within tolerance; a flip of a clear decision must still fail."""
    from drsn_edge.export.verify import TOLERANCES, compare_runs

    ref = np.array([[2.0, 1.99, -1.0], *[[3.0, 0.0, -1.0]] * 199], np.float32)
    tie = ref.copy()
    tie[0] = [1.99, 2.0, -1.0]
    r = compare_runs(ref, tie, TOLERANCES["fp16"])
    assert r["passed"] and r["near_ties"] == 1 and r["top1_agreement"] == 0.995
    clear = ref.copy()
    clear[1] = [0.0, 3.0, -1.0]
    assert not compare_runs(ref, clear, TOLERANCES["fp16"])["passed"]


def test_parity_windows_come_from_the_validation_split_where_the_model_has_no_test_split(sim_checkpoint):
    """A model trained on all its data (the zoo's) has no test split: parity ran on simulated windows and said its
    data "is not here" though it was; now the validation split's real windows, and a reason that is true otherwise."""
    from drsn_edge.data.dataset import DataSpec
    from drsn_edge.export.verify import verification_windows
    from drsn_edge.modelfile.checkpoint import read_checkpoint_description

    md = read_checkpoint_description(sim_checkpoint)
    no_test = DataSpec.from_dict({"source": "sim", "options": {"duration": 4.0, "recordings_per_class": 2},
                                  "split": {"kind": "recording", "fractions": [0.75, 0.25, 0.0]}})
    x, origin = verification_windows(md, no_test, max_windows=48)
    assert origin.endswith("val split") and len(x) == 48
    gone = DataSpec.from_dict({"source": "folder", "options": {"root": "/nonexistent/recordings"}})
    _, origin = verification_windows(md, gone, max_windows=48)
    assert origin.startswith("simulated bearing windows") and origin.endswith("is not here)")
