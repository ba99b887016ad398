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


@pytest.fixture(scope="module")
def cuda_md(onnx_model):
    """The model's description, where ONNX Runtime's CUDA provider actually loads (else the reason as the skip)."""
    ok, why = provider_ok("cuda")
    if not ok:
        pytest.skip(why)
    from drsn_edge.modelfile import read_description

    return read_description(onnx_model)


def _windows(n=32):
    from drsn_edge.data.simulator import simulate_bearing

    x = simulate_bearing("outer_race", duration=n * 2048 / 12000 + 1.0, seed=1)
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
def test_ort_cuda_matches_cpu(onnx_model, cuda_md, graph):
    """TF32 is off by default: CUDA equals the CPU to 1e-4 (with TF32 on, 4e-3 was measured on an H200)."""
    from drsn_edge.runtime.backends import OnnxRuntimeBackend
    from drsn_edge.runtime.providers import ProviderSettings

    md = cuda_md
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
@pytest.mark.parametrize("graph", [False, True])
def test_ort_cuda_gpu_time_from_events(onnx_model, cuda_md, graph):
    """GPU time per call (CUDA events on ONNX Runtime's compute stream), only while asked for."""
    from drsn_edge.runtime.backends import OnnxRuntimeBackend
    from drsn_edge.runtime.providers import ProviderSettings

    md = cuda_md
    with OnnxRuntimeBackend(str(onnx_model), ProviderSettings("cuda", cuda_graph=graph), md=md) as gpu:
        assert gpu.can_time_gpu
        gpu.infer(_windows(4))
        assert gpu.last_gpu_ms is None
        gpu.time_gpu = True
        gpu.infer(_windows(4))
        assert 0 < gpu.last_gpu_ms < 100


@needs_gpu
def test_verify_on_cuda_says_tf32_off(onnx_model, stream_model, cuda_md):
    from drsn_edge.export.verify import verify
    from drsn_edge.runtime.providers import ProviderSettings

    r = verify(stream_model[0], onnx_model, max_windows=128, settings=ProviderSettings("cuda"))
    assert r["runtime"] == {"backend": "onnxruntime-cuda", "provider": "cuda", "tf32": False, "cuda_graph": False}
    assert r["passed"], r["outputs"]["logits"]["abs_error"]


@needs_gpu
def test_stream_on_cuda_decides_as_on_cpu(onnx_model, cuda_md):
    """The streaming runtime on the CUDA provider with CUDA graphs (partial batches padded): the CPU's decisions."""
    from drsn_edge.data.simulator import simulate_bearing
    from drsn_edge.runtime import StreamConfig, StreamRunner, open_model
    from drsn_edge.runtime.providers import ProviderSettings
    from drsn_edge.runtime.sources import ArraySource

    class Keep:
        def __init__(self):
            self.kept = []

        def emit(self, r):
            if r["type"] == "window":
                self.kept.append((r["unit"], round(r["stream_time"], 3), r["label"], r["smoothed_label"]))

        def close(self):
            pass

    x = np.stack([simulate_bearing(k, duration=6.0, seed=3) for k in ("normal", "inner_race", "outer_race")])
    got = {}
    for name, st in (("cpu", ProviderSettings(streaming=True)),
                     ("cuda", ProviderSettings("cuda", cuda_graph=True, streaming=True))):
        be, md = open_model(onnx_model, st)
        be.activate()
        sink = Keep()
        StreamRunner(be, md, ArraySource(x, 12000.0, block=777), [sink], StreamConfig(batch_size=64)).run(
            handle_signals=False)
        be.close()
        got[name] = sink.kept
    assert len(got["cpu"]) > 100 and got["cuda"] == got["cpu"]


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
    from drsn_edge.modelfile.engine import check_engine_compatible, read_sidecar
    from drsn_edge.runtime.backends import OnnxRuntimeBackend
    from drsn_edge.runtime.backends.tensorrt_backend import TensorRTBackend

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


@pytest.fixture(scope="module")
def enrolled_machine(tmp_path_factory, stream_model):
    """The streaming model enrolled on a simulated machine's healthy minutes (an anomaly head) and exported as
    ``drsn-edge export`` writes it (temporal convolutions as 2-D ones, the form never run under CUDA before); a
    recording of that machine whose outer race fails half way; the machine's bearing and speed."""
    from drsn_edge.cli.main import main
    from drsn_edge.data.simulator import Machine

    d = tmp_path_factory.mktemp("enrolled")
    m = Machine.draw(7)
    (d / "healthy").mkdir()
    for i in range(2):
        np.save(d / "healthy" / f"h{i}.npy", np.concatenate(list(m.stream(40, seed=i, snr_db=0, start_s=i * 3000)))[None])
    np.save(d / "fail.npy", np.concatenate(list(m.stream(30, seed=9, snr_db=0, fault="outer_race", onset_s=12,
                                                         start_s=9000)))[None])
    assert main(["enrol", str(stream_model[0]), "--data", str(d / "healthy"), "--fs", "12000",
                 "-o", str(d / "e.safetensors")]) == 0
    assert main(["export", str(d / "e.safetensors"), "-o", str(d / "e.onnx")]) == 0
    g = m.geometry
    bearing = f"{g.n_balls},{g.ball_diameter},{g.pitch_diameter},{g.contact_angle_deg}"
    return d / "e.onnx", d / "fail.npy", bearing, m.rpm


def every_output_agrees(onnx, settings, x) -> dict:
    """Logits and every other output of ``onnx`` under ``settings`` against the CPU provider: (largest error relative
    to 1 + |CPU value| per output, top-1 agreement)."""
    from drsn_edge.modelfile import read_description
    from drsn_edge.runtime.backends import OnnxRuntimeBackend

    md = read_description(onnx)
    with OnnxRuntimeBackend(str(onnx), md=md) as cpu, OnnxRuntimeBackend(str(onnx), settings, md=md) as other:
        a, ea = other.infer_all(x)
        b, eb = cpu.infer_all(x)
    err = {"logits": float(np.max(np.abs(a - b) / (1 + np.abs(b))))}
    err.update({k: float(np.max(np.abs(ea[k] - eb[k]) / (1 + np.abs(eb[k])))) for k in eb})
    return {"error": err, "outputs": sorted(["logits", *eb]), "top1": float((a.argmax(1) == b.argmax(1)).mean())}


def stream_records(onnx, recording, bearing: str, rpm: float, tmp_path, *provider: str) -> list[tuple]:
    """What a stream with bearing evidence on decides, window by window and alarm by alarm."""
    import json

    from drsn_edge.cli.main import main

    out = tmp_path / f"{'-'.join(provider) or 'cpu'}.jsonl"
    main(["stream", str(onnx), str(recording), "--fs", "12000", "--bearing", bearing, "--rpm", f"{rpm:.3f}",
          "--jsonl", str(out), *provider])
    keep = []
    for r in map(json.loads, out.read_text().splitlines()):
        if r["type"] in ("window", "alarm", "diagnosis"):
            keep.append((r["type"], r.get("unit"), round(r["stream_time"], 3), r.get("label"), r.get("state"),
                         (r.get("diagnosis") or {}).get("label"), (r.get("evidence") or {}).get("location")))
    return keep


def test_the_rehearsal_helpers_compare_what_they_say(enrolled_machine, tmp_path):
    """The comparisons the GPU tests below make, run CPU against CPU here: every output is compared (the enrolled
    model's anomaly score among them), and a stream with evidence on yields windows, an alarm and evidence."""
    from drsn_edge.runtime.providers import ProviderSettings

    onnx, rec, bearing, rpm = enrolled_machine
    r = every_output_agrees(onnx, ProviderSettings(), _windows())
    assert "anomaly" in r["outputs"] and "novelty" in r["outputs"] and max(r["error"].values()) == 0 and r["top1"] == 1
    recs = stream_records(onnx, rec, bearing, rpm, tmp_path)
    assert sum(t == "window" for t, *_ in recs) > 100 and any(t == "alarm" for t, *_ in recs)
    assert any(loc is not None for *_, loc in recs)


@needs_gpu
@pytest.mark.parametrize("graph", [False, True])
def test_the_enrolled_export_on_cuda_matches_cpu_on_every_output(enrolled_machine, cuda_md, graph):
    """Today's export (2-D convolutions) with the anomaly head: every output within 1e-4 (relative to 1 + |value|),
    TF32 off, and the same top class on every window."""
    from drsn_edge.runtime.providers import ProviderSettings

    for n in (1, 5, 70):
        r = every_output_agrees(enrolled_machine[0], ProviderSettings("cuda", cuda_graph=graph), _windows(max(n, 32))[:n])
        assert max(r["error"].values()) <= 1e-4 and r["top1"] == 1.0, r


@needs_gpu
def test_a_stream_with_bearing_evidence_on_cuda_graphs_decides_as_on_cpu(enrolled_machine, cuda_md, tmp_path):
    onnx, rec, bearing, rpm = enrolled_machine
    cpu = stream_records(onnx, rec, bearing, rpm, tmp_path)
    cuda = stream_records(onnx, rec, bearing, rpm, tmp_path, "--provider", "cuda", "--cuda-graph")
    assert len(cpu) > 100 and cuda == cpu


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
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.sh"
    t0 = time.monotonic()
    p = subprocess.run([str(script), str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and time.monotonic() - t0 < 30
    assert len(p.stdout.strip().splitlines()) == 1 and "no usable NVIDIA GPU here" in p.stdout


def test_a_missing_gpu_library_is_named():
    """ONNX Runtime's own words (seen on an H200 without TensorRT) become one line naming the library."""
    from drsn_edge.runtime.providers import _reason

    log = ("*************** EP Error ***************\n1 : FAIL : Failed to load library /x/libonnxruntime_providers_"
           "tensorrt.so with error: libnvinfer.so.10: cannot open shared object file: No such file or directory\n")
    assert _reason(log, "tensorrt") == "libnvinfer.so.10 not found: TensorRT is not installed or not on LD_LIBRARY_PATH"
    assert _reason("libcudnn_adv.so.9: cannot open shared object file", "cuda").startswith("libcudnn_adv.so.9 not found: cuDNN")
