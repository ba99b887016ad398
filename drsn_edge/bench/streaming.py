"""The streaming runtime, measured: its cost per window beside a bare ``InferenceSession.run`` (interleaved rounds),
the most channels it sustains in real time on one core (paced input, bisected), and many channels through the
``drsn-edge stream`` command itself."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from drsn_edge.runtime import StreamConfig, StreamRunner, open_model
from drsn_edge.runtime.providers import ProviderSettings, make_session
from drsn_edge.runtime.sources.base import Chunk, Pacer, SourceStats


class Null:
    """A sink that takes nothing per window (like --alarms-only --jsonl none)."""

    windows = False

    def emit(self, record: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


class CycleSource:
    """``channels`` copies (shifted) of a short base signal, ``seconds`` long, made block by block (no big array)."""

    live = False

    def __init__(self, base: np.ndarray, fs: float, channels: int, seconds: float, block: int, realtime: bool) -> None:
        self.base = np.asarray(base, np.float32)
        self.fs, self.channels, self.block = fs, channels, block
        self.total = int(seconds * fs)
        self.pacer = Pacer(fs, realtime)
        self.stats = SourceStats()
        self.offsets = (np.arange(channels) * 997) % len(self.base)
        self.name = "cycle"
        self._stopping = False

    def chunks(self) -> Iterator[Chunk]:
        n = len(self.base)
        wrapped = np.concatenate([self.base, self.base[: self.block + 1]])
        pos = 0
        while pos < self.total and not self._stopping:
            k = min(self.block, self.total - pos)
            starts = (self.offsets + pos) % n
            x = wrapped[starts[:, None] + np.arange(k)]  # (channels, k)
            self.pacer.wait(k)
            self.stats.samples += k
            yield Chunk(x)
            pos += k

    def stop(self) -> None:
        self._stopping = True

    def close(self) -> None:
        pass


def _session(onnx: str, threads: int):
    return make_session(onnx, ProviderSettings(intra_op_threads=threads, streaming=True))


def _run(onnx: str, source, threads: int, **cfg) -> dict[str, Any]:
    be, md = open_model(onnx, ProviderSettings(intra_op_threads=threads, streaming=True))
    be.activate()
    try:
        return StreamRunner(be, md, source, [Null()], StreamConfig(**cfg)).run(handle_signals=False)
    finally:
        be.close()


def runtime_overhead(onnx: str, base: np.ndarray, fs: float, window: int, channels: int = 8, batch: int = 16,
                     seconds: float = 20.0, rounds: int = 5, threads: int = 1) -> dict[str, Any]:
    """Per-window wall time of the runtime (reading, resampling, windowing, checks, decisions) vs a bare
    ``session.run`` on batches of the same size, in interleaved rounds."""
    sess = _session(onnx, threads)
    name = sess.get_inputs()[0].name
    runtime_ms, bare_ms, model_ms = [], [], []
    w = np.lib.stride_tricks.sliding_window_view(base, window)[:: window // 2].astype(np.float32)[:, None]
    x = np.concatenate([w] * (-(-2 * batch // len(w))))  # at least two full batches of real windows
    for _ in range(rounds):
        s = _run(onnx, CycleSource(base, fs, channels, seconds, int(fs // 50), False), threads, batch_size=batch,
                 max_latency_s=0.05)
        runtime_ms.append(s["wall_seconds"] / s["processed"] * 1e3)
        model_ms.append(s["infer_seconds"] / s["processed"] * 1e3)
        n_calls = max(1, s["processed"] // batch)
        t0 = time.perf_counter()
        for i in range(n_calls):
            j = (i * batch) % (len(x) - batch + 1)
            sess.run(None, {name: x[j : j + batch]})
        bare_ms.append((time.perf_counter() - t0) / (n_calls * batch) * 1e3)
    r = np.array(runtime_ms) / np.array(bare_ms)
    own = np.array(runtime_ms) / np.array(model_ms)
    return {"batch": batch, "channels": channels, "threads": threads, "rounds": rounds,
            "runtime_ms_per_window": float(np.median(runtime_ms)), "bare_ms_per_window": float(np.median(bare_ms)),
            "ratio": {"median": float(np.median(r)), "min": float(r.min()), "max": float(r.max())},
            # the runtime's wall time over its own time inside the model: what it adds beyond a slower model call
            "ratio_to_own_inference": {"median": float(np.median(own)), "min": float(own.min()), "max": float(own.max())},
            "model_ms_per_window_in_runtime": float(np.median(model_ms)),
            "rounds_runtime_ms": runtime_ms, "rounds_bare_ms": bare_ms, "rounds_model_ms": model_ms}


@contextlib.contextmanager
def one_core() -> Iterator[int | None]:
    """Pin this process (every thread) to one CPU for the duration."""
    if not hasattr(os, "sched_getaffinity"):
        yield None
        return
    before = os.sched_getaffinity(0)
    cpu = max(before)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, before)


def sustains(onnx: str, base: np.ndarray, fs: float, channels: int, seconds: float) -> tuple[bool, dict[str, Any]]:
    """Real time with ``channels`` paced channels: no window dropped, and done within 1 s of the input's end."""
    s = _run(onnx, CycleSource(base, fs, channels, seconds, int(fs // 20), True), 1, policy="drop-oldest",
             queue_size=4 * channels + 64, max_latency_s=0.05, batch_size=64)
    ok = s["dropped"] == 0 and s["wall_seconds"] <= seconds + 1.0
    return ok, {"channels": channels, "dropped": s["dropped"], "wall_s": round(s["wall_seconds"], 2),
                "latency_p99_ms": round(s["latency_ms"]["p99"], 1), "sustained": ok}


def capacity(onnx: str, base: np.ndarray, fs: float, seconds: float = 8.0, limit: int = 4096,
             log=print) -> dict[str, Any]:
    """The largest channel count sustained in real time on one core: doubling, then bisection."""
    trials = []
    with one_core() as cpu:
        lo, hi = 0, None
        n = 1
        while hi is None and n <= limit:
            ok, info = sustains(onnx, base, fs, n, seconds)
            trials.append(info)
            log(f"  {fs / 1000:g} kHz, {n} channel(s): {'real time' if ok else 'falls behind'}")
            if ok:
                lo, n = n, n * 2
            else:
                hi = n
        hi = hi or lo + 1
        while hi - lo > max(1, lo // 32):  # to ~3 %
            mid = (lo + hi) // 2
            ok, info = sustains(onnx, base, fs, mid, seconds)
            trials.append(info)
            log(f"  {fs / 1000:g} kHz, {mid} channel(s): {'real time' if ok else 'falls behind'}")
            lo, hi = (mid, hi) if ok else (lo, mid)
    return {"input_rate_hz": fs, "channels": lo, "cpu": cpu, "seconds_per_trial": seconds, "trials": trials}


def _channels_file(path: str, base: np.ndarray, fs: float, channels: int, seconds: float) -> None:
    n = int(seconds * fs)
    x = np.stack([np.roll(np.resize(base, n), 997 * c) for c in range(channels)]).astype(np.float32)
    np.save(path, x)


def _stream_file(onnx: str, npy: str, fs: float, threads: int = 1, batch: int | None = None,
                 extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """``drsn-edge stream`` on a multi-channel .npy file (``threads`` inference threads): its own summary."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "drsn_edge", "stream", onnx, npy, "--fs", str(fs), "--threads", str(threads),
               "--alarms-only", "--jsonl", f"{tmp}/o.jsonl", *(["--batch-size", str(batch)] if batch else []), *extra]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if p.returncode not in (0, 1):
            return {"error": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"}
        s = json.loads(open(f"{tmp}/o.jsonl").read().splitlines()[-1])
    return {"threads": threads, "batch": batch, "options": list(extra), "stream_seconds": s["stream_seconds"],
            "wall_seconds": s["wall_seconds"], "real_time_factor": s["real_time_factor"], "processed": s["processed"],
            "dropped": s["dropped"]}


def stream_command(onnx: str, base: np.ndarray, fs: float, channels: int, seconds: float, threads: int = 1,
                   batch: int | None = None, rounds: int = 3) -> dict[str, Any]:
    """``drsn-edge stream`` on a ``channels``-channel .npy file (one inference thread), ``rounds`` times: the
    median run's summary, with every run's real-time factor."""
    with tempfile.TemporaryDirectory() as tmp:
        _channels_file(f"{tmp}/x.npy", base, fs, channels, seconds)
        runs = [_stream_file(onnx, f"{tmp}/x.npy", fs, threads, batch) for _ in range(rounds)]
    if any("error" in r for r in runs):
        return {"channels": channels, "input_rate_hz": fs, **next(r for r in runs if "error" in r)}
    factors = [r["real_time_factor"] for r in runs]
    median = sorted(runs, key=lambda r: r["real_time_factor"])[len(runs) // 2]
    return {"channels": channels, "input_rate_hz": fs, **median, "rounds": rounds,
            "real_time_factor_rounds": factors, "real_time_factor_min": min(factors),
            "real_time_factor_max": max(factors)}


def provider_comparison(onnx: str, base: np.ndarray, fs: float, channels: int, seconds: float,
                        variants: dict[str, tuple[str, ...]], rounds: int = 2) -> dict[str, Any]:
    """``drsn-edge stream`` on one ``channels``-channel file with each set of options in turn (interleaved rounds):
    real-time factor per variant, and each variant's factor over the first one's, round by round."""
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in variants}
    with tempfile.TemporaryDirectory() as tmp:
        _channels_file(f"{tmp}/x.npy", base, fs, channels, seconds)
        for _ in range(rounds):
            for name, extra in variants.items():
                runs[name].append(_stream_file(onnx, f"{tmp}/x.npy", fs, 1, None, extra))
    first = next(iter(variants))
    out: dict[str, Any] = {"channels": channels, "input_rate_hz": fs, "seconds": seconds, "rounds": rounds,
                           "variants": {}}
    for name, rs in runs.items():
        errors = [r["error"] for r in rs if "error" in r]
        if errors:
            out["variants"][name] = {"error": errors[0], "options": list(variants[name])}
            continue
        rtf = [r["real_time_factor"] for r in rs]
        v = {"options": list(variants[name]), "real_time_factor": float(np.median(rtf)), "rounds_rtf": rtf,
             "processed": rs[0]["processed"], "dropped": max(r["dropped"] for r in rs)}
        if name != first and "error" not in out["variants"].get(first, {}):
            per = [a / b for a, b in zip(rtf, out["variants"][first]["rounds_rtf"])]
            v["over_" + first] = {"median": float(np.median(per)), "min": float(min(per)), "max": float(max(per))}
        out["variants"][name] = v
    return out
