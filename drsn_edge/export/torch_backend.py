"""PyTorch eager backend (reference for parity checks and benchmarks); same protocol as the runtime's."""

from __future__ import annotations

import numpy as np

from drsn_edge.runtime.backends.base import InputSpec


class TorchBackend:
    def __init__(self, checkpoint: str) -> None:
        self.checkpoint = str(checkpoint)
        self.name = "pytorch"
        self.model = None

    def activate(self) -> None:
        from drsn_edge.training.checkpoint import load_checkpoint

        self.model, self.meta = load_checkpoint(self.checkpoint)

    def input_spec(self) -> InputSpec:
        return InputSpec("x", ("batch", self.meta["in_channels"], self.meta["window"]), "tensor(float)")

    def infer(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()

    def close(self) -> None:
        self.model = None
