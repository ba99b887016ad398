"""Which soft-threshold decomposition runs fastest? ONNX Runtime CPU, same weights, three graphs.

Usage: python benchmarks/threshold_modes.py [--checkpoint CKPT] [--threads 1]
Writes benchmarks/results/threshold_modes.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

from drsn_edge.bench.timing import interleaved
from drsn_edge.export.onnx_export import export_onnx
from drsn_edge.export.optimize import optimize_onnx

HERE = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoints", default=",".join(str(HERE.parent / "drsn_edge" / "zoo" / f) for f in
                                                      ("cwru-wide.safetensors", "sim-paper.safetensors")))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", default="1,64")
    args = ap.parse_args()
    modes = ("sign", "clamp", "relu")
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
                results[key] = interleaved({m: (lambda s=s, x=x: s.run(None, {"x": x})) for m, s in sessions.items()},
                                           calls=200 if b == 1 else 10, batch=b)
    fastest = {k: min(v, key=lambda m: v[m]["median_ms"]) for k, v in results.items()}
    out = {"checkpoints": args.checkpoints, "threads": args.threads, "onnxruntime": ort.__version__,
           "cpu": platform.processor() or platform.machine(), "results": results, "fastest": fastest}
    res = HERE / "results"
    (res / "threshold_modes.json").write_text(json.dumps(out, indent=1))
    lines = [f"# Soft-threshold decompositions, ONNX Runtime {ort.__version__} CPU, {args.threads} thread(s)", "",
             "Models exported three ways from the same weights, optimized with onnxslim. "
             "Median ms per call over interleaved rounds (spread of the round medians in %).", "",
             "| model, batch | " + " | ".join(modes) + " | fastest |", "|---|" + "---|" * (len(modes) + 1)]
    for k, v in results.items():
        lines.append(f"| {k} | " + " | ".join(f"{v[m]['median_ms']:.3f} ({v[m]['spread_pct']:.0f} %)" for m in modes)
                     + f" | {fastest[k]} |")
    (res / "threshold_modes.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
