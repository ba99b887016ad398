"""What bench measured, kept for stream: a stream on ONNX Runtime says once that OpenVINO ran its model faster on
this CPU (within the accuracy budget), and says nothing on another CPU, for a slower or less accurate row, or where
OpenVINO is not installed."""

import json
import sys

import numpy as np
import pytest

from drsn_edge.runtime.measured import openvino_advice, record_bench
from drsn_edge.runtime.providers import ProviderSettings
from tests.cli_helpers import run_cli


def _report(fp32, int8, ov_ms: float, ov_acc: float) -> dict:
    def row(name, path, provider, ms, acc, precision="f32"):
        return {"format": name, "provider": provider, "path": str(path), "precision": precision, "status": "ok",
                "latency_bN": {"median_ms": ms}, "balanced_accuracy_clean": acc}

    return {"batch": 64, "threads": 1, "formats": [
        row("onnx-fp32", fp32, "cpu", 5.0, 0.935), row("onnx-int8", int8, "cpu", 4.6, 0.936),
        row("openvino-int8", int8, "openvino", ov_ms, ov_acc),
        {"format": "ort-cuda-fp32", "provider": "cuda", "status": "skipped: no GPU"}]}


@pytest.fixture
def files(tmp_path):
    fp32, int8 = tmp_path / "m.onnx", tmp_path / "m.int8.onnx"
    fp32.write_bytes(b"fp32 model")
    int8.write_bytes(b"int8 model")
    return fp32, int8, ProviderSettings(cache_dir=str(tmp_path / "cache"))


def test_advice_names_the_faster_row_and_how_to_use_it(files):
    pytest.importorskip("openvino", reason="OpenVINO is not installed (pip install 'drsn-edge[openvino]')")
    fp32, int8, settings = files
    assert len(record_bench(_report(fp32, int8, 4.0, 0.934), settings)) == 2  # one record per file bench ran
    line = openvino_advice(str(fp32), "cpu", settings)
    assert "openvino-int8 1.25x faster than this model on ONNX Runtime" in line
    assert line.endswith(f"--provider openvino on {int8} to use it") and "batch 64, 1 thread(s)" in line
    assert "1.15x faster" in openvino_advice(str(int8), "cpu", settings)  # the INT8 file on ORT: 4.6 / 4.0
    assert openvino_advice(str(fp32), "openvino", settings) is None  # already on OpenVINO


@pytest.mark.parametrize("ov_ms, ov_acc", [(4.7, 0.935), (4.0, 0.92)])
def test_no_advice_for_a_row_within_the_spread_or_outside_the_accuracy_budget(files, ov_ms, ov_acc):
    fp32, int8, settings = files
    record_bench(_report(fp32, int8, ov_ms, ov_acc), settings)
    assert openvino_advice(str(fp32), "cpu", settings) is None


def test_no_advice_from_another_cpu_or_without_openvino(files, monkeypatch):
    fp32, int8, settings = files
    pytest.importorskip("openvino", reason="OpenVINO is not installed (pip install 'drsn-edge[openvino]')")
    for path in record_bench(_report(fp32, int8, 4.0, 0.935), settings):
        entry = json.loads(path.read_text())
        path.write_text(json.dumps({**entry, "cpu": "Intel(R) Xeon(R) Platinum 8480+ (x86_64; amx_bf16)"}))
    assert openvino_advice(str(fp32), "cpu", settings) is None  # measured on another CPU
    record_bench(_report(fp32, int8, 4.0, 0.935), settings)
    assert openvino_advice(str(fp32), "cpu", settings) is not None
    monkeypatch.setitem(sys.modules, "openvino", None)  # OpenVINO not installed: nothing to advise
    assert openvino_advice(str(fp32), "cpu", settings) is None


def test_stream_says_it_once_at_start(stream_model, tmp_path, monkeypatch, capsys):
    pytest.importorskip("openvino", reason="OpenVINO is not installed (pip install 'drsn-edge[openvino]')")
    _, onnx = stream_model
    monkeypatch.setenv("DRSN_EDGE_CACHE", str(tmp_path / "cache"))
    record_bench(_report(onnx, onnx, 3.0, 0.935))
    rec = tmp_path / "r.npy"
    np.save(rec, np.zeros((1, 24000), np.float32))
    code, _, err = run_cli(capsys, ["stream", str(onnx), str(rec), "--fs", "12000", "--alarms-only"])
    assert err.count("drsn-edge bench measured openvino-int8 1.67x faster") == 1, err
