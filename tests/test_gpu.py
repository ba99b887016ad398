"""CUDA / TensorRT paths, run for real where a GPU is present; skipped with the reason elsewhere (benchmarks/
gpu_check.sh runs these on a GPU box or Jetson)."""

import numpy as np
import pytest

from drsn_edge.runtime.gpu import gpu_status

GPU, WHY = gpu_status()
needs_gpu = pytest.mark.skipif(GPU is None, reason=f"no usable NVIDIA GPU: {WHY}")
pytestmark = pytest.mark.gpu


def provider_ok(name: str) -> tuple[bool, str]:
    from drsn_edge.runtime.providers import provider_status

    return provider_status(name)


@pytest.fixture(scope="module")
def onnx_model(stream_model):
    return stream_model[1]


def _windows(n=32):
    from drsn_edge.data.simulator import simulate_bearing

    x = simulate_bearing("outer_race", duration=6.0, seed=1)
    return np.stack([x[i * 2048 : (i + 1) * 2048][None] for i in range(n)]).astype(np.float32)


@needs_gpu
def test_cuda_python_memory_stream_and_events():
    """The device plumbing of the native TensorRT backend, without TensorRT."""
    from drsn_edge.runtime.cuda import DeviceBuffer, EventTimer, Stream

    s = Stream()
    x = np.random.default_rng(0).standard_normal((64, 1, 2048)).astype(np.float32)
    buf = DeviceBuffer(x.nbytes)
    buf.upload(x, s)
    timer = EventTimer(s)
    with timer:
        pass
    y = buf.download(np.empty_like(x), s)
    s.synchronize()
    assert np.array_equal(x, y) and timer.elapsed_ms() >= 0
    buf.free()
    timer.close()
    s.close()


@needs_gpu
@pytest.mark.parametrize("graph", [False, True])
def test_ort_cuda_matches_cpu(onnx_model, graph):
    """TF32 is off by default: CUDA equals the CPU to 1e-4 (with TF32 on, 4e-3 was measured on an H200)."""
    ok, why = provider_ok("cuda")
    if not ok:
        pytest.skip(why)
    from drsn_edge.runtime.backends import OnnxRuntimeBackend
    from drsn_edge.runtime.model_file import read_description
    from drsn_edge.runtime.providers import ProviderSettings

    md = read_description(onnx_model)
    for n in (1, 5, 16, 70):  # exact sizes, padded partial batches, and more than the largest size
        x = _windows(max(n, 32))[:n]
        with OnnxRuntimeBackend(str(onnx_model), md=md) as cpu, \
                OnnxRuntimeBackend(str(onnx_model), ProviderSettings("cuda", cuda_graph=graph), md=md) as gpu:
            a, ea = gpu.infer_all(x)
            b, eb = cpu.infer_all(x)
            np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)
            for k in eb:
                np.testing.assert_allclose(ea[k], eb[k], atol=1e-3, rtol=1e-3)


@needs_gpu
def test_ort_tensorrt_ep_fp16_with_cache(onnx_model, tmp_path):
    ok, why = provider_ok("tensorrt")
    if not ok:
        pytest.skip(why)  # e.g. "the tensorrt execution provider did not load (libnvinfer.so.10: cannot open ...)"
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
    assert build["gpu"]["name"] == GPU["name"]
    x = _windows(40)  # more than the profile's max batch: split internally
    be = TensorRTBackend(str(eng))
    be.activate()
    with OnnxRuntimeBackend(str(onnx_model)) as cpu:
        logits, extra = be.infer_all(x)
        assert (logits.argmax(1) == cpu.infer(x).argmax(1)).mean() >= 0.99 and be.last_gpu_ms > 0
        assert set(extra) == {"novelty", "noise_level"}
    be.close()
    _, b = read_sidecar(eng)
    with pytest.raises(DrsnEdgeError, match="was built with TensorRT"):
        check_engine_compatible(eng, b | {"tensorrt_version": "0.0"}, b["tensorrt_version"], GPU)
    with pytest.raises(DrsnEdgeError, match="was built for"):
        check_engine_compatible(eng, b | {"gpu": {"name": "Other", "compute_capability": "1.0"}}, b["tensorrt_version"], GPU)


def test_no_gpu_is_said_in_one_line():
    from drsn_edge.runtime.providers import provider_status

    ok, why = provider_status("cuda")
    if GPU is None:
        assert not ok and "\n" not in why and why


def test_gpu_check_rehearsal_says_why_at_once(tmp_path):
    """On a machine without a GPU, the one command a user runs ends in seconds with one line saying why."""
    import subprocess
    import time
    from pathlib import Path

    if GPU is not None:
        pytest.skip("this machine has a GPU: gpu_check.sh does the real check here")
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"
    t0 = time.monotonic()
    p = subprocess.run([str(script), str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and time.monotonic() - t0 < 30
    assert len(p.stdout.strip().splitlines()) == 1 and "no usable NVIDIA GPU here" in p.stdout
