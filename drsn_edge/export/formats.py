"""Every format a checkpoint can become: one table that drives both the export job and the benchmark (after
Ultralytics' ``export_formats()``), so the benchmark never builds a model its own way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ExportFormat:
    name: str  # e.g. "onnx-int8"
    suffix: str  # appended to the output's stem: model.onnx -> model.int8.onnx
    precision: str  # fp32 | fp16 | int8
    runtime: str  # pytorch | onnxruntime | tensorrt | openvino
    option: str  # the ExportOptions switch that builds it ("" = always; "trt": one engine per precision listed)
    needs: str = ""  # what building it needs beyond the checkpoint

    def path(self, out: str | Path) -> Path:
        """The file this format is written to, for an export to ``out`` (model.onnx)."""
        out = Path(out)
        return out.with_name(out.stem + self.suffix)


EXPORT_FORMATS = (
    ExportFormat("pytorch", ".safetensors", "fp32", "pytorch", "", "the checkpoint itself (training machines)"),
    ExportFormat("onnx-fp32", ".onnx", "fp32", "onnxruntime", ""),
    ExportFormat("onnx-fp16", ".fp16.onnx", "fp16", "onnxruntime", "fp16"),
    ExportFormat("onnx-int8", ".int8.onnx", "int8", "onnxruntime", "int8", "representative data for calibration"),
    # the same network with its temporal convolutions as 1-D ones: the 2-D form of model.onnx is ONNX Runtime's fast
    # path on x86, while OpenVINO's CPU plugin runs the 1-D form faster (benchmarks/results/openvino_cpu_xeon.md)
    ExportFormat("openvino-fp32", ".openvino.onnx", "fp32", "openvino", "openvino"),
    ExportFormat("openvino-int8", ".openvino.int8.onnx", "int8", "openvino", "openvino",
                 "representative data for calibration"),
    ExportFormat("tensorrt-fp32", ".fp32.engine", "fp32", "tensorrt", "trt", "an NVIDIA GPU and TensorRT"),
    ExportFormat("tensorrt-fp16", ".fp16.engine", "fp16", "tensorrt", "trt", "an NVIDIA GPU and TensorRT"),
    ExportFormat("tensorrt-int8", ".int8.engine", "int8", "tensorrt", "trt", "an NVIDIA GPU, TensorRT, the INT8 QDQ model"),
)


def export_formats() -> tuple[ExportFormat, ...]:
    return EXPORT_FORMATS


def get_format(name: str) -> ExportFormat:
    for f in EXPORT_FORMATS:
        if f.name == name:
            return f
    raise KeyError(name)
