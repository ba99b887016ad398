"""Which backend to deploy on this CPU: ONNX Runtime or OpenVINO, FP32, INT8 and BF16, side by side on one model's
export (``export --int8 --openvino``: OpenVINO on its files with the temporal convolutions as 1-D ones, and on
``model.onnx``'s 2-D form for comparison).

- Speed: one inference thread, batches of 64 (a 64-channel stream's hop) and of 1, interleaved rounds, median and
  range of each row's time over ONNX Runtime FP32's in the same round.
- Accuracy: balanced accuracy on the model's held-out recordings (its test split) through each backend, and top-1
  agreement with ONNX Runtime FP32 on the same windows.
- Streaming: 64 channels at 12 kHz through the runtime with each backend (one inference thread), interleaved rounds:
  the real-time factor over ONNX Runtime FP32's.

    drsn-edge train --data cwru --data-dir ../shared/data/cwru/12k_drive_end --split group --test-group 0hp \\
        --out runs/openvino/cwru-0hp.safetensors
    python benchmarks/openvino_cpu.py --model runs/openvino/cwru-0hp.safetensors [--out results/openvino_cpu_xeon.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from drsn_edge.bench.machine import describe, machine_info
from drsn_edge.bench.streaming import CycleSource, Null
from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.data.simulator import simulate_bearing
from drsn_edge.evaluation.job import evaluate_model
from drsn_edge.export.pipeline import ExportOptions, export_all
from drsn_edge.runtime.config import StreamConfig
from drsn_edge.runtime.loader import open_model
from drsn_edge.runtime.providers import ProviderSettings
from drsn_edge.runtime.runner import StreamRunner

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
#: (row, export format, provider, OpenVINO precision)
ROWS = (
    ("onnxruntime fp32", "onnx-fp32", "cpu", "f32"),
    ("onnxruntime int8", "onnx-int8", "cpu", "f32"),
    ("openvino fp32", "openvino-fp32", "openvino", "f32"),
    ("openvino int8", "openvino-int8", "openvino", "f32"),
    ("openvino bf16", "openvino-fp32", "openvino", "bf16"),
    ("openvino int8, batch dynamic", "openvino-int8", "openvino", "f32"),
    ("openvino int8 on model.int8.onnx (2-D convolutions)", "onnx-int8", "openvino", "f32"),
    ("openvino fp32 on model.onnx (2-D convolutions)", "onnx-fp32", "openvino", "f32"),
)
#: rows timed without the fixed-batch compile a stream gets (what OpenVINO does with the file's dynamic batch)
DYNAMIC = ("openvino int8, batch dynamic",)


def settings(provider: str, precision: str, threads: int = 1, streaming: bool = False) -> ProviderSettings:
    return ProviderSettings(provider=provider, precision=precision, intra_op_threads=threads, streaming=streaming)


def speed(files: dict[str, str], x: np.ndarray, rounds: int) -> dict[str, Any]:
    backends = {}
    for name, fmt, provider, precision in ROWS:
        be, _ = open_model(files[fmt], settings(provider, precision))
        be.activate()
        backends[name] = be
    out: dict[str, Any] = {}
    for batch, calls in ((64, 10), (1, 200)):
        xb = x[:batch]
        ms: dict[str, list[float]] = {n: [] for n in backends}
        for name, be in backends.items():  # as a stream does: OpenVINO compiles this batch size with the batch fixed
            if name not in DYNAMIC:
                be.warm(batch, xb.shape[1], xb.shape[2])
        for _ in range(rounds):
            for name, be in backends.items():
                be.infer(xb)
                t0 = time.perf_counter()
                for _ in range(calls):
                    be.infer(xb)
                ms[name].append((time.perf_counter() - t0) / calls * 1e3)
        base = np.array(ms["onnxruntime fp32"])
        out[f"batch_{batch}"] = {n: {"ms_median": float(np.median(v)),
                                     "speedup": {"median": float(np.median(base / np.array(v))),
                                                 "min": float(np.min(base / np.array(v))),
                                                 "max": float(np.max(base / np.array(v)))}}
                                 for n, v in ms.items()}
    for be in backends.values():
        be.close()
    return out


def accuracy(files: dict[str, str]) -> dict[str, Any]:
    """Balanced accuracy on the model's test split through each backend."""
    out = {}
    for name, fmt, provider, precision in ROWS:
        rep = evaluate_model(files[fmt], settings=settings(provider, precision, threads=2))
        out[name] = {"balanced_accuracy": rep["clean"]["balanced_accuracy"], "windows": rep["clean"]["windows"]}
    return out


def agreement(files: dict[str, str], x: np.ndarray) -> dict[str, float]:
    tops = {}
    for name, fmt, provider, precision in ROWS:
        be, _ = open_model(files[fmt], settings(provider, precision, threads=2))
        with be:
            tops[name] = np.concatenate([be.infer(x[i : i + 256]).argmax(1) for i in range(0, len(x), 256)])
    return {n: float(np.mean(t == tops["onnxruntime fp32"])) for n, t in tops.items()}


def stream(files: dict[str, str], rounds: int, seconds: float, channels: int = 64) -> dict[str, Any]:
    base = simulate_bearing("outer_race", fs=12000.0, duration=10.0, rpm=1772.0, seed=0)
    rtf: dict[str, list[float]] = {n: [] for n, *_ in ROWS if n not in DYNAMIC}
    for _ in range(rounds):
        for name, fmt, provider, precision in ROWS:
            if name in DYNAMIC:  # a stream always warms its batch sizes
                continue
            be, md = open_model(files[fmt], settings(provider, precision, streaming=True))
            be.activate()
            try:
                src = CycleSource(base, 12000.0, channels, seconds, 240, False)
                s = StreamRunner(be, md, src, [Null()], StreamConfig()).run(handle_signals=False)
            finally:
                be.close()
            rtf[name].append(s["stream_seconds"] / s["wall_seconds"])
    ref = np.array(rtf["onnxruntime fp32"])
    return {"channels": channels, "seconds": seconds, "rounds": rounds,
            "rows": {n: {"real_time_factor_median": float(np.median(v)),
                         "ratio": {"median": float(np.median(np.array(v) / ref)), "min": float(np.min(np.array(v) / ref)),
                                   "max": float(np.max(np.array(v) / ref))}} for n, v in rtf.items()}}


def to_markdown(out: dict[str, Any]) -> str:
    lines = ["# ONNX Runtime or OpenVINO on this CPU", "", __doc__.split("\n\n")[1].strip(), "",
             f"Model: `{out['model']}` ({out['test']}).", "",
             "| backend | batch 64 | batch 1 | stream 64 ch x 12 kHz | balanced accuracy % | top-1 agreement % |",
             "|---|---|---|---|---|---|"]
    for name, *_ in ROWS:
        b64, b1 = out["speed"]["batch_64"][name], out["speed"]["batch_1"][name]
        st = out["stream"]["rows"].get(name)

        def cell(r: dict, ms: float | None = None) -> str:
            s = f"{r['median']:.2f}x [{r['min']:.2f}-{r['max']:.2f}]"
            return s + (f" ({ms:.3g} ms)" if ms is not None else "")

        lines.append(f"| {name} | {cell(b64['speedup'], b64['ms_median'])} | {cell(b1['speedup'], b1['ms_median'])} | "
                     + (f"{cell(st['ratio'])} ({st['real_time_factor_median']:.1f}x real time) | " if st else "- | ")
                     + f"{100 * out['accuracy'][name]['balanced_accuracy']:.2f} | {100 * out['agreement'][name]:.2f} |")
    lines += ["", f"Speed as a multiple of ONNX Runtime FP32 in the same round, median [range] over "
                  f"{out['rounds']} interleaved rounds; the stream over {out['stream']['rounds']} rounds of "
                  f"{out['stream']['seconds']:.0f} s. OpenVINO rows run the batch size compiled with the batch fixed, "
                  "as a stream warms it (an INT8 shape OpenVINO crashes on runs on the dynamic model), except "
                  "`batch dynamic`: the same INT8 file on the file's dynamic batch. OpenVINO rows run "
                  "`export --openvino`'s files (temporal convolutions as 1-D ones) except those on `model.onnx` / "
                  "`model.int8.onnx` (the 2-D form ONNX Runtime runs fastest).", "",
              f"Machine: {describe(out['machine'])}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, required=True, help="a checkpoint with a held-out test split")
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "openvino")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--stream-rounds", type=int, default=3)
    ap.add_argument("--stream-seconds", type=float, default=20.0)
    ap.add_argument("--out", type=Path, default=RESULTS / "openvino_cpu.json")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    report = export_all(args.model, args.work / "m.onnx", ExportOptions(int8=True, openvino=True), log=lambda s: None)
    files = {f["format"]: f["path"] for f in report["files"]}
    _, md = open_model(files["onnx-fp32"])
    spec = DataSpec.from_dict(md.data)
    ds = load_dataset(spec, min_samples=md.window)
    x = ds.window_set("test", md.window, md.hop).x.astype(np.float32)
    out = {"model": str(args.model.relative_to(ROOT)) if args.model.is_relative_to(ROOT) else str(args.model),
           "test": f"{spec.describe()}, {spec.split.kind} split, {len(x)} test windows",
           "rounds": args.rounds, "speed": speed(files, x, args.rounds), "accuracy": accuracy(files),
           "agreement": agreement(files, x), "stream": stream(files, args.stream_rounds, args.stream_seconds),
           "machine": machine_info(threads=1)}
    args.out.write_text(json.dumps(out, indent=1))
    args.out.with_suffix(".md").write_text(to_markdown(out))
    print(to_markdown(out))


if __name__ == "__main__":
    main()
