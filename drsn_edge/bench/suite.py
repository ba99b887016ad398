"""``drsn-edge bench``: every format side by side in one run, plus streaming and roofline context."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from drsn_edge.bench.flops import count_flops
from drsn_edge.bench.formats import Format, build_formats
from drsn_edge.bench.timing import measure


@dataclass
class BenchOptions:
    checkpoint: str
    out_dir: str = "bench-out"
    quick: bool = False
    batch: int = 64
    threads: int = 1
    snrs: list[float | None] = field(default_factory=lambda: [-6.0, -4.0, -2.0, 0.0, 2.0, 4.0, None])
    noise_types: tuple[str, ...] = ("gaussian", "laplacian", "pink")
    max_windows: int | None = None
    stream_channels: tuple[int, ...] = (1, 4, 16)
    stream_fs: float = 48000.0
    floor_accuracy: float | None = None  # clean test accuracy, fraction, every ok format
    floor_latency_ms: float | None = None  # batch-1 median, every ok CPU format
    data_spec: Any = None

    def apply_quick(self) -> None:
        self.snrs, self.noise_types, self.max_windows = [-4.0, 0.0, None], ("gaussian",), 256
        self.stream_channels = (1, 4)


def _backend(f: Format, threads: int):
    if f.kind == "pytorch":
        import torch

        torch.set_num_threads(threads)
        from drsn_edge.export.torch_backend import TorchBackend

        return TorchBackend(f.path)
    from drsn_edge.runtime.loader import open_model
    from drsn_edge.runtime.providers import ProviderSettings

    be, _ = open_model(f.path, ProviderSettings(provider=f.kind if f.kind != "engine" else "cpu", intra_op_threads=threads,
                                                **f.settings))
    return be


def _probe(f: Format, batch: int, threads: int) -> dict[str, float]:
    """Cold start (process start -> first result) and peak RSS, in a fresh process."""
    kind = "pytorch" if f.kind == "pytorch" else ("cpu" if f.kind == "engine" else f.kind)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    t0 = time.time()
    p = subprocess.run([sys.executable, "-m", "drsn_edge.bench.probe", kind, f.path, str(batch), str(threads)],
                       capture_output=True, text=True, env=env, timeout=300)
    if p.returncode != 0:
        return {"error": p.stderr.strip().splitlines()[-1][:200] if p.stderr.strip() else f"exit {p.returncode}"}
    r = json.loads(p.stdout.strip().splitlines()[-1])
    return {"cold_start_s": r["first_result_unix"] - t0, "peak_rss_mib": r["peak_rss_mib"]}


def single_core_peak() -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-m", "drsn_edge.bench.probe", "sgemm", "-", "1", "1"], capture_output=True,
                       text=True, env=env, timeout=120)
    return json.loads(p.stdout.strip().splitlines()[-1])["gflops"]


def streaming_section(onnx: str, opts: BenchOptions, log) -> dict[str, Any]:
    """Real-time factor for C channels at F Hz on ``threads`` cores, channels sustained, latency, overhead."""
    from drsn_edge.data.simulator import simulate_bearing
    from drsn_edge.runtime import StreamConfig, StreamRunner, open_model
    from drsn_edge.runtime.providers import ProviderSettings
    from drsn_edge.runtime.sources import ArraySource

    class Null:
        def emit(self, r):
            pass

        def close(self):
            pass

    def runner(x, fs, realtime=False, **cfg):
        be, md = open_model(onnx, ProviderSettings(intra_op_threads=opts.threads))
        be.activate()
        r = StreamRunner(be, md, ArraySource(x, fs, block=int(fs // 50), realtime=realtime), [Null()], StreamConfig(**cfg))
        return r.run(handle_signals=False), md

    seconds = 5.0 if opts.quick else 20.0
    base = simulate_bearing("outer_race", fs=opts.stream_fs, duration=seconds, seed=0, resonance_band=(1500, 5000))
    rtf = {}
    for c in opts.stream_channels:
        s, md = runner(np.tile(base, (c, 1)), opts.stream_fs)
        rtf[c] = s["real_time_factor"]
        log(f"streaming {c} channel(s) at {opts.stream_fs / 1000:g} kHz: real-time factor {rtf[c]:.1f}x")
    c_max = max(rtf)
    sustained = int(c_max * rtf[c_max])  # linear in channels: per-window work dominates
    live, _ = runner(np.tile(base[: int(opts.stream_fs * (3 if opts.quick else 10))], (4, 1)), opts.stream_fs, realtime=True)
    # per-window cost of the runtime vs a bare InferenceSession.run on the same windows (model rate, batch 1)
    x12 = simulate_bearing("ball", fs=md.sample_rate, duration=(150 if opts.quick else 500) * md.window / md.sample_rate,
                           seed=1)
    s1, _ = runner(x12, md.sample_rate, hop=md.window, batch_size=1, max_latency_s=0.0)
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = opts.threads
    sess = ort.InferenceSession(onnx, so, providers=["CPUExecutionProvider"])
    wins = x12[: len(x12) // md.window * md.window].reshape(-1, 1, md.window)
    for w in wins[:5]:
        sess.run(None, {md.input_name: w[None]})
    t0 = time.perf_counter()
    for w in wins:
        sess.run(None, {md.input_name: w[None]})
    bare_ms = (time.perf_counter() - t0) / len(wins) * 1e3
    runtime_ms = s1["wall_seconds"] / s1["processed"] * 1e3
    return {
        "input_rate_hz": opts.stream_fs, "threads": opts.threads,
        "real_time_factor": {str(c): v for c, v in rtf.items()},
        "channels_sustained_estimate": sustained,
        "live_replay_4ch": {"latency_ms": live["latency_ms"], "windows": live["processed"], "dropped": live["dropped"]},
        "per_window": {"runtime_ms": runtime_ms, "bare_session_run_ms": bare_ms, "ratio": runtime_ms / bare_ms,
                       "overhead_ms": runtime_ms - bare_ms, "windows": s1["processed"]},
    }


def run_bench(opts: BenchOptions, log=print) -> dict[str, Any]:
    from drsn_edge.data.dataset import DataSpec, load_dataset
    from drsn_edge.evaluation.grid import evaluate_grid
    from drsn_edge.training.checkpoint import read_checkpoint

    t_start = time.perf_counter()
    if opts.quick:
        opts.apply_quick()
    out = Path(opts.out_dir)
    md, _ = read_checkpoint(opts.checkpoint)
    spec = opts.data_spec or DataSpec.from_dict(md.data)
    log(f"building formats from {opts.checkpoint} ...")
    formats = build_formats(opts.checkpoint, out / "models", opts.data_spec, 128 if opts.quick else 256, log=log)
    ds = load_dataset(spec, min_samples=md.window)
    x, y = ds.windows("test", md.window, md.hop)
    if opts.max_windows and len(x) > opts.max_windows:
        idx = np.random.default_rng(0).permutation(len(x))[: opts.max_windows]
        x, y = x[idx], y[idx]
    flops = None
    peak = single_core_peak()
    rows = []
    for f in formats:
        row: dict[str, Any] = {"format": f.name, "status": f.status}
        rows.append(row)
        if not f.ok:
            log(f"{f.name}: {f.status}")
            continue
        log(f"{f.name}: accuracy, latency, memory ...")
        try:
            be = _backend(f, opts.threads)
            be.activate()
            row["size_kib"] = Path(f.path).stat().st_size / 1024
            if f.path.endswith(".onnx") and flops is None:
                flops = count_flops(f.path)

            def predict(a: np.ndarray, be=be) -> np.ndarray:
                return np.concatenate([be.infer(a[i : i + opts.batch]) for i in range(0, len(a), opts.batch)])

            grid = evaluate_grid(predict, x, y, md.class_names, opts.noise_types, opts.snrs, seed=0)
            row["accuracy"] = {(c["noise"] if c["snr_db"] is None else f"{c['noise']} {c['snr_db']:g} dB"): c["accuracy"]
                               for c in grid["results"]}
            row["accuracy_overall"] = float(np.mean(list(row["accuracy"].values())))
            row["latency_b1"] = measure(lambda be=be: be.infer(x[:1]), 1, min_seconds=0.5 if opts.quick else 2.0)
            row["latency_bN"] = measure(lambda be=be: be.infer(x[: opts.batch]), opts.batch, min_calls=10,
                                        min_seconds=0.5 if opts.quick else 2.0)
            be.close()
            if flops:
                row["gflops_achieved_bN"] = flops * opts.batch / (row["latency_bN"]["median_ms"] / 1e3) / 1e9
                row["fraction_of_single_core_peak"] = row["gflops_achieved_bN"] / peak / max(1, opts.threads)
            row.update(_probe(f, 1, opts.threads))
        except Exception as exc:
            row["status"] = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            log(f"{f.name}: {row['status']}")
    ok = {r["format"]: r for r in rows if r["status"] == "ok"}
    ratios = {}

    def ratio(a: str, b: str, key: str) -> float | None:
        return ok[a][key]["median_ms"] / ok[b][key]["median_ms"] if a in ok and b in ok else None

    ratios["pytorch_over_onnx_fp32_latency_b1"] = ratio("pytorch-eager", "onnx-fp32", "latency_b1")
    ratios["pytorch_over_onnx_optimized_latency_b1"] = ratio("pytorch-eager", "onnx-optimized", "latency_b1")
    ratios["int8_over_fp32_latency_bN"] = ratio("onnx-int8", "onnx-optimized", "latency_bN")
    ratios["int8_over_fp32_latency_b1"] = ratio("onnx-int8", "onnx-optimized", "latency_b1")
    stream = None
    if "onnx-optimized" in ok:
        log("streaming ...")
        stream = streaming_section(next(f.path for f in formats if f.name == "onnx-optimized"), opts, log)
        ratios["runtime_over_bare_session_per_window"] = stream["per_window"]["ratio"]
    report = {
        "checkpoint": opts.checkpoint, "model": md.model, "data": spec.to_dict(), "test_windows": int(len(y)),
        "batch": opts.batch, "threads": opts.threads, "quick": opts.quick, "flops_per_window": flops,
        "single_core_sgemm_gflops": peak, "formats": rows, "ratios": ratios, "streaming": stream,
        "machine": machine_info(), "seconds": time.perf_counter() - t_start,
    }
    report["floors"] = check_floors(report, opts)
    return report


def check_floors(report: dict[str, Any], opts: BenchOptions) -> dict[str, Any]:
    failures = []
    for r in report["formats"]:
        if r["status"] != "ok":
            continue
        clean = r["accuracy"].get("clean")
        if opts.floor_accuracy is not None and clean is not None and clean < opts.floor_accuracy:
            failures.append(f"{r['format']}: clean accuracy {100 * clean:.2f} % < {100 * opts.floor_accuracy:.2f} %")
        lat = r["latency_b1"]["median_ms"]
        if opts.floor_latency_ms is not None and lat > opts.floor_latency_ms:
            failures.append(f"{r['format']}: batch-1 median {lat:.3f} ms > {opts.floor_latency_ms:g} ms")
    return {"accuracy": opts.floor_accuracy, "latency_ms": opts.floor_latency_ms, "failures": failures,
            "passed": not failures}


def machine_info() -> dict[str, Any]:
    import onnxruntime as ort

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "onnxruntime": ort.__version__, "platform": platform.platform()}
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        pass
    from drsn_edge.runtime.gpu import gpu_info

    info["gpu"] = gpu_info()
    return info
