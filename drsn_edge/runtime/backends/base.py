"""The backend protocol (after Polygraphy's runners): activate, input metadata, infer, close."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: tuple[int | str | None, ...]  # (batch, channels, window); batch may be symbolic
    dtype: str


@runtime_checkable
class Backend(Protocol):
    """Runs ``(N, C, T)`` float32 windows to ``(N, K)`` float32 logits."""

    name: str

    def activate(self) -> None:
        """Load the model and warm up; call once before ``infer``."""

    def input_spec(self) -> InputSpec: ...

    def infer(self, x: np.ndarray) -> np.ndarray: ...

    def infer_all(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Logits and the model's extra per-window outputs (novelty, noise_level) by name."""

    def close(self) -> None: ...


class BackendBase:
    """What every backend shares: used as a context manager, it is activated on entry and closed on exit.
    A GPU backend that can time its calls with CUDA events sets ``time_gpu`` (on request) and ``last_gpu_ms``."""

    #: whether ``infer`` may run on a worker thread while the caller goes on (the stream runner then overlaps one
    #: batch's decisions with the next batch's inference)
    overlap: bool = False
    #: whether ``time_gpu = True`` makes ``last_gpu_ms`` the GPU time of each call
    can_time_gpu: bool = False
    time_gpu: bool = False
    last_gpu_ms: float | None = None

    #: batch sizes :meth:`warm` has run
    warmed: frozenset[int] = frozenset()

    def activate(self) -> None:
        raise NotImplementedError

    def warm(self, batch: int, channels: int, window: int) -> None:
        """One run of ``batch`` zero windows, once per batch size, so that the first real batch of that size pays for
        no allocation (ONNX Runtime sizes its buffers for the largest batch seen; a CUDA graph is captured per batch
        size). Streams that share the backend share the warm-up."""
        if batch not in self.warmed:
            self.infer(np.zeros((batch, channels, window), np.float32))
            self.warmed = self.warmed | {batch}

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        self.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
