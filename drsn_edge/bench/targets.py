"""What a benchmark runs: each row is an exported format (built by the export job, never here) on a runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drsn_edge.export.formats import get_format
from drsn_edge.runtime.backends.openvino_backend import cpu_precisions, openvino_available
from drsn_edge.runtime.loader import open_model
from drsn_edge.runtime.providers import ProviderSettings


@dataclass
class Target:
    name: str  # the row, e.g. "onnx-int8" or "ort-cuda-graph-fp32"
    format: str  # the export format it runs (drsn_edge.export.formats)
    provider: str  # pytorch | cpu | cuda | tensorrt (ONNX Runtime providers) | engine (native TensorRT) | openvino
    settings: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    status: str = "ok"  # ok, or "skipped: why" / "failed: why"

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def gpu(self) -> bool:
        return self.provider in ("cuda", "tensorrt", "engine")


#: rows: (name, format, provider, provider settings)
TARGETS = (
    ("pytorch-eager", "pytorch", "pytorch", {}),
    ("onnx-fp32", "onnx-fp32", "cpu", {}),
    ("onnx-fp16", "onnx-fp16", "cpu", {}),
    ("onnx-int8", "onnx-int8", "cpu", {}),
    ("ort-cuda-fp32", "onnx-fp32", "cuda", {}),
    ("ort-cuda-graph-fp32", "onnx-fp32", "cuda", {"cuda_graph": True}),
    ("ort-cuda-fp16", "onnx-fp16", "cuda", {}),
    ("ort-tensorrt-fp16", "onnx-fp32", "tensorrt", {"trt_fp16": True}),
    ("tensorrt-fp32", "tensorrt-fp32", "engine", {}),
    ("tensorrt-fp16", "tensorrt-fp16", "engine", {}),
    ("tensorrt-int8", "tensorrt-int8", "engine", {}),
    ("openvino-fp32", "openvino-fp32", "openvino", {}),
    ("openvino-int8", "openvino-int8", "openvino", {}),
    ("openvino-bf16", "openvino-fp32", "openvino", {"precision": "bf16"}),
)


def plan_targets(checkpoint: str, export_report: dict[str, Any], out: Path, gpu_reason: str | None,
                 provider_reasons: dict[str, str]) -> list[Target]:
    """One row per target; each either has its file from the export report or says why not."""
    written = {f["format"]: f["path"] for f in export_report["files"]}
    written["pytorch"] = str(checkpoint)
    skipped = export_report.get("skipped", {})
    rows = []
    for name, fmt, provider, settings in TARGETS:
        t = Target(name, fmt, provider, dict(settings), written.get(fmt))
        if provider in ("cuda", "tensorrt") and provider_reasons.get(provider) != "ok":
            t.status = f"skipped: {provider_reasons.get(provider, 'not tried')}"
        elif provider == "engine" and gpu_reason:
            t.status = f"skipped: {gpu_reason}"
        elif provider == "openvino" and (why := _openvino_reason(settings.get("precision", "f32"))):
            t.status = f"skipped: {why}"
        elif t.path is None:
            why = skipped.get(fmt) or f"not built (needs {get_format(fmt).needs})"
            t.status = f"skipped: {why}"
        if provider == "tensorrt" and t.ok:
            t.settings["trt_engine_cache"] = str(out / "trt-cache")
        rows.append(t)
    return rows


def _openvino_reason(precision: str) -> str | None:
    """Why an OpenVINO row cannot run here (the extra missing, or no BF16 on this CPU), or None."""
    if openvino_available() is not None:
        return "OpenVINO is not installed (the [openvino] extra)"
    if precision not in cpu_precisions():
        return f"this CPU offers OpenVINO no {precision}"
    return None


def open_target(t: Target, threads: int):
    """A backend for a target (not activated)."""
    if t.provider == "pytorch":
        from drsn_edge.evaluation.torch_backend import TorchBackend

        return TorchBackend(t.path, threads=threads)
    provider = "cpu" if t.provider == "engine" else t.provider
    be, _ = open_model(t.path, ProviderSettings(provider=provider, intra_op_threads=threads, **t.settings))
    return be
