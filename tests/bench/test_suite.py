"""`drsn-edge bench --quick`: the CI smoke test of the benchmark suite (real measurements, small)."""

import json
from pathlib import Path

import pytest

from drsn_edge.cli.main import main
from drsn_edge.export.formats import export_formats
from drsn_edge.zoo import MODELS

pytestmark = pytest.mark.slow  # each test runs drsn-edge bench end to end

REPO = Path(__file__).resolve().parents[2]
MODEL = MODELS["sim-paper"].path


def test_bench_quick_writes_table_json_plots(tmp_path, capsys):
    code = main(["bench", str(MODEL), "--data", "sim", "--quick", "--out", str(tmp_path), "--floor-accuracy", "90"])
    out = capsys.readouterr().out
    assert code == 0, out
    r = json.loads((tmp_path / "bench.json").read_text())
    ok = {f["format"]: f for f in r["formats"] if f["status"] == "ok"}
    assert {"pytorch-eager", "onnx-fp32", "onnx-fp16", "onnx-int8"} <= set(ok)
    for f in r["formats"]:
        assert f["status"] == "ok" or f["status"].startswith(("skipped:", "failed:"))
    # every file the benchmark ran was written by the export job, under the names of its format table
    names = {fmt.name: fmt.path(tmp_path / "models" / "model.onnx").name for fmt in export_formats()}
    for f in ok.values():
        if f["file"] != "pytorch":
            assert (tmp_path / "models" / names[f["file"]]).is_file()
    for f in ok.values():
        b1 = f["latency_b1"]
        assert len(b1["rounds_ms"]) == r["rounds"] == 3 and b1["round_min_ms"] <= b1["median_ms"] <= b1["round_max_ms"]
        assert f["size_kib"] > 0 and f["peak_rss_mib"] > 0 and f["cold_start_s"] > 0 and "clean" in f["accuracy"]
    # FP32 ONNX must agree with PyTorch on accuracy exactly (same decisions)
    assert ok["onnx-fp32"]["accuracy"] == ok["pytorch-eager"]["accuracy"]
    # alarms as a plant sees them, per format: the test recordings streamed whole through the runtime's decisions
    for f in ok.values():
        a = f["alarms"]
        assert a["decided_by"] == "classes" and a["healthy_hours"] > 0 and a["fault_recordings"] >= 3
        assert a["alarmed"] + len(a["missed"]) == a["fault_recordings"] and "false_alarms_per_day_bound_95" in a
    assert ok["onnx-fp32"]["alarms"] == ok["pytorch-eager"]["alarms"]
    md = (tmp_path / "bench.md").read_text()
    assert "Alarms: the test recordings streamed whole" in md
    assert f"| onnx-int8 | {ok['onnx-int8']['alarms']['healthy_hours']:g} | {ok['onnx-int8']['alarms']['false_alarms']} |" in md
    assert r["flops_per_window"] > 1e6 and r["single_core_sgemm_gflops"] > 0
    ra = r["ratios"]["pytorch_over_onnx_fp32_b1"]
    assert ra["min"] <= ra["median"] <= ra["max"] and r["int8_note"]
    assert r["machine"]["cpu"] and isinstance(r["machine"]["isa"], list) and r["machine"]["threads"]["inference_intra_op"] == 1
    s = r["streaming"]
    assert s["overhead"]["ratio"]["median"] > 0 and s["stream_command"]["real_time_factor"] > 1
    assert (tmp_path / "bench.md").read_text().startswith("# drsn-edge bench")
    assert "recordings this model trained on" in (tmp_path / "bench.md").read_text()  # a time-split model: said
    for png in ("accuracy_vs_snr.png", "latency_rounds.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"


def test_bench_floor_miss_exits_1(tmp_path, capsys):
    code = main(["bench", str(MODEL), "--data", "sim", "--quick", "--out", str(tmp_path), "--floor-accuracy", "100.1"])
    err = capsys.readouterr().err
    assert code == 1 and "floor missed" in err


def test_bench_calibrates_int8_on_the_data_it_is_given(tmp_path, capsys, cwru_dir):
    """A model whose own data is not on this machine, benchmarked on data given here: INT8 is calibrated on that data
    (before, it was skipped as "no calibration data" while the data sat right there)."""
    import shutil

    moved = tmp_path / "elsewhere" / "wide.safetensors"
    moved.parent.mkdir()
    shutil.copy(MODELS["cwru-wide"].path, moved)  # its data path no longer resolves
    code = main(["bench", str(moved), "--quick", "--out", str(tmp_path / "b"), "--data", "cwru", "--labels", "4",
                 "--data-dir", str(cwru_dir), "--snr", "clean", "--noise", "gaussian"])
    assert code == 0, capsys.readouterr().out
    r = json.loads((tmp_path / "b" / "bench.json").read_text())
    int8 = next(f for f in r["formats"] if f["format"] == "onnx-int8")
    assert int8["status"] == "ok" and int8["accuracy"]["clean"] > 0.9
