"""The self-description stored in an exported model (ONNX ``metadata_props`` or an engine's sidecar).

Everything the runtime needs travels with the model file: class names, sample rate, window, hop,
channels, normalization, provenance. Stored as JSON under the key ``drsn_edge``; a few flat keys
repeat the essentials for tools such as Netron.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from drsn_edge.errors import DrsnEdgeError

META_KEY = "drsn_edge"
SCHEMA = "drsn-edge-model/1"


@dataclass
class ModelMetadata:
    class_names: list[str]
    sample_rate: float
    window: int
    hop: int
    in_channels: int
    channels: list[str]
    input_name: str = "x"
    output_name: str = "logits"
    normalization: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)  # arch, preset, sizes, threshold_mode
    training: dict[str, Any] = field(default_factory=dict)  # noise, SNR, epochs, seed
    data: dict[str, Any] = field(default_factory=dict)
    precision: str = "fp32"
    opset: int | None = None
    source_checkpoint_sha256: str | None = None
    drsn_edge_version: str = ""
    schema: str = SCHEMA

    def to_props(self) -> dict[str, str]:
        flat = {
            "class_names": ",".join(self.class_names),
            "sample_rate": f"{self.sample_rate:g}",
            "window": str(self.window),
            "hop": str(self.hop),
            "in_channels": str(self.in_channels),
            "model": f"{self.model.get('arch')}/{self.model.get('preset')}",
            "precision": self.precision,
        }
        return {META_KEY: json.dumps(asdict(self)), **flat}

    @classmethod
    def from_props(cls, props: dict[str, str], source: str = "model") -> ModelMetadata:
        raw = props.get(META_KEY)
        if raw is None:
            raise DrsnEdgeError(
                f"{source}: no drsn-edge metadata; export it with 'drsn-edge export' (the runtime needs the "
                "class names, sample rate and window stored in the file)"
            )
        try:
            d = json.loads(raw)
        except json.JSONDecodeError:
            raise DrsnEdgeError(f"{source}: drsn-edge metadata is not valid JSON") from None
        if d.get("schema") != SCHEMA:
            raise DrsnEdgeError(f"{source}: unsupported metadata schema {d.get('schema')!r} (expected {SCHEMA})")
        return cls(**d)


def read_onnx_metadata(path: str) -> ModelMetadata:
    """Metadata of an ONNX file, read through onnxruntime (no onnx package needed)."""
    import os

    import onnxruntime as ort

    if not os.path.isfile(path):
        raise DrsnEdgeError(f"model not found: {path}")
    try:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # only the metadata is wanted
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise DrsnEdgeError(f"{path}: not a loadable ONNX model ({str(exc).splitlines()[0][:200]})") from None
    return ModelMetadata.from_props(sess.get_modelmeta().custom_metadata_map, path)
