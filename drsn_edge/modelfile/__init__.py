"""The model's description and the files that carry it (torch-free).

One description (:class:`ModelMetadata`) of a trained model: classes, the healthy class, rate, window, hop, channels,
normalization, the data and split it was trained on, its heads and provenance. One codec per container:

- :mod:`~drsn_edge.modelfile.checkpoint`: the safetensors header of a training checkpoint;
- :mod:`~drsn_edge.modelfile.onnx_props`: an ONNX file's ``metadata_props``;
- :mod:`~drsn_edge.modelfile.engine`: the ``ENGINE.json`` sidecar of a TensorRT engine;
- :mod:`~drsn_edge.modelfile.triton`: the ``parameters`` of a Triton model configuration.

:mod:`~drsn_edge.modelfile.detect` recognises a file by its content and reads the description of any of them.
"""

from drsn_edge.modelfile.description import NO_HEALTHY_CLASS, SCHEMA, ModelMetadata
from drsn_edge.modelfile.detect import detect_format, is_triton_url, read_description
from drsn_edge.modelfile.hashing import sha256_bytes, sha256_file

__all__ = ["NO_HEALTHY_CLASS", "SCHEMA", "ModelMetadata", "detect_format", "is_triton_url", "read_description", "sha256_bytes",
           "sha256_file"]
