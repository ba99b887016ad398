"""A real Triton Inference Server for tests and benchmarks, serving a repository entry that drsn-edge export wrote.

Triton's own ONNX Runtime backend is not in the ``nvidia-pytriton`` wheel, so the model is served as PyTriton
serves any model: Triton's Python backend calling a function, here one ONNX Runtime session per instance, with the
batch size, dynamic batching, instances, inputs, outputs and parameters read from the generated ``config.pbtxt``.
Clients see a Triton server over gRPC like any other.

Server side (run with the interpreter of ``.venv-triton``, built by ``make triton-server``: the distribution's
python3.11, whose standard library matches the Python stub bundled in the wheel):
    .venv-triton/bin/python benchmarks/triton_server.py REPO NAME --port 8001
Client side (any interpreter): ``TritonServer(repo, name, port).start()`` / ``.stop()``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER_PYTHON = ROOT / ".venv-triton" / "bin" / "python"


def server_unavailable_reason() -> str | None:
    """Why a Triton server cannot be started here (None: it can)."""
    if not SERVER_PYTHON.exists():
        return f"no Triton server environment ({SERVER_PYTHON.relative_to(ROOT)}; build it with make triton-server)"
    probe = subprocess.run([str(SERVER_PYTHON), "-c", "import pytriton, onnxruntime, tritonclient"],
                           capture_output=True, text=True)
    if probe.returncode:
        return f"the Triton server environment is incomplete: {probe.stderr.strip().splitlines()[-1:]}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TritonServer:
    """A Triton server process serving ``repo/name`` on ``port`` (gRPC; HTTP and metrics on the next two ports)."""

    def __init__(self, repo: str | Path, name: str, port: int | None = None, log: str | Path | None = None,
                 no_dynamic_batching: bool = False) -> None:
        self.repo, self.name = Path(repo), name
        self.port = port or free_port()
        self.log = Path(log) if log else None
        self.no_dynamic_batching = no_dynamic_batching
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"triton://127.0.0.1:{self.port}/{self.name}"

    def start(self, timeout: float = 120.0) -> TritonServer:
        cmd = [str(SERVER_PYTHON), __file__, str(self.repo), self.name, "--port", str(self.port)]
        if self.no_dynamic_batching:
            cmd.append("--no-dynamic-batching")
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log.read_text()[-2000:] if self.log else ""
                raise RuntimeError(f"Triton server exited with {self.proc.returncode}\n{tail}")
            if _ready(self.port, self.name):
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Triton server not ready within {timeout:.0f} s")

    def stop(self, graceful: bool = True) -> None:
        """Stop the server and everything it started (the Triton binary and the Python backend stubs, which PyTriton
        starts in sessions of their own). ``graceful=False``: kill at once, as a crash or power cut would."""
        if self.proc is None:
            return
        family = [self.proc.pid, *_descendants(self.proc.pid)]
        if graceful:
            try:
                self.proc.send_signal(signal.SIGINT)  # PyTriton shuts Triton down on KeyboardInterrupt
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.proc = None

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _ready(port: int, name: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port + 1}/v2/models/{name}/ready", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


# ---- server side (runs under .venv-triton) ------------------------------------------------------------------
def serve(repo: Path, name: str, port: int, dynamic_batching: bool = True) -> None:
    import numpy as np
    import onnxruntime as ort
    from google.protobuf import text_format
    from pytriton.decorators import batch
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
    from pytriton.models import model as pytriton_model
    from pytriton.triton import Triton, TritonConfig
    from tritonclient.grpc import model_config_pb2 as mc

    folder = repo / name
    cfg = text_format.Parse((folder / "config.pbtxt").read_text(), mc.ModelConfig())
    if cfg.platform != "onnxruntime_onnx":
        raise SystemExit(f"this test server runs ONNX models, {name} is {cfg.platform}")
    model_file = folder / "1" / (cfg.default_model_filename or "model.onnx")
    dtypes = {mc.TYPE_FP32: np.float32, mc.TYPE_FP16: np.float16}

    # the drsn-edge description travels in the config's parameters, as in the generated config.pbtxt
    params = {k: v.string_value for k, v in cfg.parameters.items()}
    original = pytriton_model.Model._get_triton_model_config

    def with_parameters(self):
        tmc = original(self)
        tmc.backend_parameters.update(params)
        return tmc

    pytriton_model.Model._get_triton_model_config = with_parameters

    def make_infer():
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(str(model_file), opts, providers=["CPUExecutionProvider"])
        names = [o.name for o in cfg.output]
        in_name = cfg.input[0].name

        @batch
        def infer(**inputs):
            out = sess.run(names, {in_name: inputs[in_name]})
            return {n: (v if v.ndim > 1 else v[:, None]).astype(np.float32) for n, v in zip(names, out)}

        return infer

    count = sum(g.count or 1 for g in cfg.instance_group) or 1
    db = cfg.dynamic_batching if cfg.HasField("dynamic_batching") and dynamic_batching else None
    batcher = DynamicBatcher(max_queue_delay_microseconds=db.max_queue_delay_microseconds,
                             preferred_batch_size=list(db.preferred_batch_size) or None) if db else None
    with Triton(config=TritonConfig(grpc_port=port, http_port=port + 1, metrics_port=port + 2,
                                    log_verbose=0)) as triton:
        triton.bind(model_name=name, infer_func=[make_infer() for _ in range(count)],
                    inputs=[Tensor(name=i.name, dtype=dtypes[i.data_type], shape=tuple(i.dims)) for i in cfg.input],
                    outputs=[Tensor(name=o.name, dtype=np.float32, shape=tuple(o.dims)) for o in cfg.output],
                    config=ModelConfig(max_batch_size=cfg.max_batch_size, batcher=batcher))
        print("READY", flush=True)
        triton.serve()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("name")
    ap.add_argument("--port", type=int, default=8001)
    ap.add_argument("--no-dynamic-batching", action="store_true", help="serve without the config's dynamic batcher")
    args = ap.parse_args()
    serve(args.repo, args.name, args.port, not args.no_dynamic_batching)


if __name__ == "__main__":
    sys.exit(main())
