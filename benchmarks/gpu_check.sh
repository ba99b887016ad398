#!/usr/bin/env bash
# Validate drsn-edge on this machine's NVIDIA GPU (a workstation, a server or a Jetson):
#   1. which providers load (ONNX Runtime CUDA, TensorRT EP) and why not;
#   2. the GPU tests (tests/runtime/test_gpu.py: CUDA parity with TF32 off, IO binding and CUDA graphs, cuda-python memory,
#      TensorRT EP, native TensorRT engines);
#   3. TensorRT engines (FP32 / FP16 / INT8) built from the committed model, where TensorRT is installed;
#   4. the GPU rows of `drsn-edge bench` (ORT CUDA, CUDA graph, TensorRT EP, native TensorRT; GPU time from CUDA
#      events beside host latency);
#   5. batch-1 latency under CUDA graphs of the export's variants (2-D and 1-D temporal convolutions, FP16, cuDNN
#      algorithm search and workspace: benchmarks/cuda_b1_variants.py), against the 0.3 ms target.
# Everything lands in one folder: summary.md, bench.json / bench.md, pytest.log, export.log, variants.md.
# Usage: benchmarks/gpu_check.sh [OUT_DIR] [MODEL]      (PYTHON=... to choose the interpreter; BENCH_ARGS="--data DIR"
#        to measure accuracy, and INT8 calibrated, on your own recordings)
# On a machine without a usable GPU it says why in one line and exits 2, within seconds.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
OUT=${1:-gpu-check-$(hostname)-$(date +%Y%m%d-%H%M%S)}
MODEL=${2:-drsn_edge/zoo/cwru-wide.safetensors}

why=$("$PY" -c "from drsn_edge.runtime.gpu import gpu_status; g, w = gpu_status(); print(g['name'] if g else 'NO: ' + w)" 2>&1)
case "$why" in
  NO:*) echo "gpu_check: no usable NVIDIA GPU here (${why#NO: }); nothing to check"; exit 2 ;;
  *Error*|*Traceback*) echo "gpu_check: drsn-edge is not importable with $PY: $(echo "$why" | tail -1)"; exit 2 ;;
esac
mkdir -p "$OUT"
{
  echo "# drsn-edge GPU check: $why"
  echo
  echo "Date: $(date -u +%Y-%m-%dT%H:%M:%SZ). Host: $(hostname). $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true)"
  echo
  echo "## Providers"
  "$PY" - <<'PY'
import onnxruntime as ort
from drsn_edge.runtime.providers import provider_status
print(f"onnxruntime {ort.__version__}: " + ", ".join(ort.get_available_providers()))
for p in ("cuda", "tensorrt"):
    ok, why = provider_status(p)
    print(f"- {p}: {'loads' if ok else 'does not load: ' + why}")
try:
    import tensorrt
    print(f"- tensorrt Python package {tensorrt.__version__}")
except ImportError:
    print("- tensorrt Python package: not installed (native engines are skipped)")
PY
} > "$OUT/summary.md" 2>&1
echo "gpu_check: $why; results in $OUT/"

timeout "${PYTEST_TIMEOUT:-400}" "$PY" -m pytest -q tests/runtime/test_gpu.py -rs > "$OUT/pytest.log" 2>&1
echo "- tests/runtime/test_gpu.py: $(tail -1 "$OUT/pytest.log")" >> "$OUT/summary.md"

"$PY" -m drsn_edge export "$MODEL" -o "$OUT/variants/model.onnx" --fp16 --openvino --no-verify > "$OUT/variants.log" 2>&1 &&
  timeout "${VARIANTS_TIMEOUT:-240}" "$PY" benchmarks/cuda_b1_variants.py "$OUT/variants/model.onnx" --out "$OUT" \
      --one-d "$OUT/variants/model.openvino.onnx" --fp16 "$OUT/variants/model.fp16.onnx" --rounds 3 >> "$OUT/variants.log" 2>&1
echo "- batch-1 variants under CUDA graphs (variants.md; target p99 0.3 ms): $(grep -c '^| ' "$OUT/variants.md" 2>/dev/null || echo 0) rows" >> "$OUT/summary.md"

if "$PY" -c "import tensorrt" 2>/dev/null; then
  "$PY" -m drsn_edge export "$MODEL" -o "$OUT/engines/model.onnx" --fp16 --int8 --int8-target tensorrt \
      --trt fp32 --trt fp16 --trt int8 > "$OUT/export.log" 2>&1
  echo "- TensorRT engines: $(tail -1 "$OUT/export.log")" >> "$OUT/summary.md"
fi

timeout "${BENCH_TIMEOUT:-600}" "$PY" -m drsn_edge bench "$MODEL" --out "$OUT" --no-capacity --rounds 7 ${BENCH_ARGS:---data sim} \
    > "$OUT/bench.log" 2>&1
echo "- bench: $(grep -c '| ok |' "$OUT/bench.md" 2>/dev/null || echo 0) formats measured (bench.md)" >> "$OUT/summary.md"
"$PY" - "$OUT/bench.json" >> "$OUT/summary.md" 2>&1 <<'PY'
import json, sys
from pathlib import Path

p = Path(sys.argv[1])
if not p.is_file():
    sys.exit(print("- bench wrote no bench.json: see bench.log"))
r = json.loads(p.read_text())
for row in r["formats"]:
    if row["status"] == "ok" and row["provider"] in ("cuda", "tensorrt", "engine"):
        b1 = row["latency_b1"]
        print(f"- {row['format']}: batch 1 median {b1['median_ms']:.3f} ms, p99 {b1['p99_ms']:.3f} ms; batch "
              f"{r['batch']} median {row['latency_bN']['median_ms']:.3f} ms; GPU time b1 / bN "
              f"{row.get('gpu_ms_b1', float('nan')):.3f} / {row.get('gpu_ms_bN', float('nan')):.3f} ms")
pc = (r.get("streaming") or {}).get("providers")
for name, v in (pc or {}).get("variants", {}).items():
    if "error" in v:
        print(f"- stream {name}: failed: {v['error']}")
    else:
        vs = v.get("over_cpu")
        print(f"- stream, {pc['channels']} channels at {pc['input_rate_hz'] / 1000:g} kHz, {name}: "
              f"{v['real_time_factor']:.1f}x real time" + (f", {vs['median']:.2f}x the CPU provider's [{vs['min']:.2f}-"
                                                             f"{vs['max']:.2f}]" if vs else ""))
PY
cat "$OUT/summary.md"
