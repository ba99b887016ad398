"""Export and evaluate with or without the training data: content-detected checkpoints, parity on simulated
windows, INT8 skipped with its reason or calibrated on --calib data, nothing written when a step fails."""

import os
import shutil
from pathlib import Path

import numpy as np

from tests.cli_helpers import run_cli

REPO = Path(__file__).resolve().parents[2]


def test_checkpoint_recognised_by_content_and_exported_without_its_data(stream_model, tmp_path, capsys):
    ckpt, _ = stream_model
    odd = tmp_path / "ck"  # no suffix: train --out ck works, so export ck must too
    shutil.copy(ckpt, odd)
    code, text, err = run_cli(capsys, ["export", str(odd), "-o", str(tmp_path / "m.onnx")])
    assert code == 0, err
    # a checkpoint whose data is not on this machine: parity on simulated windows, INT8 skipped with the reason
    from drsn_edge.models.checkpoint import load_checkpoint, save_checkpoint

    model, md = load_checkpoint(ckpt)
    md.data = {"source": "cwru", "options": {"root": str(tmp_path / "gone")}, "fs": 12000.0,
               "split": {"kind": "time"}, "seed": 0}
    save_checkpoint(tmp_path / "far.safetensors", model, md)
    lines = []
    from drsn_edge.export.pipeline import ExportOptions, export_all

    rep = export_all(tmp_path / "far.safetensors", tmp_path / "far.onnx", ExportOptions(fp16=True, int8=True),
                     log=lines.append)
    assert [Path(f["path"]).name for f in rep["files"]] == ["far.onnx", "far.fp16.onnx"]
    assert "simulated bearing windows" in rep["verify_fp32"]["windows_from"] and rep["verify_fp32"]["passed"]
    assert any(line.startswith("INT8 skipped: calibration needs representative data") and "--calib" in line
               for line in lines)
    # ... and with representative data given explicitly
    root = tmp_path / "calib"
    from drsn_edge.data.simulator import simulate_bearing

    for i, cond in enumerate(md.class_names):
        (root / cond).mkdir(parents=True)
        np.save(root / cond / "a.npy", simulate_bearing(cond, duration=2.0, seed=i)[None])
    code, text, err = run_cli(capsys, ["export", str(tmp_path / "far.safetensors"), "-o", str(tmp_path / "c.onnx"),
                                       "--int8", "--calib", str(root), "--fs", "12000", "--calib-windows", "32"])
    assert code == 0, err
    assert (tmp_path / "c.int8.onnx").is_file()


def test_failed_export_writes_nothing(stream_model, tmp_path, capsys):
    ckpt, _ = stream_model
    root = tmp_path / "calib"
    (root / "normal").mkdir(parents=True)
    (root / "ball").mkdir(parents=True)
    (root / "normal" / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    np.save(root / "ball" / "a.npy", np.random.default_rng(0).standard_normal((1, 30000)).astype(np.float32))
    code, _, err = run_cli(capsys, ["export", str(ckpt), "-o", str(tmp_path / "m.onnx"), "--fp16", "--int8", "--calib",
                                    str(root), "--fs", "12000"])
    assert code == 2 and "bad.wav" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calib"]  # no m.onnx, no m.fp16.onnx, no partial files


def test_evaluate_onnx_gives_the_checkpoints_decisions(stream_model, tmp_path):
    from drsn_edge.evaluation.job import evaluate_model

    ckpt, onnx = stream_model
    a = evaluate_model(ckpt, snrs=[None])
    b = evaluate_model(onnx, snrs=[None])
    assert a["backend"] == "pytorch" and b["backend"] == "onnxruntime-cpu"
    assert a["clean"]["confusion"] == b["clean"]["confusion"]
    assert [r["verdict"] for r in a["clean"]["per_recording"]] == [r["verdict"] for r in b["clean"]["per_recording"]]


def test_evaluate_reports_labels_the_model_does_not_know(stream_model, tmp_path, capsys):
    from drsn_edge.data.simulator import simulate_bearing

    _, onnx = stream_model
    for i, cond in enumerate(("normal", "outer_race", "misalignment")):
        (tmp_path / cond).mkdir()
        np.save(tmp_path / cond / "a.npy", simulate_bearing("normal" if cond == "misalignment" else cond, duration=2.0,
                                                            seed=i)[None])
    code, text, err = run_cli(capsys, ["evaluate", str(onnx), "--data", str(tmp_path), "--fs", "12000", "--snr", "clean"])
    assert code == 0, err
    assert "label 'misalignment' is not a class of the model: its 22 windows are not scored" in text
    assert "windows 44:" in text


def test_a_zoo_model_exports_by_name_from_any_directory(cwru_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, text, err = run_cli(capsys, ["export", "cwru-wide",
                                       "-o", "m.onnx"])
    assert code == 0, err
    assert "cwru" in text or "PASS" in text


def test_one_export_reads_its_checkpoint_once(sim_checkpoint, tmp_path, monkeypatch, capsys):
    """Before, one export read the checkpoint about five times and loaded its weights twice: format detection, the
    export, the hash, the parity reference's description and its weights."""
    import builtins

    import safetensors
    import safetensors.torch

    target = sim_checkpoint.resolve()
    opened = []
    real_open = builtins.open

    def counting_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file).resolve() == target:
            opened.append(file)
        return real_open(file, *args, **kwargs)

    def never(*args, **kwargs):
        raise AssertionError("the checkpoint's weights were read from the file a second time")

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(safetensors.torch, "load_file", never)
    monkeypatch.setattr(safetensors, "safe_open", never)
    code, text, err = run_cli(capsys, ["export", str(sim_checkpoint), "-o", str(tmp_path / "m.onnx"), "--fp16"])
    assert code == 0 and "PASS" in text, err
    assert len(opened) == 1, opened
