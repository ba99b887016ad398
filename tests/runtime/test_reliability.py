"""Reliability, round two: each finding of the independent probe of `drsn-edge stream`, reproduced here, failed before
its fix (crashes on stop, silent data mixing, output accounting that lies)."""

import json
import os
import signal
import subprocess
import sys
import time
import wave

import numpy as np
import pytest

from drsn_edge.data.simulator import simulate_sequence
from tests.cli_helpers import assert_one_line_error, run_cli


def strict(line: str):
    """JSON as strict parsers read it (Node's JSON.parse): NaN and Infinity are errors."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(line, parse_constant=refuse)


def records(path):
    return [strict(line) for line in path.read_text().splitlines()]


def stream_proc(onnx, *args, **kw):
    return subprocess.Popen([sys.executable, "-m", "drsn_edge", "stream", str(onnx), *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """Ten minutes at 12 kHz, as .npy (memory-mapped) and .wav: long enough to be stopped while reading."""
    d = tmp_path_factory.mktemp("big")
    x = np.tile(simulate_sequence([("normal", 30.0), ("outer_race", 30.0)], seed=4), 10)
    np.save(d / "big.npy", x[None].astype(np.float32))
    with wave.open(str(d / "big.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(12000)
        w.writeframes(np.clip(x / 4 * 32767, -32768, 32767).astype("<i2").tobytes())
    return d


@pytest.mark.parametrize("kind", ["npy", "wav"])
def test_a_stop_while_a_large_file_is_read_ends_with_a_summary(stream_model, big, tmp_path, kind):
    """Before: SIGSEGV in 7 of 12 stops (the stop path unmapped the .npy under the reader thread); with a .wav,
    "I/O operation on closed file", exit 2 and a summary that said 1."""
    _, onnx = stream_model
    rng = np.random.default_rng(0)
    for i in range(6):
        out = tmp_path / f"o{i}.jsonl"
        proc = stream_proc(onnx, big / f"big.{kind}", "--fs", "12000", "--jsonl", out)
        time.sleep(0.8 + rng.uniform(0, 1.5))
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode in (0, 1), err
        assert "Fatal Python error" not in err and "closed file" not in err
        last = records(out)[-1]
        assert last["type"] == "summary" and last["exit_code"] == proc.returncode


@pytest.mark.parametrize("option, value", [("--max-latency-ms", "inf"), ("--max-latency-ms", "1e300"),
                                           ("--max-latency-ms", "nan"), ("--min-raise-s", "nan"),
                                           ("--min-clear-s", "inf"), ("--suppress-s", "nan"), ("--batch-size", "1000000000"),
                                           ("--queue", "100000000"), ("--smooth", "0"), ("--clip-level", "nan")])
def test_every_number_is_checked_finite_and_in_range(stream_model, tmp_path, capsys, option, value):
    """Before: inf crashed the process (SIGSEGV) on .npy, an internal error on CSV; nan was accepted silently."""
    np.save(tmp_path / "r.npy", simulate_sequence([("normal", 1.0)], seed=1)[None])
    assert_one_line_error(capsys, ["stream", str(stream_model[1]), str(tmp_path / "r.npy"), "--fs", "12000", option, value],
                          "must be")


def test_a_failing_input_is_counted_and_the_later_ones_still_run(stream_model, tmp_path, capsys):
    """Before: a CSV whose time column ran backwards ended the run with exit 2 while the summary said exit_code 0 and
    no failed input; later inputs were neither run nor named; "real_time_factor": Infinity is not JSON."""
    t = np.arange(30000) / 12000
    t[20000:] -= 1.0  # backwards midway
    x = simulate_sequence([("normal", 2.5)], seed=3)
    (tmp_path / "a.csv").write_text("time_s,accel\n" + "".join(f"{a:.6f},{b:.5f}\n" for a, b in zip(t, x)))
    np.save(tmp_path / "b.npy", simulate_sequence([("normal", 2.0)], seed=5)[None])
    out = tmp_path / "o.jsonl"
    code, _, err = run_cli(capsys, ["stream", str(stream_model[1]), str(tmp_path / "a.csv"), str(tmp_path / "b.npy"),
                                    "--fs", "12000", "--jsonl", str(out)])
    recs = records(out)
    summary = recs[-1]
    assert code == 2 and summary["exit_code"] == 2, err
    assert len(summary["failed_inputs"]) == 1 and "does not increase" in summary["failed_inputs"][0]
    assert [s["stream"] for s in summary["streams"]] == ["a", "b"] and summary["streams"][1]["processed"] > 0
    np.save(tmp_path / "short.npy", np.ones((1, 10), np.float32))
    code, _, _ = run_cli(capsys, ["stream", str(stream_model[1]), str(tmp_path / "short.npy"), "--fs", "12000", "--jsonl",
                                  str(tmp_path / "s.jsonl")])
    assert code == 3 and records(tmp_path / "s.jsonl")[-1]["exit_code"] == 3  # no window: strict JSON all the same


def test_jsonl_counts_what_reached_the_file(tmp_path, monkeypatch):
    """Before: on a full disk the summary said 118 records, 3 lost; the file held 41 whole lines and a cut one."""
    from drsn_edge.runtime.sinks import jsonl

    sink = jsonl.JsonLinesSink(str(tmp_path / "o.jsonl"))
    room = [3000]
    real_write = os.write

    def full_disk(fd, data):
        if fd != sink.fd:
            return real_write(fd, data)
        if room[0] <= 0:
            raise OSError(28, "No space left on device")
        n = real_write(fd, data[: room[0]])
        room[0] -= n
        return n

    monkeypatch.setattr(jsonl.os, "write", full_disk)
    recs = [{"type": "window", "stream": "s", "unit": 0, "stream_time": i / 10, "p": float("nan") if i == 3 else 0.5}
            for i in range(118)]
    with pytest.raises(OSError):
        for k in range(0, 118, 10):
            sink.emit_many(recs[k : k + 10])
            sink._write()
    lines = (tmp_path / "o.jsonl").read_text().splitlines(keepends=True)
    assert all(line.endswith("\n") for line in lines)  # whole lines only: the cut one is taken back off
    parsed = [strict(line) for line in lines]
    assert sink.stats()["records"] == len(parsed) and parsed[3]["p"] is None
    assert sink.stats()["records"] + sink.stats()["lost"] == min(118, (len(parsed) // 10 + 1) * 10)


def test_pipes_and_devices_are_refused_not_waited_on(stream_model, tmp_path, capsys):
    """Before: a .npy FIFO without a writer blocked in open() and ignored SIGINT and SIGTERM."""
    os.mkfifo(tmp_path / "x.npy")
    t0 = time.monotonic()
    assert_one_line_error(capsys, ["stream", str(stream_model[1]), str(tmp_path / "x.npy"), "--fs", "12000"],
                          "a pipe or device, not a recording file")
    assert time.monotonic() - t0 < 30


def test_a_wide_csv_and_an_empty_array_are_one_line_errors(stream_model, tmp_path, capsys):
    (tmp_path / "wide.csv").write_text(",".join("1" for _ in range(20000)) + "\n")
    assert_one_line_error(capsys, ["stream", str(stream_model[1]), str(tmp_path / "wide.csv"), "--fs", "12000"],
                          "20000 columns")
    np.save(tmp_path / "empty.npy", np.zeros((0, 12000), np.float32))  # before: internal error, exit 70
    assert_one_line_error(capsys, ["stream", str(stream_model[1]), str(tmp_path / "empty.npy"), "--fs", "12000"],
                          "an empty array")


def test_sigterm_at_once_and_sighup_rotation(stream_model, big, tmp_path):
    """Before: SIGTERM in the first ~0.1 s killed with 143 and no summary; SIGHUP killed the process."""
    _, onnx = stream_model
    out = tmp_path / "o.jsonl"
    proc = stream_proc(onnx, big / "big.npy", "--fs", "12000", "--jsonl", out, "--realtime")
    time.sleep(0.12)  # the interpreter has started; our imports have not finished
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert records(out)[-1]["type"] == "summary"
    out.unlink()
    proc = stream_proc(onnx, big / "big.npy", "--fs", "12000", "--jsonl", out, "--realtime")
    deadline = time.monotonic() + 60
    while (not out.exists() or out.stat().st_size == 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    out.rename(tmp_path / "o.1.jsonl")  # logrotate: move, then SIGHUP
    proc.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    old, new = records(tmp_path / "o.1.jsonl"), records(out)
    assert old and new[-1]["type"] == "summary" and new[-1]["outputs"]["jsonl"]["reopened"] == 1
    times = [r["stream_time"] for r in old + new if r["type"] == "window"]
    assert times == sorted(times) and len(set(times)) == len(times)  # nothing lost or repeated across the rotation


def test_manifest_paths_stay_in_its_folder_and_cells_are_not_echoed(stream_model, tmp_path, capsys):
    (tmp_path / "m").mkdir()
    np.save(tmp_path / "r.npy", simulate_sequence([("normal", 1.0)], seed=1)[None])
    (tmp_path / "m" / "list.csv").write_text("path,fs\n../r.npy,12000\n")
    argv = ["stream", str(stream_model[1]), str(tmp_path / "m" / "list.csv"), "--jsonl", "none"]
    assert_one_line_error(capsys, argv, "is outside the manifest's folder")
    code, _, err = run_cli(capsys, [*argv, "--allow-outside"])
    assert code in (0, 3), err
    (tmp_path / "m" / "list.csv").write_text("path,fs\nr.npy," + "x" * 5000 + "\n")
    code, _, err = run_cli(capsys, argv)
    assert code == 2 and len(err) < 400 and "x" * 50 not in err


def test_stream_time_goes_on_across_a_gap_in_a_csv_time_column(stream_model, tmp_path, capsys):
    """Before: a 1-hour gap moved stream time from 2.5 s to 2.67 s (a gap record was written all the same)."""
    x = simulate_sequence([("normal", 6.0)], seed=2)
    t = np.arange(len(x)) / 12000
    t[36000:] += 3600.0
    (tmp_path / "g.csv").write_text("time_s,accel\n" + "".join(f"{a:.6f},{b:.5f}\n" for a, b in zip(t, x)))
    code, out, err = run_cli(capsys, ["stream", str(stream_model[1]), str(tmp_path / "g.csv"), "--jsonl", "-"])
    recs = [strict(line) for line in out.splitlines()]
    gap = next(r for r in recs if r["type"] == "gap")
    after = [r["stream_time"] for r in recs if r["type"] == "window" and r["stream_time"] > gap["stream_time"]]
    assert 2.9 < gap["stream_time"] < 3.1 and min(after) > 3600.0, (gap, after[:3])
