"""Device memory, streams and event timing through NVIDIA's CUDA Python bindings (cuda-python), for the native
TensorRT backend and GPU timing: no torch, no pycuda, no hand-written ctypes."""

from __future__ import annotations

import numpy as np

from drsn_edge.errors import DrsnEdgeError


def _rt():
    try:
        from cuda.bindings import runtime
    except ImportError:
        raise DrsnEdgeError("GPU memory needs cuda-python: pip install 'drsn-edge[gpu]'") from None
    return runtime


def check(result, what: str):
    """Unpack a cuda-python result tuple; a one-line error for anything but cudaSuccess."""
    rt = _rt()
    err, *rest = result if isinstance(result, tuple) else (result,)
    if err != rt.cudaError_t.cudaSuccess:
        _, text = rt.cudaGetErrorString(err)
        raise DrsnEdgeError(f"CUDA error in {what}: {err.name} ({text.decode(errors='replace')})")
    return rest[0] if len(rest) == 1 else (tuple(rest) if rest else None)


class Stream:
    def __init__(self) -> None:
        self.rt = _rt()
        self.handle = check(self.rt.cudaStreamCreate(), "cudaStreamCreate")

    def synchronize(self) -> None:
        check(self.rt.cudaStreamSynchronize(self.handle), "cudaStreamSynchronize")

    @property
    def ptr(self) -> int:
        return int(self.handle)

    def close(self) -> None:
        if self.handle is not None:
            self.rt.cudaStreamDestroy(self.handle)
            self.handle = None


class DeviceBuffer:
    """``nbytes`` of device memory; host <-> device copies on a stream."""

    def __init__(self, nbytes: int) -> None:
        self.rt = _rt()
        self.nbytes = int(nbytes)
        self.ptr = int(check(self.rt.cudaMalloc(self.nbytes), "cudaMalloc"))

    def upload(self, host: np.ndarray, stream: Stream) -> None:
        host = np.ascontiguousarray(host)
        if host.nbytes > self.nbytes:
            raise DrsnEdgeError(f"{host.nbytes} bytes do not fit a {self.nbytes}-byte device buffer")
        check(self.rt.cudaMemcpyAsync(self.ptr, host.ctypes.data, host.nbytes,
                                      self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice, stream.handle), "cudaMemcpyAsync")

    def download(self, host: np.ndarray, stream: Stream) -> np.ndarray:
        if host.nbytes > self.nbytes or not host.flags.c_contiguous:
            raise DrsnEdgeError("the host array does not fit the device buffer")
        check(self.rt.cudaMemcpyAsync(host.ctypes.data, self.ptr, host.nbytes,
                                      self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, stream.handle), "cudaMemcpyAsync")
        return host

    def free(self) -> None:
        if self.ptr:
            self.rt.cudaFree(self.ptr)
            self.ptr = 0


class EventTimer:
    """GPU time between two points on a stream (CUDA events), as trtexec reports it beside host latency."""

    def __init__(self, stream: Stream) -> None:
        self.rt, self.stream = _rt(), stream
        self.start = check(self.rt.cudaEventCreate(), "cudaEventCreate")
        self.end = check(self.rt.cudaEventCreate(), "cudaEventCreate")

    def __enter__(self) -> EventTimer:
        check(self.rt.cudaEventRecord(self.start, self.stream.handle), "cudaEventRecord")
        return self

    def __exit__(self, *exc: object) -> None:
        check(self.rt.cudaEventRecord(self.end, self.stream.handle), "cudaEventRecord")

    def elapsed_ms(self) -> float:
        check(self.rt.cudaEventSynchronize(self.end), "cudaEventSynchronize")
        return float(check(self.rt.cudaEventElapsedTime(self.start, self.end), "cudaEventElapsedTime"))

    def close(self) -> None:
        self.rt.cudaEventDestroy(self.start)
        self.rt.cudaEventDestroy(self.end)
