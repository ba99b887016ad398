"""Does the noise level the runtime reports follow the noise actually there?

Each fold model of the leave-one-load-out runs (the default recipe; ``--work``) is exported to ONNX; its held-out
load's recordings (real CWRU windows it never trained on) get Gaussian, Laplacian or pink noise at -6..20 dB SNR, and
the runtime's ``noise_level`` output (dB of noise relative to the vibration, read from the network's soft thresholds)
is compared with the injected level (-SNR): Spearman rank correlation per noise type, and the median error in dB.

Usage: python benchmarks/noise_telemetry.py --data-dir ../shared/data/cwru/12k_drive_end [--work runs/cwru_generalization]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.data.noise import NOISE_TYPES, add_noise
from drsn_edge.data.splits import SplitSpec
from drsn_edge.export.onnx_export import export_onnx
from drsn_edge.runtime import open_model

RESULTS = Path(__file__).parent / "results"
SNRS = (-6, -4, -2, 0, 2, 4, 6, 8, 10, 12, 15, 20)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--work", default="runs/cwru_generalization")
    ap.add_argument("--recipe", default="robust")
    ap.add_argument("--presets", default="paper,wide")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--windows", type=int, default=300)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets.split(","):
            for seed in args.seeds.split(","):
                for fold in ("0hp", "1hp", "2hp", "3hp"):
                    ck = Path(args.work) / f"{args.recipe}-{preset}-s{seed}-lolo-{fold}.safetensors"
                    if not ck.is_file():
                        continue
                    onnx = Path(tmp) / "m.onnx"
                    export_onnx(ck, onnx)
                    be, md = open_model(onnx)
                    be.activate()
                    ds = load_dataset(DataSpec("cwru", {"root": args.data_dir}, 12000.0,
                                               SplitSpec("group", test_groups=(fold,))), min_samples=2048)
                    x, _ = ds.windows("test", 2048, 1024)
                    x = x[rng.permutation(len(x))[: args.windows]]
                    row = {"preset": preset, "seed": seed, "fold": fold}
                    for kind in NOISE_TYPES:
                        est, level = [], []
                        for snr in SNRS:
                            est.append(be.infer_all(add_noise(x, snr, kind, rng).astype(np.float32))[1]["noise_level"])
                            level.append(np.full(len(x), -snr))
                        e, lv = np.concatenate(est), np.concatenate(level)
                        row[kind] = {"spearman": float(spearmanr(e, lv).statistic),
                                     "median_abs_error_db": float(np.median(np.abs(e - lv)))}
                    row["clean_estimate_db_median"] = float(np.median(be.infer_all(x)[1]["noise_level"]))
                    rows.append(row)
                    print(preset, seed, fold, {k: round(row[k]["spearman"], 3) for k in NOISE_TYPES}, flush=True)
    def of(p: str, k: str, key: str) -> list[float]:
        return [r[k][key] for r in rows if r["preset"] == p]

    summary = {p: {k: {"spearman_mean": float(np.mean(of(p, k, "spearman"))), "spearman_min": float(np.min(of(p, k, "spearman"))),
                       "median_abs_error_db": float(np.mean(of(p, k, "median_abs_error_db")))}
                   for k in NOISE_TYPES} for p in args.presets.split(",") if any(r["preset"] == p for r in rows)}
    out = {"protocol": __doc__.split("\n\n")[1], "snrs_db": SNRS, "rows": rows, "summary": summary}
    (RESULTS / "noise_telemetry.json").write_text(json.dumps(out, indent=1))
    lines = ["# Noise telemetry: the reported noise level vs the injected noise, CWRU held-out loads", "", out["protocol"], "",
             f"SNRs {', '.join(map(str, SNRS))} dB; {args.windows} windows per model; every fold model of seeds "
             f"{args.seeds}.", "", f"Command: `python benchmarks/noise_telemetry.py --data-dir ../shared/data/cwru/12k_drive_end "
             f"--work {args.work} --recipe {args.recipe} --presets {args.presets} --seeds {args.seeds}`", "",
             "| preset | noise | Spearman, mean over models | lowest | median error dB |", "|---|---|---|---|---|"]
    for p, s in summary.items():
        for k, v in s.items():
            lines.append(f"| {p} | {k} | **{v['spearman_mean']:.3f}** | {v['spearman_min']:.3f} | "
                         f"{v['median_abs_error_db']:.1f} |")
    (RESULTS / "noise_telemetry.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
