"""The one description of a model: written by training into the checkpoint, carried into the ONNX file, an engine's
sidecar and a Triton configuration (each by its codec in this package), and read from there by export, verify, bench,
evaluate and the runtime.

Everything needed to use the model travels with the file: class names, the healthy class, sample rate, window, hop,
channels, normalization, the data and split it was trained and tested on, its heads, provenance.
"""

from __future__ import annotations

import math
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from drsn_edge.errors import DrsnEdgeError

SCHEMA = "drsn-edge-model/2"
#: what an alarm means when a model has no healthy class: said alike by training and by the runtime
NO_HEALTHY_CLASS = "every window is some class, and an alarm means a class is predicted with high confidence"
READABLE_SCHEMAS = ("drsn-edge-model/1", SCHEMA)


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
    extra_outputs: list[str] = field(default_factory=list)  # "novelty", "noise_level", "anomaly": beside the logits
    normal_label: str | None = "normal"  # the healthy class (None: the model has none; alarms then mean any class)
    normalization: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)  # arch, preset, sizes, threshold_mode
    training: dict[str, Any] = field(default_factory=dict)  # noise, SNR, epochs, seed, recipe
    data: dict[str, Any] = field(default_factory=dict)  # the DataSpec: source, options, fs, split, seed
    metrics: dict[str, Any] = field(default_factory=dict)  # test metrics measured at training time
    precision: str = "fp32"
    quantization: dict[str, Any] = field(default_factory=dict)  # INT8: target runtime, scheme, calibration
    novelty: dict[str, Any] = field(default_factory=dict)  # the novelty score's threshold and how it was calibrated
    noise: dict[str, Any] = field(default_factory=dict)  # what the noise_level output means
    adaptation: dict[str, Any] = field(default_factory=dict)  # drsn-edge adapt: method, target data, windows
    enrolment: dict[str, Any] = field(default_factory=dict)  # drsn-edge enrol: the machine's baseline, its threshold
    opset: int | None = None
    source_checkpoint_sha256: str | None = None
    drsn_edge_version: str = ""
    schema: str = SCHEMA

    def __post_init__(self) -> None:
        self.validate("model")

    def validate(self, source: str) -> None:
        """Refuse a description that would make the runtime label windows wrongly."""
        names = self.class_names
        if not isinstance(names, list) or len(names) < 2 or not all(isinstance(n, str) and n for n in names):
            raise DrsnEdgeError(f"{source}: metadata needs at least two class names, has {names!r}")
        if len(set(names)) != len(names):
            raise DrsnEdgeError(f"{source}: metadata lists a class twice: {names}")
        for key in ("window", "hop", "in_channels"):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise DrsnEdgeError(f"{source}: metadata {key} must be a positive integer, is {v!r}")
        sr = self.sample_rate
        if not isinstance(sr, (int, float)) or isinstance(sr, bool) or not math.isfinite(sr) or sr <= 0:
            raise DrsnEdgeError(f"{source}: metadata sample_rate must be a positive number of Hz, is {sr!r}")
        self.sample_rate = float(sr)
        if self.normal_label is not None and self.normal_label not in names:
            raise DrsnEdgeError(f"{source}: metadata normal_label {self.normal_label!r} is not one of the classes {names}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Any, source: str = "model") -> ModelMetadata:
        if not isinstance(d, dict):
            raise DrsnEdgeError(f"{source}: drsn-edge metadata is not a JSON object")
        d = dict(d)
        schema = d.get("schema", SCHEMA)
        if schema not in READABLE_SCHEMAS:
            raise DrsnEdgeError(f"{source}: unsupported metadata schema {schema!r} (this drsn-edge reads "
                                f"{', '.join(READABLE_SCHEMAS)}; a newer drsn-edge wrote it?)")
        if schema == "drsn-edge-model/1":
            d.setdefault("normal_label", "normal" if "normal" in (d.get("class_names") or []) else None)
            d["schema"] = SCHEMA
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise DrsnEdgeError(f"{source}: unknown metadata key(s) {', '.join(unknown)} (written by another drsn-edge?)")
        required = [f.name for f in fields(cls) if f.default is f.default_factory is MISSING]
        missing = [k for k in required if k not in d]
        if missing:
            raise DrsnEdgeError(f"{source}: metadata lacks {', '.join(missing)}")
        try:
            md = cls.__new__(cls)
            for f in fields(cls):
                setattr(md, f.name, d[f.name] if f.name in d else
                        (f.default_factory() if f.default_factory is not MISSING else f.default))
        except TypeError as exc:
            raise DrsnEdgeError(f"{source}: malformed metadata ({exc})") from None
        md.validate(source)
        return md

    def data_relative_to(self, folder: str) -> dict[str, Any]:
        """The data description with its path option relative to ``folder`` (where this description is stored)."""
        return map_data_root(self.data, lambda p: _relpath(p, folder))

    def resolve_data(self, folder: str) -> None:
        """Take a relative data path against ``folder`` (where the description was read from)."""
        self.data = map_data_root(self.data, lambda p: p if os.path.isabs(p) else os.path.normpath(os.path.join(folder, p)))


def map_data_root(data: dict[str, Any], fn) -> dict[str, Any]:
    """Apply ``fn`` to the data description's path (option ``root``: a CWRU folder, a data folder, a manifest)."""
    opts = (data or {}).get("options")
    if not isinstance(opts, dict) or not isinstance(opts.get("root"), str) or not opts["root"]:
        return data
    return {**data, "options": {**opts, "root": fn(opts["root"])}}


def _relpath(p: str, folder: str) -> str:
    try:
        return os.path.relpath(os.path.abspath(p), os.path.abspath(folder))
    except ValueError:  # another drive (Windows)
        return os.path.abspath(p)


def legacy_data_spec(d: dict[str, Any]) -> dict[str, Any]:
    """A data description of drsn-edge 0.1 (flat, source-specific keys; split by time) in today's form
    (``source``, ``options``, ``fs``, ``split``, ``seed``)."""
    source = d.get("source", "sim")
    if source == "cwru":
        opts = {"root": d.get("data_dir"), "label_set": d.get("label_set", "10"),
                "channels": list(d.get("channels") or ["DE"]), "loads": d.get("loads")}
    else:
        opts = {"label_set": d.get("label_set", "4"), "duration": d.get("sim_duration", 10.0),
                "recordings_per_class": d.get("sim_recordings_per_class", 4)}
    return {"source": source, "options": {k: v for k, v in opts.items() if v is not None}, "fs": d.get("fs", 12000.0),
            "split": d.get("split"), "seed": int(d.get("seed", 0))}
