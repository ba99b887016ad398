"""The description in an ONNX file's ``metadata_props`` (key ``drsn_edge``), read through onnxruntime (the base
install has no onnx package) and written into an ``onnx.ModelProto`` by export."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from drsn_edge._version import __version__
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile.description import ModelMetadata
from drsn_edge.modelfile.props import decode_props, encode_props


def read_onnx_description(path: str | Path) -> ModelMetadata:
    """The description stored in an ONNX file (its data path as stored, relative to the file's folder)."""
    try:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # only the metadata is wanted
        opts.log_severity_level = 3
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime's own error types: any of them means "not loadable"
        raise DrsnEdgeError(f"{path}: not a loadable ONNX model ({str(exc).splitlines()[0][:200]})") from None
    try:
        props = sess.get_modelmeta().custom_metadata_map
    except UnicodeDecodeError:
        raise DrsnEdgeError(f"{path}: its metadata is not valid text (a damaged file?)") from None
    return decode_props(props, str(path))


def description_of(proto, source: str = "model") -> ModelMetadata:
    """The description stored in an ``onnx.ModelProto`` (its data path as stored)."""
    return decode_props({p.key: p.value for p in proto.metadata_props}, source)


def write_description(proto, md: ModelMetadata) -> None:
    """Replace the drsn-edge entries of an ``onnx.ModelProto``'s ``metadata_props``."""
    props = encode_props(md)
    keep = [(p.key, p.value) for p in proto.metadata_props if p.key not in props]
    del proto.metadata_props[:]
    for k, v in [*keep, *props.items()]:
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    proto.producer_name = "drsn-edge"
    proto.producer_version = __version__
