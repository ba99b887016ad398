"""A Triton Inference Server model repository for an exported model: ``REPO/<name>/config.pbtxt``, ``labels.txt``
and ``1/model.onnx`` (or ``1/model.plan`` for a TensorRT engine).

The configuration is built as Triton's own ``ModelConfig`` protobuf message (shipped with ``tritonclient``), written
in text format and parsed back, so a field Triton does not know cannot be written. The drsn-edge description (rate,
window, hop, classes, novelty threshold...) travels in the config's ``parameters``, where the runtime's Triton
backend reads it from the server.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import ModelMetadata
from drsn_edge.modelfile.triton import to_parameters

PLATFORMS = {"onnx": ("onnxruntime_onnx", "model.onnx"), "engine": ("tensorrt_plan", "model.plan")}
DEVICES = ("auto", "cpu", "gpu")
LABELS_FILE = "labels.txt"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class TritonOptions:
    """What the server does with the model: batch limit, dynamic batching, instances."""

    repository: str
    name: str | None = None  # default: the output's stem
    format: str = "onnx-fp32"  # which exported file the server runs (an EXPORT_FORMATS name)
    max_batch_size: int = 64
    preferred_batch_sizes: tuple[int, ...] = (8, 64)  # the TensorRT profile's OPT and MAX
    latency_budget_ms: float | None = 10.0  # None: no dynamic batching
    instances: int = 1
    device: str = "auto"  # auto: GPU where the server has one

    @property
    def max_queue_delay_us(self) -> int:
        """Half the budget may be spent waiting for a fuller batch; the other half is left for transfer and compute."""
        return int(round(self.latency_budget_ms * 1000 / 2)) if self.latency_budget_ms else 0

    def check(self) -> None:
        if self.name is not None and not NAME_RE.match(self.name):
            raise DrsnEdgeError(f"Triton model name {self.name!r}: use letters, digits, '_', '-', '.'")
        if self.max_batch_size < 1:
            raise DrsnEdgeError(f"Triton max batch size must be at least 1, is {self.max_batch_size}")
        if self.instances < 1:
            raise DrsnEdgeError(f"Triton instances must be at least 1, is {self.instances}")
        if self.device not in DEVICES:
            raise DrsnEdgeError(f"Triton device {self.device!r}: choose from {', '.join(DEVICES)}")
        if self.latency_budget_ms is not None and not self.latency_budget_ms > 0:
            raise DrsnEdgeError(f"Triton latency budget must be positive, is {self.latency_budget_ms} ms")


def model_name(opts: TritonOptions, out: Path) -> str:
    name = opts.name or re.sub(r"[^A-Za-z0-9_.-]", "_", out.stem)
    return name if NAME_RE.match(name) else f"m_{name}"


def build_config(md: ModelMetadata, name: str, kind: str, opts: TritonOptions, input_dtype: str = "TYPE_FP32"):
    """Triton's ``ModelConfig`` message for the model described by ``md`` (``kind``: onnx | engine)."""
    from tritonclient.grpc import model_config_pb2 as mc

    platform, filename = PLATFORMS[kind]
    cfg = mc.ModelConfig(name=name, platform=platform, max_batch_size=opts.max_batch_size,
                         default_model_filename=filename)
    cfg.input.add(name=md.input_name, data_type=getattr(mc, input_dtype), dims=[md.in_channels, md.window])
    cfg.output.add(name=md.output_name, data_type=mc.TYPE_FP32, dims=[len(md.class_names)], label_filename=LABELS_FILE)
    for extra in md.extra_outputs:  # one value per window: dims [1], served without the trailing 1
        out = cfg.output.add(name=extra, data_type=mc.TYPE_FP32, dims=[1])
        out.reshape.SetInParent()
    if opts.latency_budget_ms:
        preferred = sorted({b for b in opts.preferred_batch_sizes if 1 <= b <= opts.max_batch_size} | {opts.max_batch_size})
        cfg.dynamic_batching.preferred_batch_size.extend(preferred)
        cfg.dynamic_batching.max_queue_delay_microseconds = opts.max_queue_delay_us
    kinds = {"auto": mc.ModelInstanceGroup.KIND_AUTO, "cpu": mc.ModelInstanceGroup.KIND_CPU,
             "gpu": mc.ModelInstanceGroup.KIND_GPU}
    device = "gpu" if kind == "engine" else opts.device  # an engine runs only on the GPU it was built for
    cfg.instance_group.add(count=opts.instances, kind=kinds[device])
    for key, value in to_parameters(md).items():
        cfg.parameters[key].string_value = value
    return cfg


def config_text(cfg) -> str:
    """The message in Triton's text format, checked by parsing it back against the schema."""
    from google.protobuf import text_format

    text = text_format.MessageToString(cfg)
    if parse_config(text) != cfg:
        raise DrsnEdgeError("Triton config did not survive a round trip through its own schema")
    return text


def parse_config(text: str, source: str = "config.pbtxt"):
    """Parse ``config.pbtxt`` text with Triton's ``ModelConfig`` schema; a clear error for an unknown field."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2 as mc

    try:
        return text_format.Parse(text, mc.ModelConfig())
    except text_format.ParseError as exc:
        raise DrsnEdgeError(f"{source}: not a valid Triton model configuration ({exc})") from None


def write_repository(model_file: Path, kind: str, md: ModelMetadata, model_dir: Path, name: str, opts: TritonOptions,
                     input_dtype: str = "TYPE_FP32") -> dict:
    """Fill ``model_dir`` (a fresh folder) as Triton's ``<name>/`` folder; returns what was written."""
    cfg = build_config(md, name, kind, opts, input_dtype)
    text = config_text(cfg)
    (model_dir / "1").mkdir(parents=True)
    shutil.copyfile(model_file, model_dir / "1" / PLATFORMS[kind][1])
    (model_dir / "config.pbtxt").write_text(text)
    (model_dir / LABELS_FILE).write_text("".join(f"{c}\n" for c in md.class_names))
    return {"name": name, "platform": cfg.platform, "max_batch_size": cfg.max_batch_size,
            "dynamic_batching": {"preferred_batch_size": list(cfg.dynamic_batching.preferred_batch_size),
                                 "max_queue_delay_microseconds": cfg.dynamic_batching.max_queue_delay_microseconds}
            if cfg.HasField("dynamic_batching") else None,
            "instances": opts.instances, "device": opts.device if kind != "engine" else "gpu"}


def onnx_input_dtype(path: Path) -> str:
    """Triton's data type of the ONNX graph's input (an FP16 model exported with FP16 I/O takes TYPE_FP16)."""
    import onnx

    elem = onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type.elem_type
    return {onnx.TensorProto.FLOAT: "TYPE_FP32", onnx.TensorProto.FLOAT16: "TYPE_FP16"}.get(elem, "TYPE_FP32")
