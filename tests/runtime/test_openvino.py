"""The OpenVINO backend (the [openvino] extra): every output equal to ONNX Runtime's within 1e-4 in FP32, the same
stream records from either backend, BF16 judged by agreement, and a one-line error without the extra."""

import json
import sys

import numpy as np
import pytest

from drsn_edge.data.simulator import simulate_bearing, simulate_sequence
from drsn_edge.runtime import open_model
from drsn_edge.runtime.providers import ProviderSettings
from tests.cli_helpers import assert_one_line_error, run_cli

ov = pytest.importorskip("openvino", reason="OpenVINO is not installed (pip install 'drsn-edge[openvino]')")


def _windows() -> np.ndarray:
    return np.stack([simulate_bearing(c, duration=1.0, seed=i)[None, k * 2048 : (k + 1) * 2048]
                     for i, c in enumerate(["normal", "ball", "outer_race", "inner_race"]) for k in range(4)])


def test_fp32_equals_onnxruntime_on_every_output(stream_model):
    _, onnx_path = stream_model
    x = _windows()
    outs = []
    for provider in ("cpu", "openvino"):
        be, md = open_model(onnx_path, ProviderSettings(provider=provider, intra_op_threads=1))
        with be:
            outs.append(be.infer_all(x))
    (ref, ref_extra), (got, got_extra) = outs
    assert set(got_extra) == set(ref_extra) == {"novelty", "noise_level"}
    np.testing.assert_allclose(got, ref, atol=1e-4, rtol=1e-4)
    for k in ref_extra:
        np.testing.assert_allclose(got_extra[k], ref_extra[k], atol=1e-4, rtol=1e-4)


def test_a_warmed_batch_size_runs_on_its_own_fixed_shape_model_with_the_same_outputs(stream_model):
    """The stream's batch size is compiled with the batch fixed (OpenVINO plans it far better); a partial batch runs
    on the dynamic model; both equal ONNX Runtime."""
    _, onnx_path = stream_model
    x = _windows()
    with open_model(onnx_path, ProviderSettings(provider="cpu", intra_op_threads=1))[0] as ref_be:
        ref, ref_extra = ref_be.infer_all(x)
    with open_model(onnx_path, ProviderSettings(provider="openvino", intra_op_threads=1))[0] as be:
        be.warm(len(x), x.shape[1], x.shape[2])
        assert be.fixed_batches == [len(x)]
        full, full_extra = be.infer_all(x)
        part, _ = be.infer_all(x[:5])  # not a warmed size: the dynamic model
    np.testing.assert_allclose(full, ref, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(part, ref[:5], atol=1e-4, rtol=1e-4)
    for k in ref_extra:
        np.testing.assert_allclose(full_extra[k], ref_extra[k], atol=1e-4, rtol=1e-4)


def test_an_int8_model_is_tried_in_a_child_process_before_this_one_runs_it(stream_model, tmp_path):
    """OpenVINO's CPU plugin kills the process on some INT8 shapes (here: a small fixed batch, at compile time); each
    shape is tried in a child first, and one that kills it runs on the dynamic model instead: the process lives and
    every batch is answered."""
    from drsn_edge.export.pipeline import ExportOptions, export_all

    ckpt, _ = stream_model
    rep = export_all(ckpt, tmp_path / "m.onnx", ExportOptions(int8=True, int8_target="cpu", verify=False,
                                                                calibration_windows=32), log=lambda s: None)
    int8 = next(f["path"] for f in rep["files"] if f["format"] == "onnx-int8")
    x = _windows()
    with open_model(int8, ProviderSettings(provider="cpu", intra_op_threads=1))[0] as ref_be:
        ref = ref_be.infer(x)
    with open_model(int8, ProviderSettings(provider="openvino", intra_op_threads=1))[0] as be:
        for b in (4, 16):
            be.warm(b, x.shape[1], x.shape[2])
            assert b in be.fixed_batches or any(f"batch {b} runs on the dynamic model" in n and "crashed" in n
                                                for n in be.notes), be.notes
        got = np.concatenate([be.infer(x[:4]), be.infer(x[4:8]), be.infer(x[8:])[:0]])
        full = be.infer(x)
    assert np.mean(got.argmax(1) == ref[:8].argmax(1)) >= 0.75 and np.mean(full.argmax(1) == ref.argmax(1)) >= 0.75


def test_bf16_agrees_on_the_top_class_where_the_cpu_has_it(stream_model):
    from drsn_edge.runtime.backends.openvino_backend import cpu_precisions

    if "bf16" not in cpu_precisions():
        pytest.skip("this CPU offers OpenVINO no BF16 (needs AVX512-BF16 or AMX)")
    _, onnx_path = stream_model
    x = _windows()
    with open_model(onnx_path, ProviderSettings(provider="cpu"))[0] as ref_be:
        ref = ref_be.infer(x)
    with open_model(onnx_path, ProviderSettings(provider="openvino", precision="bf16"))[0] as be:
        got = be.infer(x)
        assert be.name == "openvino-bf16"
    assert np.mean(got.argmax(1) == ref.argmax(1)) >= 0.9
    assert np.abs(got - ref).max() < 1.0


def test_a_stream_gives_the_same_records_with_either_backend(stream_model, tmp_path, capsys):
    _, onnx_path = stream_model
    rec = tmp_path / "r.npy"
    np.save(rec, simulate_sequence([("normal", 4.0), ("inner_race", 6.0)], seed=2)[None])
    runs = []
    for provider in ("cpu", "openvino"):
        out = tmp_path / f"{provider}.jsonl"
        code, _, err = run_cli(capsys, ["stream", str(onnx_path), str(rec), "--fs", "12000", "--provider", provider,
                                        "--jsonl", str(out)])
        assert code == 1, err
        recs = [json.loads(line) for line in out.read_text().splitlines()]
        runs.append(([(r["stream_time"], r["label"], r["smoothed_label"]) for r in recs if r["type"] == "window"],
                     [(r["stream_time"], r["state"], r["label"]) for r in recs if r["type"] == "alarm"]))
    assert runs[0] == runs[1] and runs[0][1]


def test_without_the_extra_one_line_names_it(stream_model, monkeypatch, capsys, tmp_path):
    _, onnx_path = stream_model
    rec = tmp_path / "r.npy"
    np.save(rec, simulate_bearing("normal", duration=1.0, seed=1)[None])
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino now fails
    assert_one_line_error(capsys, ["stream", str(onnx_path), str(rec), "--fs", "12000", "--provider", "openvino"],
                          "pip install 'drsn-edge[openvino]'")


def test_export_writes_the_1d_form_openvino_runs_faster_and_the_backend_says_so_on_the_2d_one(tmp_path):
    """``export --openvino``: model.openvino.onnx, the same network with its temporal convolutions as 1-D ones (model.onnx
    has the 2-D form ONNX Runtime runs fastest, OpenVINO slowest), equal to ONNX Runtime on model.onnx on every
    output; the backend given model.onnx says once where the faster file comes from."""
    import onnx

    from drsn_edge.export.pipeline import ExportOptions, export_all
    from drsn_edge.zoo import MODELS

    rep = export_all(MODELS["cwru-wide"].path, tmp_path / "m.onnx", ExportOptions(openvino=True, verify=False),
                     log=lambda s: None)
    files = {f["format"]: f["path"] for f in rep["files"]}
    assert files["openvino-fp32"] == str(tmp_path / "m.openvino.onnx") and "openvino-int8" not in files
    as_2d = lambda p: sum("/as_2d/" in n.name for n in onnx.load(p).graph.node)  # noqa: E731
    assert as_2d(files["onnx-fp32"]) > 10 and as_2d(files["openvino-fp32"]) == 0
    x = _windows()
    with open_model(files["onnx-fp32"], ProviderSettings(provider="cpu", intra_op_threads=1))[0] as be:
        ref, ref_extra = be.infer_all(x)
    notes = {}
    for fmt in ("onnx-fp32", "openvino-fp32"):
        with open_model(files[fmt], ProviderSettings(provider="openvino", intra_op_threads=1))[0] as be:
            got, got_extra = be.infer_all(x)
            notes[fmt] = be.notes
        np.testing.assert_allclose(got, ref, atol=1e-4, rtol=1e-4)
        for k in ref_extra:
            np.testing.assert_allclose(got_extra[k], ref_extra[k], atol=1e-4, rtol=1e-4)
    assert len(notes["onnx-fp32"]) == 1 and "export CHECKPOINT --openvino" in notes["onnx-fp32"][0]
    assert notes["openvino-fp32"] == []
