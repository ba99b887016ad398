"""Zhao et al. (2020) protocol on CWRU: train and test at the same SNR, DRSN-CW vs DRSN-CS vs ResNet, 3 seeds.

Usage: python benchmarks/paper_protocol.py --data-dir ../shared/data/cwru/12k_drive_end [--snr -4] [--seeds 0,1,2]
Writes benchmarks/results/paper_protocol_cwru.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.evaluation.job import evaluate_model
from drsn_edge.training.config import TrainConfig
from drsn_edge.training.noise_schedule import NoiseSchedule
from drsn_edge.training.pipeline import train_checkpoint

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--snr", type=float, default=-4.0)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--models", default="drsn-cw,drsn-cs,resnet")
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--steps-per-epoch", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3, help="noise realizations of the test windows")
    ap.add_argument("--work", default="runs/paper_protocol")
    args = ap.parse_args()

    spec = DataSpec("cwru", {"root": args.data_dir, "label_set": "10"}, 12000.0)
    dataset = load_dataset(spec, min_samples=2048)
    rows = []
    for arch in args.models.split(","):
        for seed in map(int, args.seeds.split(",")):
            cfg = TrainConfig(epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, seed=seed,
                              noise=NoiseSchedule(kinds=("gaussian",), snr_low=args.snr, snr_high=args.snr))
            ckpt = Path(args.work) / f"{arch}-{args.preset}-s{seed}.safetensors"
            t0 = time.perf_counter()
            train_checkpoint(spec, arch, args.preset, cfg, ckpt, progress=False, log=lambda s: None, dataset=dataset)
            rep = evaluate_model(ckpt, None, ("gaussian",), [args.snr], seed=100, repeats=args.repeats)
            acc = rep["results"][1]["accuracy"]
            rows.append({"model": arch, "seed": seed, "accuracy": acc, "seconds": round(time.perf_counter() - t0, 1)})
            print(f"{arch:8s} seed {seed}: {100 * acc:.2f} %  ({rows[-1]['seconds']} s)", flush=True)

    summary = {}
    for arch in args.models.split(","):
        accs = [r["accuracy"] for r in rows if r["model"] == arch]
        summary[arch] = {"mean": statistics.mean(accs), "std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                         "min": min(accs), "max": max(accs), "n": len(accs)}
    out = {
        "protocol": f"train and test at {args.snr:g} dB Gaussian SNR, CWRU 12k drive end, 10 classes, loads pooled, "
                    "time split 70/10/20 per recording",
        "preset": args.preset, "epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch,
        "test_noise_repeats": args.repeats, "runs": rows, "summary": summary,
        "machine": {"cpu": platform.processor() or platform.machine(), "torch": torch.__version__,
                    "threads": torch.get_num_threads()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "paper_protocol_cwru.json").write_text(json.dumps(out, indent=1))
    lines = [f"# Paper protocol: {out['protocol']}", "",
             f"Preset `{args.preset}`, {args.epochs} epochs x {args.steps_per_epoch} steps, seeds {args.seeds}.", "",
             "| model | mean acc % | std | min | max |", "|---|---|---|---|---|"]
    for arch, s in summary.items():
        lines.append(f"| {arch} | {100 * s['mean']:.2f} | {100 * s['std']:.2f} | {100 * s['min']:.2f} | {100 * s['max']:.2f} |")
    (RESULTS / "paper_protocol_cwru.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
