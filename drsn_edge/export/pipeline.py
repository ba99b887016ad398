"""The export job: checkpoint -> ONNX (optimized) -> parity check -> FP16 / INT8 -> TensorRT engines.

Every file is written under a temporary name beside its destination and moved into place only when every
requested step has succeeded: a failed export leaves nothing that looks like a result.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.evaluation.torch_backend import TorchBackend
from drsn_edge.export.calibration import calibration_data, calibration_windows, validation_set
from drsn_edge.export.formats import ExportFormat, get_format
from drsn_edge.export.onnx_export import DEFAULT_THRESHOLD_MODE, export_onnx, prepare_output_path
from drsn_edge.export.optimize import op_histogram, optimize_onnx
from drsn_edge.export.quantize import quantize_fp16, quantize_int8
from drsn_edge.export.tensorrt_build import TRT_PRECISIONS, build_engine
from drsn_edge.export.triton import model_name, onnx_input_dtype, write_repository
from drsn_edge.export.verify import verify
from drsn_edge.modelfile import read_description
from drsn_edge.modelfile.checkpoint import CheckpointFile, read_checkpoint_file
from drsn_edge.modelfile.engine import sidecar_path
from drsn_edge.models.checkpoint import load_checkpoint
from drsn_edge.runtime.gpu import gpu_info, no_gpu_reason


@dataclass
class ExportOptions:
    opset: int = 17
    threshold_mode: str | None = None  # None: the default decomposition
    optimize: bool = True
    verify: bool = True
    fp16: bool = False
    fp16_keep_io_types: bool = True
    int8: bool = False
    calibration_windows: int = 256
    calibrate_method: str = "minmax"
    int8_target: str | None = None  # cpu | tensorrt; None: tensorrt when a TensorRT INT8 engine is asked for
    openvino: bool = False  # also the OpenVINO files: temporal convolutions as 1-D ones (and INT8 with ``int8``)
    max_accuracy_drop: float | None = 0.005  # fraction; None: quantize everything, no budget
    trt: tuple[str, ...] = ()  # TensorRT engine precisions
    trt_batch: tuple[int, int, int] = (1, 8, 64)
    data_spec: Any = None  # DataSpec overriding the checkpoint's, for parity windows
    calib_spec: Any = None  # DataSpec for INT8 calibration (default: the checkpoint's own data)
    triton: Any = None  # TritonOptions: also write a Triton model repository entry


class Staging:
    """Temporary names beside the final ones; ``commit`` renames them all, ``discard`` removes them."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(4)
        self.files: dict[Path, Path] = {}
        self.dirs: dict[Path, Path] = {}

    def path(self, final: Path) -> Path:
        tmp = final.with_name(f".{final.name}.{self.token}.partial")
        self.files[final] = tmp
        return tmp

    def dir(self, final: Path) -> Path:
        """A temporary folder that replaces ``final`` (a folder drsn-edge wrote before, or nothing) on commit."""
        tmp = final.with_name(f".{final.name}.{self.token}.partial")
        self.dirs[final] = tmp
        return tmp

    def commit(self) -> None:
        for final, tmp in self.files.items():
            if tmp.exists():
                os.replace(tmp, final)
            if sidecar_path(tmp).exists():
                os.replace(sidecar_path(tmp), sidecar_path(final))
        for final, tmp in self.dirs.items():
            old = final.with_name(f".{final.name}.{self.token}.old")
            if final.exists():
                os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        for tmp in self.files.values():
            for p in (tmp, sidecar_path(tmp)):
                if p.exists():
                    p.unlink()
        for tmp in self.dirs.values():
            shutil.rmtree(tmp, ignore_errors=True)


def export_all(
    checkpoint: str | Path | CheckpointFile, out: str | Path, opts: ExportOptions, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run the export job; returns a report with one entry per written file. The checkpoint is read once; its
    network and description are passed on to every step."""
    out = Path(out)
    if out.suffix != ".onnx":
        raise DrsnEdgeError(f"output {out} should end in .onnx")
    ckpt = checkpoint if isinstance(checkpoint, CheckpointFile) else read_checkpoint_file(checkpoint)
    prepare_output_path(out)
    if opts.trt:
        bad = [p for p in opts.trt if p not in TRT_PRECISIONS]
        if bad:
            raise DrsnEdgeError(f"unknown TensorRT precision {bad[0]!r}; choose from {', '.join(TRT_PRECISIONS)}")
        if "int8" in opts.trt and not opts.int8:
            raise DrsnEdgeError("--trt int8 needs the INT8 QDQ model: add --int8")
        if "int8" in opts.trt and opts.int8_target == "cpu":
            raise DrsnEdgeError("--trt int8 needs symmetric int8 (--int8-target tensorrt), not the CPU scheme")
        if gpu_info() is None:  # before any work: say so at once
            raise DrsnEdgeError(f"--trt builds a TensorRT engine: {no_gpu_reason()}")
    if opts.triton is not None:
        _check_triton(opts, out)
    stage = Staging()
    try:
        report = _export(ckpt, out, opts, stage, log)
        stage.commit()
    except BaseException:
        stage.discard()
        raise
    return report


def _export(ckpt: CheckpointFile, out: Path, opts: ExportOptions, stage: Staging, log: Callable[[str], None]) -> dict[str, Any]:
    mode = opts.threshold_mode or DEFAULT_THRESHOLD_MODE
    report: dict[str, Any] = {"checkpoint": str(ckpt.path), "files": []}
    model, _ = load_checkpoint(ckpt)

    def add(final: Path, fmt: str, **extra: Any) -> None:
        tmp = stage.files[final]
        entry = {"format": fmt, "path": str(final), "precision": get_format(fmt).precision,
                 "bytes": os.path.getsize(tmp), **extra}
        if final.suffix == ".onnx":
            entry["nodes"] = len(onnx.load(str(tmp)).graph.node)
        report["files"].append(entry)

    fp32 = stage.path(out)
    ov32 = stage.path(get_format("openvino-fp32").path(out)) if opts.openvino else None
    if opts.optimize:
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "raw.onnx"
            md = export_onnx(ckpt, raw, opset=opts.opset, threshold_mode=mode, final=out, model=model)
            stats = optimize_onnx(raw, fp32)
            if ov32 is not None:
                optimize_onnx(raw, ov32, convs_2d=False)
        log(f"exported {out} (opset {opts.opset}, soft threshold '{mode}'); optimized: "
            f"{stats['nodes_before']} -> {stats['nodes_after']} nodes")
        report["optimize"] = stats
    else:
        md = export_onnx(ckpt, fp32, opset=opts.opset, threshold_mode=mode, final=out, model=model)
        report["optimize"] = {"ops": op_histogram(onnx.load(str(fp32)))}
        log(f"exported {out} (opset {opts.opset}, soft threshold '{mode}')")
        if ov32 is not None:
            shutil.copyfile(fp32, ov32)  # not optimized: its convolutions are 1-D already
    add(out, "onnx-fp32")
    if ov32 is not None:
        add(get_format("openvino-fp32").path(out), "openvino-fp32")

    if opts.verify:
        for fmt, path in (("onnx-fp32", fp32), ("openvino-fp32", ov32)):
            if path is None:
                continue
            v = verify(TorchBackend((model, ckpt.md)), path, data_spec=opts.data_spec, reference_name=str(ckpt.path))
            report["verify_fp32" if fmt == "onnx-fp32" else f"verify_{fmt}"] = v
            lg = v["outputs"]["logits"]["abs_error"]
            log(f"parity {'' if fmt == 'onnx-fp32' else f'of {fmt} '}vs PyTorch on {v['windows']} windows "
                f"({v['windows_from']}): max |diff| {lg['max']:.2e}, top-1 agreement {100 * v['top1_agreement']:.2f} %: "
                f"{'PASS' if v['passed'] else 'FAIL'}")
            if not v["passed"]:
                raise DrsnEdgeError(f"exported model does not match the checkpoint (max |diff| {lg['max']:.2e}); "
                                    "nothing written")

    if opts.fp16:
        p16 = get_format("onnx-fp16").path(out)
        quantize_fp16(fp32, stage.path(p16), keep_io_types=opts.fp16_keep_io_types)
        add(p16, "onnx-fp16")
        log(f"wrote {p16} (FP16{', fp32 inputs/outputs' if opts.fp16_keep_io_types else ''})")

    int8_src = None
    if opts.int8:
        int8_src = _int8(fp32, "onnx-int8", out, md, opts, stage, report, add, log)
        if ov32 is not None and int8_src is not None:
            _int8(ov32, "openvino-int8", out, md, opts, stage, report, add, log)

    for precision in opts.trt:
        src = int8_src if precision == "int8" else fp32
        if src is None:
            raise DrsnEdgeError("--trt int8 needs the INT8 QDQ model, which was not written (see above)")
        eng = get_format(f"tensorrt-{precision}").path(out)
        build = build_engine(src, stage.path(eng), precision, opts.trt_batch)
        add(eng, f"tensorrt-{precision}", tensorrt=build["tensorrt_version"], gpu=build["gpu"]["name"])
        log(f"wrote {eng} (TensorRT {build['tensorrt_version']}, {build['gpu']['name']})")

    if opts.triton is not None:
        report["triton"] = _triton(out, opts.triton, stage, report, log)
    return report


def writes(opts: ExportOptions, fmt: ExportFormat) -> bool:
    """Whether this export writes ``fmt`` (the format table's ``option`` names the switch that builds it)."""
    if not fmt.option:
        return True
    if fmt.option == "trt":
        return fmt.precision in opts.trt
    if fmt.option == "openvino" and fmt.precision == "int8":
        return opts.openvino and opts.int8
    return bool(getattr(opts, fmt.option))


def _check_triton(opts: ExportOptions, out: Path) -> None:
    """Refuse a Triton request that cannot be met, before any work."""
    t = opts.triton
    t.check()
    try:
        fmt = get_format(t.format)
    except KeyError:
        raise DrsnEdgeError(f"Triton serves an exported file: {t.format!r} is not one (onnx-fp32, onnx-fp16, "
                            "onnx-int8, tensorrt-fp16...)") from None
    if fmt.runtime not in ("onnxruntime", "tensorrt"):
        raise DrsnEdgeError(f"Triton serves an exported file: {t.format!r} is not one (onnx-fp32, onnx-fp16, "
                            "onnx-int8, tensorrt-fp16...)")
    if not writes(opts, fmt):
        flag = f"--{fmt.option}" + (f" {fmt.precision}" if fmt.option == "trt" else "")
        raise DrsnEdgeError(f"Triton would serve {fmt.name}, which this export does not write; ask for it too ({flag})")
    if fmt.name.startswith("tensorrt") and t.max_batch_size > opts.trt_batch[2]:
        raise DrsnEdgeError(f"Triton max batch {t.max_batch_size} is larger than the engine's profile "
                            f"(max {opts.trt_batch[2]}): lower it or raise --trt-batch")
    repo = Path(t.repository)
    if repo.exists() and not repo.is_dir():
        raise DrsnEdgeError(f"Triton repository {repo} exists and is not a folder")
    target = repo / model_name(t, out)
    if target.exists() and not (target / "config.pbtxt").is_file():
        raise DrsnEdgeError(f"{target} exists and is not a Triton model folder; choose another name or repository")


def _triton(out: Path, t, stage: Staging, report: dict, log: Callable[[str], None]) -> dict[str, Any]:
    fmt = get_format(t.format)
    final = fmt.path(out)
    src = stage.files.get(final)
    if src is None or not src.exists():
        why = report.get("skipped", {}).get(fmt.name, "it was not written")
        raise DrsnEdgeError(f"Triton would serve {fmt.name}, but {why}; nothing written")
    kind = "engine" if fmt.runtime == "tensorrt" else "onnx"
    md = read_description(src)
    name = model_name(t, out)
    repo = Path(t.repository)
    repo.mkdir(parents=True, exist_ok=True)
    entry = write_repository(src, kind, md, stage.dir(repo / name), name, t,
                             onnx_input_dtype(src) if kind == "onnx" else "TYPE_FP32")
    entry.update(repository=str(repo), format=fmt.name, path=str(repo / name))
    q = entry["dynamic_batching"]
    log(f"wrote Triton model {repo / name} ({entry['platform']}, {fmt.name}, max batch {entry['max_batch_size']}, "
        + (f"dynamic batching up to {q['max_queue_delay_microseconds']} us, preferred {q['preferred_batch_size']}"
           if q else "no dynamic batching") + f", {t.instances} instance(s) on {entry['device']})")
    return entry


def _int8(fp32: Path, fmt: str, out: Path, md, opts: ExportOptions, stage: Staging, report: dict, add,
          log) -> Path | None:
    """INT8 QDQ of ``fp32`` as format ``fmt``, calibrated on representative data; without such data here, skipped with
    the reason."""
    try:
        ds = calibration_data(md, opts.calib_spec)
    except DrsnEdgeError as exc:
        if opts.calib_spec is not None:
            raise
        report["int8"] = {"skipped": str(exc)}
        report.setdefault("skipped", {})[fmt] = f"no calibration data here ({exc})"
        log(f"INT8 skipped: calibration needs representative data and the model's own is not here ({exc}); "
            "give it with --calib PATH")
        return None
    p8 = get_format(fmt).path(out)
    tmp = stage.path(p8)
    target = opts.int8_target or ("tensorrt" if "int8" in opts.trt else "cpu")
    q = quantize_int8(fp32, tmp, calibration_windows(md, ds, opts.calibration_windows), validation_set(md, ds),
                      opts.max_accuracy_drop, opts.calibrate_method, log=log, target=target)
    report["int8" if fmt == "onnx-int8" else f"int8_{fmt}"] = q
    add(p8, fmt, budget_met=q["budget_met"], nodes_kept_float=len(q["nodes_kept_float"]))
    worst = q["layer_sqnr_db"][:3]
    s = q["scheme"]
    log(f"wrote {p8} (INT8 QDQ for {target}: {s['activations']} activations, {s['weights']} weights"
        f"{', reduce_range' if s['reduce_range'] else ''}; {len(q['nodes_kept_float'])} nodes kept float); "
        "worst layers (cumulative SQNR, which matters only through the decisions): "
        + ", ".join(f"{w['tensor']} {w['cumulative_sqnr_db']:.1f} dB" for w in worst))
    h = q["heads"]
    if h:
        said = []
        if "novelty_calls_changed" in h:
            said.append(f"novelty: {100 * h['novelty_calls_changed']:.1f} % of windows change their known / unknown call")
        if "noise_level_abs_diff_db" in h:
            d = h["noise_level_abs_diff_db"]
            said.append(f"noise level: within {d['median']:.2f} dB (median; {d['p95']:.2f} dB at the 95th percentile)")
        if "anomaly_calls_changed" in h:
            r = h["anomaly_ratio"]
            said.append(f"anomaly: {100 * h['anomaly_calls_changed']:.1f} % of windows change their healthy / anomaly "
                        f"call, the score x {r['median']:.3f} (median; {r['p5']:.3f}-{r['p95']:.3f})")
        log("INT8 heads vs FP32 on the same windows: " + "; ".join(said))
    return tmp


def format_files(report: dict[str, Any]) -> str:
    rows = [("file", "precision", "size", "nodes")]
    for f in report["files"]:
        rows.append((Path(f["path"]).name, f["precision"], f"{f['bytes'] / 1024:.1f} KiB", str(f.get("nodes", "-"))))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows)
