"""``drsn-edge bench``: every format side by side in one run, built by the export job (one path), timed in
interleaved rounds; plus the streaming runtime's overhead and capacity, and roofline context."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from drsn_edge.bench.flops import count_flops
from drsn_edge.bench.machine import machine_info
from drsn_edge.bench.streaming import capacity, provider_comparison, runtime_overhead, stream_command
from drsn_edge.bench.targets import Target, open_target, plan_targets
from drsn_edge.bench.timing import interleaved, ratio
from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.data.simulator import simulate_bearing
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.evaluation.grid import evaluate_grid
from drsn_edge.evaluation.job import model_outputs, test_alarms
from drsn_edge.modelfile.checkpoint import read_checkpoint_description
from drsn_edge.runtime.backends.openvino_backend import openvino_available
from drsn_edge.runtime.cpu_features import has_vnni
from drsn_edge.runtime.gpu import gpu_info, no_gpu_reason
from drsn_edge.runtime.providers import provider_status


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
    rounds: int = 7
    stream_rates: tuple[float, ...] = (12000.0, 48000.0)
    capacity: bool = True
    streaming: bool = True  # the streaming section (runtime overhead, drsn-edge stream, capacity)
    probes: bool = True  # cold start and peak memory, each in a fresh process
    stream_channels: int = 64
    floor_accuracy: float | None = None  # clean test accuracy, fraction, every ok format
    floor_latency_ms: float | None = None  # batch-1 median, every ok CPU format
    data_spec: Any = None
    export_report: dict[str, Any] | None = None  # files an export job already wrote (default: export here)

    def apply_quick(self) -> None:
        self.snrs, self.noise_types, self.max_windows = [-4.0, 0.0, None], ("gaussian",), 256
        self.rounds, self.capacity, self.stream_channels = 3, False, 8


def _probe(t: Target, batch: int, threads: int) -> dict[str, float]:
    """Cold start (process start -> first result) and peak RSS, in a fresh process."""
    kind = {"pytorch": "pytorch", "engine": "cpu"}.get(t.provider, t.provider)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    t0 = time.time()
    p = subprocess.run([sys.executable, "-m", "drsn_edge.bench.probe", kind, t.path, str(batch), str(threads)],
                       capture_output=True, text=True, env=env, timeout=300)
    if p.returncode != 0:
        return {"probe_error": p.stderr.strip().splitlines()[-1][:200] if p.stderr.strip() else f"exit {p.returncode}"}
    r = json.loads(p.stdout.strip().splitlines()[-1])
    return {"cold_start_s": r["first_result_unix"] - t0, "peak_rss_mib": r["peak_rss_mib"]}


def single_core_peak() -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-m", "drsn_edge.bench.probe", "sgemm", "-", "1", "1"], capture_output=True,
                       text=True, env=env, timeout=120)
    return json.loads(p.stdout.strip().splitlines()[-1])["gflops"]


def _export(opts: BenchOptions, out: Path, gpu_ok: bool, log) -> dict[str, Any]:
    from drsn_edge.export.pipeline import ExportOptions, export_all

    trt = ("fp32", "fp16", "int8") if gpu_ok else ()
    return export_all(opts.checkpoint, out / "model.onnx",
                      ExportOptions(fp16=True, int8=True, trt=trt, calibration_windows=128 if opts.quick else 256,
                                    openvino=openvino_available() is None,
                                    data_spec=opts.data_spec, calib_spec=opts.data_spec),  # data given: calibrate on it
                      log=lambda s: log("  " + s))


def run_bench(opts: BenchOptions, log=print) -> dict[str, Any]:
    t_start = time.perf_counter()
    if opts.quick:
        opts.apply_quick()
    out = Path(opts.out_dir)
    md = read_checkpoint_description(opts.checkpoint)
    gpu = gpu_info()
    providers = {p: provider_status(p)[1] for p in ("cuda", "tensorrt")} if gpu else \
        {p: no_gpu_reason() for p in ("cuda", "tensorrt")}
    trt_reason = None if gpu else no_gpu_reason()
    if gpu:
        try:
            import tensorrt  # noqa: F401
        except ImportError:
            trt_reason = "the tensorrt Python package is not installed"
    report_export = opts.export_report
    if report_export is None:
        log(f"exporting every format from {opts.checkpoint} (the export job) ...")
        report_export = _export(opts, out / "models", trt_reason is None, log)
    targets = plan_targets(opts.checkpoint, report_export, out / "models", trt_reason, providers)
    spec = opts.data_spec or DataSpec.from_dict(md.data)
    ds, ws, keep = None, None, None
    try:
        ds = load_dataset(DataSpec(spec.source, spec.options, md.sample_rate, spec.split, spec.seed), min_samples=md.window)
        ws = ds.window_set("test", md.window, md.hop)
        x, y = ws.x, ws.y
        data_note = f"{spec.describe()}, {spec.split.kind} split, test part"
    except DrsnEdgeError as exc:  # latency and memory still mean something without the data
        from drsn_edge.export.verify import verification_windows

        x, y = verification_windows(md, None, 512)[0], None
        data_note = f"no accuracy: {exc}"
        log(f"accuracy skipped: {exc}")
    if opts.max_windows and len(x) > opts.max_windows:
        keep = np.random.default_rng(0).permutation(len(x))[: opts.max_windows]
        x, y = x[keep], (y[keep] if y is not None else None)
    flops = count_flops(next(t.path for t in targets if t.format == "onnx-fp32" and t.path))
    peak = single_core_peak()
    rows: dict[str, dict[str, Any]] = {}
    backends = {}
    for t in targets:
        row: dict[str, Any] = {"format": t.name, "file": t.format, "provider": t.provider, "status": t.status,
                               "path": t.path, "precision": t.settings.get("precision", "f32")}
        rows[t.name] = row
        if not t.ok:
            log(f"{t.name}: {t.status}")
            continue
        log(f"{t.name}: accuracy ...")
        try:
            be = open_target(t, opts.threads)
            be.activate()
            row["size_kib"] = Path(t.path).stat().st_size / 1024

            if y is not None:
                # every test window once, clean: the grid's clean cell and the alarms both read these outputs
                logits, extra = model_outputs(be.infer_all, ws.x, opts.batch)
                clean = logits if keep is None else logits[keep]

                def predict(a: np.ndarray, be=be, clean=clean) -> np.ndarray:
                    if a is x:  # the grid's clean cell
                        return clean
                    return np.concatenate([be.infer(a[i : i + opts.batch]) for i in range(0, len(a), opts.batch)])

                grid = evaluate_grid(predict, x, y, md.class_names, opts.noise_types, opts.snrs, seed=0)
                row["accuracy"] = {(c["noise"] if c["snr_db"] is None else f"{c['noise']} {c['snr_db']:g} dB"): c["accuracy"]
                                   for c in grid["results"]}
                row["balanced_accuracy_clean"] = next(c["balanced_accuracy"] for c in grid["results"] if c["snr_db"] is None)
                row["accuracy_overall"] = float(np.mean(list(row["accuracy"].values())))
                try:  # what a plant lives with: the test recordings streamed whole, through the runtime's decisions
                    row["alarms"] = test_alarms(ds, md, be.infer_all, computed=(ws, logits, extra))
                except Exception as exc:  # the accuracy above stands without them
                    row["alarms"] = {"failed": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
            backends[t.name] = be
        except Exception as exc:  # report, never abort the whole benchmark
            row["status"] = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            log(f"{t.name}: {row['status']}")
    log(f"timing {len(backends)} formats in {opts.rounds} interleaved rounds ...")
    for be in backends.values():  # as a stream warms them (OpenVINO compiles the batch size with the batch fixed)
        if hasattr(be, "warm"):
            be.warm(opts.batch, x.shape[1], x.shape[2])
    b1 = interleaved({n: (lambda be=be: be.infer(x[:1])) for n, be in backends.items()}, rounds=opts.rounds,
                     calls=50 if opts.quick else 100, batch=1)
    bn = interleaved({n: (lambda be=be: be.infer(x[: opts.batch])) for n, be in backends.items()},
                     rounds=opts.rounds, calls=5 if opts.quick else 10, batch=opts.batch)
    for n, be in backends.items():
        rows[n]["latency_b1"], rows[n]["latency_bN"] = b1[n], bn[n]
        rows[n].update(gpu_time(be, x, opts.batch))
        rows[n]["gflops_achieved_bN"] = flops * opts.batch / (bn[n]["median_ms"] / 1e3) / 1e9
        rows[n]["fraction_of_single_core_peak"] = rows[n]["gflops_achieved_bN"] / peak / max(1, opts.threads)
        be.close()
    for t in targets:
        if rows[t.name]["status"] == "ok" and opts.probes:
            rows[t.name].update(_probe(t, 1, opts.threads))
    ratios = {
        "pytorch_over_onnx_fp32_b1": ratio(b1, "pytorch-eager", "onnx-fp32"),
        "fp32_over_int8_bN": ratio(bn, "onnx-fp32", "onnx-int8"),
        "fp32_over_int8_b1": ratio(b1, "onnx-fp32", "onnx-int8"),
        "fp32_over_fp16_bN": ratio(bn, "onnx-fp32", "onnx-fp16"),
        "cpu_over_cuda_graph_b1": ratio(b1, "onnx-fp32", "ort-cuda-graph-fp32"),
        "cpu_over_cuda_graph_bN": ratio(bn, "onnx-fp32", "ort-cuda-graph-fp32"),
    }
    int8 = next((t for t in targets if t.name == "onnx-int8" and t.ok), None)
    stream = streaming_section(next(t.path for t in targets if t.name == "onnx-fp32"), md, opts, log,
                               cuda=providers.get("cuda") == "ok") if opts.streaming else None
    report = {
        "checkpoint": opts.checkpoint, "model": md.model, "data": data_note, "test_windows": int(len(x)),
        "training_split": ((md.data or {}).get("split") or {}).get("kind"),
        "trained_on_all": float((((md.data or {}).get("split") or {}).get("fractions") or [0, 0, 1])[2]) == 0
        and spec.source == (md.data or {}).get("source"),
        "batch": opts.batch, "threads": opts.threads, "rounds": opts.rounds, "quick": opts.quick,
        "flops_per_window": flops, "single_core_sgemm_gflops": peak, "formats": list(rows.values()), "ratios": ratios,
        "int8_scheme": (report_export.get("int8") or {}).get("scheme") if int8 else None, "streaming": stream,
        "machine": machine_info(opts.threads), "seconds": time.perf_counter() - t_start,
    }
    report["int8_note"] = int8_note(report)
    report["floors"] = check_floors(report, opts)
    return report


def gpu_time(be, x: np.ndarray, batch: int, calls: int = 50) -> dict[str, float]:
    """GPU time per call from CUDA events (as trtexec reports it beside host latency), in a pass of its own so that
    the host latencies above carry no timing calls."""
    if not getattr(be, "can_time_gpu", False):
        return {}
    be.time_gpu = True
    out = {}
    for key, size in (("gpu_ms_b1", 1), ("gpu_ms_bN", batch)):
        ms = []
        for _ in range(calls):
            be.infer(x[:size])
            if be.last_gpu_ms is not None:
                ms.append(be.last_gpu_ms)
        if ms:
            out[key] = float(np.median(ms))
    be.time_gpu = False
    return out


def int8_note(report: dict[str, Any]) -> str:
    """Why INT8 is (not) faster here, in one sentence."""
    r = report["ratios"].get("fp32_over_int8_bN")
    if r is None:
        return "no INT8 model (no calibration data)"
    speed = f"INT8 is {r['median']:.2f}x FP32 at batch {report['batch']}"
    if has_vnni():
        return speed + " (VNNI CPU: U8S8 kernels)"
    return (speed + "; this CPU has no VNNI (AVX2 only): ONNX Runtime's U8S8 kernels use vpmaddubsw with 16-bit "
            "accumulation and reduced-range weights, which gains little over FP32 FMA")


def streaming_section(onnx: str, md, opts: BenchOptions, log, cuda: bool = False) -> dict[str, Any]:
    base12 = simulate_bearing("outer_race", fs=md.sample_rate, duration=4.0, seed=0, resonance_band=(1500, 5000))
    log("streaming: runtime per window vs bare session.run ...")
    over = runtime_overhead(onnx, base12, md.sample_rate, md.window, channels=8, batch=opts.batch,
                            seconds=4.0 if opts.quick else 60.0, rounds=2 if opts.quick else 5, threads=1)
    res: dict[str, Any] = {"overhead": over}
    log(f"streaming: {opts.stream_channels} channels through drsn-edge stream ...")
    res["stream_command"] = stream_command(onnx, base12, md.sample_rate, opts.stream_channels, 4.0 if opts.quick else 30.0,
                                           rounds=1 if opts.quick else 5)
    if cuda:
        log(f"streaming: {opts.stream_channels} channels, CPU vs CUDA provider, interleaved ...")
        res["providers"] = provider_comparison(
            onnx, base12, md.sample_rate, opts.stream_channels, 10.0 if opts.quick else 60.0,
            {"cpu": (), "cuda": ("--provider", "cuda"), "cuda-graph": ("--provider", "cuda", "--cuda-graph")},
            rounds=2 if opts.quick else 3)
    if opts.capacity:
        res["capacity"] = {}
        for fs in opts.stream_rates:
            base = simulate_bearing("outer_race", fs=fs, duration=4.0, seed=0, resonance_band=(1500, 5000))
            log(f"streaming: channels sustained in real time on one core at {fs / 1000:g} kHz ...")
            res["capacity"][f"{fs:g}"] = capacity(onnx, base, fs, seconds=8.0, log=log)
    return res


def check_floors(report: dict[str, Any], opts: BenchOptions) -> dict[str, Any]:
    failures = []
    for r in report["formats"]:
        if r["status"] != "ok":
            continue
        clean = r.get("accuracy", {}).get("clean")
        if opts.floor_accuracy is not None and clean is not None and clean < opts.floor_accuracy:
            failures.append(f"{r['format']}: clean accuracy {100 * clean:.2f} % < {100 * opts.floor_accuracy:.2f} %")
        lat = r["latency_b1"]["median_ms"]
        if opts.floor_latency_ms is not None and lat > opts.floor_latency_ms and r["provider"] != "pytorch":
            failures.append(f"{r['format']}: batch-1 median {lat:.3f} ms > {opts.floor_latency_ms:g} ms")
    return {"accuracy": opts.floor_accuracy, "latency_ms": opts.floor_latency_ms, "failures": failures,
            "passed": not failures}


__all__ = ["BenchOptions", "run_bench"]
