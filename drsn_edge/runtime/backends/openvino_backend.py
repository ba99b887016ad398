"""OpenVINO backend (Intel's CPU runtime, the optional extra ``[openvino]``): the same ``.onnx`` file, FP32, FP16 or
INT8 QDQ, read by OpenVINO's own API and compiled for the CPU with the thread count the stream asks for and an explicit
inference precision (``f32``, or ``bf16`` where the CPU has it).

OpenVINO's own API rather than ONNX Runtime's OpenVINO execution provider: it is one package on PyPI beside the
onnxruntime the base install has (the provider needs its own onnxruntime build in place of it), and it takes the
precision hint and the compiled-model cache directly. The compiled model is cached beside ONNX Runtime's optimized
graphs (``~/.cache/drsn-edge/openvino``); OpenVINO keys each entry by the model's content and the compile settings.
"""

from __future__ import annotations

import numpy as np

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import ModelMetadata
from drsn_edge.runtime.backends.base import BackendBase, InputSpec
from drsn_edge.runtime.providers import ProviderSettings, cache_root

PRECISIONS = ("f32", "bf16")
MISSING = "--provider openvino needs OpenVINO: pip install 'drsn-edge[openvino]'"


def openvino_available() -> str | None:
    """None when OpenVINO can be imported, else why not (one line)."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return MISSING
    return None


def cpu_precisions() -> list[str]:
    """The inference precisions this CPU offers OpenVINO (``f32`` always; ``bf16`` with AVX512-BF16 or AMX)."""
    import openvino as ov

    caps = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return ["f32", *(["bf16"] if "BF16" in caps else [])]


class OpenVinoBackend(BackendBase):
    #: OpenVINO's infer releases Python's lock and the stream calls it from one thread at a time
    overlap = True

    def __init__(self, path: str, settings: ProviderSettings | None = None, warmup: int = 2,
                 md: ModelMetadata | None = None) -> None:
        self.path = str(path)
        self.settings = settings or ProviderSettings(provider="openvino")
        if self.settings.precision not in PRECISIONS:
            raise DrsnEdgeError(f"unknown OpenVINO precision {self.settings.precision!r}; choose from "
                                f"{', '.join(PRECISIONS)}")
        self.name = f"openvino-{self.settings.precision}"
        self.warmup = warmup
        self.md = md
        self.notes: list[str] = []
        self._request = None

    def activate(self) -> None:
        if (why := openvino_available()) is not None:
            raise DrsnEdgeError(why)
        import openvino as ov

        core = ov.Core()
        if self.settings.precision not in cpu_precisions():
            raise DrsnEdgeError(f"this CPU offers OpenVINO no {self.settings.precision} (it has "
                                f"{', '.join(cpu_precisions())}); use --precision f32")
        cache = cache_root(self.settings) / "openvino"
        try:
            cache.mkdir(parents=True, exist_ok=True)
            core.set_property({"CACHE_DIR": str(cache)})
        except OSError:
            pass  # no cache: compiled at every start, nothing else changes
        threads = self.settings.intra_op_threads or (1 if self.settings.streaming else 0)
        config = {"INFERENCE_PRECISION_HINT": self.settings.precision, "PERFORMANCE_HINT": "LATENCY",
                  "NUM_STREAMS": "1"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = str(threads)
        try:
            model = core.read_model(self.path)
            self._compiled = core.compile_model(model, "CPU", config)
        except Exception as exc:  # OpenVINO's own failure: one line, not its C++ trace
            raise DrsnEdgeError(f"{self.path}: OpenVINO could not compile the model "
                                f"({str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__})") from None
        self._request = self._compiled.create_infer_request()
        self._input = self._compiled.inputs[0]
        names = [next(iter(o.get_names())) for o in self._compiled.outputs]
        extra = [n for n in (self.md.extra_outputs if self.md else []) if n in names]
        self._outputs = [names[0], *extra]
        self._index = {n: i for i, n in enumerate(names)}
        self._float16 = self._input.get_element_type().get_type_name() == "f16"
        self.warmed = frozenset()
        spec = self.input_spec()
        if self.warmup and isinstance(spec.shape[1], int) and isinstance(spec.shape[2], int):
            for i in range(self.warmup):
                self.infer(np.zeros((1 + i % 2, spec.shape[1], spec.shape[2]), np.float32))

    def input_spec(self) -> InputSpec:
        if self._request is None:
            raise DrsnEdgeError("backend not activated")
        shape = self._input.get_partial_shape()
        dims = tuple(d.get_length() if d.is_static else None for d in shape)
        return InputSpec(next(iter(self._input.get_names())), dims, str(self._input.get_element_type()))

    def infer(self, x: np.ndarray) -> np.ndarray:
        return self.infer_all(x, extras=False)[0]

    def infer_all(self, x: np.ndarray, extras: bool = True) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Logits and the model's extra outputs (novelty, noise_level) by name."""
        if self._request is None:
            raise DrsnEdgeError("backend not activated")
        x = np.ascontiguousarray(x, dtype=np.float16 if self._float16 else np.float32)
        try:
            res = self._request.infer({0: x})
        except Exception as exc:
            raise DrsnEdgeError(f"{self.path}: OpenVINO failed to run the model on a batch of {list(x.shape)} "
                                f"({str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__})") from None
        out = [np.array(res[self._index[n]], dtype=np.float32) for n in self._outputs]
        return out[0], ({n: v for n, v in zip(self._outputs[1:], out[1:])} if extras else {})

    def close(self) -> None:
        self._request = None
        self._compiled = None
