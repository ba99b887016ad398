"""Serialized TensorRT engines from ONNX with the ``tensorrt`` Python API (8.6 / 10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile.engine import write_sidecar
from drsn_edge.modelfile.onnx_props import description_of
from drsn_edge.runtime.gpu import gpu_info, no_gpu_reason

TRT_PRECISIONS = ("fp32", "fp16", "int8")


def import_tensorrt():
    try:
        import tensorrt as trt
    except ImportError:
        hint = no_gpu_reason() if gpu_info() is None else "pip install tensorrt"
        raise DrsnEdgeError(f"TensorRT engines need the tensorrt Python package and an NVIDIA GPU; "
                            f"tensorrt is not installed ({hint})") from None
    return trt


def build_engine(onnx_path: str | Path, out: str | Path, precision: str = "fp16",
                 batch: tuple[int, int, int] = (1, 8, 64), workspace: int = 1 << 30) -> dict[str, Any]:
    """Build an engine with an optimization profile over the batch; INT8 takes its scales from a QDQ model."""
    if precision not in TRT_PRECISIONS:
        raise DrsnEdgeError(f"unknown TensorRT precision {precision!r}; choose from {', '.join(TRT_PRECISIONS)}")
    gpu = gpu_info()
    if gpu is None:
        raise DrsnEdgeError(f"TensorRT engine build: {no_gpu_reason()}")
    trt = import_tensorrt()
    md = description_of(onnx.load(str(onnx_path)))
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    explicit = 0 if int(trt.__version__.split(".")[0]) >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(explicit)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errs = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise DrsnEdgeError(f"TensorRT cannot parse {onnx_path}: {errs}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace)
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        if md.precision != "int8":
            raise DrsnEdgeError("--trt int8 needs the INT8 QDQ model (its scales); pass --int8 to export as well")
        config.set_flag(trt.BuilderFlag.INT8)
    profile = builder.create_optimization_profile()
    shape = lambda b: (b, md.in_channels, md.window)  # noqa: E731
    profile.set_shape(md.input_name, shape(batch[0]), shape(batch[1]), shape(batch[2]))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise DrsnEdgeError(f"TensorRT failed to build an engine from {onnx_path} (see its log above)")
    Path(out).write_bytes(bytes(serialized))
    build = {"tensorrt_version": trt.__version__, "gpu": gpu, "precision": precision,
             "batch_profile": {"min": batch[0], "opt": batch[1], "max": batch[2]}, "source_onnx": str(onnx_path)}
    md.precision = f"trt-{precision}"
    write_sidecar(out, md, build)
    return build
