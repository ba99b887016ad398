"""ONNX Runtime execution providers and their settings (CPU, CUDA, TensorRT EP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drsn_edge.errors import DrsnEdgeError

PROVIDER_NAMES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}


@dataclass
class ProviderSettings:
    """Which provider runs the model, with the TensorRT EP's engine cache and precision switches."""

    provider: str = "cpu"  # cpu | cuda | tensorrt
    device_id: int = 0
    trt_engine_cache: str | None = None  # folder; engines are reused across runs
    trt_fp16: bool = False
    trt_int8: bool = False
    trt_max_workspace: int = 1 << 30
    intra_op_threads: int = 0  # 0: onnxruntime's default

    def providers(self) -> list[tuple[str, dict[str, Any]] | str]:
        import onnxruntime as ort

        if self.provider not in PROVIDER_NAMES:
            raise DrsnEdgeError(f"unknown provider {self.provider!r}; choose from {', '.join(PROVIDER_NAMES)}")
        name = PROVIDER_NAMES[self.provider]
        available = ort.get_available_providers()
        if name not in available:
            raise DrsnEdgeError(
                f"{self.provider} execution provider is not available in this onnxruntime "
                f"(available: {', '.join(available)}); it needs an NVIDIA GPU and onnxruntime-gpu"
            )
        chain: list[tuple[str, dict[str, Any]] | str] = []
        if self.provider == "tensorrt":
            opts: dict[str, Any] = {"device_id": self.device_id, "trt_fp16_enable": self.trt_fp16,
                                    "trt_int8_enable": self.trt_int8, "trt_max_workspace_size": self.trt_max_workspace}
            if self.trt_engine_cache:
                opts.update(trt_engine_cache_enable=True, trt_engine_cache_path=self.trt_engine_cache)
            chain.append((name, opts))
        if self.provider in ("tensorrt", "cuda"):
            chain.append(("CUDAExecutionProvider", {"device_id": self.device_id}))
        chain.append("CPUExecutionProvider")
        return chain


def make_session(path: str, settings: ProviderSettings | None = None):
    """An ``onnxruntime.InferenceSession`` with the chosen provider; a clear error if it cannot load."""
    import onnxruntime as ort

    settings = settings or ProviderSettings()
    opts = ort.SessionOptions()
    if settings.intra_op_threads:
        opts.intra_op_num_threads = settings.intra_op_threads
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=settings.providers())
    except DrsnEdgeError:
        raise
    except Exception as exc:
        raise DrsnEdgeError(f"{path}: onnxruntime cannot load it ({str(exc).splitlines()[0][:300]})") from None
