"""The formats a benchmark compares: built from one checkpoint, each ok or failed with its reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Format:
    name: str
    kind: str  # pytorch | cpu | cuda | tensorrt (ONNX Runtime providers) | engine
    path: str | None = None
    status: str = "ok"
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _try(name: str, kind: str, build: Callable[[], str | None], **settings: Any) -> Format:
    from drsn_edge.errors import DrsnEdgeError

    try:
        return Format(name, kind, build(), settings=settings)
    except DrsnEdgeError as exc:
        return Format(name, kind, None, f"failed: {exc}", settings)
    except Exception as exc:  # report, never abort the whole benchmark
        return Format(name, kind, None, f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}", settings)


def build_formats(checkpoint: str, out: Path, data_spec=None, calib_windows: int = 256, log=print) -> list[Format]:
    import onnxruntime as ort

    from drsn_edge.export.calibration import calibration_data, calibration_windows, validation_set
    from drsn_edge.export.onnx_export import export_onnx
    from drsn_edge.export.optimize import optimize_onnx
    from drsn_edge.export.quantize import quantize_fp16, quantize_int8
    from drsn_edge.runtime.gpu import NO_GPU, gpu_info

    out.mkdir(parents=True, exist_ok=True)
    raw, opt = out / "model.raw.onnx", out / "model.onnx"
    fp16, int8 = out / "model.fp16.onnx", out / "model.int8.onnx"
    md_box: dict = {}

    def export() -> str:
        md_box["md"] = export_onnx(checkpoint, raw)
        return str(raw)

    def optimize() -> str:
        optimize_onnx(raw, opt)
        return str(opt)

    def half() -> str:
        quantize_fp16(opt, fp16)
        return str(fp16)

    def quant() -> str:
        md = md_box["md"]
        ds = calibration_data(md, data_spec)
        quantize_int8(opt, int8, calibration_windows(md, ds, calib_windows), validation_set(md, ds),
                      max_accuracy_drop=0.005, log=lambda s: None)
        return str(int8)

    formats = [Format("pytorch-eager", "pytorch", str(checkpoint)), _try("onnx-fp32", "cpu", export)]
    formats.append(_try("onnx-optimized", "cpu", optimize) if formats[-1].ok else Format("onnx-optimized", "cpu", None,
                                                                                         "failed: no fp32 ONNX"))
    base_ok = formats[-1].ok
    formats.append(_try("onnx-fp16", "cpu", half) if base_ok else Format("onnx-fp16", "cpu", None, "failed: no ONNX"))
    log("quantizing INT8 (calibration + accuracy budget)...")
    formats.append(_try("onnx-int8", "cpu", quant) if base_ok else Format("onnx-int8", "cpu", None, "failed: no ONNX"))

    gpu = gpu_info()
    providers = ort.get_available_providers()
    for name, prov, path in (("ort-cuda", "cuda", opt), ("ort-tensorrt-fp16", "tensorrt", opt)):
        if gpu is None:
            formats.append(Format(name, prov, None, f"skipped: {NO_GPU}"))
        elif {"cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}[prov] not in providers:
            formats.append(Format(name, prov, None, f"skipped: onnxruntime here has no {prov} provider (onnxruntime-gpu)"))
        else:
            formats.append(Format(name, prov, str(path), settings={"trt_fp16": prov == "tensorrt",
                                                                    "trt_engine_cache": str(out / "trt-cache")}))
    for precision, src in (("fp16", opt), ("int8", int8)):
        name = f"tensorrt-{precision}"
        if gpu is None:
            formats.append(Format(name, "engine", None, f"skipped: {NO_GPU}"))
            continue

        def engine(precision=precision, src=src) -> str:
            from drsn_edge.export.tensorrt_build import build_engine

            eng = out / f"model.{precision}.engine"
            build_engine(src, eng, precision)
            return str(eng)

        formats.append(_try(name, "engine", engine))
    return formats
