"""The streaming runtime end to end: parity with eval, resampling, alarms, inputs, errors, torch-free."""

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from drsn_edge.data.simulator import simulate_bearing, simulate_sequence
from drsn_edge.runtime import StreamConfig, StreamRunner, open_model
from drsn_edge.runtime.sources import ArraySource
from drsn_edge.zoo import MODELS
from tests.cli_helpers import assert_one_line_error, run_cli

REPO = Path(__file__).resolve().parents[2]


class ListSink:
    def __init__(self):
        self.records = []

    def emit(self, r):
        self.records.append(r)

    def close(self):
        pass

    def of(self, kind):
        return [r for r in self.records if r["type"] == kind]


def stream_array(onnx, x, fs, **cfg):
    be, md = open_model(onnx)
    be.activate()
    sink = ListSink()
    summary = StreamRunner(be, md, ArraySource(x, fs, block=777), [sink], StreamConfig(**cfg)).run(handle_signals=False)
    return sink, summary


def test_cwru_stream_decisions_equal_eval(cwru_dir, tmp_path):
    """Every CWRU test span streamed through the runtime gives eval's decision on every window."""
    from drsn_edge.data.dataset import DataSpec, load_dataset
    from drsn_edge.data.recording import cut_windows  # the cut `drsn-edge eval` uses (test span, half-window hop)
    from drsn_edge.evaluation.torch_backend import TorchBackend
    from drsn_edge.export.onnx_export import export_onnx
    from drsn_edge.models.checkpoint import load_checkpoint

    ckpt = MODELS["cwru-wide"].path
    export_onnx(ckpt, tmp_path / "m.onnx")
    model, md = load_checkpoint(ckpt)
    torch_model = TorchBackend((model, md))
    torch_model.activate()
    ds = load_dataset(DataSpec("cwru", {"root": str(cwru_dir), "label_set": "10"}))
    total = 0
    for rec in ds.recordings:
        start, stop = rec.span("test")
        seg = rec.signal[:, start:stop]
        windows = cut_windows(rec.signal, start, stop, md.window, md.hop)
        logits, extra = torch_model.infer_all(windows)  # the stream says unknown where the novelty score is high
        eval_labels = ["unknown" if n > md.novelty["threshold"] else md.class_names[i]
                       for i, n in zip(logits.argmax(1), extra["novelty"])]
        sink, _ = stream_array(tmp_path / "m.onnx", seg, rec.fs)
        stream_labels = [r["label"] for r in sink.of("window")]
        assert stream_labels == eval_labels, rec.meta["file"]
        total += len(eval_labels)
    assert total == 803


def test_48khz_recording_into_12khz_model(stream_model):
    _, onnx = stream_model
    correct = 0
    for i, cond in enumerate(["normal", "inner_race", "ball", "outer_race"]):
        x = simulate_bearing(cond, fs=48000.0, duration=4.0, rpm=1760, seed=500 + i, resonance_band=(1500, 5000))
        sink, summary = stream_array(onnx, x, 48000.0)
        labels = [r["label"] for r in sink.of("window")]
        assert summary["stream_seconds"] == pytest.approx(4.0, abs=0.01)  # at the model's 12 kHz
        majority = max(set(labels), key=labels.count)
        correct += majority == cond
    assert correct == 4


@pytest.mark.parametrize("fault,seed", [("outer_race", 101), ("inner_race", 102), ("ball", 103)])
def test_one_alarm_raised_then_cleared(stream_model, fault, seed):
    """normal 6 s -> fault 6 s -> normal 6 s: exactly one alarm, raised and cleared within the documented delay."""
    _, onnx = stream_model
    x = simulate_sequence([("normal", 6.0), (fault, 6.0), ("normal", 6.0)], seed=seed)
    sink, _ = stream_array(onnx, x, 12000.0)
    alarms = sink.of("alarm")
    assert [a["state"] for a in alarms] == ["alarm", "clear"], alarms
    assert alarms[0]["label"] == fault
    # documented: raise <= window (0.17 s) + smoothing (5 hops, 0.43 s) + min_raise 0.5 s; clear with min_clear 1 s
    assert 6.0 < alarms[0]["stream_time"] <= 6.0 + 1.2
    assert 12.0 < alarms[1]["stream_time"] <= 12.0 + 1.7


def test_gaps_nan_and_drop_policy(stream_model):
    _, onnx = stream_model
    x = simulate_bearing("normal", duration=3.0, seed=3)
    x[12000:12010] = np.nan
    be, md = open_model(onnx)
    be.activate()
    sink = ListSink()
    src = ArraySource(x, 12000.0, block=1000, gaps_at=[24000])
    s = StreamRunner(be, md, src, [sink], StreamConfig()).run(handle_signals=False)
    rejected = sink.of("rejected")
    assert rejected and all(r["reason"] == "nan_or_inf" for r in rejected)
    assert s["rejected"] == len(rejected) and s["gaps"] == 1 and len(sink.of("gap")) == 1
    # no window straddles the gap: window ends restart a full window after it
    ends = [round(r["stream_time"] * 12000) for r in sink.of("window") + rejected]
    assert not any(24000 < e < 24000 + 2048 for e in ends)
    assert s["windows_in"] == s["processed"] + s["rejected"] + s["dropped"]


def test_drop_oldest_counts_drops(stream_model):
    _, onnx = stream_model

    class Slow:
        def __init__(self, be):
            self.be = be

        def infer(self, x):
            time.sleep(0.02)
            return self.be.infer(x)

    be, md = open_model(onnx)
    be.activate()
    sink = ListSink()
    src = ArraySource(simulate_bearing("ball", duration=10.0, seed=4), 12000.0)
    s = StreamRunner(Slow(be), md, src, [sink], StreamConfig(queue_size=4, batch_size=1, policy="drop-oldest")).run(
        handle_signals=False)
    assert s["dropped"] > 0 and s["windows_in"] == s["processed"] + s["dropped"]
    assert s["processed"] == len(sink.of("window"))




def test_cli_files_wav_csv_mat(stream_model, tmp_path, capsys, cwru_dir):
    _, onnx = stream_model
    x = simulate_bearing("outer_race", duration=2.0, seed=5)
    sf.write(tmp_path / "r.wav", np.stack([x, x], 1) / 4, 12000, subtype="FLOAT")
    code, out, err = run_cli(capsys, ["stream", str(onnx), str(tmp_path / "r.wav"), "--scale", "4"])
    recs = [json.loads(line) for line in out.splitlines()]
    assert {r["unit"] for r in recs if r["type"] == "window"} == {0, 1}  # two sensors, two units
    assert code == 1 and any(r["type"] == "alarm" for r in recs)  # exit code 1: an alarm was raised
    assert recs[-1]["type"] == "summary" and "real-time factor" in err
    t = np.arange(len(x)) / 12000
    t[12000:] += 0.5  # half a second missing
    np.savetxt(tmp_path / "r.csv", np.stack([t, x], 1), delimiter=",", header="time,accel", comments="")
    code, out, _ = run_cli(capsys, ["stream", str(onnx), str(tmp_path / "r.csv"), "--time-column", "0", "--alarms-only"])
    recs = [json.loads(line) for line in out.splitlines()]
    assert code == (1 if any(r["type"] == "alarm" for r in recs) else 0) and sum(r["type"] == "gap" for r in recs) == 1
    assert not any(r["type"] == "window" for r in recs)
    code, out, _ = run_cli(capsys, ["stream", str(onnx), str(cwru_dir / "97.mat"), "--alarms-only"])
    summary = json.loads(out.splitlines()[-1])
    assert code == (1 if summary["alarms"] else 0)
    assert summary["stream_seconds"] == pytest.approx(243938 / 48000, abs=0.01)  # 48 kHz -> 12 kHz


def test_truncated_wav_is_reported(stream_model, tmp_path, capsys):
    _, onnx = stream_model
    sf.write(tmp_path / "t.wav", simulate_bearing("ball", duration=2.0, seed=6), 12000, subtype="PCM_16")
    data = (tmp_path / "t.wav").read_bytes()
    (tmp_path / "t.wav").write_bytes(data[: len(data) // 2])
    code, _, err = run_cli(capsys, ["stream", str(onnx), str(tmp_path / "t.wav"), "--jsonl", str(tmp_path / "o.jsonl")])
    assert code in (0, 1) and "truncated file" in err




def test_bad_inputs_are_one_line_errors(stream_model, tmp_path, capsys):
    import onnx as onnx_pkg
    import torch

    _, model = stream_model
    np.save(tmp_path / "two.npy", np.zeros((2, 1000), np.float32))  # (channels, samples), the project's layout
    np.save(tmp_path / "samples_first.npy", np.zeros((1000, 2), np.float32))
    assert_one_line_error(capsys, ["stream", str(model), str(tmp_path / "samples_first.npy"), "--fs", "12000"],
                          "looks like (samples, channels)")
    assert_one_line_error(capsys, ["stream", str(model), str(tmp_path / "two.npy"), "--fs", "12000", "--channels", "5"],
                   "no channel '5'")
    assert_one_line_error(capsys, ["stream", str(model), str(tmp_path / "two.npy"), "--fs", "12000", "--raw-channels", "1"],
                   "--raw-channels is for raw streams")
    assert_one_line_error(capsys, ["stream", str(model), str(tmp_path / "two.npy"), "--fs", "12000", "--channel-map", "0,5"],
                   "names sensor 5")
    (tmp_path / "x.xyz").write_text("1,2,3")
    assert_one_line_error(capsys, ["stream", str(model), str(tmp_path / "x.xyz")], "unknown file type")
    assert_one_line_error(capsys, ["stream", str(model), str(tmp_path / "none.wav")], "input file not found")
    assert_one_line_error(capsys, ["stream", str(model), str(tmp_path / "two.npy")], "holds no sample rate")
    plain = tmp_path / "plain.onnx"
    torch.onnx.export(torch.nn.Conv1d(1, 4, 3), (torch.zeros(1, 1, 64),), str(plain), dynamo=False)
    assert onnx_pkg.load(str(plain))
    assert_one_line_error(capsys, ["stream", str(plain), str(tmp_path / "two.npy"), "--fs", "12000"], "no drsn-edge metadata")
    (tmp_path / "junk.onnx").write_bytes(b"\x00junk")
    assert_one_line_error(capsys, ["stream", str(tmp_path / "junk.onnx"), "-"], "not a loadable ONNX model")
    assert_one_line_error(capsys, ["stream", str(model), "-", "--fs", "12000", "--raw-channels", "1", "--raise", "0.2"],
                   "hysteresis")


def test_garbage_on_socket_is_rejected_not_fatal(stream_model):
    """Random bytes on a TCP stream: implausible windows are counted as rejected; the process ends cleanly."""
    _, onnx = stream_model
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def send():
        conn, _ = srv.accept()
        rng = np.random.default_rng(7)
        conn.sendall(rng.bytes(4 * 12000 * 2 + 3))  # 2 s of garbage plus a partial frame
        conn.close()

    threading.Thread(target=send, daemon=True).start()
    proc = subprocess.run([sys.executable, "-m", "drsn_edge", "stream", str(onnx), f"tcp://127.0.0.1:{port}",
                           "--fs", "12000", "--raw-channels", "1", "--alarms-only"], capture_output=True, text=True, timeout=60)
    srv.close()
    assert proc.returncode == 3, proc.stderr  # no window could be classified
    assert "no window processed: every window was rejected (nan_or_inf" in proc.stderr
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert summary["rejected"] > 0 and summary["processed"] + summary["rejected"] == summary["windows_in"]
    assert summary["streams"][0]["windows_in"] == summary["windows_in"] and "partial frame" in proc.stderr


def test_stdin_int16_stream(stream_model):
    _, onnx = stream_model
    x = simulate_bearing("inner_race", duration=3.0, seed=8)
    raw = np.clip(x / 4 * 32767, -32768, 32767).astype("<i2").tobytes()
    proc = subprocess.run([sys.executable, "-m", "drsn_edge", "stream", str(onnx), "-", "--fs", "12000", "--raw-channels", "1",
                           "--format", "s16le", "--scale", "4"], input=raw, capture_output=True, timeout=60)
    assert proc.returncode == 1, proc.stderr  # the inner-race fault raised an alarm
    windows = [json.loads(line) for line in proc.stdout.splitlines() if b'"window"' in line]
    assert len(windows) == (36000 - 2048) // 1024 + 1
    labels = [w["label"] for w in windows]
    assert max(set(labels), key=labels.count) == "inner_race"


def test_sigterm_flushes_and_summarizes(stream_model, tmp_path):
    _, onnx = stream_model
    np.save(tmp_path / "long.npy", simulate_bearing("normal", duration=30.0, seed=9))
    proc = subprocess.Popen([sys.executable, "-m", "drsn_edge", "stream", str(onnx), str(tmp_path / "long.npy"), "--fs",
                             "12000", "--realtime", "--jsonl", str(tmp_path / "o.jsonl")], stderr=subprocess.PIPE, text=True)
    time.sleep(4.0)
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    recs = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert recs[-1]["type"] == "summary" and 0 < recs[-1]["stream_seconds"] < 20
    assert recs[-1]["processed"] == sum(r["type"] == "window" for r in recs)


TORCH_BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is not available on this device")
sys.meta_path.insert(0, Block())
"""


def test_runtime_never_imports_torch(stream_model, tmp_path):
    """The runtime and `drsn-edge stream` run where `import torch` raises."""
    _, onnx = stream_model
    np.save(tmp_path / "r.npy", simulate_bearing("ball", duration=2.0, seed=10))
    (tmp_path / "sitecustomize.py").write_text(TORCH_BLOCKER)
    env = {"PYTHONPATH": f"{tmp_path}:{REPO}", "PATH": "/usr/bin:/bin"}
    code = f"""
import sys
try:
    import torch
    raise SystemExit("torch import was not blocked")
except ImportError:
    pass
import drsn_edge.runtime as rt
from drsn_edge.runtime.sinks import mqtt, prometheus, jsonl
from drsn_edge.cli.main import main
from drsn_edge.zoo import MODELS
rc = main(["stream", {str(onnx)!r}, {str(tmp_path / 'r.npy')!r}, "--fs", "12000", "--jsonl", {str(tmp_path / 'o.jsonl')!r}])
assert rc in (0, 1), rc
assert not any(m == "torch" or m.startswith("torch.") for m in sys.modules)
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr


def test_overlapped_inference_decides_exactly_as_one_batch_after_another(stream_model):
    """With a backlog the runner infers the next batch on a worker thread while it decides the current one: each
    unit's records (windows, alarms, in their order) are those of the serial loop. (How windows and alarms of
    different units interleave depends on where batches end, which depends on timing in either loop.)"""
    from drsn_edge.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

    _, onnx = stream_model
    x = np.stack([simulate_sequence([("normal", 3.0), (f, 6.0), ("normal", 4.0)], seed=i)
                  for i, f in enumerate(["outer_race", "inner_race", "ball"])])
    threads: list[str] = []
    infer_all = OnnxRuntimeBackend.infer_all

    def spy(self, *a, **k):
        threads.append(threading.current_thread().name)
        return infer_all(self, *a, **k)

    def run(overlap: bool):
        be, md = open_model(onnx)
        be.activate()
        threads.clear()
        be.infer_all = spy.__get__(be)
        sink = ListSink()
        with pytest.MonkeyPatch.context() as mp:
            if not overlap:
                mp.setattr(OnnxRuntimeBackend, "overlap", property(lambda s: False))
            StreamRunner(be, md, ArraySource(x, 12000.0, block=777), [sink],
                         StreamConfig(batch_size=8)).run(handle_signals=False)
        keep = ("type", "unit", "stream_time", "label", "smoothed_label", "state", "kind")
        per_unit: dict[tuple[str, int], list[dict]] = {}
        p_fault: dict[tuple[str, int], list[float]] = {}
        for r in sink.records:
            if r["type"] in ("window", "alarm"):
                per_unit.setdefault((r["type"], r["unit"]), []).append({k: r[k] for k in keep if k in r})
                p_fault.setdefault((r["type"], r["unit"]), []).append(r["p_fault"])
        return per_unit, p_fault, list(threads)

    serial, serial_p, serial_threads = run(False)
    overlapped, overlapped_p, overlapped_threads = run(True)
    assert {k for k in serial if k[0] == "alarm"} == {("alarm", 0), ("alarm", 1), ("alarm", 2)}
    assert sum(len(v) for k, v in serial.items() if k[0] == "window") > 100
    assert overlapped == serial
    for k, v in serial_p.items():  # a window's logits may differ in the last bits with the batch it ran in
        np.testing.assert_allclose(overlapped_p[k], v, atol=1e-5)
    assert all(t.startswith("drsn-infer") is False for t in serial_threads)
    assert sum(t.startswith("drsn-infer") for t in overlapped_threads) > len(overlapped_threads) // 2
