"""OpenVINO through its own API (drsn-edge's ``--provider openvino``) or through ONNX Runtime's OpenVINO execution
provider (``onnxruntime-openvino``, a build of ONNX Runtime that replaces the base install's): the same files, one
thread, batch 64, interleaved rounds in one process, as multiples of ONNX Runtime's CPU provider on ``model.onnx``.

The provider's build cannot sit beside the base install's onnxruntime, so it is installed into a folder of its own
and put first on the path for this run only::

    pip download onnxruntime-openvino --no-deps -d /tmp/ortov_dl
    pip install --no-deps --target /tmp/ortov /tmp/ortov_dl/onnxruntime_openvino-*.whl
    PYTHONPATH=/tmp/ortov python benchmarks/openvino_ep.py --work runs/openvino     # after benchmarks/openvino_cpu.py

Writes ``benchmarks/results/openvino_ep.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import openvino as ov

from drsn_edge.bench.machine import describe, machine_info
from drsn_edge.runtime.loader import open_model
from drsn_edge.runtime.providers import ProviderSettings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
#: (row, file in the work folder, how it runs: "cpu" (ONNX Runtime's CPU provider), "ep" (ONNX Runtime's OpenVINO
#: provider), "api" (drsn-edge's OpenVINO backend, warmed at the batch as a stream warms it), OpenVINO precision)
ROWS = (
    ("onnxruntime cpu fp32, model.onnx", "m.onnx", "cpu", "f32"),
    ("openvino provider fp32, model.openvino.onnx", "m.openvino.onnx", "ep", "f32"),
    ("openvino provider int8, model.openvino.int8.onnx", "m.openvino.int8.onnx", "ep", "f32"),
    ("openvino provider int8, model.int8.onnx", "m.int8.onnx", "ep", "f32"),
    ("openvino api fp32, model.openvino.onnx", "m.openvino.onnx", "api", "f32"),
    ("openvino api int8, model.openvino.int8.onnx", "m.openvino.int8.onnx", "api", "f32"),
    ("openvino api bf16, model.openvino.onnx", "m.openvino.onnx", "api", "bf16"),
)


def runner(path: Path, how: str, precision: str, x: np.ndarray):
    if how == "api":
        be, _ = open_model(str(path), ProviderSettings(provider="openvino", precision=precision, intra_op_threads=1))
        be.activate()
        be.warm(*x.shape)  # the batch fixed, as a stream warms it
        return lambda: be.infer(x)
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    so.log_severity_level = 3
    providers = ["CPUExecutionProvider"] if how == "cpu" else \
        [("OpenVINOExecutionProvider", {"device_type": "CPU", "num_of_threads": "1"}), "CPUExecutionProvider"]
    s = ort.InferenceSession(str(path), so, providers=providers)
    if how == "ep" and s.get_providers()[0] != "OpenVINOExecutionProvider":
        raise RuntimeError(f"the OpenVINO provider did not load (onnxruntime {ort.__version__} from {ort.__file__})")
    name = s.get_inputs()[0].name
    return lambda: s.run(None, {name: x})[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "openvino", help="benchmarks/openvino_cpu.py's export")
    ap.add_argument("--rounds", type=int, default=8)
    a = ap.parse_args()
    window = int(ort.InferenceSession(str(a.work / "m.onnx")).get_inputs()[0].shape[-1])
    x = np.random.default_rng(0).standard_normal((64, 1, window)).astype(np.float32)
    fns, ref, out = {}, None, {"rows": {}}
    for name, file, how, precision in ROWS:
        fns[name] = runner(a.work / file, how, precision, x)
        y = np.asarray(fns[name]())
        ref = y if ref is None else ref
        out["rows"][name] = {"max_abs_logit_diff_vs_first": float(np.abs(y - ref).max()), "ms": []}
    for f in fns.values():
        for _ in range(5):
            f()
    for _ in range(a.rounds):
        for name, f in fns.items():
            t = []
            for _ in range(15):
                t0 = time.perf_counter()
                f()
                t.append(time.perf_counter() - t0)
            out["rows"][name]["ms"].append(float(np.median(t) * 1e3))
    base = np.array(out["rows"][ROWS[0][0]]["ms"])
    lines = ["# OpenVINO: its own API or ONNX Runtime's OpenVINO provider", "", __doc__.split("\n\n")[0].strip(), "",
             "| row | batch 64, ms | over ONNX Runtime CPU FP32 | max abs logit diff |", "|---|---|---|---|"]
    for name, r in out["rows"].items():
        ratio = base / np.array(r["ms"])
        r["speedup"] = {"median": float(np.median(ratio)), "min": float(ratio.min()), "max": float(ratio.max())}
        lines.append(f"| {name} | {np.median(r['ms']):.2f} | {r['speedup']['median']:.2f}x [{r['speedup']['min']:.2f}-"
                     f"{r['speedup']['max']:.2f}] | {r['max_abs_logit_diff_vs_first']:.1e} |")
    out["versions"] = {"onnxruntime (the OpenVINO provider's build)": ort.__version__, "openvino": ov.__version__}
    out["machine"] = machine_info(threads=1)
    lines += ["", f"{a.rounds} interleaved rounds, median [range]; one process: onnxruntime "
                  f"{ort.__version__} (onnxruntime-openvino), openvino {ov.__version__.split('-')[0]}. The provider takes no "
                  "BF16 on the CPU (\"CPU only supports FP32, ACCURACY\"), so it has no BF16 row.", "",
              f"Machine: {describe(out['machine'])}", ""]
    (RESULTS / "openvino_ep.json").write_text(json.dumps(out, indent=1) + "\n")
    (RESULTS / "openvino_ep.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
