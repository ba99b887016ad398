"""Why is INT8 not faster than FP32 on this CPU? ONNX Runtime's profiler, time per op type, batch 64.

Usage: python benchmarks/int8_profile.py [--models DIR]  (DIR holds model.onnx and model.int8.onnx, e.g. from
`drsn-edge bench`). Writes benchmarks/results/int8_profile.{json,md}.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnxruntime as ort

HERE = Path(__file__).parent


def profile(path: str, x: np.ndarray, runs: int = 30) -> tuple[dict[str, float], float, list[str]]:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.enable_profiling = True
    so.optimized_model_filepath = str(Path(path).with_suffix(".ort-optimized.onnx"))
    so.log_severity_level = 3
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    for _ in range(5):
        s.run(None, {"x": x})
    prof = s.end_profiling()
    so.enable_profiling = True
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    for _ in range(runs):
        s.run(None, {"x": x})
    prof = s.end_profiling()
    events = json.loads(Path(prof).read_text())
    Path(prof).unlink()
    by_op: dict[str, float] = defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            by_op[e["args"]["op_name"]] += e["dur"] / runs / 1000  # ms per run
    import onnx

    fused = sorted({n.op_type for n in onnx.load(so.optimized_model_filepath).graph.node})
    Path(so.optimized_model_filepath).unlink()
    return dict(sorted(by_op.items(), key=lambda kv: -kv[1])), sum(by_op.values()), fused


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="bench-out/models")
    args = ap.parse_args()
    x = np.random.default_rng(0).standard_normal((64, 1, 2048)).astype(np.float32)
    res = {}
    for name in ("model.onnx", "model.int8.onnx"):
        ops, total, fused = profile(str(Path(args.models) / name), x)
        res[name] = {"ms_per_op_type": ops, "total_ms": total, "ops_after_ort_optimization": fused}
    (HERE / "results" / "int8_profile.json").write_text(json.dumps(res, indent=1))
    lines = [f"# INT8 vs FP32 on ONNX Runtime {ort.__version__} CPU, 1 thread, batch 64: kernel time per op type (ms)", ""]
    for name, r in res.items():
        lines += [f"## {name}: {r['total_ms']:.2f} ms in kernels", "",
                  "| op | ms |", "|---|---|"] + [f"| {k} | {v:.3f} |" for k, v in list(r["ms_per_op_type"].items())[:10]]
        lines += ["", "Ops after ONNX Runtime's graph optimizations: " + ", ".join(r["ops_after_ort_optimization"]), ""]
    (HERE / "results" / "int8_profile.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
