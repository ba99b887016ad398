"""PyTorch eager backend (the reference for parity checks, evaluation and benchmarks); the runtime's protocol."""

from __future__ import annotations

import numpy as np

from drsn_edge.runtime.backends.base import InputSpec


class TorchBackend:
    def __init__(self, checkpoint: str) -> None:
        from drsn_edge.training.checkpoint import read_checkpoint

        self.checkpoint = str(checkpoint)
        self.name = "pytorch"
        self.md, _ = read_checkpoint(checkpoint)
        self.model = None

    def activate(self) -> None:
        from drsn_edge.training.checkpoint import load_checkpoint

        self.model, _ = load_checkpoint(self.checkpoint)

    def input_spec(self) -> InputSpec:
        return InputSpec(self.md.input_name, ("batch", self.md.in_channels, self.md.window), "tensor(float)")

    def infer(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()

    def infer_all(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Logits and the heads' outputs (as the ONNX backend)."""
        import torch

        with torch.no_grad():
            out = self.model.forward_all(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
        return out["logits"].numpy(), {k: out[k].numpy() for k in self.md.extra_outputs if k in out}

    def close(self) -> None:
        self.model = None

    def __enter__(self) -> TorchBackend:
        self.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
