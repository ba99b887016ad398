"""Temporal convolutions as 1-D or as 2-D ONNX convolutions (``drsn_edge/export/conv_layout.py``): the same exported
model optimized both ways, timed side by side on ONNX Runtime's CPU provider (one thread, interleaved rounds).

Usage: python benchmarks/conv_layout.py [--rounds 15]. Writes benchmarks/results/conv_layout.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

from drsn_edge.bench.timing import interleaved, ratio
from drsn_edge.export.onnx_export import export_onnx
from drsn_edge.export.optimize import optimize_onnx
from drsn_edge.runtime.cpu_features import cpu_description

HERE = Path(__file__).parent
MODELS = {"wide": HERE.parent / "drsn_edge" / "zoo" / "cwru-wide.safetensors",
          "paper": HERE.parent / "drsn_edge" / "zoo" / "sim-paper.safetensors"}


def _session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def measure(checkpoint: Path, rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        raw, one, two = (Path(tmp) / f"{n}.onnx" for n in ("raw", "1d", "2d"))
        export_onnx(checkpoint, raw)
        optimize_onnx(raw, one, convs_2d=False)
        stats = optimize_onnx(raw, two)
        s1, s2 = _session(one), _session(two)
        window = s1.get_inputs()[0].shape[-1]
        x = np.random.default_rng(0).standard_normal((64, 1, window)).astype(np.float32)
        diff = float(np.abs(s1.run(None, {s1.get_inputs()[0].name: x})[0]
                            - s2.run(None, {s2.get_inputs()[0].name: x})[0]).max())
        out = {"convs_as_2d": stats["convs_as_2d"], "views_joined": stats.get("views_joined", 0),
               "max_abs_logit_diff": diff}
        for batch in (1, 64):
            xb = x[:batch]
            # about half a second of calls per layout and round
            t = interleaved({"1d": lambda xb=xb: s1.run(None, {s1.get_inputs()[0].name: xb}),
                             "2d": lambda xb=xb: s2.run(None, {s2.get_inputs()[0].name: xb})},
                            rounds=rounds, calls=1200 if batch == 1 else 50, batch=batch)
            r = ratio(t, "1d", "2d")
            out[f"b{batch}"] = {"ms_1d": t["1d"]["median_ms"], "ms_2d": t["2d"]["median_ms"],
                                "speedup": {"median": r["median"], "min": r["min"], "max": r["max"]}}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    cpu = cpu_description()
    res = {"machine": f"{cpu['model']} ({', '.join(cpu['isa'])})", "onnxruntime": ort.__version__,
           "rounds": args.rounds, "presets": {p: measure(ck, args.rounds) for p, ck in MODELS.items()}}
    (HERE / "results" / "conv_layout.json").write_text(json.dumps(res, indent=1))
    lines = ["# Temporal convolutions as 1-D or 2-D ONNX convolutions: ONNX Runtime CPU, one thread", "",
             f"Machine: {res['machine']}; onnxruntime {res['onnxruntime']}; {args.rounds} interleaved rounds (1-D, 2-D, "
             "1-D, ...), each figure the median over rounds, speed-up computed per round. Same export, optimized "
             "with and without the rewrite. Command: `python benchmarks/conv_layout.py`", "",
             "| preset | convs rewritten | max abs logit diff | batch | 1-D ms | 2-D ms | 2-D speed-up, median [min-max] |",
             "|---|---|---|---|---|---|---|"]
    for p, r in res["presets"].items():
        for b in (1, 64):
            t = r[f"b{b}"]
            lines.append(f"| {p} | {r['convs_as_2d']} | {r['max_abs_logit_diff']:.1e} | {b} | {t['ms_1d']:.3f} | "
                         f"{t['ms_2d']:.3f} | {t['speedup']['median']:.2f}x [{t['speedup']['min']:.2f}-"
                         f"{t['speedup']['max']:.2f}] |")
    (HERE / "results" / "conv_layout.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
