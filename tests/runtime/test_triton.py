"""Triton Inference Server: the repository export (checked against Triton's own config schema) and the runtime's
Triton backend against a real server started here (nvidia-pytriton's tritonserver, over real gRPC)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.cli_helpers import assert_one_line_error

pytest.importorskip("tritonclient.grpc", reason="the Triton client (drsn-edge[triton]) is not installed")

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from triton_server import TritonServer, free_port, server_unavailable_reason  # noqa: E402

from drsn_edge.errors import DrsnEdgeError  # noqa: E402
from drsn_edge.export.triton import TritonOptions, build_config, parse_config  # noqa: E402
from drsn_edge.modelfile import read_description  # noqa: E402
from drsn_edge.zoo import MODELS  # noqa: E402

SERVER_SKIP = server_unavailable_reason()
needs_server = pytest.mark.skipif(SERVER_SKIP is not None, reason=f"no Triton server: {SERVER_SKIP}")
CLI = [str(REPO / ".venv" / "bin" / "drsn-edge")] if (REPO / ".venv" / "bin" / "drsn-edge").exists() else \
    [sys.executable, "-m", "drsn_edge.cli.main"]


def export_repo(checkpoint: Path, out: Path, **triton) -> tuple[Path, dict]:
    from drsn_edge.export.pipeline import ExportOptions, export_all

    opts = ExportOptions(verify=False, triton=TritonOptions(repository=str(out / "repo"), name="drsn", **triton))
    report = export_all(checkpoint, out / "model.onnx", opts, log=lambda s: None)
    return out / "repo", report


@pytest.fixture(scope="module")
def sim_repo(stream_model, tmp_path_factory) -> Path:
    """The streaming test model (with novelty and noise-level outputs) as a Triton repository."""
    repo, _ = export_repo(stream_model[0], tmp_path_factory.mktemp("triton_sim"))
    return repo


def test_repository_config_is_triton_schema(stream_model, tmp_path):
    repo, report = export_repo(stream_model[0], tmp_path, latency_budget_ms=8.0, instances=2, device="cpu",
                               max_batch_size=32)
    folder = repo / "drsn"
    assert sorted(p.name for p in folder.iterdir()) == ["1", "config.pbtxt", "labels.txt"]
    assert (folder / "1" / "model.onnx").read_bytes() == (tmp_path / "model.onnx").read_bytes()
    cfg = parse_config((folder / "config.pbtxt").read_text())
    md = read_description(tmp_path / "model.onnx")
    assert cfg.name == "drsn" and cfg.platform == "onnxruntime_onnx" and cfg.max_batch_size == 32
    assert [(i.name, list(i.dims)) for i in cfg.input] == [(md.input_name, [md.in_channels, md.window])]
    outs = {o.name: o for o in cfg.output}
    assert list(outs[md.output_name].dims) == [len(md.class_names)] and outs[md.output_name].label_filename == "labels.txt"
    assert md.extra_outputs and all(list(outs[n].dims) == [1] and outs[n].HasField("reshape") for n in md.extra_outputs)
    assert (folder / "labels.txt").read_text().split() == md.class_names
    assert cfg.dynamic_batching.max_queue_delay_microseconds == 4000  # half the 8 ms budget
    assert list(cfg.dynamic_batching.preferred_batch_size) == [8, 32]
    assert [(g.count, g.kind) for g in cfg.instance_group] == [(2, 2)]  # KIND_CPU
    from drsn_edge.modelfile.triton import from_parameters

    served = from_parameters({k: {"string_value": v.string_value} for k, v in cfg.parameters.items()}, "config")
    assert served.class_names == md.class_names and served.novelty == md.novelty and served.hop == md.hop
    assert report["triton"]["path"] == str(folder)


def test_engine_config_and_schema_errors(stream_model):
    from tritonclient.grpc import model_config_pb2 as mc

    md = read_description(stream_model[1])
    cfg = build_config(md, "drsn", "engine", TritonOptions(repository="x", latency_budget_ms=None))
    assert cfg.platform == "tensorrt_plan" and cfg.default_model_filename == "model.plan"
    assert cfg.instance_group[0].kind == mc.ModelInstanceGroup.KIND_GPU and not cfg.HasField("dynamic_batching")
    with pytest.raises(DrsnEdgeError, match="not a valid Triton model configuration"):
        parse_config('name: "m"\nmax_batch_sise: 8\n')


def test_export_refuses_what_it_cannot_write(capsys, stream_model, tmp_path):
    ck = str(stream_model[0])
    out = str(tmp_path / "m.onnx")
    assert_one_line_error(capsys, ["export", ck, "-o", out, "--triton-repo", str(tmp_path / "r"),
                                   "--triton-format", "onnx-int8"], "(--int8)")
    assert_one_line_error(capsys, ["export", ck, "-o", out, "--triton-instances", "2"], "add --triton-repo")
    assert_one_line_error(capsys, ["export", ck, "-o", out, "--triton-repo", str(tmp_path / "r"),
                                   "--triton-name", "bad/name"], "Triton model name")
    (tmp_path / "r" / "drsn").mkdir(parents=True)
    (tmp_path / "r" / "drsn" / "mine.txt").write_text("not a model")
    assert_one_line_error(capsys, ["export", ck, "-o", out, "--triton-repo", str(tmp_path / "r"),
                                   "--triton-name", "drsn"], "not a Triton model folder")
    assert not (tmp_path / "m.onnx").exists()
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["drsn"]


def test_bad_address(capsys, tmp_path):
    np.save(tmp_path / "r.npy", np.zeros((1, 12000), np.float32))
    assert_one_line_error(capsys, ["stream", "triton://nohost/drsn", str(tmp_path / "r.npy"), "--fs", "12000"],
                          "triton://HOST:PORT/MODEL")


def windows(path: Path) -> list[dict]:
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["type"] == "window"]


def stream(model: str, inputs: list[str], out: Path, *extra: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "stream", model, *inputs, "--jsonl", str(out), *extra], capture_output=True, text=True,
                          timeout=timeout)


def assert_same_decisions(remote: list[dict], local: list[dict]) -> None:
    assert len(remote) == len(local) > 0
    key = lambda r: (r["stream"], r["unit"], r["stream_time"])  # noqa: E731
    assert [key(r) for r in remote] == [key(r) for r in local]  # each window decided once, in order
    assert [r["label"] for r in remote] == [r["label"] for r in local]
    for name in ("p_fault", "noise_level", "novelty"):
        if name in local[0]:
            np.testing.assert_allclose([r[name] for r in remote], [r[name] for r in local], atol=1e-4)


@needs_server
def test_cwru_decisions_equal_local(cwru_dir, tmp_path):
    """The zoo's CWRU model, served by Triton: every window's decision as the local backend's."""
    ck = MODELS["cwru-wide"].path
    repo, _ = export_repo(ck, tmp_path)
    files = [str(cwru_dir / f) for f in ("105.mat", "118.mat", "130.mat")]
    with TritonServer(repo, "drsn", log=tmp_path / "server.log") as server:
        r = stream(server.url, files, tmp_path / "remote.jsonl")
    assert r.returncode in (0, 1), r.stderr
    loc = stream(str(tmp_path / "model.onnx"), files, tmp_path / "local.jsonl")
    assert loc.returncode == r.returncode, loc.stderr
    assert_same_decisions(windows(tmp_path / "remote.jsonl"), windows(tmp_path / "local.jsonl"))


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """12 s of simulated outer-race fault at 12 kHz."""
    import soundfile as sf

    from drsn_edge.data.simulator import simulate_bearing

    x = simulate_bearing("outer_race", fs=12000.0, duration=12.0, seed=3)
    path = tmp_path_factory.mktemp("triton_rec") / "pump.wav"
    sf.write(path, x.astype(np.float32), 12000, subtype="FLOAT")
    return path


@needs_server
@pytest.mark.slow
def test_outage_mid_stream_loses_nothing(sim_repo, recording, tmp_path):
    """The server is killed mid-stream and started again: outage counted, every window decided exactly once, and the
    decisions (novelty and noise level included) equal the local backend's."""
    port = free_port()
    server = TritonServer(sim_repo, "drsn", port=port, log=tmp_path / "server.log").start()
    proc = subprocess.Popen([*CLI, "stream", server.url, str(recording), "--realtime", "--jsonl",
                             str(tmp_path / "remote.jsonl")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(windows_or_empty(tmp_path / "remote.jsonl")) < 20:
            time.sleep(0.1)
        server.stop(graceful=False)  # as a crash would
        time.sleep(1.0)
        server = TritonServer(sim_repo, "drsn", port=port, log=tmp_path / "server.log").start()
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
        server.stop()
    assert proc.returncode in (0, 1), err
    records = [json.loads(x) for x in (tmp_path / "remote.jsonl").read_text().splitlines()]
    kinds = [r["type"] for r in records]
    assert "backend_outage" in kinds and "backend_restored" in kinds
    summary = next(r for r in records if r["type"] == "summary")
    assert summary["backend"]["outages"] >= 1 and summary["backend"]["retried_requests"] >= 1
    assert "no window lost" in err
    stream(str(sim_repo / "drsn" / "1" / "model.onnx"), [str(recording)], tmp_path / "local.jsonl")
    assert_same_decisions(windows(tmp_path / "remote.jsonl"), windows(tmp_path / "local.jsonl"))
    assert "noise_level" in windows(tmp_path / "local.jsonl")[0]


def windows_or_empty(path: Path) -> list[dict]:
    try:
        return [r for r in (json.loads(x) for x in path.read_text().splitlines() if x.endswith("}")) if r["type"] == "window"]
    except (OSError, json.JSONDecodeError):
        return []


@needs_server
@pytest.mark.slow
def test_server_gone_for_good_is_one_line_error(sim_repo, recording, tmp_path):
    server = TritonServer(sim_repo, "drsn", log=tmp_path / "server.log").start()
    url = server.url
    killer = threading.Timer(2.0, lambda: server.stop(graceful=False))
    killer.start()
    try:
        r = stream(url, [str(recording)], tmp_path / "out.jsonl", "--realtime", "--server-wait", "2")
    finally:
        killer.join()
        server.stop()
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "unreachable for" in lines[-1] and "not decided" in lines[-1], r.stderr


@pytest.mark.slow
def test_server_never_up_is_one_line_error(capsys, recording):
    assert_one_line_error(capsys, ["stream", f"triton://127.0.0.1:{free_port()}/drsn", str(recording)],
                          "did not serve 'drsn' within")
