"""The stream runner with and without overlapped inference (``StreamConfig.overlap``): 64 channels at 12 kHz through
the runtime in-process (as fast as it goes, one inference thread), serial and overlapped runs interleaved.

Usage: python benchmarks/overlap.py [--model benchmarks/results/cpu-2core/models/model.onnx] [--rounds 5].
Writes benchmarks/results/overlap.{json,md}.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from drsn_edge.bench.streaming import CycleSource, _run
from drsn_edge.data.simulator import simulate_bearing
from drsn_edge.runtime.cpu_features import cpu_description

HERE = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="benchmarks/results/cpu-2core/models/model.onnx")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    base = simulate_bearing("outer_race", fs=12000.0, duration=4.0, seed=0, resonance_band=(1500, 5000))
    rtf: dict[str, list[float]] = {"serial": [], "overlapped": []}
    for _ in range(args.rounds):
        for name in rtf:
            s = _run(args.model, CycleSource(base, 12000.0, args.channels, args.seconds, 1024, False), 1,
                     overlap=name == "overlapped")
            rtf[name].append(s["stream_seconds"] / s["wall_seconds"])
    gain = np.array(rtf["overlapped"]) / np.array(rtf["serial"])
    cpu = cpu_description()
    res = {"machine": f"{cpu['model']} ({', '.join(cpu['isa'])})", "model": args.model, "channels": args.channels,
           "seconds": args.seconds, "rounds": args.rounds, "real_time_factor": rtf,
           "gain": {"median": float(np.median(gain)), "min": float(gain.min()), "max": float(gain.max())}}
    (HERE / "results" / "overlap.json").write_text(json.dumps(res, indent=1))
    lines = ["# Overlapped inference in the stream runner", "",
             f"Machine: {res['machine']}; {args.channels} channels at 12 kHz, {args.seconds:g} s, in-process, one "
             f"inference thread; {args.rounds} interleaved rounds (serial, overlapped, ...). Model: `{args.model}`. "
             "Command: `python benchmarks/overlap.py`", "",
             "| loop | real-time factor, median [min-max] | per round |", "|---|---|---|"]
    for name, v in rtf.items():
        lines.append(f"| {name} | {np.median(v):.2f}x [{min(v):.2f}-{max(v):.2f}] | {', '.join(f'{x:.2f}' for x in v)} |")
    lines += ["", f"Overlapped / serial, per round: **{res['gain']['median']:.2f}x** [{res['gain']['min']:.2f}-"
              f"{res['gain']['max']:.2f}]"]
    (HERE / "results" / "overlap.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
