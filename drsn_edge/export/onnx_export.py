"""PyTorch checkpoint -> self-describing ONNX with standard ops only."""

from __future__ import annotations

import os
import warnings
from dataclasses import replace
from pathlib import Path

import onnx
import torch

from drsn_edge._version import __version__
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.export.allowlist import check_allowed_ops
from drsn_edge.modelfile import ModelMetadata
from drsn_edge.modelfile.checkpoint import CheckpointFile, read_checkpoint_file
from drsn_edge.modelfile.onnx_props import write_description
from drsn_edge.models.checkpoint import load_checkpoint
from drsn_edge.models.shrinkage import THRESHOLD_MODES

#: Opset 17: ONNX Runtime >= 1.13 and TensorRT 8.6 / 10 parse it; TensorRT 8.2 (JetPack 4.6) needs <= 13.
DEFAULT_OPSET = 17
OPSET_RANGE = (11, 20)
#: Default soft-threshold decomposition: fastest in benchmarks/results/threshold_modes.md.
DEFAULT_THRESHOLD_MODE = "clamp"


def export_description(md: ModelMetadata, sha256: str, opset: int, threshold_mode: str) -> ModelMetadata:
    """The checkpoint's description as the exported file carries it."""
    return replace(md, model=dict(md.model, threshold_mode=threshold_mode), precision="fp32", opset=opset,
                   source_checkpoint_sha256=sha256, drsn_edge_version=__version__)


def prepare_output_path(out: Path) -> None:
    """Create the output's folder if needed; a clear error if the path cannot be written."""
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
    checkpoint: str | Path | CheckpointFile,
    out: str | Path,
    opset: int = DEFAULT_OPSET,
    threshold_mode: str = DEFAULT_THRESHOLD_MODE,
    dynamic_batch: bool = True,
    final: str | Path | None = None,
    model: torch.nn.Module | None = None,
) -> ModelMetadata:
    """Export a checkpoint to ONNX (fp32) with metadata; returns the description (data path resolved).

    ``checkpoint``: its path, or the checkpoint already read (:func:`~drsn_edge.modelfile.checkpoint.read_checkpoint_file`)
    with ``model``, its network already loaded: nothing is read again. ``final`` is where the file will end up when
    ``out`` is a temporary name: the stored data path is relative to its folder."""
    out = Path(out)
    if not OPSET_RANGE[0] <= opset <= OPSET_RANGE[1]:
        raise DrsnEdgeError(f"opset {opset} not supported; choose {OPSET_RANGE[0]}..{OPSET_RANGE[1]}")
    if threshold_mode not in THRESHOLD_MODES:
        raise DrsnEdgeError(f"unknown soft-threshold decomposition {threshold_mode!r}; choose from {', '.join(THRESHOLD_MODES)}")
    prepare_output_path(out)
    ckpt = checkpoint if isinstance(checkpoint, CheckpointFile) else read_checkpoint_file(checkpoint)
    if model is None:
        model = load_checkpoint(ckpt)[0]
    model.set_threshold_mode(threshold_mode)
    md = export_description(ckpt.md, ckpt.sha256, opset, threshold_mode)
    dummy = torch.zeros(1, md.in_channels, md.window)
    outputs = [md.output_name, *md.extra_outputs]
    axes = {name: {0: "batch"} for name in [md.input_name, *outputs]} if dynamic_batch else None
    module = _WithOutputs(model, outputs).eval() if md.extra_outputs else model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (dummy,), str(out), dynamo=False, opset_version=opset,
                          input_names=[md.input_name], output_names=outputs, dynamic_axes=axes,
                          do_constant_folding=True)
    proto = onnx.load(str(out))
    check_allowed_ops(proto)
    write_description(proto, replace(md, data=md.data_relative_to(str(Path(final or out).resolve().parent))))
    onnx.save(proto, str(out))
    return md


class _WithOutputs(torch.nn.Module):
    """The network with its heads' outputs beside the logits, as a tuple in the graph's output order."""

    def __init__(self, model: torch.nn.Module, outputs: list[str]) -> None:
        super().__init__()
        self.model, self.outputs = model, outputs

    def forward(self, x):
        out = self.model.forward_all(x)
        return tuple(out[name] for name in self.outputs)
