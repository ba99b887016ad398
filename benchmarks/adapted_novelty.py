"""The novelty threshold of an adapted model, for refitted source models: calibrated directly on the validation
recordings (which the refit trained on) vs carried over from the source (``adapt``'s way since this script).

For each leave-one-load-out fold model of benchmarks/cwru_generalization.py (``--work``; the default recipe, with
its refit), ``adapt`` (tent) runs on the first half of every held-out recording, the heads are refitted on the
source data through the adapted network both ways, and the share of the second halves' windows (all of known fault
classes) called unknown is counted, beside the source model's share on the same windows at its own threshold.
The stated false-unknown rate is 1 % of known windows.

Usage: python benchmarks/adapted_novelty.py --data-dir ../shared/data/cwru/12k_drive_end [--seeds 0,1,2]
       [--work runs/cwru_gen_e12]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from cwru_adaptation import FOLDS, halves  # noqa: E402

from drsn_edge.data.dataset import DataSpec, load_dataset  # noqa: E402
from drsn_edge.models.checkpoint import load_checkpoint  # noqa: E402
from drsn_edge.runtime.cpu_features import cpu_description  # noqa: E402
from drsn_edge.training.adapt import adapt_model, training_augment, training_noise  # noqa: E402
from drsn_edge.training.config import TrainConfig  # noqa: E402
from drsn_edge.training.heads import fit_heads, novelty_inputs  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def unknown_share(model, threshold: float, x: np.ndarray) -> float:
    with torch.no_grad():
        return float((model.novelty(novelty_inputs(model, x)).numpy() > threshold).mean())


def run_fold(path: Path, xa: np.ndarray, xe: np.ndarray) -> dict[str, Any]:
    source, md = load_checkpoint(path)
    source.eval()
    out: dict[str, Any] = {"source_threshold": float(md.novelty["threshold"]),
                           "source_unknown": unknown_share(source, md.novelty["threshold"], xe)}
    adapted, _ = load_checkpoint(path)
    adapt_model(adapted, xa, "tent", log=lambda s: None, noise=training_noise(md), augment=training_augment(md))
    ds = load_dataset(DataSpec.from_dict(md.data), min_samples=md.window)
    cfg = TrainConfig(seed=int(md.training.get("seed", 0)), noise=training_noise(md))
    for way, kw in (("direct", {}), ("carried", {"source": (source, float(md.novelty["threshold"]))})):
        fitted = fit_heads(adapted, ds, cfg, **kw)["novelty"]
        out[way] = {"threshold": fitted["threshold"], "calibrated_on": fitted["calibrated_on"],
                    "unknown": unknown_share(adapted, fitted["threshold"], xe)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--work", default="runs/cwru_gen_e12")
    args = ap.parse_args()
    rows = []
    for fold in FOLDS:
        xa, xe, _ = halves(args.data_dir, fold, "DE")
        for seed in args.seeds.split(","):
            ck = Path(args.work) / f"robust-wide-s{seed}-lolo-{fold}.safetensors"
            if not ck.is_file():
                print(f"missing {ck}; run benchmarks/cwru_generalization.py first")
                continue
            r = {"fold": fold, "seed": int(seed), **run_fold(ck, xa, xe)}
            rows.append(r)
            print(f"{fold} s{seed}: source {100 * r['source_unknown']:.2f} % (threshold {r['source_threshold']:.1f}); "
                  f"adapted, direct {100 * r['direct']['unknown']:.2f} % ({r['direct']['threshold']:.1f}), "
                  f"carried {100 * r['carried']['unknown']:.2f} % ({r['carried']['threshold']:.1f})", flush=True)
    mean = {k: float(np.mean([r[k] if k == "source_unknown" else r[k]["unknown"] for r in rows]))
            for k in ("source_unknown", "direct", "carried")}
    cpu = cpu_description()
    out = {"protocol": __doc__.split("\n\n")[1], "machine": f"{cpu['model']} ({', '.join(cpu['isa'])})",
           "rows": rows, "mean_unknown": mean,
           "command": f"python benchmarks/adapted_novelty.py --data-dir {args.data_dir} --seeds {args.seeds} "
                      f"--work {args.work}"}
    (RESULTS / "adapted_novelty.json").write_text(json.dumps(out, indent=1))
    lines = ["# Adapted models' novelty threshold: calibrated on validation windows vs carried over from the source",
             "", out["protocol"], "",
             "Share of the held-out load's known-class evaluation windows called unknown (target: about 1 %):", "",
             "| fold | seed | source model | adapted, direct on validation (before) | adapted, carried over (now) |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['fold']} | {r['seed']} | {100 * r['source_unknown']:.2f} % ({r['source_threshold']:.1f}) | "
                     f"{100 * r['direct']['unknown']:.2f} % ({r['direct']['threshold']:.1f}) | "
                     f"{100 * r['carried']['unknown']:.2f} % ({r['carried']['threshold']:.1f}) |")
    lines += [f"| mean | | {100 * mean['source_unknown']:.2f} % | {100 * mean['direct']:.2f} % | "
              f"{100 * mean['carried']:.2f} % |", "", "(thresholds in brackets)", "",
              f"Machine: {out['machine']}. Command: `{out['command']}`", ""]
    (RESULTS / "adapted_novelty.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
