"""Model swaps while streaming: ``drsn-edge serve`` on one 64-channel input (12 kHz, as fast as it goes, one
inference thread), with and without 20 atomic replacements of the model file during the run; rounds interleaved.
Counts, from the JSON lines, every window decided once and none lost, and reports the real-time factor of each run.

Usage: python benchmarks/model_swap.py [--model sim-paper] [--rounds 3] [--swaps 20].
Writes benchmarks/results/model_swap.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import onnx

from drsn_edge.bench.machine import describe, machine_info
from drsn_edge.data.simulator import simulate_bearing
from drsn_edge.modelfile import read_description

HERE = Path(__file__).parent
FS = 12000


def serve(work: Path, swaps: int, expected_s: float, copies: list[Path]) -> dict:
    out = work / "out.jsonl"
    out.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "drsn_edge", "serve", str(work / "deploy.toml"), "--watch-model",
                             "0.05"], stderr=subprocess.PIPE, text=True)
    done = 0

    def replace():
        nonlocal done
        while proc.poll() is None and not (out.exists() and out.stat().st_size):  # start-up: imports, model, warm-up
            time.sleep(0.01)
        for _ in range(swaps):
            if proc.poll() is not None:
                return
            staged = work / "staged.onnx"
            shutil.copy(copies[done % 2], staged)
            os.replace(staged, work / "model.onnx")
            done += 1
            time.sleep(expected_s / (swaps + 2))

    t = threading.Thread(target=replace)
    t.start()
    _, err = proc.communicate(timeout=600)
    t.join()
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    summary = recs[-1]
    windows = [r for r in recs if r["type"] == "window"]
    per_unit = {}
    for w in windows:
        per_unit.setdefault(w["unit"], []).append(w["stream_time"])
    once = all(len(set(v)) == len(v) for v in per_unit.values())
    return {"real_time_factor": summary["real_time_factor"], "windows": len(windows), "processed": summary["processed"],
            "dropped": summary["dropped"], "decided_once": once, "model_changed": sum(r["type"] == "model_changed"
                                                                                      for r in recs),
            "replaced": done, "returncode": proc.returncode, "stderr_tail": err.strip().splitlines()[-1:]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="sim-paper", help="a zoo name or a checkpoint (exported here) or an .onnx")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--swaps", type=int, default=20)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=120.0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="drsn-swap-"))
    model = Path(args.model)
    if model.suffix != ".onnx":
        subprocess.run([sys.executable, "-m", "drsn_edge", "export", args.model, "-o", str(work / "base.onnx")],
                       check=True, capture_output=True)
        model = work / "base.onnx"
    copies = []
    for i in range(2):  # the same weights in files of different content: each replacement is a real swap
        m = onnx.load(str(model))
        m.metadata_props.add(key="copy", value=str(i))
        onnx.save(m, str(work / f"copy{i}.onnx"))
        copies.append(work / f"copy{i}.onnx")
    x = np.stack([simulate_bearing(("normal", "outer_race")[c % 2], duration=args.seconds, seed=c)
                  for c in range(args.channels)]).astype(np.float32)
    np.save(work / "x.npy", x)
    (work / "deploy.toml").write_text('model = "model.onnx"\njsonl = "out.jsonl"\nthreads = 1\n\n[[input]]\n'
                                      f'input = "x.npy"\nfs = {FS}\nstream-id = "line"\n')
    md = read_description(model)
    expected = args.channels * ((int(args.seconds * FS) - md.window) // md.hop + 1)
    rows: dict[str, list[dict]] = {"no swap": [], f"{args.swaps} swaps": []}
    shutil.copy(copies[1], work / "model.onnx")
    first = serve(work, 0, 0, copies)  # calibrates the run's length (and warms the caches)
    length_s = args.seconds / first["real_time_factor"]
    for _ in range(args.rounds):
        for name in rows:
            shutil.copy(copies[1], work / "model.onnx")
            rows[name].append(serve(work, 0 if name == "no swap" else args.swaps, length_s, copies))
    rtf = {k: [r["real_time_factor"] for r in v] for k, v in rows.items()}
    ratio = np.array(rtf[f"{args.swaps} swaps"]) / np.array(rtf["no swap"])
    m = machine_info(1)
    res = {"machine": describe(m), "model": args.model, "channels": args.channels, "seconds": args.seconds,
           "rounds": args.rounds, "expected_windows": expected, "runs": rows,
           "ratio": {"median": float(np.median(ratio)), "min": float(ratio.min()), "max": float(ratio.max())}}
    (HERE / "results" / "model_swap.json").write_text(json.dumps(res, indent=1))
    lines = ["# Model swaps while streaming", "",
             f"`drsn-edge serve` on one {args.channels}-channel input at 12 kHz ({args.seconds:g} s of signal, as fast as "
             f"it goes, one inference thread), the model file replaced {args.swaps} times during the run by an atomic "
             f"rename (`--watch-model 0.05`), against the same run without a swap; {args.rounds} interleaved rounds. "
             f"Model: `{args.model}`. Command: `python benchmarks/model_swap.py`", "",
             "| run | real-time factor, median [min-max] | windows decided (expected) | each once | dropped | files replaced | "
             "model_changed records |", "|---|---|---|---|---|---|---|"]
    for name, v in rows.items():
        r = rtf[name]
        lines.append(f"| {name} | {np.median(r):.2f}x [{min(r):.2f}-{max(r):.2f}] | "
                     f"{', '.join(str(x['windows']) for x in v)} ({expected}) | "
                     f"{'yes' if all(x['decided_once'] for x in v) else 'NO'} | {sum(x['dropped'] for x in v)} | "
                     f"{', '.join(str(x['replaced']) for x in v)} | "
                     f"{', '.join(str(x['model_changed']) for x in v)} |")
    lines += ["", f"Real-time factor with swaps / without, per round: **{res['ratio']['median']:.2f}x** "
              f"[{res['ratio']['min']:.2f}-{res['ratio']['max']:.2f}]", "", f"Machine: {res['machine']}"]
    (HERE / "results" / "model_swap.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
