"""Triton Inference Server backend: windows go to a remote server over gRPC (``triton://HOST:PORT/MODEL``).

The model's description (classes, rate, window, hop, novelty threshold) is read from the server: drsn-edge export
``--triton-repo`` stores it in the model config's ``parameters``. A batch is cut into requests of at most the model's
``max_batch_size``, with a bounded number in flight. A server that goes away is treated like an MQTT broker that
goes away: the outage is counted and reported, the client reconnects and resends, and no window is decided twice or
silently lost; a server that stays away past the outage limit ends the stream with a one-line error.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import ModelMetadata
from drsn_edge.modelfile.triton import from_parameters
from drsn_edge.runtime.backends.base import BackendBase, InputSpec

URL_RE = re.compile(r"^triton://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})/(?P<model>[A-Za-z0-9_.-]+)"
                    r"(?:/(?P<version>\d+))?/?$")
#: gRPC status codes of a server that is down, restarting or (re)loading the model: wait and resend
TRANSIENT = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "NOT_FOUND", "CANCELLED", "ABORTED", "RESOURCE_EXHAUSTED")
DTYPES = {"TYPE_FP32": ("FP32", np.float32), "TYPE_FP16": ("FP16", np.float16)}


@dataclass(frozen=True)
class TritonTarget:
    host: str
    port: int
    model: str
    version: str = ""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, url: str) -> TritonTarget:
        m = URL_RE.match(url)
        if not m or not 0 < int(m["port"]) < 65536:
            raise DrsnEdgeError(f"bad Triton address {url!r}: expected triton://HOST:PORT/MODEL[/VERSION], "
                                "e.g. triton://inference.plant:8001/drsn")
        return cls(m["host"], int(m["port"]), m["model"], m["version"] or "")


def _status(exc: Exception) -> str:
    status = getattr(exc, "status", lambda: None)() or ""
    return str(status).rsplit(".", 1)[-1]


def _message(exc: Exception) -> str:
    msg = getattr(exc, "message", lambda: None)() or str(exc)
    return " ".join(str(msg).split())


class TritonBackend(BackendBase):
    """Runs windows on a remote Triton server (gRPC); the model's metadata comes from the server."""

    name = "triton"

    def __init__(self, url: str, connect_timeout_s: float = 10.0, outage_timeout_s: float = 60.0,
                 max_in_flight: int = 4, request_timeout_s: float = 30.0) -> None:
        try:
            import tritonclient.grpc  # noqa: F401
        except ImportError:
            raise DrsnEdgeError("a triton:// model needs the Triton client: pip install 'drsn-edge[triton]'") from None
        self.url = url
        self.target = TritonTarget.parse(url)
        self.connect_timeout_s, self.outage_timeout_s = connect_timeout_s, outage_timeout_s
        self.request_timeout_s = request_timeout_s
        self.max_in_flight = max(1, int(max_in_flight))
        self.md: ModelMetadata | None = None
        self.notes: list[str] = []
        self.stop_event: threading.Event | None = None  # set by the app: stop waiting for a server that is away
        self.health: dict[str, Any] = {"requests": 0, "windows": 0, "retried_requests": 0, "outages": 0,
                                       "outage_seconds": 0.0, "reconnects": 0}
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._last_error = ""
        self._client = None
        self._pool: ThreadPoolExecutor | None = None
        self._config: dict[str, Any] = {}

    # ---- connection ---------------------------------------------------------------------------------------
    def _new_client(self):
        import tritonclient.grpc as grpcclient

        return grpcclient.InferenceServerClient(self.target.address)

    def describe(self) -> ModelMetadata:
        """Connect (waiting up to the connect timeout for the server and the model) and read the description."""
        if self.md is not None:
            return self.md
        from tritonclient.utils import InferenceServerException

        t = self.target
        deadline = time.monotonic() + self.connect_timeout_s
        last = "no answer"
        while True:
            try:
                client = self._new_client()
                if client.is_model_ready(t.model, t.version):
                    cfg = client.get_model_config(t.model, t.version, as_json=True)["config"]
                    break
                last = f"model {t.model!r} is not ready on it ({self._models(client)})"
            except InferenceServerException as exc:
                last = _message(exc)
            if time.monotonic() >= deadline:
                raise DrsnEdgeError(f"Triton server at {t.address} did not serve {t.model!r} within "
                                    f"{self.connect_timeout_s:g} s: {last}")
            time.sleep(0.2)
        self._client, self._config = client, cfg
        self.md = self._metadata(cfg)
        return self.md

    def _models(self, client) -> str:
        try:
            names = [m.name for m in client.get_model_repository_index().models]
        except Exception:  # only for the message
            return "its models could not be listed"
        return f"models there: {', '.join(names) or 'none'}"

    def _metadata(self, cfg: dict[str, Any]) -> ModelMetadata:
        source = f"Triton model {self.target.model!r} at {self.target.address}"
        params = cfg.get("parameters") or {}
        if "drsn_edge" not in params:
            raise DrsnEdgeError(f"{source} has no drsn-edge description in its config parameters; write its "
                                "repository with drsn-edge export --triton-repo")
        md = from_parameters(params, source)
        inputs, outputs = cfg.get("input") or [], {o["name"]: o for o in cfg.get("output") or []}
        if len(inputs) != 1 or [int(d) for d in inputs[0].get("dims", [])] != [md.in_channels, md.window]:
            raise DrsnEdgeError(f"{source}: the server's input {inputs} does not match its description "
                                f"(channels {md.in_channels}, window {md.window})")
        if md.output_name not in outputs:
            raise DrsnEdgeError(f"{source}: the server has no output {md.output_name!r}")
        self._input = inputs[0]["name"]
        self._dtype = DTYPES.get(inputs[0].get("data_type", "TYPE_FP32"))
        if self._dtype is None:
            raise DrsnEdgeError(f"{source}: input type {inputs[0].get('data_type')} is not supported")
        self._outputs = [md.output_name, *[n for n in md.extra_outputs if n in outputs]]
        md.extra_outputs = self._outputs[1:]
        self.max_batch = int(cfg.get("max_batch_size") or 0)
        if self.max_batch < 1:
            raise DrsnEdgeError(f"{source}: the model does not batch (max_batch_size 0); export it with --triton-repo")
        return md

    def activate(self) -> None:
        self.describe()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="drsn-triton")

    def input_spec(self) -> InputSpec:
        md = self.describe()
        return InputSpec(self._input, (None, md.in_channels, md.window), f"tensor({self._dtype[0].lower()})")

    # ---- inference ----------------------------------------------------------------------------------------
    def infer(self, x: np.ndarray) -> np.ndarray:
        return self.infer_all(x, extras=False)[0]

    def infer_all(self, x: np.ndarray, extras: bool = True) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Logits and the extra outputs of ``(N, C, T)`` windows, in requests of at most the model's batch size."""
        if self._pool is None:
            raise DrsnEdgeError("backend not activated")
        x = np.ascontiguousarray(x, dtype=self._dtype[1])
        names = self._outputs if extras else self._outputs[:1]
        chunks = [x[i:i + self.max_batch] for i in range(0, len(x), self.max_batch)]
        if len(chunks) == 1:
            parts = [self._request(chunks[0], names)]
        else:
            parts = [f.result() for f in [self._pool.submit(self._request, c, names) for c in chunks]]
        logits = np.concatenate([p[0] for p in parts]).astype(np.float32, copy=False)
        return logits, {n: np.concatenate([p[i + 1] for p in parts]).reshape(len(x)).astype(np.float32, copy=False)
                        for i, n in enumerate(names[1:])}

    def _request(self, x: np.ndarray, names: list[str]) -> list[np.ndarray]:
        import tritonclient.grpc as grpcclient
        from tritonclient.utils import InferenceServerException

        inp = grpcclient.InferInput(self._input, list(x.shape), self._dtype[0])
        inp.set_data_from_numpy(x)
        outs = [grpcclient.InferRequestedOutput(n) for n in names]
        delay, retried = 0.1, False
        while True:
            client = self._client
            try:
                r = client.infer(self.target.model, [inp], self.target.version, outputs=outs,
                                 client_timeout=self.request_timeout_s)
                result = [r.as_numpy(n) for n in names]
                self._up(len(x))
                return result
            except InferenceServerException as exc:
                if _status(exc) not in TRANSIENT:
                    raise DrsnEdgeError(f"Triton server at {self.target.address} refused a request for "
                                        f"{self.target.model!r}: {_message(exc)}") from None
                self._down(_message(exc), len(x), retried)
                retried = True
            time.sleep(delay)
            delay = min(2 * delay, 1.0)
            self._reconnect(client)

    def _up(self, windows: int) -> None:
        with self._lock:
            self.health["requests"] += 1
            self.health["windows"] += windows
            if self._down_since is not None:
                gone = time.monotonic() - self._down_since
                self.health["outage_seconds"] += gone
                self._events.append({"kind": "backend_restored", "backend": self.url, "outage_s": round(gone, 3)})
                self._down_since = None

    def _down(self, error: str, windows: int, retried: bool) -> None:
        now = time.monotonic()
        with self._lock:
            self.health["retried_requests"] += 1
            self._last_error = error
            if self._down_since is None:
                self._down_since = now
                self.health["outages"] += 1
                self._events.append({"kind": "backend_outage", "backend": self.url, "error": error})
            gone = now - self._down_since
        stopping = self.stop_event is not None and self.stop_event.is_set()
        if gone > self.outage_timeout_s or stopping:
            why = "stopped" if stopping else f"unreachable for {gone:.0f} s"
            raise DrsnEdgeError(f"Triton server at {self.target.address} {why} ({error}); {windows} window(s) "
                                "in flight were not decided")

    def _reconnect(self, failed) -> None:
        """A fresh channel: gRPC's own reconnect backs off for up to two minutes after a restart."""
        with self._lock:
            if self._client is failed:
                try:
                    self._client = self._new_client()
                    self.health["reconnects"] += 1
                except Exception:  # retried on the next attempt
                    pass

    def drain_events(self) -> list[dict[str, Any]]:
        """Outage and restore events since the last call (the runner sends them to the outputs)."""
        with self._lock:
            events, self._events = self._events, []
        return events

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._client is not None:
            try:
                self._client.close()
            except Exception:
                pass
            self._client = None
