"""Which soft-threshold decomposition runs fastest? ONNX Runtime CPU, same weights, three graphs.

Usage: python benchmarks/threshold_modes.py [--checkpoints CKPT,...] [--threads 1] [--rounds 9]
Writes benchmarks/results/threshold_modes.{json,md}: per model and batch, the median time per call of each graph over
interleaved rounds, and each graph's time over the default's (``clamp``) round by round.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

from drsn_edge.bench.machine import describe, machine_info
from drsn_edge.bench.timing import interleaved, ratio
from drsn_edge.export.onnx_export import export_onnx
from drsn_edge.export.optimize import optimize_onnx

HERE = Path(__file__).parent
MODES = ("sign", "clamp", "relu")
DEFAULT = "clamp"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoints", default=",".join(str(HERE.parent / "drsn_edge" / "zoo" / f) for f in
                                                      ("cwru-wide.safetensors", "sim-paper.safetensors")))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    modes = MODES
    results: dict = {}
    for ckpt in args.checkpoints.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            sessions = {}
            for mode in modes:
                raw, opt = Path(tmp) / f"{mode}.onnx", Path(tmp) / f"{mode}.opt.onnx"
                md = export_onnx(ckpt, raw, threshold_mode=mode)
                optimize_onnx(raw, opt)
                so = ort.SessionOptions()
                so.intra_op_num_threads = args.threads
                sessions[mode] = ort.InferenceSession(str(opt), so, providers=["CPUExecutionProvider"])
            rng = np.random.default_rng(0)
            for b in map(int, args.batches.split(",")):
                x = rng.standard_normal((b, md.in_channels, md.window)).astype(np.float32)
                outs = {m: s.run(None, {"x": x})[0] for m, s in sessions.items()}
                assert all(np.allclose(outs["sign"], o, atol=1e-5) for o in outs.values())
                key = f"{Path(ckpt).stem} batch {b}"
                # about half a second of calls per graph and round, so a round's median is not one scheduler hiccup
                results[key] = interleaved({m: (lambda s=s, x=x: s.run(None, {"x": x})) for m, s in sessions.items()},
                                           rounds=args.rounds, calls=2000 if b == 1 else 50, batch=b)
    fastest = {k: min(v, key=lambda m: v[m]["median_ms"]) for k, v in results.items()}
    over_default = {k: {m: ratio(v, m, DEFAULT) for m in modes if m != DEFAULT} for k, v in results.items()}
    machine = machine_info(args.threads)
    out = {"checkpoints": args.checkpoints, "threads": args.threads, "machine": machine, "results": results,
           "fastest": fastest, "over_default": over_default}
    res = HERE / "results"
    (res / "threshold_modes.json").write_text(json.dumps(out, indent=1))
    others = [m for m in modes if m != DEFAULT]
    lines = [f"# Soft-threshold decompositions, ONNX Runtime {ort.__version__} CPU, {args.threads} thread(s)", "",
             "Models exported three ways from the same weights, optimized with onnxslim; the same outputs (1e-5). "
             f"Median ms per call over {args.rounds} interleaved rounds (spread of the round medians in %); then each "
             f"graph's time over `{DEFAULT}`'s (the export's default), round by round: median [min-max] (above 1: "
             f"slower than `{DEFAULT}`). Command: `python benchmarks/threshold_modes.py`", "",
             "| model, batch | " + " | ".join(modes) + " | fastest (median) | " + " | ".join(f"{m} / {DEFAULT}" for m in others)
             + " |", "|---|" + "---|" * (len(modes) + 1 + len(others))]
    for k, v in results.items():
        lines.append(f"| {k} | " + " | ".join(f"{v[m]['median_ms']:.3f} ({v[m]['spread_pct']:.0f} %)" for m in modes)
                     + f" | {fastest[k]} | " + " | ".join(
                         f"{r['median']:.2f}x [{r['min']:.2f}-{r['max']:.2f}]" for r in
                         (over_default[k][m] for m in others)) + " |")
    lines += ["", f"Machine: {describe(machine)}"]
    (res / "threshold_modes.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
