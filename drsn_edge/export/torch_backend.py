"""PyTorch eager backend (the reference for parity checks, evaluation and benchmarks); the runtime's protocol."""

from __future__ import annotations

import numpy as np

from drsn_edge.runtime.backends.base import BackendBase, InputSpec


class TorchBackend(BackendBase):
    """``threads``: torch's intra-op threads while active; the process's own setting is restored on close (torch's
    setting is global, and a benchmark must not change how a later training run in the same process computes)."""

    def __init__(self, checkpoint: str, threads: int | None = None) -> None:
        from drsn_edge.training.checkpoint import read_checkpoint

        self.checkpoint = str(checkpoint)
        self.name = "pytorch"
        self.md, _ = read_checkpoint(checkpoint)
        self.model = None
        self.threads = threads
        self._saved_threads: int | None = None

    def activate(self) -> None:
        import torch

        from drsn_edge.training.checkpoint import load_checkpoint

        if self.threads and self._saved_threads is None:
            self._saved_threads = torch.get_num_threads()
            torch.set_num_threads(self.threads)
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
        if self._saved_threads is not None:
            import torch

            torch.set_num_threads(self._saved_threads)
            self._saved_threads = None
