"""An honest "unknown": leave one fault class out of training, then ask whether its windows look unknown.

For each CWRU fault class: a model is trained (the default recipe, recording split) on the other nine classes; its
novelty score (Mahalanobis distance to the nearest known class, computed in the exported ONNX graph) ranks the
held-out class's windows (every recording of it) against the known classes' test windows (their held-out
recordings). Reported per class: AUROC, the share of the held-out class called unknown at the threshold the model
stored (calibrated on validation windows to call 1 % of them unknown), and the share of known test windows called
unknown. Beside it, the AUROC of the score models had before ``novelty_input`` (the pooled features alone), fitted
the same way on the same network.

Usage: python benchmarks/open_set.py --data-dir ../shared/data/cwru/12k_drive_end [--preset wide] [--epochs 20]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from drsn_edge.bench.machine import machine_info
from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.data.sources.cwru import LABEL_SETS
from drsn_edge.data.splits import SplitSpec
from drsn_edge.export.onnx_export import export_onnx
from drsn_edge.runtime import open_model
from drsn_edge.training.config import TrainConfig
from drsn_edge.training.pipeline import train_checkpoint

RESULTS = Path(__file__).parent / "results"


def auroc(neg: np.ndarray, pos: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties half (Mann-Whitney)."""
    allv = np.concatenate([neg, pos])
    ranks = np.argsort(np.argsort(allv, kind="stable"), kind="stable").astype(float) + 1
    # average ranks of ties
    _, inv, counts = np.unique(allv, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    ranks = (sums / counts)[inv]
    r_pos = ranks[len(neg):].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def scores(onnx: Path, x: np.ndarray) -> np.ndarray:
    be, md = open_model(onnx)
    be.activate()
    return np.concatenate([be.infer_all(x[i : i + 256])[1]["novelty"] for i in range(0, len(x), 256)])


def pooled_only_scores(ckpt: Path, ds, seed: int, xs: list[np.ndarray]) -> list[np.ndarray]:
    """The novelty score on the pooled features alone (``novelty_input`` "features"), fitted as the pipeline fits the
    default one (noisy crops of the recordings the refit trained on), on the same network."""
    import torch

    from drsn_edge.models.checkpoint import load_checkpoint
    from drsn_edge.models.heads import NoveltyHead
    from drsn_edge.training.heads import network_features

    model, md = load_checkpoint(ckpt)
    cfg = TrainConfig(seed=seed)
    rng = np.random.default_rng(seed + 7)
    x, y = ds.sample(("train", "val"), md.window, 3000, rng)
    head = NoveltyHead(len(md.class_names), model.bn.num_features)
    head.fit(network_features(model, cfg.noise.apply(x, rng))[0], torch.from_numpy(y))
    with torch.no_grad():
        return [head(network_features(model, v)[0]).numpy() for v in xs]


def main() -> None:
    import torch

    torch.set_num_threads(int(os.environ.get("DRSN_THREADS", torch.get_num_threads())))
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--preset", default="wide")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", default="runs/open_set")
    ap.add_argument("--held-out", help="comma-separated fault classes to leave out, one model each (default: all 9)")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    names = LABEL_SETS["10"]
    full = load_dataset(DataSpec("cwru", {"root": args.data_dir}, 12000.0, SplitSpec("all")), min_samples=2048)
    rows = []
    for held in args.held_out.split(",") if args.held_out else names[1:]:
        if held not in names[1:]:
            raise SystemExit(f"unknown fault class {held!r}; choose from {', '.join(names[1:])}")
        done = work / f"{held}.json"
        if done.is_file():
            rows.append(json.loads(done.read_text()))
            continue
        known = [n for n in names if n != held]
        spec = DataSpec("cwru", {"root": args.data_dir, "classes": known}, 12000.0, SplitSpec("recording"), 0)
        ckpt = work / f"without-{held}.safetensors"
        _, md = train_checkpoint(spec, "drsn-cw", args.preset, TrainConfig(epochs=args.epochs, seed=args.seed), ckpt,
                                 progress=False, log=lambda s: None)
        onnx = work / f"without-{held}.onnx"
        export_onnx(ckpt, onnx)
        ds = load_dataset(spec, min_samples=2048)
        x_known, _ = ds.windows("test", 2048, 1024)
        idx = full.class_names.index(held)
        x_new = np.concatenate([np.lib.stride_tricks.sliding_window_view(r.signal[0], 2048)[::1024][:, None]
                                for r in full.recordings if r.label == idx]).astype(np.float32)
        s_known, s_new = scores(onnx, x_known), scores(onnx, x_new)
        thr = md.novelty["threshold"]
        p_known, p_new = pooled_only_scores(ckpt, ds, args.seed, [x_known, x_new])
        row = {"held_out_class": held, "auroc": auroc(s_known, s_new), "detection_rate": float(np.mean(s_new > thr)),
               "novelty_score": md.novelty["score"], "auroc_pooled_features_alone": auroc(p_known, p_new),
               "false_unknown_rate_known_test": float(np.mean(s_known > thr)), "known_test_windows": int(len(x_known)),
               "held_out_windows": int(len(x_new)), "threshold": thr,
               "known_test_balanced_accuracy": md.metrics.get("balanced_accuracy")}
        done.write_text(json.dumps(row, indent=1))
        rows.append(row)
        print(f"without {held}: AUROC {row['auroc']:.3f} ({row['auroc_pooled_features_alone']:.3f} pooled alone), "
              f"detected {100 * row['detection_rate']:.1f} %, "
              f"false unknown {100 * row['false_unknown_rate_known_test']:.1f} %", flush=True)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("auroc", "auroc_pooled_features_alone", "detection_rate",
                                                               "false_unknown_rate_known_test")}
    out = {"protocol": __doc__.split("\n\n")[1], "preset": args.preset, "epochs": args.epochs, "rows": rows, "mean": mean,
           "machine": machine_info()}
    (RESULTS / "open_set.json").write_text(json.dumps(out, indent=1))
    lines = [f"# Open set on CWRU: leave one fault class out ({args.preset} preset, {args.epochs} epochs, seed {args.seed})", "",
             f"Command: `python benchmarks/open_set.py --data-dir ../shared/data/cwru/12k_drive_end --preset {args.preset} "
             f"--epochs {args.epochs} --work {args.work}" + (f" --held-out {args.held_out}`" if args.held_out else "`"), "",
             out["protocol"], "", f"Novelty score: {rows[0]['novelty_score']}. Machine: {out['machine']['cpu']}, "
             f"{out['machine']['cores']} cores.", "",
             "| held-out class | AUROC | AUROC, pooled features alone | called unknown at the stored threshold | known test "
             "windows called unknown | known-class balanced accuracy % |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['held_out_class']} | {r['auroc']:.3f} | {r['auroc_pooled_features_alone']:.3f} | "
                     f"{100 * r['detection_rate']:.1f} % | "
                     f"{100 * r['false_unknown_rate_known_test']:.1f} % | {100 * (r['known_test_balanced_accuracy'] or 0):.2f} |")
    lines.append(f"| **mean** | **{mean['auroc']:.3f}** | {mean['auroc_pooled_features_alone']:.3f} | "
                 f"{100 * mean['detection_rate']:.1f} % | "
                 f"{100 * mean['false_unknown_rate_known_test']:.1f} % | |")
    (RESULTS / "open_set.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
