"""The demo job: simulator data -> DRSN-CW under noise -> evaluation (offline, a few CPU minutes)."""

from __future__ import annotations

import json
import time
from pathlib import Path


def run_demo(out: Path, epochs: int = 12, quick: bool = False) -> dict:
    from drsn_edge.data.dataset import DataSpec
    from drsn_edge.training.evaluate import format_table, plot_report
    from drsn_edge.training.noise_schedule import NoiseSchedule
    from drsn_edge.training.pipeline import evaluate_checkpoint, train_checkpoint
    from drsn_edge.training.trainer import TrainConfig

    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    print("== 1/2 train: DRSN-CW (paper preset) on the bearing simulator, Gaussian/pink noise at -6..10 dB SNR")
    data = DataSpec(source="sim", label_set="4", sim_duration=4.0 if quick else 10.0)
    cfg = TrainConfig(
        epochs=epochs, steps_per_epoch=20 if quick else 80, seed=0,
        noise=NoiseSchedule(kinds=("gaussian", "pink"), snr_low=-6, snr_high=10, clean_fraction=0.1),
    )
    ckpt = out / "drsn-cw.safetensors"
    train_checkpoint(data, "drsn-cw", "paper", cfg, ckpt, progress=not quick)

    print("\n== 2/2 evaluate: test split (later in time than training), accuracy % per noise type and SNR")
    report = evaluate_checkpoint(ckpt, ("gaussian", "laplacian", "pink"), [-4, 0, 4, None], seed=0)
    print(format_table(report))
    (out / "eval.json").write_text(json.dumps(report, indent=1))
    plot_report(report, str(out / "eval.png"))
    print(f"\ndone in {time.perf_counter() - t0:.0f} s; files in {out}/: drsn-cw.safetensors, eval.json, eval.png")
    return report
