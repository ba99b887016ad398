"""A TensorRT engine's sidecar (``ENGINE.json``): the description plus what the engine was built for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile.description import ModelMetadata
from drsn_edge.modelfile.props import decode_props, encode_props


def sidecar_path(engine: str | Path) -> Path:
    return Path(str(engine) + ".json")


def write_sidecar(engine: str | Path, md: ModelMetadata, build: dict[str, Any]) -> Path:
    path = sidecar_path(engine)
    path.write_text(json.dumps({"metadata": encode_props(md), "build": build}, indent=1))
    return path


def read_sidecar(engine: str | Path) -> tuple[ModelMetadata, dict[str, Any]]:
    path = sidecar_path(engine)
    if not path.is_file():
        raise DrsnEdgeError(f"{engine}: no metadata file {path.name} beside the engine; rebuild it with drsn-edge export --trt")
    try:
        d = json.loads(path.read_text())
        props, build = d["metadata"], d["build"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
        raise DrsnEdgeError(f"{path}: not a drsn-edge engine description (damaged?); rebuild the engine") from None
    return decode_props(props, str(engine)), build


def check_engine_compatible(engine: str | Path, build: dict[str, Any], trt_version: str, gpu: dict[str, str] | None) -> None:
    """Refuse an engine built for another TensorRT version or GPU (TensorRT would fail obscurely)."""
    if build.get("tensorrt_version") != trt_version:
        raise DrsnEdgeError(f"{engine} was built with TensorRT {build.get('tensorrt_version')}, this machine has "
                            f"{trt_version}; rebuild the engine here with drsn-edge export --trt")
    if gpu is None:
        raise DrsnEdgeError(f"{engine} is a TensorRT engine: no NVIDIA GPU found on this machine")
    built = build.get("gpu", {})
    if built.get("name") != gpu["name"] or built.get("compute_capability") != gpu["compute_capability"]:
        raise DrsnEdgeError(f"{engine} was built for {built.get('name')} (sm {built.get('compute_capability')}), this "
                            f"GPU is {gpu['name']} (sm {gpu['compute_capability']}); rebuild the engine here")
