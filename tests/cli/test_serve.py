"""``drsn-edge serve``: a deployment file's inputs side by side match the equivalent ``stream`` runs record for record;
``--check`` names each planted mistake with file:line and key; the systemd unit it prints."""

import json
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from drsn_edge.cli.main import main
from drsn_edge.data.simulator import simulate_bearing

WALL_CLOCK = {"wall_time", "latency_ms"}


def tcp_sender(x: np.ndarray, fs: float) -> tuple[socket.socket, int]:
    """A sensor gateway on a socket: accepts one connection per call, sends ``x`` (float32, interleaved) at its real
    rate, then closes."""
    srv = socket.create_server(("127.0.0.1", 0))
    raw = np.ascontiguousarray(x.T, "<f4").tobytes()
    step = int(fs / 10) * 4 * x.shape[0]

    def serve():
        for _ in range(2):  # serve, then stream
            conn, _ = srv.accept()
            for i in range(0, len(raw), step):
                conn.sendall(raw[i:i + step])
                time.sleep(0.1)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv, srv.getsockname()[1]


def records(path):
    """Per stream, every record but the run's summary and the stream's own end (wall-clock figures), wall-clock fields
    left out."""
    out: dict[str, list] = {}
    for line in path.read_text().splitlines():
        r = json.loads(line)
        if r["type"] in ("summary", "stream_end"):
            continue
        out.setdefault(r["stream"], []).append({k: v for k, v in r.items() if k not in WALL_CLOCK})
    return out


def same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return abs(a - b) <= 1e-4 * max(1.0, abs(a))
    return a == b


def test_serve_matches_the_equivalent_stream_runs(stream_model, tmp_path):
    _, onnx = stream_model
    sf.write(tmp_path / "a.wav", simulate_bearing("inner_race", duration=4.0, seed=1), 12000, subtype="FLOAT")
    two = np.stack([simulate_bearing("normal", duration=4.0, seed=2), simulate_bearing("ball", duration=4.0, seed=3)])
    sf.write(tmp_path / "b.wav", two.T, 12000, subtype="FLOAT")
    srv, port = tcp_sender(simulate_bearing("outer_race", duration=4.0, seed=4)[None], 12000)
    (tmp_path / "deploy.toml").write_text(f"""
model = "{onnx}"
jsonl = "serve.jsonl"
raise = 0.7

[[input]]
input = "a.wav"
stream-id = "pump-1"
realtime = true
bearing = "6205"
rpm = 1797

[[input]]
input = "b.wav"
stream-id = "fan-2"
realtime = true
channel-map = "0,1"

[[input]]
input = "tcp://127.0.0.1:{port}"
stream-id = "gearbox-3"
fs = 12000
raw-channels = 1
policy = "block"
""")
    alone = {
        "pump-1": ["a.wav", "--stream-id", "pump-1", "--realtime", "--bearing", "6205", "--rpm", "1797"],
        "fan-2": ["b.wav", "--stream-id", "fan-2", "--realtime", "--channel-map", "0,1"],
        "gearbox-3": [f"tcp://127.0.0.1:{port}", "--stream-id", "gearbox-3", "--fs", "12000", "--raw-channels", "1",
                      "--policy", "block"],
    }
    expected = {}
    for sid, args in alone.items():  # one after another: the sender serves the stream run first
        out = tmp_path / f"{sid}.jsonl"
        subprocess.run([sys.executable, "-m", "drsn_edge", "stream", str(onnx), *args, "--raise", "0.7", "--jsonl",
                        str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        expected.update(records(out))
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "drsn_edge", "serve", str(tmp_path / "deploy.toml")], cwd="/",
                          capture_output=True, text=True, timeout=120)
    took = time.monotonic() - t0
    srv.close()
    assert proc.returncode == 1, proc.stderr  # alarms raised
    got = records(tmp_path / "serve.jsonl")  # relative to the deployment file, not the working directory
    assert sorted(got) == sorted(expected) == ["fan-2", "gearbox-3", "pump-1"]
    for sid in expected:
        assert len(got[sid]) == len(expected[sid]) > 30, sid
        assert all(same(a, b) for a, b in zip(got[sid], expected[sid])), sid
        assert any(r["type"] == "alarm" for r in got[sid]), sid
    assert took < 4.0 * 2.5  # side by side: about one input's real time, not three
    summary = json.loads((tmp_path / "serve.jsonl").read_text().splitlines()[-1])
    assert summary["type"] == "summary" and len(summary["streams"]) == 3


GOOD = """model = "{model}"
jsonl = "out.jsonl"

[[input]]
input = "{wav}"
stream-id = "pump-1"
bearing = "6205"
rpm = 1797
"""

#: (what is wrong, the file's text, the line named, the key named, words of the message)
MISTAKES = [
    ("unknown key", GOOD.replace("rpm = 1797", "rmp = 1797"), 8, "rmp", "did you mean 'rpm'"),
    ("wrong type", GOOD.replace('jsonl = "out.jsonl"', 'jsonl = "out.jsonl"\nbatch-size = "64"'), 3, "batch-size",
     "expected a number"),
    ("not a choice", GOOD.replace('stream-id = "pump-1"', 'stream-id = "pump-1"\npolicy = "fast"'), 7, "policy",
     "not one of block, drop-oldest"),
    ("missing model", GOOD.replace("{model}", "{tmp}/nope.onnx"), 1, "model", "not found"),
    ("no model key", GOOD.replace('model = "{model}"', "# no model"), 1, "model", "missing"),
    ("missing input file", GOOD.replace("{wav}", "{tmp}/gone.wav"), 5, "input", "not found"),
    ("unknown bearing", GOOD.replace('"6205"', '"6205-XYZ"'), 7, "bearing", "unknown bearing '6205-XYZ'"),
    ("unit names a missing channel", GOOD + 'channel-map = "0,2"\n', 9, "channel-map", "names sensor 2"),
    ("more units than channels", GOOD + 'channel-map = "0,1,2,3"\n', 9, "channel-map", "4 units"),
    ("two inputs, one id", GOOD + '\n[[input]]\ninput = "{wav}"\nstream-id = "pump-1"\n', 12, "stream-id",
     "also input 1's"),
    ("output key in an input", GOOD + 'mqtt = "mqtt://x"\n', 9, "mqtt", "whole deployment"),
    ("unknown table", GOOD + "\n[outputs]\njsonl = 'x'\n", 10, "[outputs]", "unknown table"),
    ("not a class", GOOD + 'normal-label = "healthy"\n', 4, "", "not a class of the model"),
    ("bad number", GOOD + "max-latency-ms = -5\n", 4, "", "batch deadline (s) must be"),
]


@pytest.fixture
def two_channel_wav(tmp_path):
    x = np.stack([simulate_bearing("normal", duration=1.0, seed=0)] * 2, 1)
    sf.write(tmp_path / "two.wav", x, 12000, subtype="FLOAT")
    return tmp_path / "two.wav"


@pytest.mark.parametrize("what,text,line,key,words", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_check_names_each_mistake(stream_model, tmp_path, two_channel_wav, capsys, what, text, line, key, words):
    path = tmp_path / "deploy.toml"
    path.write_text(text.format(model=stream_model[1], wav=two_channel_wav, tmp=tmp_path))
    assert main(["serve", "--check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("drsn-edge serve: ") and "problem(s)" in err[-1]
    assert len(err) >= 2 and "Traceback" not in "".join(err)
    first = err[0]
    assert first.startswith(f"{path}:{line}: {key + ': ' if key else ''}"), first
    assert words in first, first


def test_check_passes_a_good_file_and_syntax_errors_are_one_line(stream_model, tmp_path, two_channel_wav, capsys):
    path = tmp_path / "deploy.toml"
    path.write_text(GOOD.format(model=stream_model[1], wav=two_channel_wav))
    assert main(["serve", "--check", str(path)]) == 0
    assert "OK: 1 input table(s)" in capsys.readouterr().out
    path.write_text(GOOD.format(model=stream_model[1], wav=two_channel_wav) + "raise = 0.8 0.9\n")
    assert main(["serve", "--check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"drsn-edge serve: error: {path}:9: TOML syntax error"), err
    assert main(["serve", "--check", str(tmp_path / "none.toml")]) == 2
    assert "deployment file not found" in capsys.readouterr().err


def test_print_unit(stream_model, tmp_path, two_channel_wav, capsys):
    path = tmp_path / "deploy.toml"
    path.write_text(GOOD.format(model=stream_model[1], wav=two_channel_wav))
    assert main(["serve", "--print-unit", str(path), "--user", "vib"]) == 0
    unit = capsys.readouterr().out
    for line in ("Type=notify", "WatchdogSec=30", "Restart=on-failure", "User=vib", "ProtectSystem=strict",
                 "StateDirectory=drsn-edge", "ExecReload=/bin/kill -HUP $MAINPID", f"ReadWritePaths={tmp_path}",
                 f"ExecStart={sys.executable} -m drsn_edge serve {path}"):
        assert line in unit.splitlines(), line


def test_a_change_made_while_the_service_starts_is_said(stream_model, tmp_path):
    """What the running deployment was planned from is what a change is measured against: a key changed between the
    start-up's reading and the watcher's first look is said (read afresh at the watcher's start, it went unsaid)."""
    from drsn_edge.cli.deploy_file import read_deploy_file
    from drsn_edge.cli.serve import Redeploy

    _, model = stream_model
    np.save(tmp_path / "x.npy", np.zeros((1, 24000), np.float32))
    deploy = tmp_path / "deploy.toml"
    text = 'model = "{}"\njsonl = "out.jsonl"\n{}\n[[input]]\ninput = "x.npy"\nfs = 12000\n'
    deploy.write_text(text.format(model, ""))
    started = read_deploy_file(deploy)
    deploy.write_text(text.format(model, "raise = 0.7\n"))
    said: list[str] = []
    assert Redeploy(str(deploy), said.append, started)() == str(model)
    assert said == [f"{deploy}: raise changed: applied at the next restart (systemctl restart); only the model is "
                    "followed live"]


def test_a_changed_deployment_file_is_checked_before_anything_follows_it(stream_model, tmp_path):
    """While serving, a deployment file with a problem is refused line by line (file:line: key) and nothing follows
    it; a good one gives the model it names, and every other change is said to wait for a restart."""
    from drsn_edge.cli.serve import Redeploy

    _, model = stream_model
    np.save(tmp_path / "x.npy", np.zeros((1, 24000), np.float32))
    deploy = tmp_path / "deploy.toml"
    text = 'model = "{}"\njsonl = "out.jsonl"\n\n[[input]]\ninput = "x.npy"\nfs = 12000\n'
    deploy.write_text(text.format(model))
    said: list[str] = []
    redeploy = Redeploy(str(deploy), said.append)
    deploy.write_text(text.format(model) + "smoothng = 3\n")
    assert redeploy() is None
    assert any(f"{deploy}:7: smoothng: unknown key; did you mean 'smooth'?" in s for s in said), said
    assert "refused (1 problem(s)); the running deployment goes on" in said[-1]
    said.clear()
    deploy.write_text('model = "other.onnx"\njsonl = "out.jsonl"\n\n[[input]]\ninput = "x.npy"\nfs = 12000\n')
    assert redeploy() is None and any("other.onnx" in s and "not found" in s for s in said), said  # a missing model
    said.clear()
    (tmp_path / "other.onnx").write_bytes(model.read_bytes())
    deploy.write_text('model = "other.onnx"\njsonl = "out.jsonl"\nraise = 0.7\n\n[[input]]\ninput = "x.npy"\n'
                      'fs = 12000\nhop = 512\n')
    assert redeploy() == str(tmp_path / "other.onnx")
    assert said == [f"{deploy}: raise, input 1 hop changed: applied at the next restart (systemctl restart); only the "
                    "model is followed live"]
