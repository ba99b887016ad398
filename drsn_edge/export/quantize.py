"""FP16 conversion and INT8 static QDQ quantization with a per-layer error report and an accuracy budget."""

from __future__ import annotations

import contextlib
import logging
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnxconverter_common import float16
from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quant_pre_process, quantize_static
from onnxruntime.quantization.qdq_loss_debug import (
    collect_activations,
    compute_activation_error,
    create_activation_matching,
    modify_model_output_intermediate_tensors,
)

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile.onnx_props import description_of, write_description
from drsn_edge.runtime.backends import OnnxRuntimeBackend
from drsn_edge.runtime.cpu_features import has_vnni

CALIBRATION_METHODS = ("minmax", "percentile", "entropy")
INT8_TARGETS = ("cpu", "tensorrt")


def int8_scheme(target: str) -> dict[str, Any]:
    """What each runtime's INT8 kernels are fast with.

    ``cpu``: ONNX Runtime's x86 kernels (U8S8): uint8 activations with a zero point, int8 per-channel weights;
    ``reduce_range`` (7-bit weights) where the CPU lacks VNNI, so AVX2's 16-bit accumulation cannot saturate.
    ``tensorrt``: symmetric int8 everywhere (zero point 0), which TensorRT requires.
    """
    if target not in INT8_TARGETS:
        raise DrsnEdgeError(f"unknown INT8 target {target!r}; choose from {', '.join(INT8_TARGETS)}")
    if target == "cpu":
        return {"target": "cpu", "activations": "uint8 asymmetric", "weights": "int8 symmetric per channel",
                "reduce_range": not has_vnni()}
    return {"target": "tensorrt", "activations": "int8 symmetric", "weights": "int8 symmetric per channel",
            "reduce_range": False}
#: Only the compute-heavy ops get INT8; the per-window standardization and the pre-activation BatchNorms
#: (which cannot fold into a preceding Conv) stay float, where int8 would cost accuracy and save no time.
QUANTIZED_OP_TYPES = ["Conv", "Gemm", "MatMul"]


def quantize_fp16(src: str | Path, out: str | Path, keep_io_types: bool = True) -> dict[str, Any]:
    """FP16 weights and activations (onnxconverter-common); fp32 inputs/outputs when ``keep_io_types``."""
    proto = onnx.load(str(src))
    md = description_of(proto)
    with warnings.catch_warnings():
        # the standardization's eps (1e-8) rounds to fp16's smallest normal; harmless, and expected
        warnings.simplefilter("ignore", UserWarning)
        # Min/Max (the "clamp" soft threshold) are on the default block list, and the cast the converter then
        # inserts gets a mistyped output (ONNX Runtime refuses the model); ONNX Runtime runs them in fp16.
        block = [op for op in float16.DEFAULT_OP_BLOCK_LIST if op not in ("Min", "Max")]
        half = float16.convert_float_to_float16(proto, keep_io_types=keep_io_types, op_block_list=block)
    md.precision = "fp16"
    write_description(half, md)
    onnx.save(half, str(out))
    return {"precision": "fp16", "keep_io_types": keep_io_types}


class _Reader:
    """onnxruntime CalibrationDataReader over a numpy array of windows."""

    def __init__(self, name: str, x: np.ndarray, batch: int = 32) -> None:
        self.name, self.x, self.batch, self.i = name, x, batch, 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.i >= len(self.x):
            return None
        b = self.x[self.i : self.i + self.batch]
        self.i += self.batch
        return {self.name: b}

    def rewind(self) -> None:
        self.i = 0

    def __iter__(self):
        self.rewind()
        return iter(self.get_next, None)


def accuracy(path: str | Path, sets) -> dict[str, float]:
    with OnnxRuntimeBackend(str(path), warmup=0) as be:
        return {name: float((np.concatenate([be.infer(x[i : i + 256]) for i in range(0, len(x), 256)]).argmax(1) == y).mean())
                for name, x, y in sets}


def layer_sqnr(float_model: str, qdq_model: str, x: np.ndarray, input_name: str) -> list[dict[str, Any]]:
    """SQNR (dB) per activation: ``qdq`` is the tensor vs its own quantize-dequantize, ``cumulative`` is the
    QDQ model's tensor vs the float model's (error accumulated from the input). Worst first."""
    with tempfile.TemporaryDirectory() as tmp:
        fa, qa = str(Path(tmp) / "f.onnx"), str(Path(tmp) / "q.onnx")
        modify_model_output_intermediate_tensors(float_model, fa)
        modify_model_output_intermediate_tensors(qdq_model, qa)
        f_acts = collect_activations(fa, _Reader(input_name, x))
        q_acts = collect_activations(qa, _Reader(input_name, x))
    errors = compute_activation_error(create_activation_matching(q_acts, f_acts))
    rows = [{"tensor": name, "qdq_sqnr_db": float(e.get("qdq_err", np.nan)),
             "cumulative_sqnr_db": float(e.get("xmodel_err", np.nan))} for name, e in errors.items()]
    return sorted(rows, key=lambda r: r["cumulative_sqnr_db"] if np.isfinite(r["cumulative_sqnr_db"]) else np.inf)


@contextlib.contextmanager
def routed_logging() -> Iterator[list[str]]:
    """ONNX Runtime's quantization tools log through the root logger ("WARNING:root:Axis 1 is out-of-range ..."),
    which reaches stderr unasked: its messages are collected here instead, for the export report."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = record.getMessage()
            if text not in messages:
                messages.append(text)

    root, handler = logging.getLogger(), Collect(logging.INFO)
    root.addHandler(handler)
    try:
        yield messages
    finally:
        root.removeHandler(handler)


def head_agreement(float_model: str | Path, int8_model: str | Path, x: np.ndarray, md) -> dict[str, Any]:
    """Whether INT8 changes what the heads say: the share of windows whose known / unknown call (or an enrolled
    machine's healthy / anomaly call) flips, how far the noise level moves (dB) and the anomaly score's ratio. A
    layer's low SQNR matters only through these and the class decisions."""
    outs = []
    for path in (float_model, int8_model):
        with OnnxRuntimeBackend(str(path), warmup=0, md=md) as be:
            parts = [be.infer_all(x[i : i + 256])[1] for i in range(0, len(x), 256)]
        outs.append({k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {})
    f, q = outs
    out: dict[str, Any] = {}
    threshold = (md.novelty or {}).get("threshold")
    if "novelty" in f and threshold is not None:
        out["novelty_calls_changed"] = float(np.mean((f["novelty"] > threshold) != (q["novelty"] > threshold)))
    if "noise_level" in f:
        d = np.abs(f["noise_level"] - q["noise_level"])
        out["noise_level_abs_diff_db"] = {"median": float(np.median(d)), "p95": float(np.percentile(d, 95))}
    threshold = (md.enrolment or {}).get("threshold")
    if "anomaly" in f and threshold is not None:  # an enrolled machine: does INT8 move windows across its threshold?
        out["anomaly_calls_changed"] = float(np.mean((f["anomaly"] > threshold) != (q["anomaly"] > threshold)))
        r = q["anomaly"] / np.maximum(f["anomaly"], 1e-12)
        out["anomaly_ratio"] = {"median": float(np.median(r)), "p5": float(np.percentile(r, 5)),
                                "p95": float(np.percentile(r, 95))}
    return out


def _producers(proto) -> dict[str, str]:
    return {o: n.name for n in proto.graph.node for o in n.output}


def quantize_int8(
    src: str | Path,
    out: str | Path,
    calib: np.ndarray,
    val_sets: list[tuple[str, np.ndarray, np.ndarray]],
    max_accuracy_drop: float | None = None,
    calibrate_method: str = "minmax",
    max_rounds: int = 8,
    log=print,
    target: str = "cpu",
) -> dict[str, Any]:
    """Static INT8 QDQ for ``target`` (:func:`int8_scheme`), calibrated on ``calib``.

    With ``max_accuracy_drop`` (fraction, e.g. 0.005), nodes stay in float until the accuracy drop on every
    validation set is within budget: first the threshold sub-networks, then the layers of worst SQNR.
    """
    if calibrate_method not in CALIBRATION_METHODS:
        raise DrsnEdgeError(f"unknown calibration method {calibrate_method!r}; choose from {', '.join(CALIBRATION_METHODS)}")
    method = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
              "entropy": CalibrationMethod.Entropy}[calibrate_method]
    scheme = int8_scheme(target)
    cpu = scheme["target"] == "cpu"
    md = description_of(onnx.load(str(src)))
    if not val_sets and max_accuracy_drop is not None:
        log("note: no labelled windows to check the INT8 accuracy budget against; quantizing without one")
        max_accuracy_drop = None
    float_acc = accuracy(src, val_sets)
    with tempfile.TemporaryDirectory() as tmp, routed_logging() as messages:
        pre = str(Path(tmp) / "pre.onnx")
        quant_pre_process(str(src), pre, skip_symbolic_shape=False)
        pre_proto = onnx.load(pre)
        threshold_nodes = [n.name for n in pre_proto.graph.node
                           if "/threshold/" in n.name and n.op_type in QUANTIZED_OP_TYPES]
        producers = _producers(pre_proto)
        quantizable = {n.name for n in pre_proto.graph.node if n.op_type in QUANTIZED_OP_TYPES}
        excluded: list[str] = []
        rounds = []
        sqnr: list[dict[str, Any]] = []
        for r in range(max_rounds + 1):
            qpath = str(Path(tmp) / f"q{r}.onnx")
            quantize_static(pre, qpath, _Reader(md.input_name, calib), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8 if cpu else QuantType.QInt8, weight_type=QuantType.QInt8,
                            reduce_range=scheme["reduce_range"], calibrate_method=method,
                            nodes_to_exclude=list(excluded), op_types_to_quantize=QUANTIZED_OP_TYPES,
                            extra_options={"ActivationSymmetric": not cpu, "WeightSymmetric": True})
            acc = accuracy(qpath, val_sets)
            drop = max((float_acc[k] - acc[k] for k in acc), default=0.0)
            rounds.append({"round": r, "excluded_nodes": len(excluded), "accuracy": acc, "max_drop": drop})
            log(f"int8 round {r}: {len(excluded)} nodes kept in float, max accuracy drop {100 * drop:.2f} points")
            if r == 0 or max_accuracy_drop is None or drop <= max_accuracy_drop or r == max_rounds:
                sqnr = layer_sqnr(pre, qpath, calib[:64], md.input_name)
            if max_accuracy_drop is None or drop <= max_accuracy_drop or r == max_rounds:
                break
            if r == 0 and threshold_nodes:
                excluded += threshold_nodes  # the learned thresholds are the most sensitive part
            else:
                worst = [producers[s["tensor"]] for s in sqnr if producers.get(s["tensor"]) in quantizable]
                new = [n for n in worst if n not in excluded][: max(2, len(worst) // 10)]
                if not new:
                    break
                excluded += new
        qproto = onnx.load(qpath)
        heads = head_agreement(src, qpath, val_sets[0][1] if val_sets else calib, md) if md.extra_outputs else {}
    md.precision = "int8"
    md.quantization = {**scheme, "calibration": calibrate_method, "calibration_windows": int(len(calib))}
    write_description(qproto, md)
    onnx.save(qproto, str(out))
    final = rounds[-1]
    if max_accuracy_drop is not None and final["max_drop"] > max_accuracy_drop:
        log(f"warning: accuracy budget {100 * max_accuracy_drop:.2f} points not met ({100 * final['max_drop']:.2f})")
    return {"precision": "int8", "scheme": scheme, "calibration": {"method": calibrate_method, "windows": int(len(calib))},
            "float_accuracy": float_acc, "int8_accuracy": final["accuracy"], "max_accuracy_drop": final["max_drop"],
            "budget": max_accuracy_drop, "budget_met": max_accuracy_drop is None or final["max_drop"] <= max_accuracy_drop,
            "nodes_kept_float": excluded, "rounds": rounds, "layer_sqnr_db": sqnr, "heads": heads,
            "quantizer_messages": messages}
