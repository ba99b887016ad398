"""The checkpoint's container: a safetensors file whose header key ``drsn_edge`` holds
``{"format", "description", "history"}``. Torch-free: the weights are read by :mod:`drsn_edge.models.checkpoint`.

A checkpoint is read once: :func:`read_checkpoint_file` takes the file's bytes in one read, parses the header from
them, hashes them, and hands the same bytes to whoever loads the weights.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drsn_edge.errors import DrsnEdgeError, readable_os_error
from drsn_edge.modelfile.description import ModelMetadata, legacy_data_spec
from drsn_edge.modelfile.hashing import sha256_bytes
from drsn_edge.modelfile.props import META_KEY

FORMAT = "drsn-edge-checkpoint/2"
READABLE_FORMATS = ("drsn-edge-checkpoint/1", FORMAT)
#: a safetensors header larger than this is not one of ours (and not worth reading to find out)
MAX_HEADER = 64 << 20


def parse_safetensors_header(head: bytes, size: int) -> int | None:
    """The header length a safetensors file of ``size`` bytes announces in its first 9 bytes, or None."""
    if len(head) < 9 or head[8:9] != b"{":
        return None
    n = struct.unpack("<Q", head[:8])[0]
    return n if 2 <= n <= min(size - 8, MAX_HEADER) else None


def _json_header(raw: bytes) -> dict[str, Any] | None:
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return header if isinstance(header, dict) else None


def safetensors_header(path: Path) -> dict[str, Any] | None:
    """The JSON header of a safetensors file (read alone, not the weights), or None if the file is not one."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        n = parse_safetensors_header(f.read(9), size)
        if n is None:
            return None
        f.seek(8)
        raw = f.read(n)
    return _json_header(raw)


def drsn_entry(header: dict[str, Any] | None, source: str) -> dict[str, Any]:
    """The drsn-edge entry of a safetensors header, checked."""
    if header is None:
        raise DrsnEdgeError(f"{source}: not a drsn-edge checkpoint (not a safetensors file)")
    raw = (header.get("__metadata__") or {}).get(META_KEY)
    if raw is None:
        raise DrsnEdgeError(f"{source}: safetensors file without drsn-edge metadata")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError:
        raise DrsnEdgeError(f"{source}: drsn-edge metadata is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") not in READABLE_FORMATS:
        fmt = meta.get("format") if isinstance(meta, dict) else None
        raise DrsnEdgeError(f"{source}: unsupported checkpoint format {fmt!r} (expected {', '.join(READABLE_FORMATS)})")
    return meta


def description_from_entry(meta: dict[str, Any], source: str) -> ModelMetadata:
    """The description stored in a checkpoint's drsn-edge entry (its data path as stored)."""
    if meta["format"] == FORMAT:
        return ModelMetadata.from_dict(meta.get("description"), source)
    # drsn-edge 0.1: the description's keys flat beside training extras; its data description in the old flat form
    keep = {"class_names", "sample_rate", "window", "hop", "in_channels", "channels", "normalization", "model",
            "training", "metrics", "drsn_edge_version"}
    d = {k: v for k, v in meta.items() if k in keep}
    d["data"] = legacy_data_spec(meta.get("data") or {})
    d["schema"] = "drsn-edge-model/1"
    return ModelMetadata.from_dict(d, source)


def encode_entry(md: ModelMetadata, folder: str | Path, history: list[dict[str, Any]] | None = None) -> dict[str, str]:
    """The safetensors metadata that carries ``md`` (its data path made relative to ``folder``, where the checkpoint
    is written)."""
    d = md.to_dict()
    d["data"] = md.data_relative_to(str(folder))
    return {META_KEY: json.dumps({"format": FORMAT, "description": d, "history": history or []})}


@dataclass
class CheckpointFile:
    """A checkpoint read once: its bytes (for the weights), drsn-edge entry, description (data path resolved against
    the file's folder) and hash."""

    path: Path
    data: bytes
    entry: dict[str, Any]
    md: ModelMetadata
    sha256: str

    @property
    def history(self) -> list[dict[str, Any]]:
        return list(self.entry.get("history") or [])


def read_checkpoint_file(path: str | Path) -> CheckpointFile:
    """Read a checkpoint's bytes in one read; a one-line error for a missing or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise DrsnEdgeError(f"checkpoint not found: {path}")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise DrsnEdgeError(f"{path}: cannot be read ({readable_os_error(exc)})") from None
    n = parse_safetensors_header(data[:9], len(data))
    entry = drsn_entry(None if n is None else _json_header(data[8 : 8 + n]), str(path))
    md = description_from_entry(entry, str(path))
    md.resolve_data(str(path.resolve().parent))
    return CheckpointFile(path, data, entry, md, sha256_bytes(data))


def read_checkpoint_description(path: str | Path) -> ModelMetadata:
    """The description of a checkpoint from its header alone (the weights are not read); the data path resolved."""
    path = Path(path)
    if not path.is_file():
        raise DrsnEdgeError(f"checkpoint not found: {path}")
    md = description_from_entry(drsn_entry(safetensors_header(path), str(path)), str(path))
    md.resolve_data(str(path.resolve().parent))
    return md
