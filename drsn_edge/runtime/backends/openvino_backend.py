"""OpenVINO backend (Intel's CPU runtime, the optional extra ``[openvino]``): the same ``.onnx`` file, FP32, FP16 or
INT8 QDQ, read by OpenVINO's own API and compiled for the CPU with the thread count the stream asks for and an explicit
inference precision (``f32``, or ``bf16`` where the CPU has it).

A batch size the stream announces (:meth:`OpenVinoBackend.warm`: its full batch, one window per unit and hop) gets
its own compiled model with that batch fixed: OpenVINO plans static shapes far better than a dynamic batch (INT8 at
batch 64 on an AVX512-VNNI EPYC: 0.74x ONNX Runtime FP32 with the batch dynamic, 1.3-1.4x with it fixed; see
``benchmarks/results/openvino_cpu.md``). Other sizes (a partial batch) run on the dynamic one.

OpenVINO's CPU plugin can kill the process on INT8 models: with a small fixed batch (batch <= 8 on our INT8 file, at
compile time, on an AMD EPYC with 2026.4) and with a dynamic batch on AMX CPUs (openvinotoolkit/openvino#37577, at the
first inference). A segfault cannot be caught, so an INT8 model is first compiled and run in a child process, for each
shape the stream will use; a shape that kills the child is not used (the dynamic model: one line, exit 2; a fixed
batch: the dynamic model runs it).

``model.onnx`` has its temporal convolutions in the 2-D form ONNX Runtime's x86 kernels run fastest; OpenVINO runs
the 1-D form faster (INT8 at batch 64 on an AMX Xeon: 1.3x ONNX Runtime FP32 from the 2-D file, 1.8x from the 1-D one),
so ``export --openvino`` writes that form beside it (``model.openvino.onnx``), and this backend says so once when given
a 2-D file.

OpenVINO's own API rather than ONNX Runtime's OpenVINO execution provider: it is one package on PyPI beside the
onnxruntime the base install has (the provider needs its own onnxruntime build in place of it), and it takes the
precision hint and the compiled-model cache directly. The compiled model is cached beside ONNX Runtime's optimized
graphs (``~/.cache/drsn-edge/openvino``); OpenVINO keys each entry by the model's content and the compile settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import numpy as np

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import ModelMetadata
from drsn_edge.runtime.backends.base import BackendBase, InputSpec
from drsn_edge.runtime.providers import ProviderSettings, cache_root

PRECISIONS = ("f32", "bf16")
#: in the names of the views drsn_edge.export.conv_layout writes around a temporal convolution made 2-D
AS_2D = "/as_2d/"
#: run by a child process: compile the model as the backend does (its batch fixed where given) and infer the given
#: batch sizes once
PROBE = """
import json, sys
import numpy as np, openvino as ov
from drsn_edge.runtime.backends.openvino_backend import compile_for_cpu
path, batch, config, cache, batches = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4], \\
    json.loads(sys.argv[5])
core = ov.Core()
if cache:
    core.set_property({"CACHE_DIR": cache})
compiled = compile_for_cpu(core, path, config, batch)
inp = compiled.inputs[0]
shape = inp.get_partial_shape()
dtype = np.float16 if inp.get_element_type().get_type_name() == "f16" else np.float32
request = compiled.create_infer_request()
for b in batches:
    request.infer({0: np.zeros((b, shape[1].get_length(), shape[2].get_length()), dtype)})
"""


def compile_for_cpu(core, source, config: dict[str, str], batch: int | None = None):
    """``source`` (a path, or a model read from one) compiled for the CPU with ``config``, its batch fixed to ``batch``
    (None: as the file has it)."""
    model = core.read_model(source) if isinstance(source, str) else source
    if batch is not None:
        inp = model.inputs[0]
        shape = inp.get_partial_shape()
        shape[0] = batch
        model.reshape({inp.get_any_name(): shape})
    return core.compile_model(model, "CPU", config)
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
        self._fixed: dict[int, object] = {}  # batch size -> an infer request of the model compiled for it
        self._lock = threading.Lock()  # an infer request runs one call at a time (serve: streams share the backend)

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
        self._core, self._config, self._cache = core, config, str(cache) if cache.is_dir() else ""
        if crash := self._crashes(None, (1, 2)):
            raise DrsnEdgeError(f"{self.path}: {crash}; run it with --provider cpu, or OpenVINO on the FP32 file")
        self._compiled = self._compile(inspect=True)
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

    def _compile(self, batch: int | None = None, inspect: bool = False):
        """The model compiled for the CPU, its batch fixed to ``batch`` (None: as the file has it); ``inspect``: also
        say, from the model as read, when its convolutions are in ONNX Runtime's 2-D form."""
        try:
            model = self._core.read_model(self.path)
            if inspect and any(AS_2D in op.get_friendly_name() for op in model.get_ops()):
                self.notes.append(f"{self.path}: its temporal convolutions are in the 2-D form ONNX Runtime runs "
                                  "fastest; OpenVINO runs the 1-D form faster: drsn-edge export CHECKPOINT --openvino "
                                  "writes it (MODEL.openvino.onnx; .openvino.int8.onnx with --int8)")
            return compile_for_cpu(self._core, model, self._config, batch)
        except Exception as exc:  # OpenVINO's own failure: one line, not its C++ trace
            raise DrsnEdgeError(f"{self.path}: OpenVINO could not compile the model "
                                f"({str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__})") from None

    def warm(self, batch: int, channels: int, window: int) -> None:
        """Compile the model for this batch size (where the file's batch is dynamic), then run it once."""
        if self._request is None:
            raise DrsnEdgeError("backend not activated")
        if batch not in self._fixed and not self._input.get_partial_shape()[0].is_static:
            if crash := self._crashes(batch, (batch,)):
                self.notes.append(f"batch {batch} runs on the dynamic model: {crash}")
                self._fixed[batch] = self._request
            else:
                self._fixed[batch] = self._compile(batch).create_infer_request()
        super().warm(batch, channels, window)

    def _crashes(self, batch: int | None, batches: tuple[int, ...]) -> str | None:
        """For an INT8 model: compile it (batch fixed where given) and run ``batches`` in a child process first; why
        not to do it here (the child was killed), or None. An ordinary failure is left to this process to report."""
        if self.md is not None and self.md.precision != "int8":
            return None
        import openvino as ov

        args = [sys.executable, "-c", PROBE, self.path, json.dumps(batch), json.dumps(self._config), self._cache,
                json.dumps(list(batches))]
        try:
            done = subprocess.run(args, capture_output=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"OpenVINO's compile of the INT8 model did not finish in a child process ({type(exc).__name__})"
        if done.returncode < 0:
            shape = f"the batch fixed at {batch}" if batch else "a dynamic batch"
            return (f"OpenVINO {ov.__version__.split('-')[0]} crashed (signal {-done.returncode}) compiling or running "
                    f"this INT8 model with {shape} on this CPU, a fault in its CPU plugin")
        return None

    @property
    def fixed_batches(self) -> list[int]:
        """The batch sizes with a model compiled for them."""
        return sorted(b for b, request in self._fixed.items() if request is not self._request)

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
            with self._lock:
                res = self._fixed.get(len(x), self._request).infer({0: x})
        except Exception as exc:
            raise DrsnEdgeError(f"{self.path}: OpenVINO failed to run the model on a batch of {list(x.shape)} "
                                f"({str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__})") from None
        out = [np.array(res[self._index[n]], dtype=np.float32) for n in self._outputs]
        return out[0], ({n: v for n, v in zip(self._outputs[1:], out[1:])} if extras else {})

    def close(self) -> None:
        self._request = None
        self._compiled = None
        self._fixed = {}
