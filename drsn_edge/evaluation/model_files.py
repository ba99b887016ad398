"""Any model file for evaluation, parity and benchmarks: a training checkpoint runs in PyTorch (the reference),
everything else through the device runtime."""

from __future__ import annotations

from pathlib import Path

from drsn_edge.modelfile import ModelMetadata, detect_format
from drsn_edge.runtime.backends.base import BackendBase
from drsn_edge.runtime.loader import open_model
from drsn_edge.runtime.providers import ProviderSettings


def open_any_model(path: str | Path, settings: ProviderSettings | None = None, warmup: int = 2,
                   threads: int | None = None) -> tuple[BackendBase, ModelMetadata]:
    """``(backend, description)`` of any model file (not yet activated). ``threads``: torch's, for a checkpoint."""
    if detect_format(path) == "checkpoint":
        from drsn_edge.evaluation.torch_backend import TorchBackend  # torch, only where a checkpoint is run

        be = TorchBackend(path, threads=threads)
        return be, be.md
    return open_model(path, settings, warmup=warmup)
