"""The export job: checkpoint -> ONNX (optimized) -> parity check -> FP16 / INT8 -> TensorRT engines."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drsn_edge.errors import DrsnEdgeError


@dataclass
class ExportOptions:
    opset: int = 17
    threshold_mode: str | None = None  # None: the default decomposition
    optimize: bool = True
    verify: bool = True
    fp16: bool = False
    fp16_keep_io_types: bool = True
    int8: bool = False
    calibration_windows: int = 256
    calibrate_method: str = "minmax"
    max_accuracy_drop: float | None = 0.005  # fraction; None: quantize everything, no budget
    trt: tuple[str, ...] = ()  # TensorRT engine precisions
    trt_batch: tuple[int, int, int] = (1, 8, 64)
    data_spec: Any = None  # DataSpec overriding the checkpoint's, for calibration/validation windows


def sibling(out: Path, tag: str, suffix: str = ".onnx") -> Path:
    return out.with_name(f"{out.stem}.{tag}{suffix}")


def export_all(
    checkpoint: str | Path, out: str | Path, opts: ExportOptions, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run the export job; returns a report with one entry per written file."""
    from drsn_edge.export.onnx_export import DEFAULT_THRESHOLD_MODE, export_onnx, prepare_output_path
    from drsn_edge.export.optimize import op_histogram, optimize_onnx

    out = Path(out)
    if out.suffix != ".onnx":
        raise DrsnEdgeError(f"output {out} should end in .onnx")
    prepare_output_path(out)
    if opts.trt:
        from drsn_edge.export.tensorrt_build import TRT_PRECISIONS
        from drsn_edge.runtime.gpu import NO_GPU, gpu_info

        bad = [p for p in opts.trt if p not in TRT_PRECISIONS]
        if bad:
            raise DrsnEdgeError(f"unknown TensorRT precision {bad[0]!r}; choose from {', '.join(TRT_PRECISIONS)}")
        if gpu_info() is None:  # before any work: say so at once
            raise DrsnEdgeError(f"--trt builds a TensorRT engine: {NO_GPU}")
    mode = opts.threshold_mode or DEFAULT_THRESHOLD_MODE
    report: dict[str, Any] = {"checkpoint": str(checkpoint), "files": []}

    def add(path: Path, precision: str, **extra: Any) -> None:
        import onnx

        entry = {"path": str(path), "precision": precision, "bytes": os.path.getsize(path), **extra}
        if path.suffix == ".onnx":
            entry["nodes"] = len(onnx.load(str(path)).graph.node)
        report["files"].append(entry)

    if opts.optimize:
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "raw.onnx"
            md = export_onnx(checkpoint, raw, opset=opts.opset, threshold_mode=mode)
            stats = optimize_onnx(raw, out)
        log(f"exported {out} (opset {opts.opset}, soft threshold '{mode}'); optimized: "
            f"{stats['nodes_before']} -> {stats['nodes_after']} nodes")
        report["optimize"] = stats
    else:
        import onnx

        md = export_onnx(checkpoint, out, opset=opts.opset, threshold_mode=mode)
        report["optimize"] = {"ops": op_histogram(onnx.load(str(out)))}
        log(f"exported {out} (opset {opts.opset}, soft threshold '{mode}')")
    add(out, "fp32")

    if opts.verify:
        from drsn_edge.export.verify import verify

        v = verify(checkpoint, out, data_spec=opts.data_spec)
        report["verify_fp32"] = v
        lg = v["outputs"]["logits"]["abs_error"]
        log(f"parity vs PyTorch on {v['windows']} windows: max |diff| {lg['max']:.2e}, "
            f"top-1 agreement {100 * v['top1_agreement']:.2f} %: {'PASS' if v['passed'] else 'FAIL'}")
        if not v["passed"]:
            raise DrsnEdgeError(f"exported model does not match the checkpoint (max |diff| {lg['max']:.2e}); see verify")

    if opts.fp16:
        from drsn_edge.export.quantize import quantize_fp16

        p16 = sibling(out, "fp16")
        quantize_fp16(out, p16, keep_io_types=opts.fp16_keep_io_types)
        add(p16, "fp16")
        log(f"wrote {p16} (FP16{', fp32 inputs/outputs' if opts.fp16_keep_io_types else ''})")

    if opts.int8:
        from drsn_edge.export.calibration import calibration_windows, validation_set
        from drsn_edge.export.quantize import quantize_int8

        p8 = sibling(out, "int8")
        calib = calibration_windows(md, opts.calibration_windows, data_spec=opts.data_spec)
        q = quantize_int8(out, p8, calib, validation_set(md, data_spec=opts.data_spec), opts.max_accuracy_drop,
                          opts.calibrate_method, log=log)
        report["int8"] = q
        add(p8, "int8", budget_met=q["budget_met"], nodes_kept_float=len(q["nodes_kept_float"]))
        worst = q["layer_sqnr_db"][:3]
        log(f"wrote {p8} (INT8 QDQ, {len(q['nodes_kept_float'])} nodes kept float); worst layers (cumulative SQNR): "
            + ", ".join(f"{w['tensor']} {w['cumulative_sqnr_db']:.1f} dB" for w in worst))

    for precision in opts.trt:
        from drsn_edge.export.tensorrt_build import build_engine

        src = sibling(out, "int8") if precision == "int8" else out
        if precision == "int8" and not opts.int8:
            raise DrsnEdgeError("--trt int8 needs the INT8 QDQ model: add --int8")
        eng = out.with_name(f"{out.stem}.{precision}.engine")
        build = build_engine(src, eng, precision, opts.trt_batch)
        add(eng, f"trt-{precision}", tensorrt=build["tensorrt_version"], gpu=build["gpu"]["name"])
        log(f"wrote {eng} (TensorRT {build['tensorrt_version']}, {build['gpu']['name']})")
    return report


def format_files(report: dict[str, Any]) -> str:
    rows = [("file", "precision", "size", "nodes")]
    for f in report["files"]:
        rows.append((Path(f["path"]).name, f["precision"], f"{f['bytes'] / 1024:.1f} KiB", str(f.get("nodes", "-"))))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows)
