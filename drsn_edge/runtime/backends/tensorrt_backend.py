"""Native TensorRT backend: a serialized engine run with the tensorrt API, its device memory and stream through
cuda-python (drsn_edge.runtime.cuda). Refuses engines built for another TensorRT version or GPU; binds every output
(logits and the heads' outputs); records the GPU time of each call (CUDA events)."""

from __future__ import annotations

import numpy as np

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile.engine import check_engine_compatible, read_sidecar
from drsn_edge.runtime.backends.base import BackendBase, InputSpec
from drsn_edge.runtime.cuda import DeviceBuffer, EventTimer, Stream
from drsn_edge.runtime.gpu import gpu_info, no_gpu_reason


class TensorRTBackend(BackendBase):
    def __init__(self, engine_path: str) -> None:
        self.path = str(engine_path)
        self.name = "tensorrt"
        self.can_time_gpu = self.time_gpu = True  # every call is timed (the events cost little beside TensorRT's own)
        self.md, self.build = read_sidecar(engine_path)
        self.context = None
        self.last_gpu_ms: float | None = None

    def activate(self) -> None:
        try:
            import tensorrt as trt
        except ImportError:
            raise DrsnEdgeError(f"{self.path} is a TensorRT engine: the tensorrt package is not installed") from None

        gpu = gpu_info()
        if gpu is None:
            raise DrsnEdgeError(f"{self.path} is a TensorRT engine: {no_gpu_reason()}")
        check_engine_compatible(self.path, self.build, trt.__version__, gpu)
        self.logger = trt.Logger(trt.Logger.WARNING)
        with open(self.path, "rb") as f:
            self.engine = trt.Runtime(self.logger).deserialize_cuda_engine(f.read())
        if self.engine is None:
            raise DrsnEdgeError(f"{self.path}: TensorRT could not deserialize the engine")
        self.context = self.engine.create_execution_context()
        self.max_batch = int(self.build["batch_profile"]["max"])
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inp = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT)
        self.outs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        self.dtypes = {n: np.dtype(trt.nptype(self.engine.get_tensor_dtype(n))) for n in names}
        self.stream = Stream()
        self.timer = EventTimer(self.stream)
        per_window = {self.inp: self.md.in_channels * self.md.window}
        for n in self.outs:
            per_window[n] = len(self.md.class_names) if n == self.md.output_name else 1
        self.buffers = {n: DeviceBuffer(self.max_batch * k * self.dtypes[n].itemsize) for n, k in per_window.items()}
        self.per_window = per_window
        for n, buf in self.buffers.items():
            self.context.set_tensor_address(n, buf.ptr)
        self.infer(np.zeros((1, self.md.in_channels, self.md.window), np.float32))  # warm-up

    def input_spec(self) -> InputSpec:
        return InputSpec(self.md.input_name, ("batch", self.md.in_channels, self.md.window), str(self.dtypes[self.inp])
                         if self.context else "tensor(float)")

    def infer(self, x: np.ndarray) -> np.ndarray:
        return self.infer_all(x)[0]

    def infer_all(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        if self.context is None:
            raise DrsnEdgeError("backend not activated")
        parts: dict[str, list[np.ndarray]] = {n: [] for n in self.outs}
        gpu_ms = 0.0
        for i in range(0, len(x), self.max_batch):
            xb = np.ascontiguousarray(x[i : i + self.max_batch], dtype=self.dtypes[self.inp])
            self.context.set_input_shape(self.inp, xb.shape)
            self.buffers[self.inp].upload(xb, self.stream)
            with self.timer:
                if not self.context.execute_async_v3(self.stream.ptr):
                    raise DrsnEdgeError("TensorRT execution failed")
            host = {n: np.empty((len(xb), self.per_window[n]), self.dtypes[n]) for n in self.outs}
            for n in self.outs:
                self.buffers[n].download(host[n], self.stream)
            self.stream.synchronize()
            gpu_ms += self.timer.elapsed_ms()
            for n in self.outs:
                parts[n].append(host[n].astype(np.float32))
        self.last_gpu_ms = gpu_ms
        out = {n: np.concatenate(v) for n, v in parts.items()}
        logits = out.pop(self.md.output_name, None)
        if logits is None:
            logits = out.pop(self.outs[0])
        return logits, {n: v.reshape(-1) for n, v in out.items()}

    def close(self) -> None:
        if self.context is not None:
            for buf in self.buffers.values():
                buf.free()
            self.timer.close()
            self.stream.close()
            self.context = None
