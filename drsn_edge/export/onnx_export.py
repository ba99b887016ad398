"""PyTorch checkpoint -> self-describing ONNX with standard ops only."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import replace
from pathlib import Path

from drsn_edge._version import __version__
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.export.allowlist import check_allowed_ops
from drsn_edge.runtime.metadata import ModelMetadata

#: Opset 17: ONNX Runtime >= 1.13 and TensorRT 8.6 / 10 parse it; TensorRT 8.2 (JetPack 4.6) needs <= 13.
DEFAULT_OPSET = 17
OPSET_RANGE = (11, 20)
#: Default soft-threshold decomposition: fastest in benchmarks/results/threshold_modes.md.
DEFAULT_THRESHOLD_MODE = "clamp"


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export_description(md: ModelMetadata, sha256: str, opset: int, threshold_mode: str) -> ModelMetadata:
    """The checkpoint's description as the exported file carries it."""
    return replace(md, model=dict(md.model, threshold_mode=threshold_mode), precision="fp32", opset=opset,
                   source_checkpoint_sha256=sha256, drsn_edge_version=__version__)


def prepare_output_path(out: Path) -> None:
    """Create the output's folder if needed; a clear error if the path cannot be written."""
    import os

    if out.is_dir():
        raise DrsnEdgeError(f"output {out} is a folder; give a file name such as model.onnx")
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DrsnEdgeError(f"cannot write {out}: cannot create folder {parent} ({exc.strerror})") from None
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise DrsnEdgeError(f"cannot write {out}: permission denied")


def export_onnx(
    checkpoint: str | Path,
    out: str | Path,
    opset: int = DEFAULT_OPSET,
    threshold_mode: str = DEFAULT_THRESHOLD_MODE,
    dynamic_batch: bool = True,
    final: str | Path | None = None,
) -> ModelMetadata:
    """Export a checkpoint to ONNX (fp32) with metadata; returns the description (data path resolved).

    ``final`` is where the file will end up when ``out`` is a temporary name: the stored data path is relative to
    its folder."""
    import onnx
    import torch

    from drsn_edge.models.shrinkage import THRESHOLD_MODES
    from drsn_edge.training.checkpoint import load_checkpoint

    out = Path(out)
    if not OPSET_RANGE[0] <= opset <= OPSET_RANGE[1]:
        raise DrsnEdgeError(f"opset {opset} not supported; choose {OPSET_RANGE[0]}..{OPSET_RANGE[1]}")
    if threshold_mode not in THRESHOLD_MODES:
        raise DrsnEdgeError(f"unknown soft-threshold decomposition {threshold_mode!r}; choose from {', '.join(THRESHOLD_MODES)}")
    prepare_output_path(out)
    model, ckpt_md = load_checkpoint(checkpoint)
    model.set_threshold_mode(threshold_mode)
    md = export_description(ckpt_md, sha256_file(checkpoint), opset, threshold_mode)
    dummy = torch.zeros(1, md.in_channels, md.window)
    outputs = [md.output_name, *md.extra_outputs]
    axes = {name: {0: "batch"} for name in [md.input_name, *outputs]} if dynamic_batch else None
    module = _WithOutputs(model, outputs) if md.extra_outputs else model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (dummy,), str(out), dynamo=False, opset_version=opset,
                          input_names=[md.input_name], output_names=outputs, dynamic_axes=axes,
                          do_constant_folding=True)
    proto = onnx.load(str(out))
    check_allowed_ops(proto)
    stored = replace(md, data=md.data_relative_to(str(Path(final or out).resolve().parent)))
    write_metadata(proto, stored)
    onnx.save(proto, str(out))
    return md


class _WithOutputs:
    """The network with its heads' outputs beside the logits (a torch module built on use: torch is imported lazily)."""

    def __new__(cls, model, outputs: list[str]):
        import torch

        class Wrapper(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, x):
                out = self.model.forward_all(x)
                return tuple(out[name] for name in outputs)

        return Wrapper().eval()


def write_metadata(proto, md: ModelMetadata) -> None:
    """Replace the drsn-edge entries of a model's ``metadata_props``."""
    props = md.to_props()
    keep = [(p.key, p.value) for p in proto.metadata_props if p.key not in props]
    del proto.metadata_props[:]
    for k, v in [*keep, *props.items()]:
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    proto.producer_name = "drsn-edge"
    proto.producer_version = __version__


def read_metadata(proto) -> ModelMetadata:
    """The description stored in an ``onnx.ModelProto`` (its data path as stored, relative to the file's folder)."""
    return ModelMetadata.from_props({p.key: p.value for p in proto.metadata_props}, "model")
