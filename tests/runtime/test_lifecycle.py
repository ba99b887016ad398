"""A stop request in every state ends with a summary and exit code 0; tcp-listen serves one sender after another."""

import json
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from drsn_edge.data.simulator import simulate_bearing


def caught(pid: int, sig: int) -> bool:
    """Whether the process has a handler for ``sig`` (its SigCgt mask in /proc)."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    except OSError:
        pass
    return False


def stream(onnx, tmp_path, *args, stdin=subprocess.DEVNULL):
    return subprocess.Popen([sys.executable, "-m", "drsn_edge", "stream", str(onnx), *args, "--jsonl",
                             str(tmp_path / "o.jsonl")], stdin=stdin, stderr=subprocess.PIPE, text=True)


def finish(proc, tmp_path, sig=signal.SIGTERM):
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Fatal Python error" not in err and "Traceback" not in err
    recs = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert recs[-1]["type"] == "summary" and recs[-1]["stopped"]
    return recs, err


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_stop_during_start_up(stream_model, tmp_path):
    _, onnx = stream_model
    proc = stream(onnx, tmp_path, "-", "--fs", "12000", "--raw-channels", "1", stdin=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not caught(proc.pid, signal.SIGTERM) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert caught(proc.pid, signal.SIGTERM)
    recs, _ = finish(proc, tmp_path)  # as soon as the handler is there: model loading, imports, ...
    assert recs[-1]["processed"] == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_while_stdin_is_idle(stream_model, tmp_path, sig):
    _, onnx = stream_model
    proc = stream(onnx, tmp_path, "-", "--fs", "12000", "--raw-channels", "1", stdin=subprocess.PIPE)
    proc.stdin.buffer.write(simulate_bearing("normal", duration=1.0, seed=1).astype("<f4").tobytes())
    proc.stdin.buffer.flush()
    time.sleep(3.0)  # then nothing more arrives
    recs, _ = finish(proc, tmp_path, sig)
    assert recs[-1]["processed"] > 0


def test_stop_while_tcp_listen_waits(stream_model, tmp_path):
    _, onnx = stream_model
    port = free_port()
    proc = stream(onnx, tmp_path, f"tcp-listen://127.0.0.1:{port}", "--fs", "12000", "--raw-channels", "1")
    time.sleep(3.0)
    finish(proc, tmp_path)


def test_tcp_listen_serves_one_sender_after_another(stream_model, tmp_path):
    _, onnx = stream_model
    port = free_port()
    proc = stream(onnx, tmp_path, f"tcp-listen://127.0.0.1:{port}", "--fs", "12000", "--raw-channels", "1")
    for seed in (1, 2):
        deadline = time.monotonic() + 20
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        conn.sendall(simulate_bearing("normal", duration=1.0, seed=seed).astype("<f4").tobytes())
        conn.close()
        time.sleep(1.0)
    recs, _ = finish(proc, tmp_path)
    windows = [r for r in recs if r["type"] == "window"]
    assert recs[-1]["windows_in"] == 2 * ((12000 - 2048) // 1024 + 1) and len(windows) == recs[-1]["processed"]
    assert sum(r["type"] == "gap" for r in recs) == 1  # the second sender's data does not join the first's


def test_a_run_without_windows_says_why(stream_model, tmp_path):
    _, onnx = stream_model
    np.save(tmp_path / "short.npy", simulate_bearing("normal", duration=0.1, seed=1)[None])
    p = subprocess.run([sys.executable, "-m", "drsn_edge", "stream", str(onnx), str(tmp_path / "short.npy"), "--fs",
                        "12000", "--jsonl", "none"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 3
    assert "no window processed: the input (0.1 s at the model's rate) is shorter than one window (2048 samples" in p.stderr
