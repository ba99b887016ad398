"""The description as a flat map of strings: the form ONNX ``metadata_props``, an engine's sidecar and a Triton
configuration's ``parameters`` all hold. The whole description is JSON under the key ``drsn_edge``; a few flat keys
repeat the essentials for tools such as Netron."""

from __future__ import annotations

import json

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile.description import ModelMetadata

META_KEY = "drsn_edge"


def encode_props(md: ModelMetadata) -> dict[str, str]:
    flat = {
        "class_names": ",".join(md.class_names),
        "sample_rate": f"{md.sample_rate:g}",
        "window": str(md.window),
        "hop": str(md.hop),
        "in_channels": str(md.in_channels),
        "model": f"{md.model.get('arch')}/{md.model.get('preset')}",
        "precision": md.precision,
    }
    return {META_KEY: json.dumps(md.to_dict()), **flat}


def decode_props(props: dict[str, str], source: str = "model") -> ModelMetadata:
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
    return ModelMetadata.from_dict(d, source)
