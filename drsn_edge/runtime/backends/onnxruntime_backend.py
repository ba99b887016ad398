"""ONNX Runtime backend: CPU, CUDA or TensorRT execution provider."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import ModelMetadata
from drsn_edge.runtime.backends.base import BackendBase, InputSpec
from drsn_edge.runtime.backends.cuda_binding import CudaBinding
from drsn_edge.runtime.providers import ProviderSettings, make_session


def _quiet_run_options():
    ro = ort.RunOptions()
    ro.log_severity_level = 4  # a failing run raises, and we say why in one line: no C++ log beside it
    return ro


class OnnxRuntimeBackend(BackendBase):
    def __init__(self, path: str, settings: ProviderSettings | None = None, warmup: int = 2,
                 md: ModelMetadata | None = None) -> None:
        self.path = str(path)
        self.settings = settings or ProviderSettings()
        self.name = f"onnxruntime-{self.settings.provider}"
        self.warmup = warmup
        self.md = md
        self.session = None
        self.notes: list[str] = []  # things the user should know about this model on this provider
        self.last_gpu_ms: float | None = None  # GPU time of the last call (CUDA events), while time_gpu is set
        self._bound = None

    def activate(self) -> None:
        self._run_options = _quiet_run_options()
        self.session = make_session(self.path, self.settings)
        self.warmed = frozenset()  # a new session has allocated nothing yet
        inp = self.session.get_inputs()[0]
        self._input = inp.name
        self._float16 = inp.type == "tensor(float16)"
        names = [o.name for o in self.session.get_outputs()]
        extra = [n for n in (self.md.extra_outputs if self.md else []) if n in names]
        self._outputs = [names[0], *extra]
        self._bound = None
        if self.settings.provider == "cuda" and self.md is not None:
            self._bound = CudaBinding(self.session, self.md, self._outputs, self.settings)
        if self.md is not None:
            check_io(self.path, self.md, inp.shape, self.session.get_outputs()[0].shape)
            self.notes = target_notes(self.md, self.settings.provider)
        spec = self.input_spec()
        if self.warmup and isinstance(spec.shape[1], int) and isinstance(spec.shape[2], int):
            for i in range(self.warmup):  # batches of 1 and 2 at least: a graph that cannot batch fails here, at start
                self.infer(np.zeros((1 + i % 2, spec.shape[1], spec.shape[2]), np.float32))

    @property
    def overlap(self) -> bool:
        """On the CPU provider a session runs outside the GIL and keeps no per-thread state. (The CUDA path binds
        device buffers and graphs to one caller; it stays on the calling thread.)"""
        return self.settings.provider == "cpu"

    @property
    def can_time_gpu(self) -> bool:
        return self._bound is not None and self._bound.timer is not None

    @property
    def time_gpu(self) -> bool:
        return self._bound is not None and self._bound.timing

    @time_gpu.setter
    def time_gpu(self, on: bool) -> None:
        """Time each call's GPU work with CUDA events (CUDA provider), at a small host cost per call."""
        if self._bound is not None:
            self._bound.timing = bool(on)

    def input_spec(self) -> InputSpec:
        if self.session is None:
            raise DrsnEdgeError("backend not activated")
        inp = self.session.get_inputs()[0]
        return InputSpec(inp.name, tuple(inp.shape), inp.type)

    def infer(self, x: np.ndarray) -> np.ndarray:
        """Logits ``(N, K)``."""
        return self.infer_all(x, extras=False)[0]

    def infer_all(self, x: np.ndarray, extras: bool = True) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Logits and the model's extra outputs (novelty, noise_level) by name."""
        if self.session is None:
            raise DrsnEdgeError("backend not activated")
        x = np.ascontiguousarray(x, dtype=np.float16 if self._float16 else np.float32)
        try:  # onnxruntime's own failure at run time: a one-line error, not its C++ trace
            return self._run(x, extras)
        except DrsnEdgeError:
            raise
        except Exception as exc:
            raise DrsnEdgeError(f"{self.path}: onnxruntime failed to run the model on a batch of {list(x.shape)} "
                                f"({_first_line(exc)})") from None

    def _run(self, x: np.ndarray, extras: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        if self._bound is not None:
            out = self._bound.run(x, extras)
            self.last_gpu_ms = self._bound.last_gpu_ms
            return out[0], ({n: out[i + 1] for i, n in enumerate(self._outputs[1:])} if extras else {})
        names = self._outputs if extras else self._outputs[:1]
        out = self.session.run(names, {self._input: x}, self._run_options)
        return (np.asarray(out[0], dtype=np.float32),
                {n: np.asarray(v, dtype=np.float32) for n, v in zip(names[1:], out[1:])})

    def close(self) -> None:
        self.session = None


def _first_line(exc: Exception) -> str:
    """ONNX Runtime's message without its source paths: the status text after its last "] : "."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.rsplit("Status Message: ", 1)[-1].split("] : ")[-1][:240]


def target_notes(md: ModelMetadata, provider: str) -> list[str]:
    """An INT8 model quantized for one runtime and run on another works, but not as it should."""
    target = (md.quantization or {}).get("target")
    if target == "cpu" and provider == "tensorrt":
        return ["this INT8 model was quantized for the CPU (uint8 activations with zero points); TensorRT needs "
                "symmetric int8: export it again with --int8-target tensorrt"]
    if target == "tensorrt" and provider == "cpu":
        return ["this INT8 model was quantized for TensorRT (symmetric int8); ONNX Runtime's CPU kernels are faster "
                "with the CPU scheme: export it again with --int8-target cpu"]
    return []


def check_io(path: str, md: ModelMetadata, in_shape, out_shape) -> None:
    """The graph's input and output must agree with the description, or every label would be wrong."""
    def fixed(d) -> int | None:
        return d if isinstance(d, int) and d > 0 else None

    if len(in_shape) != 3 or (fixed(in_shape[1]) not in (None, md.in_channels)) or (fixed(in_shape[2]) not in (None, md.window)):
        raise DrsnEdgeError(f"{path}: the graph takes input {list(in_shape)}, its metadata says "
                            f"(batch, {md.in_channels}, {md.window})")
    width = fixed(out_shape[-1]) if len(out_shape) >= 2 else None
    if len(out_shape) != 2 or width not in (None, len(md.class_names)):
        raise DrsnEdgeError(f"{path}: the graph outputs {list(out_shape)} scores per window, its metadata names "
                            f"{len(md.class_names)} classes")
