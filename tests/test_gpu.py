"""CUDA / TensorRT paths, run for real where a GPU is present; skipped with the reason elsewhere."""

import numpy as np
import onnxruntime as ort
import pytest

from drsn_edge.runtime.gpu import gpu_info

GPU = gpu_info()
needs_gpu = pytest.mark.skipif(GPU is None, reason="no NVIDIA GPU on this machine (CUDA driver not found)")


def _have(provider):
    return provider in ort.get_available_providers()


@pytest.fixture(scope="module")
def onnx_model(stream_model):
    return stream_model[1]


def _windows(n=32):
    from drsn_edge.data.simulator import simulate_bearing

    x = simulate_bearing("outer_race", duration=6.0, seed=1)
    return np.stack([x[i * 2048 : (i + 1) * 2048][None] for i in range(n)]).astype(np.float32)


@needs_gpu
@pytest.mark.skipif(not _have("CUDAExecutionProvider"), reason="onnxruntime here has no CUDA provider (needs onnxruntime-gpu)")
def test_ort_cuda_matches_cpu(onnx_model):
    from drsn_edge.runtime.backends import OnnxRuntimeBackend
    from drsn_edge.runtime.providers import ProviderSettings

    x = _windows()
    with OnnxRuntimeBackend(str(onnx_model)) as cpu, OnnxRuntimeBackend(str(onnx_model), ProviderSettings("cuda")) as gpu:
        np.testing.assert_allclose(gpu.infer(x), cpu.infer(x), atol=1e-3)


@needs_gpu
@pytest.mark.skipif(not _have("TensorrtExecutionProvider"), reason="onnxruntime here has no TensorRT provider")
def test_ort_tensorrt_ep_fp16_with_cache(onnx_model, tmp_path):
    from drsn_edge.runtime.backends import OnnxRuntimeBackend
    from drsn_edge.runtime.providers import ProviderSettings

    x = _windows()
    st = ProviderSettings("tensorrt", trt_fp16=True, trt_engine_cache=str(tmp_path))
    with OnnxRuntimeBackend(str(onnx_model)) as cpu, OnnxRuntimeBackend(str(onnx_model), st) as trt:
        assert (trt.infer(x).argmax(1) == cpu.infer(x).argmax(1)).mean() >= 0.99
    assert any(tmp_path.iterdir())  # engine cached


@needs_gpu
def test_native_tensorrt_engine(onnx_model, tmp_path):
    pytest.importorskip("tensorrt", reason="tensorrt Python package not installed")
    from drsn_edge import DrsnEdgeError
    from drsn_edge.export.tensorrt_build import build_engine
    from drsn_edge.runtime.backends import OnnxRuntimeBackend
    from drsn_edge.runtime.backends.tensorrt_backend import TensorRTBackend
    from drsn_edge.runtime.engine_meta import check_engine_compatible, read_sidecar

    eng = tmp_path / "m.fp16.engine"
    build = build_engine(onnx_model, eng, "fp16", (1, 8, 32))
    assert build["gpu"] == GPU
    x = _windows(40)  # more than the profile's max batch: split internally
    be = TensorRTBackend(str(eng))
    be.activate()
    with OnnxRuntimeBackend(str(onnx_model)) as cpu:
        assert (be.infer(x).argmax(1) == cpu.infer(x).argmax(1)).mean() >= 0.99
    be.close()
    _, b = read_sidecar(eng)
    with pytest.raises(DrsnEdgeError, match="was built with TensorRT"):
        check_engine_compatible(eng, b | {"tensorrt_version": "0.0"}, b["tensorrt_version"], GPU)
    with pytest.raises(DrsnEdgeError, match="was built for"):
        check_engine_compatible(eng, b | {"gpu": {"name": "Other", "compute_capability": "1.0"}}, b["tensorrt_version"], GPU)
