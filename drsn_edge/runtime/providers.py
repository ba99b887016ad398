"""ONNX Runtime execution providers and their settings (CPU, CUDA, TensorRT EP), and sessions made for streaming.

A provider counts as available only when a session with it actually loads: ONNX Runtime lists the CUDA and TensorRT
providers whenever onnxruntime-gpu is installed, and silently falls back to the CPU when their libraries (cuDNN,
libnvinfer) are missing. Here that is an error with ONNX Runtime's own reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnxruntime as ort

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.cpu_features import cpu_description
from drsn_edge.runtime.cuda import Stream
from drsn_edge.runtime.tiny_model import identity_model_bytes

PROVIDER_NAMES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}


@dataclass
class ProviderSettings:
    """Which provider runs the model, and how."""

    provider: str = "cpu"  # cpu | cuda | tensorrt (ONNX Runtime) | openvino (OpenVINO's runtime, not ONNX Runtime)
    device_id: int = 0
    trt_engine_cache: str | None = None  # folder; engines are reused across runs
    trt_fp16: bool = False
    trt_int8: bool = False
    trt_max_workspace: int = 1 << 30
    intra_op_threads: int = 0  # 0: onnxruntime's default (all cores), or 1 when streaming
    streaming: bool = False  # one intra-op thread that does not spin while idle; the optimized graph cached
    cache_dir: str | None = None  # where streaming sessions keep optimized graphs (default: ~/.cache/drsn-edge)
    cuda_graph: bool = False  # CUDA EP: capture the graph once, replay it (fixed shapes)
    tf32: bool = False  # CUDA EP: TF32 convolutions (faster on Ampere+, ~1e-3 relative error); off by default
    precision: str = "f32"  # openvino: inference precision, f32 or bf16

    def providers(self) -> list[tuple[str, dict[str, Any]] | str]:
        if self.provider not in PROVIDER_NAMES:
            raise DrsnEdgeError(f"unknown provider {self.provider!r}; choose from {', '.join(PROVIDER_NAMES)}")
        name = PROVIDER_NAMES[self.provider]
        available = ort.get_available_providers()
        if name not in available:
            raise DrsnEdgeError(
                f"{self.provider} execution provider is not in this onnxruntime (it has {', '.join(available)}); "
                "it needs an NVIDIA GPU and onnxruntime-gpu")
        chain: list[tuple[str, dict[str, Any]] | str] = []
        if self.provider == "tensorrt":
            opts: dict[str, Any] = {"device_id": self.device_id, "trt_fp16_enable": self.trt_fp16,
                                    "trt_int8_enable": self.trt_int8, "trt_max_workspace_size": self.trt_max_workspace}
            if self.trt_engine_cache:
                opts.update(trt_engine_cache_enable=True, trt_engine_cache_path=self.trt_engine_cache)
            chain.append((name, opts))
        if self.provider in ("tensorrt", "cuda"):
            cuda: dict[str, Any] = {"device_id": self.device_id, "use_tf32": int(self.tf32)}
            if self.cuda_graph and self.provider == "cuda":
                cuda["enable_cuda_graph"] = "1"
            stream = _compute_stream() if self.provider == "cuda" else None
            if stream:  # our own stream, so that CUDA events can time the GPU work on it
                cuda.update(has_user_compute_stream="1", user_compute_stream=str(stream))
            chain.append(("CUDAExecutionProvider", cuda))
        chain.append("CPUExecutionProvider")
        return chain


def _compute_stream() -> int | None:
    """A CUDA stream for ONNX Runtime's CUDA provider (kept for the process), or None without cuda-python."""
    global _STREAM
    if _STREAM is None:
        try:
            _STREAM = Stream()
        except Exception:  # noqa: BLE001 - no cuda-python or no device: ONNX Runtime makes its own stream
            return None
    return _STREAM.ptr


_STREAM = None


@contextlib.contextmanager
def captured_stderr():
    """ONNX Runtime's C++ log goes to file descriptor 2, and its Python layer prints a provider's failure to load on
    stdout ("EP Error ... Falling back"): keep both for an error message instead of the terminal."""
    box = {"text": ""}
    printed = io.StringIO()
    try:
        saved = os.dup(2)
    except OSError:
        with contextlib.redirect_stdout(printed):
            yield box
        box["text"] = printed.getvalue()
        return
    with tempfile.TemporaryFile(mode="w+b") as tmp, contextlib.redirect_stdout(printed):
        os.dup2(tmp.fileno(), 2)
        try:
            yield box
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            box["text"] = tmp.read().decode(errors="replace") + printed.getvalue()


def _reason(log: str, provider: str) -> str:
    """Why a provider did not load, from ONNX Runtime's log: the missing library by name where that is the cause."""
    missing = re.search(r"(lib[\w.+-]+\.so[\d.]*): cannot open shared object file", log)
    if missing:
        lib = missing.group(1)
        names = {"libnvinfer": "TensorRT", "libcudnn": "cuDNN", "libcublas": "cuBLAS", "libcudart": "the CUDA runtime",
                "libcufft": "cuFFT", "libcurand": "cuRAND"}
        what = next((v for k, v in names.items() if lib.startswith(k)), "a library it needs")
        return f"{lib} not found: {what} is not installed or not on LD_LIBRARY_PATH"
    keys = ("libnvinfer", "libcudnn", "libcublas", "libcudart", "cannot open shared object", "driver", "CUDA failure",
            "Failed to", "failed")
    for line in log.splitlines():
        if any(k in line for k in keys):
            return line.split("]")[-1].strip()[:240]
    return f"see ONNX Runtime's log; the {provider} libraries did not load"


def cache_root(settings: ProviderSettings) -> Path:
    """Where compiled models are kept: ``settings.cache_dir``, ``DRSN_EDGE_CACHE``, or ~/.cache/drsn-edge."""
    return Path(settings.cache_dir or os.environ.get("DRSN_EDGE_CACHE") or
                Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "drsn-edge")


def _cache_path(path: str, settings: ProviderSettings) -> Path | None:
    base = cache_root(settings) / "ort"
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    h.update(f"{ort.__version__}|{settings.provider}|{cpu_description()}".encode())
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return base / f"{h.hexdigest()[:24]}.onnx" if os.access(base, os.W_OK) else None


def make_session(path: str, settings: ProviderSettings | None = None):
    """An ``onnxruntime.InferenceSession`` with the chosen provider; a clear error if it cannot load or if ONNX
    Runtime fell back to another provider."""
    settings = settings or ProviderSettings()
    opts = ort.SessionOptions()
    opts.log_severity_level = 2
    threads = settings.intra_op_threads or (1 if settings.streaming else 0)
    if threads:
        opts.intra_op_num_threads = threads
    model = str(path)
    if settings.streaming:
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle between windows: sleep
        cached = _cache_path(model, settings) if settings.provider == "cpu" else None
        if cached is not None and cached.is_file():
            model = str(cached)
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # optimized once, kept
        elif cached is not None:
            opts.optimized_model_filepath = str(cached.with_suffix(f".{os.getpid()}.tmp"))
    chain = settings.providers()
    try:
        with captured_stderr() as log:
            sess = ort.InferenceSession(model, sess_options=opts, providers=chain)
    except DrsnEdgeError:
        raise
    except Exception as exc:
        raise DrsnEdgeError(f"{path}: onnxruntime cannot load it ({str(exc).splitlines()[0][:300]})") from None
    finally:
        tmp = opts.optimized_model_filepath
        if tmp and os.path.exists(tmp):
            os.replace(tmp, tmp.rsplit(".", 2)[0] + ".onnx")
    wanted = PROVIDER_NAMES[settings.provider]
    if wanted not in sess.get_providers():
        why = _reason(log["text"], settings.provider)
        raise DrsnEdgeError(f"the {settings.provider} execution provider did not load ({why}); "
                            f"ONNX Runtime would have run on {sess.get_providers()[0]} instead")
    return sess


def provider_status(provider: str) -> tuple[bool, str]:
    """(usable, reason): whether a session with ``provider`` actually loads here, tried on a one-node model."""
    name = PROVIDER_NAMES.get(provider)
    if name is None:
        return False, f"unknown provider {provider!r}"
    if name not in ort.get_available_providers():
        return False, f"onnxruntime {ort.__version__} here has no {name} (install onnxruntime-gpu on an NVIDIA machine)"
    if provider == "cpu":
        return True, "ok"

    with tempfile.NamedTemporaryFile(suffix=".onnx") as f:
        f.write(identity_model_bytes())
        f.flush()
        try:
            make_session(f.name, ProviderSettings(provider=provider))
        except DrsnEdgeError as exc:
            msg = str(exc)
            return False, msg[len(f.name) + 2 :] if msg.startswith(f.name + ": ") else msg
    return True, "ok"
