"""Parity between two models on real windows, plus graph checks (onnx.checker, onnx.reference)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import version_converter
from onnx.reference import ReferenceEvaluator

from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.data.noise import add_noise
from drsn_edge.data.sources.sim import SimOptions, SimSource
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.evaluation.model_files import open_any_model
from drsn_edge.export.allowlist import check_allowed_ops
from drsn_edge.modelfile import ModelMetadata, detect_format
from drsn_edge.runtime.backends import OnnxRuntimeBackend
from drsn_edge.runtime.backends.base import BackendBase


@dataclass
class Tolerance:
    atol: float = 1e-4
    rtol: float = 1e-3
    min_top1_agreement: float = 1.0


#: Default tolerances per precision of the candidate model.
TOLERANCES = {
    "fp32": Tolerance(atol=1e-4, rtol=1e-3, min_top1_agreement=1.0),
    "fp16": Tolerance(atol=5e-2, rtol=5e-2, min_top1_agreement=0.999),
    "int8": Tolerance(atol=np.inf, rtol=np.inf, min_top1_agreement=0.98),
}


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def compare_outputs(ref: np.ndarray, got: np.ndarray, tol: Tolerance) -> dict[str, Any]:
    """Error statistics of one output; ``passed`` when within ``atol + rtol * |ref|`` everywhere."""
    finite = np.isfinite(got)
    abs_err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    rel_err = abs_err / (np.abs(ref) + 1e-12)
    abs_f, rel_f = abs_err[finite], rel_err[finite]
    stats = lambda a: {  # noqa: E731
        "max": float(a.max()) if a.size else 0.0, "mean": float(a.mean()) if a.size else 0.0,
        "median": float(np.median(a)) if a.size else 0.0, "p99": float(np.percentile(a, 99)) if a.size else 0.0,
    }
    within = abs_err <= tol.atol + tol.rtol * np.abs(ref)
    return {
        "abs_error": stats(abs_f),
        "rel_error": stats(rel_f),
        # the smallest atol that passes with rtol=0, and the smallest rtol that passes with atol=0
        "min_passing_atol": float(abs_f.max()) if abs_f.size else 0.0,
        "min_passing_rtol": float(rel_f.max()) if rel_f.size else 0.0,
        "nan": int(np.isnan(got).sum()),
        "inf": int(np.isinf(got).sum()),
        "within_tolerance": bool(within.all() and finite.all()),
    }


def compare_runs(ref_logits: np.ndarray, got_logits: np.ndarray, tol: Tolerance) -> dict[str, Any]:
    logits = compare_outputs(ref_logits, got_logits, tol)
    probs = compare_outputs(softmax(ref_logits), softmax(got_logits), Tolerance(atol=max(tol.atol, 1e-5), rtol=np.inf))
    same = ref_logits.argmax(1) == got_logits.argmax(1)
    agree = float(same.mean())
    # A window whose two best logits are closer than twice the allowed error is a near tie: the candidate may pick
    # either class while every logit is within tolerance, so it does not count against the agreement floor.
    top2 = np.sort(ref_logits.astype(np.float64), axis=1)[:, -2:]
    bound = 2 * (tol.atol + tol.rtol * np.abs(top2).max(axis=1))
    decisive = (top2[:, 1] - top2[:, 0] > bound) if np.isfinite(bound).all() else np.ones(len(same), bool)
    agree_decisive = float(same[decisive].mean()) if decisive.any() else 1.0
    passed = (logits["within_tolerance"] and agree_decisive >= tol.min_top1_agreement and not logits["nan"]
              and not logits["inf"])
    return {"outputs": {"logits": logits, "probabilities": probs}, "top1_agreement": agree,
            "top1_agreement_decisive": agree_decisive, "near_ties": int((~decisive).sum()),
            "windows": int(len(ref_logits)), "tolerance": tol.__dict__, "passed": bool(passed)}


def check_graph(path: str | Path, x: np.ndarray) -> dict[str, Any]:
    """``onnx.checker`` (full check) and one run in ONNX's reference evaluator against onnxruntime."""
    proto = onnx.load(str(path))
    try:
        onnx.checker.check_model(proto, full_check=True)
        checker = "ok"
    except onnx.checker.ValidationError as exc:
        checker = f"failed: {str(exc).splitlines()[0]}"
    ops = sorted(check_allowed_ops(proto))
    inp = proto.graph.input[0]
    fp16_io = inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT16
    fp16 = fp16_io or any(t.data_type == onnx.TensorProto.FLOAT16 for t in proto.graph.initializer)
    xin = x.astype(np.float16 if fp16_io else np.float32)
    has_qdq = any(n.op_type == "QuantizeLinear" for n in proto.graph.node)
    ref_proto = proto
    opset = next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    # The reference evaluator implements Q/DQ from opset 19 on, and its BatchNormalization before opset 14 always
    # normalizes with batch statistics (training); compare on an up-converted copy, the graph itself is unchanged.
    target = 19 if has_qdq else 15
    if opset < target:
        ref_proto = version_converter.convert_version(proto, target)
    ref_eval = ReferenceEvaluator(ref_proto)
    y_ref = np.asarray(ref_eval.run(None, {inp.name: xin})[0], dtype=np.float32)
    with OnnxRuntimeBackend(str(path), warmup=0) as be:
        y_ort = be.infer(x)
    err = float(np.abs(y_ref - y_ort).max())
    # QDQ runs as int8 kernels in onnxruntime but in float in the reference evaluator: compare decisions there
    agrees = bool(np.array_equal(y_ref.argmax(1), y_ort.argmax(1))) if has_qdq else err <= (5e-2 if fp16 else 1e-4)
    return {"onnx_checker": checker, "op_types": ops, "reference_evaluator_max_abs_diff_vs_onnxruntime": err,
            "reference_evaluator_agrees": agrees, "ok": checker == "ok" and agrees}


def verification_windows(md: ModelMetadata, data_spec=None, max_windows: int = 512, seed: int = 0,
                         snrs=(None, 0.0, -4.0)) -> tuple[np.ndarray, str]:
    """Real windows (clean and noisy) and where they came from: the model's test split, else its validation split (a
    model trained on all its data has no test split), or ``data_spec``'s; where there is none on this machine,
    simulated bearing windows at the model's rate. Parity needs no labels."""
    spec = data_spec or DataSpec.from_dict(md.data)
    spec = DataSpec(spec.source, spec.options, md.sample_rate, spec.split, spec.seed)
    x, why = None, "is not here"
    try:
        ds = load_dataset(spec, min_samples=md.window)
    except DrsnEdgeError:
        ds = None
    if ds is not None and ds.in_channels != md.in_channels:
        why = f"has {ds.in_channels} channels, the model {md.in_channels}"
    elif ds is not None:
        why = "has no held-out window (test or validation split)"
        for split in ("test", "val"):
            try:
                w = ds.windows(split, md.window, md.hop)[0]
            except DrsnEdgeError:  # this split is empty
                continue
            if len(w):
                x, origin = w, f"{spec.describe()} {split} split"
                break
    if x is None:
        sim = SimSource().load(SimOptions(duration=3.0, recordings_per_class=2), md.sample_rate, seed, None)
        x = np.concatenate([np.tile(r.signal, (md.in_channels, 1))[None, :, i : i + md.window]
                            for r in sim.recordings for i in range(0, r.samples - md.window, md.window)])
        origin = f"simulated bearing windows at {md.sample_rate:g} Hz (the model's data {spec.describe()} {why})"
    rng = np.random.default_rng(seed)
    x = x[rng.permutation(len(x))[: max(1, max_windows // len(snrs))]]
    parts = [x if s is None else add_noise(x, s, "gaussian", rng) for s in snrs]
    return np.concatenate(parts).astype(np.float32), origin


def runtime_used(backend, settings) -> dict[str, Any]:
    """What ran the candidate: the parity of a GPU run depends on it (TF32 convolutions differ by ~1e-3)."""
    out: dict[str, Any] = {"backend": getattr(backend, "name", type(backend).__name__)}
    if settings is not None and settings.provider in ("cuda", "tensorrt"):
        out.update(provider=settings.provider, tf32=settings.tf32, cuda_graph=settings.cuda_graph)
    return out


def verify(reference: str | Path | BackendBase, candidate: str | Path, tol: Tolerance | None = None, data_spec=None,
           max_windows: int = 512, batch_size: int = 64, settings=None, reference_name: str | None = None) -> dict[str, Any]:
    """Run both models on the same real windows; compare; check the candidate's graph if it is ONNX.
    ``reference``: a model file, or a backend already opened on one (with its ``md``), named ``reference_name``."""
    if isinstance(reference, BackendBase):
        ref_be, ref_md = reference, reference.md
        reference = reference_name or ref_be.name
    else:
        ref_be, ref_md = open_any_model(reference, warmup=0)
    cand_be, cand_md = open_any_model(candidate, settings, warmup=0)
    for key in ("class_names", "window", "in_channels"):
        if getattr(ref_md, key) != getattr(cand_md, key):
            raise DrsnEdgeError(f"{candidate} and {reference} differ in {key}: {getattr(cand_md, key)} vs {getattr(ref_md, key)}")
    precision = cand_md.precision
    tol = tol or TOLERANCES.get(precision, TOLERANCES["fp32"])
    x, origin = verification_windows(ref_md, data_spec, max_windows)
    outs = []
    for be in (ref_be, cand_be):
        be.activate()
        outs.append(np.concatenate([be.infer(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]))
        be.close()
    report = {"reference": str(reference), "candidate": str(candidate), "precision": precision, "windows_from": origin,
              "runtime": runtime_used(cand_be, settings), **compare_runs(outs[0], outs[1], tol)}
    if detect_format(candidate) == "onnx":
        report["graph"] = check_graph(candidate, x[:4])
        report["passed"] = report["passed"] and report["graph"]["ok"]
    return report
