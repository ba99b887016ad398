"""The PyTorch reference backend (parity checks, evaluation, benchmarks) behind the runtime's backend protocol."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from drsn_edge.modelfile import ModelMetadata
from drsn_edge.modelfile.checkpoint import CheckpointFile, read_checkpoint_file
from drsn_edge.models.checkpoint import load_checkpoint
from drsn_edge.runtime.backends.base import BackendBase, InputSpec


class TorchBackend(BackendBase):
    """A checkpoint run eagerly. ``source``: its path, the checkpoint already read, or a network already loaded
    (with its description). ``threads``: torch's intra-op threads while active; the process's own setting is restored
    on close (torch's setting is global, and a benchmark must not change how a later training run in the same
    process computes)."""

    name = "pytorch"

    def __init__(self, source: str | Path | CheckpointFile | tuple[torch.nn.Module, ModelMetadata],
                 threads: int | None = None) -> None:
        if isinstance(source, tuple):
            self._loaded, self.checkpoint = source, None
        else:
            self.checkpoint = source if isinstance(source, CheckpointFile) else read_checkpoint_file(source)
            self._loaded = None
        self.md = self._loaded[1] if self._loaded else self.checkpoint.md
        self.model = None
        self.threads = threads
        self._saved_threads: int | None = None

    def activate(self) -> None:
        if self.threads and self._saved_threads is None:
            self._saved_threads = torch.get_num_threads()
            torch.set_num_threads(self.threads)
        self.model = self._loaded[0].eval() if self._loaded else load_checkpoint(self.checkpoint)[0]

    def input_spec(self) -> InputSpec:
        return InputSpec(self.md.input_name, ("batch", self.md.in_channels, self.md.window), "tensor(float)")

    def infer(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()

    def infer_all(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Logits and the heads' outputs (as the ONNX backend)."""
        with torch.no_grad():
            out = self.model.forward_all(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
        return out["logits"].numpy(), {k: out[k].numpy() for k in self.md.extra_outputs if k in out}

    def close(self) -> None:
        self.model = None
        if self._saved_threads is not None:
            torch.set_num_threads(self._saved_threads)
            self._saved_threads = None
