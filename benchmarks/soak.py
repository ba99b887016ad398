"""Bounded memory, measured: a long paced stream on standard input, and one very large WAV file.

1. Soak: ``drsn-edge stream`` reads 4 channels at 12 kHz from a pipe that a feeder fills at N x real time, for M
   minutes; the stream process's RSS is sampled every 10 s. Growth is measured from the end of the warm-up.
2. Large file: a WAV of G GB (16-bit, 12 kHz, one channel) streamed as fast as possible; peak RSS (VmHWM) and the
   time to the first decision.

Usage: python benchmarks/soak.py [--minutes 60] [--speed 10] [--channels 4] [--wav-gb 1.08] [--skip-soak]
Writes benchmarks/results/soak.json and soak.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def rss_mib(pid: int, key: str = "VmRSS") -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def export_model(work: Path) -> Path:
    out = work / "model.onnx"
    subprocess.run([sys.executable, "-m", "drsn_edge", "export", "sim-paper",
                    "-o", str(out)], check=True, capture_output=True)
    return out


def feeder(pipe, channels: int, fs: float, speed: float, seconds: float) -> None:
    """Writes simulated machines (interleaved float32) at ``speed`` x real time for ``seconds`` of wall time."""
    from drsn_edge.data.simulator import simulate_sequence

    block_s = 0.5
    cycle = simulate_sequence([("normal", 30.0), ("outer_race", 10.0), ("normal", 20.0)], fs=fs, seed=7)
    frames = [np.roll(cycle, 997 * c) for c in range(channels)]
    data = np.stack(frames, axis=1).astype("<f4")  # (samples, channels)
    n = int(block_s * fs)
    t0, pos, sent = time.perf_counter(), 0, 0
    try:
        while time.perf_counter() - t0 < seconds:
            if pos + n > len(data):
                pos = 0
            pipe.write(data[pos : pos + n].tobytes())
            pos += n
            sent += n
            delay = t0 + sent / fs / speed - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
    except BrokenPipeError:
        pass
    finally:
        pipe.close()


def soak(model: Path, minutes: float, speed: float, channels: int, warmup_min: float, work: Path) -> dict:
    proc = subprocess.Popen([sys.executable, "-m", "drsn_edge", "stream", str(model), "-", "--fs", "12000", "--channels",
                             str(channels), "--jsonl", str(work / "soak.jsonl"), "--alarms-only"],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    t = threading.Thread(target=feeder, args=(proc.stdin, channels, 12000.0, speed, minutes * 60), daemon=True)
    t0 = time.perf_counter()
    t.start()
    samples = []
    while proc.poll() is None and t.is_alive():
        time.sleep(10)
        try:
            r = rss_mib(proc.pid)
        except OSError:
            break
        if np.isfinite(r):  # (a process that just ended has no RSS line)
            samples.append((round(time.perf_counter() - t0, 1), r))
    t.join()
    err = proc.stderr.read()
    proc.wait(timeout=120)
    summary = json.loads((work / "soak.jsonl").read_text().splitlines()[-1])
    after = [r for s, r in samples if s >= warmup_min * 60]
    return {"minutes": minutes, "speed": speed, "channels": channels, "warmup_minutes": warmup_min,
            "rss_mib_samples": samples, "rss_after_warmup_mib": {"first": after[0], "last": after[-1], "max": max(after),
                                                                "growth": after[-1] - after[0]} if after else None,
            "summary": {k: summary[k] for k in ("windows_in", "processed", "dropped", "rejected", "alarms",
                                                "stream_seconds", "wall_seconds", "real_time_factor")},
            "exit_code": proc.returncode, "stderr_tail": err.decode()[-300:]}


def big_wav(model: Path, gb: float, work: Path) -> dict:
    import soundfile as sf

    path = work / "big.wav"
    fs = 12000
    total = int(gb * 1e9 / 2)
    from drsn_edge.data.simulator import simulate_sequence

    cycle = (simulate_sequence([("normal", 50.0), ("ball", 10.0)], fs=fs, seed=3) / 4 * 32767).astype(np.int16)
    with sf.SoundFile(path, "w", samplerate=fs, channels=1, subtype="PCM_16") as f:
        written = 0
        while written < total:
            n = min(len(cycle), total - written)
            f.write(cycle[:n])
            written += n
    size = path.stat().st_size
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "drsn_edge", "stream", str(model), str(path), "--gain", "4",
                             "--jsonl", str(work / "big.jsonl")], stderr=subprocess.PIPE)
    first = None
    peak = 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, rss_mib(proc.pid, "VmHWM"))
        except OSError:
            break
        if first is None and (work / "big.jsonl").exists() and (work / "big.jsonl").stat().st_size > 0:
            first = time.perf_counter() - t0
        time.sleep(0.05)
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    lines = (work / "big.jsonl").read_text().splitlines()
    summary = json.loads(lines[-1])
    path.unlink()
    return {"file_bytes": size, "hours": total / fs / 3600, "peak_rss_mib": peak, "first_record_s": first,
            "wall_s": wall, "processed": summary["processed"], "real_time_factor": summary["real_time_factor"],
            "exit_code": proc.returncode}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--speed", type=float, default=10)
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--warmup", type=float, default=5, help="minutes before growth is measured")
    ap.add_argument("--wav-gb", type=float, default=1.08)
    ap.add_argument("--skip-soak", action="store_true")
    ap.add_argument("--skip-wav", action="store_true")
    ap.add_argument("--out", default=str(RESULTS / "soak"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("SOAK_TMP")) as tmp:
        work = Path(tmp)
        model = export_model(work)
        res = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()}}
        if not args.skip_wav:
            res["big_wav"] = big_wav(model, args.wav_gb, work)
            print(json.dumps(res["big_wav"]), flush=True)
        if not args.skip_soak:
            res["soak"] = soak(model, args.minutes, args.speed, args.channels, args.warmup, work)
            print(json.dumps({k: v for k, v in res["soak"].items() if k != "rss_mib_samples"}), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(res, indent=1))
    lines = ["# Bounded memory: soak and a large file", ""]
    if "soak" in res:
        s = res["soak"]
        g = s["rss_after_warmup_mib"]
        lines += [f"Soak: `drsn-edge stream` on standard input, {s['channels']} channels at 12 kHz fed at {s['speed']:g}x real "
                  f"time for {s['minutes']:g} min ({s['summary']['stream_seconds'] / 3600:.1f} h of signal, "
                  f"{s['summary']['processed']} windows, {s['summary']['dropped']} dropped). RSS after a "
                  f"{s['warmup_minutes']:g}-min warm-up: {g['first']:.1f} -> {g['last']:.1f} MiB (max {g['max']:.1f}): "
                  f"**growth {g['growth']:+.1f} MiB**.", ""]
    if "big_wav" in res:
        b = res["big_wav"]
        lines += [f"Large file: a {b['file_bytes'] / 1e9:.2f} GB WAV ({b['hours']:.1f} h, 16-bit, 12 kHz) streamed as fast as "
                  f"possible: **peak RSS {b['peak_rss_mib']:.0f} MiB**, first record after {b['first_record_s']:.1f} s, "
                  f"{b['processed']} windows at {b['real_time_factor']:.0f}x real time.", ""]
    lines.append(f"Machine: {res['machine']['cpu']}, {res['machine']['cores']} cores. Command: `python benchmarks/soak.py "
                 f"--minutes {args.minutes:g} --speed {args.speed:g} --channels {args.channels} --wav-gb {args.wav_gb:g}`")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
