"""ONNX Runtime's CUDA provider without per-call allocations: inputs and outputs bound to device buffers made once
per batch size (IO binding), a partial batch padded to the next size, and with ``cuda_graph`` one captured CUDA
graph per size, replayed. With ``timing``, the GPU time of each call from CUDA events on ONNX Runtime's compute stream
(cuda-python); off by default, so that host latency carries no timing calls."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.cuda import EventTimer, Stream, _rt

#: batch sizes with their own device buffers (and CUDA graph); larger batches run in chunks of the largest
BATCH_SIZES = (1, 4, 16, 64)


class CudaBinding:
    def __init__(self, session, md, outputs: list[str], settings, sizes: tuple[int, ...] = BATCH_SIZES) -> None:
        self.session, self.sizes, self.outputs = session, tuple(sorted(sizes)), outputs
        self.input = session.get_inputs()[0].name
        dev = settings.device_id
        widths = {o.name: (o.shape[1] if len(o.shape) > 1 else None) for o in session.get_outputs()}
        self.slots = {}
        for i, b in enumerate(self.sizes):
            x = ort.OrtValue.ortvalue_from_shape_and_type((b, md.in_channels, md.window), np.float32, "cuda", dev)
            outs = [ort.OrtValue.ortvalue_from_shape_and_type((b, widths[n]) if widths[n] else (b,), np.float32, "cuda", dev)
                    for n in outputs]
            binding = session.io_binding()
            binding.bind_ortvalue_input(self.input, x)
            for n, v in zip(outputs, outs):
                binding.bind_ortvalue_output(n, v)
            ro = ort.RunOptions()
            if settings.cuda_graph:
                ro.add_run_config_entry("gpu_graph_id", str(i + 1))
            self.slots[b] = (x, outs, binding, ro)
        self.last_gpu_ms: float | None = None
        self.timing = False
        self.timer = _timer(session)
        for b in self.sizes:  # warm-up, and with CUDA graphs the capture
            for _ in range(2):
                self._run(np.zeros((b, md.in_channels, md.window), np.float32), b, len(outputs))

    def _run(self, x: np.ndarray, size: int, n_out: int) -> list[np.ndarray]:
        xin, outs, binding, ro = self.slots[size]
        if len(x) < size:
            x = np.concatenate([x, np.zeros((size - len(x), *x.shape[1:]), x.dtype)])
        xin.update_inplace(np.ascontiguousarray(x, dtype=np.float32))
        if self.timing and self.timer is not None:
            with self.timer:
                self.session.run_with_iobinding(binding, ro)
            self.last_gpu_ms = (self.last_gpu_ms or 0.0) + self.timer.elapsed_ms()
        else:
            self.session.run_with_iobinding(binding, ro)
        return [o.numpy() for o in outs[:n_out]]

    def run(self, x: np.ndarray, extras: bool = True) -> list[np.ndarray]:
        """The outputs for ``x`` (all of them, or the logits alone)."""
        self.last_gpu_ms = None
        n_out = len(self.outputs) if extras else 1
        top = self.sizes[-1]
        if len(x) <= top:
            size = next(s for s in self.sizes if s >= len(x))
            return [o[: len(x)] for o in self._run(x, size, n_out)]
        parts: list[list[np.ndarray]] = []
        for i in range(0, len(x), top):
            xb = x[i : i + top]
            size = next(s for s in self.sizes if s >= len(xb))
            parts.append([o[: len(xb)] for o in self._run(xb, size, n_out)])
        return [np.concatenate([p[k] for p in parts]) for k in range(n_out)]


def _timer(session):
    """CUDA events on the compute stream ONNX Runtime was given (user_compute_stream), where cuda-python is here."""
    opts = session.get_provider_options().get("CUDAExecutionProvider", {})
    ptr = int(opts.get("user_compute_stream") or 0)
    if not ptr:
        return None
    try:
        rt = _rt()
    except DrsnEdgeError:  # no cuda-python: no GPU timing
        return None
    s = Stream.__new__(Stream)
    s.rt, s.handle = rt, ptr
    return EventTimer(s)
