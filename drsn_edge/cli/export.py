"""``drsn-edge export`` and ``drsn-edge verify``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from drsn_edge.cli.parser import add_data_options, add_provider_options, data_given, data_spec_from_args, examples, model_arg
from drsn_edge.data.dataset import DataSpec
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.export.triton import TritonOptions
from drsn_edge.modelfile import read_description
from drsn_edge.modelfile.checkpoint import read_checkpoint_file
from drsn_edge.runtime.providers import ProviderSettings


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="checkpoint -> ONNX (+ FP16, INT8, TensorRT)",
                       description="Export to standard-op ONNX with metadata; verify parity; optimize; quantize. "
                                   "Files appear only when every requested step succeeded.",
                       epilog=examples("drsn-edge export model.safetensors -o model.onnx --fp16 --int8 --calib my-recordings/",
                                       "drsn-edge export model.safetensors -o model.onnx --trt fp16   # on a GPU box",
                                       "drsn-edge export model.safetensors -o model.onnx --int8 --openvino   # an Intel gateway"))
    p.add_argument("checkpoint", type=model_arg, help="the checkpoint train wrote (recognised by content, whatever its name), "
                   "or a zoo name")
    p.add_argument("-o", "--out", default="model.onnx", help="ONNX path; FP16/INT8/engines are written beside it")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (17: ONNX Runtime, TensorRT 8.6/10; <=13 for TRT 8.2)")
    p.add_argument("--threshold", choices=["sign", "clamp", "relu"], default=None,
                   help="soft-threshold decomposition (default clamp: fastest measured, and no Sign op)")
    p.add_argument("--no-optimize", action="store_true", help="skip onnxslim simplification")
    p.add_argument("--no-verify", action="store_true", help="skip the parity check against PyTorch")
    p.add_argument("--fp16", action="store_true", help="also write an FP16 model")
    p.add_argument("--fp16-io", action="store_true", help="FP16 inputs/outputs too (default: keep fp32 I/O)")
    p.add_argument("--int8", action="store_true", help="also write an INT8 QDQ model (static, calibrated)")
    p.add_argument("--calib", help="INT8 calibration data: a folder or manifest of representative recordings, or cwru "
                                   "with --data-dir (default: the model's own training data, where it is here); the "
                                   "data options below then describe it")
    p.add_argument("--calib-windows", type=int, default=256, help="calibration windows")
    p.add_argument("--calibrate", choices=["minmax", "percentile", "entropy"], default="minmax")
    p.add_argument("--int8-target", choices=["cpu", "tensorrt"],
                   help="INT8 scheme: cpu (uint8 activations, int8 per-channel weights: ONNX Runtime's fast x86 kernels) "
                        "or tensorrt (symmetric int8); default: tensorrt with --trt int8, else cpu")
    p.add_argument("--openvino", action="store_true",
                   help="also write OpenVINO's files: MODEL.openvino.onnx (and .openvino.int8.onnx with --int8), the same "
                        "network with its temporal convolutions as 1-D ones, which OpenVINO runs faster than the 2-D "
                        "form model.onnx has for ONNX Runtime (--provider openvino)")
    p.add_argument("--max-accuracy-drop", type=float, default=0.5,
                   help="INT8 budget in accuracy points on validation windows; sensitive nodes stay float (-1: none)")
    p.add_argument("--trt", action="append", choices=["fp32", "fp16", "int8"], default=[],
                   help="build a TensorRT engine (needs an NVIDIA GPU); repeatable")
    p.add_argument("--trt-batch", default="1,8,64", help="TensorRT batch profile MIN,OPT,MAX")
    p.add_argument("--report", help="write the export report (JSON) here (default: none)")
    t = p.add_argument_group("Triton Inference Server (one server for many sensors)")
    t.add_argument("--triton-repo", metavar="DIR", help="also write a Triton model repository entry DIR/NAME/ (default: none) "
                                                         "(config.pbtxt, labels.txt, 1/model.onnx or 1/model.plan)")
    t.add_argument("--triton-name", help="model name on the server (default: the output's stem)")
    t.add_argument("--triton-format", default="onnx-fp32",
                   help="exported file the server runs: onnx-fp32 (default), onnx-fp16, onnx-int8, tensorrt-fp16, ...")
    t.add_argument("--triton-max-batch", type=int, default=64, help="max_batch_size (default 64)")
    t.add_argument("--triton-latency-ms", type=float, default=10.0,
                   help="latency budget: the dynamic batcher may wait half of it for a fuller batch (default 10; "
                        "0: no dynamic batching)")
    t.add_argument("--triton-instances", type=int, default=1, help="model instances (default 1)")
    t.add_argument("--triton-device", choices=["auto", "cpu", "gpu"], default="auto",
                   help="instance kind (default auto: the GPU where the server has one)")
    add_data_options(p)
    p.set_defaults(func=run_export)

    v = sub.add_parser("verify", help="compare an exported model with its checkpoint or another model",
                       description="Run both on real windows; report errors; check the graph. Exit 1 on failure.",
                       epilog=examples("drsn-edge verify model.onnx --against model.safetensors",
                                       "drsn-edge verify model.int8.onnx --against model.onnx --min-agreement 0.98",
                                       "drsn-edge verify model.onnx --against model.safetensors --provider cuda"))
    v.add_argument("model", help=".onnx file to check")
    v.add_argument("--against", required=True, help="reference: checkpoint (.safetensors) or another .onnx")
    v.add_argument("--atol", type=float, help="absolute tolerance (default: by precision: 1e-4 fp32, 5e-2 fp16)")
    v.add_argument("--rtol", type=float, help="relative tolerance (default: by precision: 1e-3 fp32, 5e-2 fp16)")
    v.add_argument("--min-agreement", type=float, help="minimum top-1 agreement, 0..1 (default: by precision: 1 fp32, "
                   "0.999 fp16, 0.98 int8)")
    v.add_argument("--windows", type=int, default=512)
    add_provider_options(v)
    v.add_argument("--tf32", action="store_true", help="CUDA provider: allow TF32 convolutions (off by default)")
    v.add_argument("--json", help="write the report here (default: none)")
    add_data_options(v)
    v.set_defaults(func=run_verify)


def _data(args: argparse.Namespace, md) -> DataSpec | None:
    """Data options given: windows for parity from that data (else the model's own, or the simulator); ``md``: the
    reference model's description."""
    if not data_given(args):
        return None
    return data_spec_from_args(args, base=DataSpec.from_dict(md.data), default_split="all")


def run_export(args: argparse.Namespace) -> int:
    from drsn_edge.export.pipeline import ExportOptions, export_all, format_files

    try:
        batch = tuple(int(b) for b in args.trt_batch.split(","))
        assert len(batch) == 3 and 0 < batch[0] <= batch[1] <= batch[2]
    except (ValueError, AssertionError):
        raise DrsnEdgeError(f"bad --trt-batch {args.trt_batch!r}: expected MIN,OPT,MAX like 1,8,64") from None
    ckpt = read_checkpoint_file(args.checkpoint)  # read once: a clear error for a missing or foreign file, at once
    if args.calib_windows < 1:
        raise DrsnEdgeError("--calib-windows must be at least 1")
    calib = parity = None
    if args.calib:  # the data options then describe the calibration data
        if args.data:
            raise DrsnEdgeError("give --calib or --data, not both")
        args.data = args.calib
        calib = data_spec_from_args(args, default_split="all")
    else:
        parity = _data(args, ckpt.md)
    opts = ExportOptions(
        opset=args.opset, threshold_mode=args.threshold, optimize=not args.no_optimize, verify=not args.no_verify,
        fp16=args.fp16, fp16_keep_io_types=not args.fp16_io, int8=args.int8, calibration_windows=args.calib_windows,
        calibrate_method=args.calibrate, int8_target=args.int8_target, openvino=args.openvino,
        max_accuracy_drop=None if args.max_accuracy_drop < 0 else args.max_accuracy_drop / 100,
        trt=tuple(args.trt), trt_batch=batch, data_spec=parity, calib_spec=calib, triton=_triton_options(args, batch),
    )
    report = export_all(ckpt, args.out, opts)
    print(format_files(report))
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=1, default=str))
    return 0


def _triton_options(args: argparse.Namespace, batch: tuple[int, int, int]):
    defaults = {"triton_name": None, "triton_max_batch": 64, "triton_latency_ms": 10.0, "triton_instances": 1,
                "triton_device": "auto", "triton_format": "onnx-fp32"}
    given = [f for f, d in defaults.items() if getattr(args, f) != d]
    if not args.triton_repo:
        if given:
            raise DrsnEdgeError(f"--{given[0].replace('_', '-')} applies to a Triton repository: add --triton-repo DIR")
        return None

    return TritonOptions(repository=args.triton_repo, name=args.triton_name, format=args.triton_format,
                         max_batch_size=args.triton_max_batch, preferred_batch_sizes=(batch[1], batch[2]),
                         latency_budget_ms=args.triton_latency_ms or None, instances=args.triton_instances,
                         device=args.triton_device)


def run_verify(args: argparse.Namespace) -> int:
    from drsn_edge.export.verify import TOLERANCES, Tolerance, verify

    # an FP32 file run in BF16 (openvino --precision bf16) is judged as FP16 is: by top-1 agreement, not equality
    file_precision = read_description(args.model).precision
    base = TOLERANCES["fp16" if args.precision == "bf16" and file_precision == "fp32" else file_precision] \
        if file_precision in TOLERANCES else TOLERANCES["fp32"]
    tol = Tolerance(atol=base.atol if args.atol is None else args.atol, rtol=base.rtol if args.rtol is None else args.rtol,
                    min_top1_agreement=base.min_top1_agreement if args.min_agreement is None else args.min_agreement)
    r = verify(args.against, args.model, tol, data_spec=_data(args, read_description(args.against)) if data_given(args) else None,
               max_windows=args.windows,
               settings=ProviderSettings(provider=args.provider, tf32=args.tf32, precision=args.precision))
    lg = r["outputs"]["logits"]
    rt = r["runtime"]
    on = rt["backend"] + (f", TF32 {'on' if rt['tf32'] else 'off'}" if "tf32" in rt else "")
    print(f"{r['candidate']} vs {r['reference']} on {r['windows']} windows ({r['precision']}; {r['windows_from']}; "
          f"run on {on})")
    print("  logits   abs err max {max:.3e} mean {mean:.3e} median {median:.3e} p99 {p99:.3e}".format(**lg["abs_error"]))
    print("           rel err max {max:.3e} mean {mean:.3e} median {median:.3e} p99 {p99:.3e}".format(**lg["rel_error"]))
    print(f"  smallest passing atol {lg['min_passing_atol']:.3e} (rtol 0), rtol {lg['min_passing_rtol']:.3e} (atol 0); "
          f"NaN {lg['nan']}, Inf {lg['inf']}")
    print(f"  top-1 agreement {100 * r['top1_agreement']:.2f} % (required {100 * tol.min_top1_agreement:.2f} %)")
    if "graph" in r:
        g = r["graph"]
        print(f"  onnx.checker: {g['onnx_checker']}; reference evaluator vs onnxruntime max |diff| "
              f"{g['reference_evaluator_max_abs_diff_vs_onnxruntime']:.2e}; ops: {', '.join(g['op_types'])}")
    print("PASS" if r["passed"] else "FAIL")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))
    return 0 if r["passed"] else 1
