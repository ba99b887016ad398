"""Native TensorRT backend: a serialized engine run with the tensorrt API and CUDA runtime via ctypes (no torch,
no pycuda). Refuses engines built for another TensorRT version or GPU."""

from __future__ import annotations

import ctypes

import numpy as np

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.backends.base import InputSpec
from drsn_edge.runtime.engine_meta import check_engine_compatible, read_sidecar
from drsn_edge.runtime.gpu import NO_GPU, gpu_info

_H2D, _D2H = 1, 2  # cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost


def _cudart():
    for name in ("libcudart.so", "libcudart.so.12", "libcudart.so.11.0", "libcudart.so.13"):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise DrsnEdgeError("TensorRT backend: the CUDA runtime library (libcudart) was not found")


class TensorRTBackend:
    def __init__(self, engine_path: str) -> None:
        self.path = str(engine_path)
        self.name = "tensorrt"
        self.md, self.build = read_sidecar(engine_path)
        self.context = None

    def activate(self) -> None:
        try:
            import tensorrt as trt
        except ImportError:
            raise DrsnEdgeError(f"{self.path} is a TensorRT engine: the tensorrt package is not installed") from None
        gpu = gpu_info()
        if gpu is None:
            raise DrsnEdgeError(f"{self.path} is a TensorRT engine: {NO_GPU}")
        check_engine_compatible(self.path, self.build, trt.__version__, gpu)
        self._trt = trt
        self.logger = trt.Logger(trt.Logger.WARNING)
        with open(self.path, "rb") as f:
            self.engine = trt.Runtime(self.logger).deserialize_cuda_engine(f.read())
        if self.engine is None:
            raise DrsnEdgeError(f"{self.path}: TensorRT could not deserialize the engine")
        self.context = self.engine.create_execution_context()
        self.cuda = _cudart()
        self.max_batch = int(self.build["batch_profile"]["max"])
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inp = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT)
        self.out = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT)
        self.in_dtype = np.dtype(trt.nptype(self.engine.get_tensor_dtype(self.inp)))
        self.out_dtype = np.dtype(trt.nptype(self.engine.get_tensor_dtype(self.out)))
        k = len(self.md.class_names)
        self.d_in = self._malloc(self.max_batch * self.md.in_channels * self.md.window * self.in_dtype.itemsize)
        self.d_out = self._malloc(self.max_batch * k * self.out_dtype.itemsize)
        self.stream = ctypes.c_void_p()
        self._check(self.cuda.cudaStreamCreate(ctypes.byref(self.stream)), "cudaStreamCreate")
        self.context.set_tensor_address(self.inp, self.d_in.value)
        self.context.set_tensor_address(self.out, self.d_out.value)
        self.infer(np.zeros((1, self.md.in_channels, self.md.window), np.float32))  # warm-up

    def _check(self, rc: int, what: str) -> None:
        if rc != 0:
            raise DrsnEdgeError(f"CUDA error {rc} in {what}")

    def _malloc(self, nbytes: int) -> ctypes.c_void_p:
        ptr = ctypes.c_void_p()
        self._check(self.cuda.cudaMalloc(ctypes.byref(ptr), ctypes.c_size_t(nbytes)), "cudaMalloc")
        return ptr

    def input_spec(self) -> InputSpec:
        return InputSpec(self.md.input_name, ("batch", self.md.in_channels, self.md.window), str(self.in_dtype))

    def infer(self, x: np.ndarray) -> np.ndarray:
        if self.context is None:
            raise DrsnEdgeError("backend not activated")
        outs = []
        for i in range(0, len(x), self.max_batch):
            xb = np.ascontiguousarray(x[i : i + self.max_batch], dtype=self.in_dtype)
            y = np.empty((len(xb), len(self.md.class_names)), self.out_dtype)
            self.context.set_input_shape(self.inp, xb.shape)
            self._check(self.cuda.cudaMemcpyAsync(self.d_in, xb.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(xb.nbytes),
                                                  _H2D, self.stream), "cudaMemcpyAsync")
            if not self.context.execute_async_v3(self.stream.value):
                raise DrsnEdgeError("TensorRT execution failed")
            self._check(self.cuda.cudaMemcpyAsync(y.ctypes.data_as(ctypes.c_void_p), self.d_out, ctypes.c_size_t(y.nbytes),
                                                  _D2H, self.stream), "cudaMemcpyAsync")
            self._check(self.cuda.cudaStreamSynchronize(self.stream), "cudaStreamSynchronize")
            outs.append(y.astype(np.float32))
        return np.concatenate(outs)

    def close(self) -> None:
        if self.context is not None:
            self.cuda.cudaFree(self.d_in)
            self.cuda.cudaFree(self.d_out)
            self.cuda.cudaStreamDestroy(self.stream)
            self.context = None
