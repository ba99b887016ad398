"""`drsn-edge export` / `verify` end to end, and their one-line errors."""

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from drsn_edge.runtime.gpu import gpu_info
from tests.cli_helpers import assert_one_line_error, run_cli


def test_export_all_formats_and_verify(stream_model, tmp_path, capsys):
    sim_checkpoint = stream_model[0]  # trained well enough that INT8 keeps >= 98 % top-1 agreement
    out = tmp_path / "sub" / "m.onnx"
    code, text, err = run_cli(capsys, ["export", str(sim_checkpoint), "-o", str(out), "--fp16", "--int8", "--calib-windows", "64",
                                   "--report", str(tmp_path / "r.json")])
    assert code == 0, err
    assert "PASS" in text and "nodes" in text
    for f in ("m.onnx", "m.fp16.onnx", "m.int8.onnx"):
        assert (tmp_path / "sub" / f).is_file()
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["optimize"]["nodes_after"] < rep["optimize"]["nodes_before"]
    assert rep["verify_fp32"]["outputs"]["logits"]["abs_error"]["max"] <= 1e-4
    # ONNX Runtime's quantizer logs through the root logger: routed into the report, not leaked to stderr
    assert "WARNING:root" not in err and "out-of-range" not in err, err
    assert any("out-of-range" in m for m in rep["int8"]["quantizer_messages"]), rep["int8"]["quantizer_messages"]
    # a head's low SQNR is said with what it does to the decisions
    assert "INT8 heads vs FP32 on the same windows: novelty:" in text and "noise level: within" in text
    assert 0 <= rep["int8"]["heads"]["novelty_calls_changed"] <= 0.1
    code, text, _ = run_cli(capsys, ["verify", str(out), "--against", str(sim_checkpoint), "--json", str(tmp_path / "v.json")])
    assert code == 0 and "PASS" in text and "onnx.checker: ok" in text
    code, text, _ = run_cli(capsys, ["verify", str(tmp_path / "sub" / "m.int8.onnx"), "--against", str(out)])
    assert code == 0 and "top-1 agreement" in text, text
    # impossible tolerance: verification fails with exit code 1
    code, text, _ = run_cli(capsys, ["verify", str(tmp_path / "sub" / "m.fp16.onnx"), "--against", str(out), "--atol", "0",
                                 "--rtol", "0"])
    assert code == 1 and "FAIL" in text




def test_export_bad_inputs(sim_checkpoint, tmp_path, capsys):
    o = str(tmp_path / "m.onnx")
    assert_one_line_error(capsys, ["export", str(tmp_path / "none.safetensors"), "-o", o], "checkpoint not found")
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    assert_one_line_error(capsys, ["export", str(tmp_path / "bad.safetensors"), "-o", o], "not a drsn-edge checkpoint")
    save_file({"w": np.zeros(3, np.float32)}, str(tmp_path / "other.safetensors"))
    assert_one_line_error(capsys, ["export", str(tmp_path / "other.safetensors"), "-o", o], "without drsn-edge metadata")
    # a drsn-edge checkpoint whose weights belong to another model
    from safetensors import safe_open

    with safe_open(str(sim_checkpoint), "np") as f:
        meta = f.metadata()
    save_file({"stem.weight": np.zeros((4, 1, 3), np.float32)}, str(tmp_path / "mixed.safetensors"), metadata=meta)
    assert_one_line_error(capsys, ["export", str(tmp_path / "mixed.safetensors"), "-o", o], "weights do not match")
    (tmp_path / "file").write_text("x")
    assert_one_line_error(capsys, ["export", str(sim_checkpoint), "-o", str(tmp_path / "file" / "m.onnx")], "cannot write")
    assert_one_line_error(capsys, ["export", str(sim_checkpoint), "-o", str(tmp_path)], "should end in .onnx")
    assert_one_line_error(capsys, ["export", str(sim_checkpoint), "-o", o, "--opset", "9"], "opset 9 not supported")
    assert_one_line_error(capsys, ["verify", o, "--against", str(sim_checkpoint)], "model not found")


@pytest.mark.skipif(gpu_info() is not None, reason="this machine has a GPU: the no-GPU message does not apply")
def test_trt_without_gpu_says_so(sim_checkpoint, tmp_path, capsys):
    assert_one_line_error(capsys, ["export", str(sim_checkpoint), "-o", str(tmp_path / "m.onnx"), "--trt", "fp16"],
                   "needs an NVIDIA GPU")
    assert not (tmp_path / "m.onnx").exists()  # refused before doing any work
