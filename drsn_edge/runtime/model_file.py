"""Model files recognised by their content, not their suffix: a drsn-edge checkpoint (safetensors), an ONNX model,
or a TensorRT engine (with its ``ENGINE.json`` sidecar). Torch-free: reading a description needs no framework."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.metadata import META_KEY, ModelMetadata

CHECKPOINT_FORMATS = ("drsn-edge-checkpoint/1", "drsn-edge-checkpoint/2")
#: a safetensors header larger than this is not one of ours (and not worth reading to find out)
MAX_HEADER = 64 << 20


def _safetensors_header(path: Path) -> dict[str, Any] | None:
    """The JSON header of a safetensors file, or None if the file is not one."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(9)
        if len(head) < 9 or head[8:9] != b"{":
            return None
        n = struct.unpack("<Q", head[:8])[0]
        if not 2 <= n <= min(size - 8, MAX_HEADER):
            return None
        f.seek(8)
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return header if isinstance(header, dict) else None


def detect_format(path: str | Path) -> str:
    """``checkpoint``, ``engine``, ``onnx`` or ``triton`` (a triton:// address); a one-line error for a missing file."""
    from drsn_edge.runtime.backends.triton_backend import is_triton_url
    from drsn_edge.runtime.engine_meta import sidecar_path

    if is_triton_url(path):
        return "triton"
    path = Path(path)
    if not path.is_file():
        raise DrsnEdgeError(f"model not found: {path}")
    try:
        if _safetensors_header(path) is not None:
            return "checkpoint"
    except OSError as exc:
        from drsn_edge.readers import readable_os_error

        raise DrsnEdgeError(f"{path}: cannot be read ({readable_os_error(exc)})") from None
    if sidecar_path(path).is_file():
        return "engine"
    if path.suffix.lower() == ".safetensors":
        raise DrsnEdgeError(f"{path}: not a drsn-edge checkpoint (not a safetensors file)")
    return "onnx"


def read_checkpoint_header(path: str | Path) -> dict[str, Any]:
    """The drsn-edge entry of a checkpoint's safetensors header, checked; torch-free."""
    path = Path(path)
    if not path.is_file():
        raise DrsnEdgeError(f"checkpoint not found: {path}")
    header = _safetensors_header(path)
    if header is None:
        raise DrsnEdgeError(f"{path}: not a drsn-edge checkpoint (not a safetensors file)")
    raw = (header.get("__metadata__") or {}).get(META_KEY)
    if raw is None:
        raise DrsnEdgeError(f"{path}: safetensors file without drsn-edge metadata")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError:
        raise DrsnEdgeError(f"{path}: drsn-edge metadata is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") not in CHECKPOINT_FORMATS:
        fmt = meta.get("format") if isinstance(meta, dict) else None
        raise DrsnEdgeError(f"{path}: unsupported checkpoint format {fmt!r} (expected {', '.join(CHECKPOINT_FORMATS)})")
    return meta


def description_from_checkpoint_header(meta: dict[str, Any], source: str) -> ModelMetadata:
    if meta["format"] == "drsn-edge-checkpoint/2":
        return ModelMetadata.from_dict(meta.get("description"), source)
    # drsn-edge 0.1: the description's keys flat beside training extras; its data spec in the old flat form
    from drsn_edge.data.dataset import DataSpec

    keep = {"class_names", "sample_rate", "window", "hop", "in_channels", "channels", "normalization", "model",
            "training", "metrics", "drsn_edge_version"}
    d = {k: v for k, v in meta.items() if k in keep}
    d["data"] = DataSpec.from_dict(meta.get("data") or {}).to_dict()
    d["schema"] = "drsn-edge-model/1"
    return ModelMetadata.from_dict(d, source)


def read_description(path: str | Path) -> ModelMetadata:
    """The description of any model file, its data path taken against the file's folder."""
    kind = detect_format(path)
    if kind == "triton":
        from drsn_edge.runtime.backends.triton_backend import TritonBackend

        be = TritonBackend(str(path))
        try:
            return be.describe()
        finally:
            be.close()
    path = Path(path)
    if kind == "checkpoint":
        md = description_from_checkpoint_header(read_checkpoint_header(path), str(path))
    elif kind == "engine":
        from drsn_edge.runtime.engine_meta import read_sidecar

        md, _ = read_sidecar(path)
    else:
        md = _onnx_description(path)
    md.resolve_data(os.path.dirname(os.path.abspath(path)))
    return md


def _onnx_description(path: Path) -> ModelMetadata:
    """Metadata of an ONNX file, read through onnxruntime (no onnx package needed)."""
    import onnxruntime as ort

    try:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # only the metadata is wanted
        opts.log_severity_level = 3
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise DrsnEdgeError(f"{path}: not a loadable ONNX model ({str(exc).splitlines()[0][:200]})") from None
    try:
        props = sess.get_modelmeta().custom_metadata_map
    except UnicodeDecodeError:
        raise DrsnEdgeError(f"{path}: its metadata is not valid text (a damaged file?)") from None
    return ModelMetadata.from_props(props, str(path))
