"""The description in a Triton model configuration's ``parameters`` (one string value per key), where export
``--triton-repo`` writes it and the runtime's Triton backend reads it from the server."""

from __future__ import annotations

from typing import Any

from drsn_edge.modelfile.description import ModelMetadata
from drsn_edge.modelfile.props import decode_props, encode_props


def to_parameters(md: ModelMetadata) -> dict[str, str]:
    return encode_props(md)


def from_parameters(parameters: dict[str, Any], source: str) -> ModelMetadata:
    """``parameters`` as the server reports them (``{key: {"string_value": ...}}``) or as plain strings."""
    props = {k: v.get("string_value", "") if isinstance(v, dict) else str(v) for k, v in parameters.items()}
    return decode_props(props, source)
