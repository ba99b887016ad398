"""A training job on a box that streams: ``drsn-edge adapt`` (the zoo's cwru-wide on the shared CWRU set's fan-end
sensor) or ``drsn-edge train`` (``--job train``: 200 steps on the simulator) alone, and beside a 64-channel real-time
``stream`` (one inference thread), with the command line's default (adapt: OpenMP threads that sleep while they wait;
train: spinning threads, as many as the cores other processes leave free) and with every core's thread spinning
(``OMP_WAIT_POLICY=ACTIVE``, libgomp's default; for train with ``--threads``); rounds interleaved. Reports the job's
time and whether the stream kept real time (its latency, drops).

Usage: python benchmarks/adapt_beside.py [--job adapt|train] [--data-dir ../shared/data/cwru/12k_drive_end] [--rounds 3].
Writes benchmarks/results/adapt_beside.{json,md} (train: train_beside_stream.{json,md}).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from drsn_edge.bench.machine import describe, machine_info
from drsn_edge.data.simulator import simulate_bearing
from drsn_edge.training.threads import usable_cores

HERE = Path(__file__).parent


#: each job's command (before its output path) and what the report calls it
JOBS = {"adapt": (["adapt", "cwru-wide", "--data", "cwru", "--data-dir", "{data_dir}", "--labels", "4", "--channels",
                   "FE", "--force"],
                  "`drsn-edge adapt cwru-wide --data cwru --labels 4 --channels FE --force` (4096 windows of the shared "
                  "CWRU set's fan-end sensor, tent)"),
        "train": (["train", "--data", "sim", "--sim-duration", "3", "--epochs", "2", "--steps-per-epoch", "100",
                   "--batch-size", "32", "--no-refit", "--quiet"],
                  "`drsn-edge train --data sim --sim-duration 3 --epochs 2 --steps-per-epoch 100 --batch-size 32 "
                  "--no-refit` (200 steps)")}


def run_job(job: str, data_dir: str, out: Path, policy: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    args = [a.format(data_dir=data_dir) for a in JOBS[job][0]]
    if policy:
        env["OMP_WAIT_POLICY"] = policy
        if job == "train":  # without --threads, train follows the free cores whatever the policy
            args += ["--threads", str(usable_cores())]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "drsn_edge", *args, "-o" if job == "adapt" else "--out", str(out)], env=env,
                   check=True, capture_output=True)
    return time.perf_counter() - t0


def start_stream(work: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "drsn_edge", "stream", str(work / "m.onnx"), str(work / "x.npy"),
                             "--fs", "12000", "--realtime", "--threads", "1", "--alarms-only", "--jsonl",
                             str(work / "s.jsonl")], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (work / "s.jsonl").exists():
        time.sleep(0.05)
    time.sleep(2.0)  # past its start-up: streaming in real time
    return proc


def stop_stream(proc: subprocess.Popen, work: Path) -> dict:
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    s = json.loads((work / "s.jsonl").read_text().splitlines()[-1])
    (work / "s.jsonl").unlink()
    return {"latency_p99_ms": s["latency_ms"]["p99"], "latency_max_ms": s["latency_ms"]["max"], "dropped": s["dropped"],
            "real_time_factor": s["real_time_factor"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default="../shared/data/cwru/12k_drive_end")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--job", choices=sorted(JOBS), default="adapt")
    args = ap.parse_args()
    job = args.job
    stem = "adapt_beside" if job == "adapt" else "train_beside_stream"
    work = Path(tempfile.mkdtemp(prefix="drsn-beside-"))
    subprocess.run([sys.executable, "-m", "drsn_edge", "export", "cwru-wide", "-o", str(work / "m.onnx")], check=True,
                   capture_output=True)
    x = np.stack([simulate_bearing(("normal", "outer_race")[c % 2], duration=150.0, seed=c) for c in range(64)])
    np.save(work / "x.npy", x.astype(np.float32))
    run_job(job, args.data_dir, work / "w.safetensors", None)  # warm: caches, the first import
    runs: dict[str, list[dict]] = {"alone": [], "beside a 64-channel stream": [],
                                   "beside a 64-channel stream, OMP_WAIT_POLICY=ACTIVE": []}
    for _ in range(args.rounds):
        for name in runs:
            if name == "alone":
                runs[name].append({"adapt_s": run_job(job, args.data_dir, work / "a.safetensors", None)})
                continue
            proc = start_stream(work)
            t = run_job(job, args.data_dir, work / "b.safetensors", "ACTIVE" if "ACTIVE" in name else None)
            runs[name].append({"adapt_s": t, **stop_stream(proc, work)})
    alone = float(np.median([r["adapt_s"] for r in runs["alone"]]))
    res = {"job": job, "machine": describe(machine_info(1)), "rounds": args.rounds, "runs": runs, "alone_median_s": alone,
           "slowdown": {k: float(np.median([r["adapt_s"] for r in v])) / alone for k, v in runs.items()}}
    (HERE / "results" / f"{stem}.json").write_text(json.dumps(res, indent=1))
    flag = "" if job == "adapt" else f" --job {job}"
    lines = [f"# {job} beside a stream", "",
             f"{JOBS[job][1]} alone and beside `drsn-edge stream` on 64 channels at 12 kHz replayed in real "
             f"time (one inference thread); {args.rounds} interleaved rounds. Command: "
             f"`python benchmarks/adapt_beside.py{flag}`",
             "", f"| {job} | time, median [min-max] | slowdown | stream latency p99, median (ms) | stream drops | "
             "stream real-time factor |", "|---|---|---|---|---|---|"]
    for name, v in runs.items():
        t = [r["adapt_s"] for r in v]
        s = (f"{np.median([r['latency_p99_ms'] for r in v]):.1f} | {sum(r['dropped'] for r in v)} | "
             f"{min(r['real_time_factor'] for r in v):.2f}x (lowest)") if "latency_p99_ms" in v[0] else "- | - | -"
        lines.append(f"| {name} | {np.median(t):.1f} s [{min(t):.1f}-{max(t):.1f}] | {res['slowdown'][name]:.2f}x | {s} |")
    lines += ["", f"**Beside the stream, {job} takes {res['slowdown']['beside a 64-channel stream']:.2f}x its time alone "
              f"with the command line's default; {res['slowdown']['beside a 64-channel stream, OMP_WAIT_POLICY=ACTIVE']:.2f}x "
              "with every core's thread spinning.**", "", f"Machine: {res['machine']}"]
    (HERE / "results" / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
