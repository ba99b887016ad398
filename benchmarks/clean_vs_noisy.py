"""Does the training recipe hold up on clean input? Balanced accuracy on held-out groups, clean beside Gaussian noise at
-4 dB, for the default recipe of ``drsn-edge train`` and the recipes it is compared with.

A model trained on noisy windows only can score higher under noise than clean (MFPT held-out loads: 88.6 % clean,
93.0 % at -4 dB, with 0.1's recipe at the files' 48,828 Hz): clean windows are then the odd ones out, and a user's
sensor is usually cleaner than -4 dB. Each row trains ``train``'s pipeline (best epoch on validation recordings, then
the refit) on the training groups and evaluates the held-out group's recordings:

- CWRU 12 kHz drive end, leave one load out (4 folds; 97.mat, the only normal recording, split by time in the 0 hp
  fold as ``train`` declares);
- MFPT (a second rig, inner vs outer race), loads 6 and 7 held out, and leave-one-load-out over its 7 loads;
  the model's rate chosen by ``train``'s default (12 kHz: a 2048-sample window spans 0.17 s).

Usage: python benchmarks/clean_vs_noisy.py --cwru ../shared/data/cwru/12k_drive_end --mfpt ../shared/data/mfpt
       [--recipes default,noisy-only] [--seeds 0,1,2] [--jobs 2]
Runs resume: finished runs (their JSON under --work) are not repeated. Each job trains on one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).parent / "results"
NOISE = ("gaussian", -4.0)


def recipe(name: str, seed: int):
    """``default``: ``drsn-edge train``'s (every training window noisy, -4..10 dB, noise of three kinds);
    ``clean-30-20``: 30 % of training windows clean and the others -4..20 dB (the candidate for a recipe that sees
    clean input)."""
    from drsn_edge.training.config import TrainConfig
    from drsn_edge.training.noise_schedule import NoiseSchedule

    if name == "default":
        return TrainConfig(seed=seed)
    if name.startswith("clean-"):  # clean-30-20: 30 % of windows clean, the others -4..20 dB
        _, share, high = name.split("-")
        return TrainConfig(seed=seed, noise=NoiseSchedule(snr_low=-4.0, snr_high=float(high),
                                                          clean_fraction=int(share) / 100))
    raise SystemExit(f"unknown recipe {name!r}")


def splits(args) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(dataset name, DataSpec kwargs, held-out groups) of every run."""
    out = []
    if args.cwru:
        opts = {"root": args.cwru, "label_set": "10", "group_by": "load"}
        out += [("cwru-lolo", {"source": "cwru", "options": opts, "fs": 12000.0}, [f"{g}hp"]) for g in range(4)]
    if args.mfpt:
        man = str(Path(args.mfpt) / "manifest.csv")
        spec = {"source": "manifest", "options": {"root": man}, "fs": None}
        out.append(("mfpt-loads-6-7", spec, ["load6", "load7"]))
        if args.mfpt_lolo:
            out += [("mfpt-lolo", spec, [f"load{g}"]) for g in range(1, 8)]
    return out


def run_one(job: tuple) -> dict[str, Any]:
    work, tag, name, spec_kw, groups, rname, seed = job
    done = Path(work) / f"{tag}.json"
    if done.is_file():
        return json.loads(done.read_text())
    import torch

    torch.set_num_threads(1)
    from drsn_edge.data.dataset import DataSpec
    from drsn_edge.data.splits import SplitSpec
    from drsn_edge.evaluation.job import evaluate_model
    from drsn_edge.training.pipeline import train_checkpoint

    spec = DataSpec(spec_kw["source"], spec_kw["options"], spec_kw["fs"], SplitSpec("group", test_groups=tuple(groups)))
    ckpt = Path(work) / f"{tag}.safetensors"
    t0 = time.perf_counter()
    train_checkpoint(spec, "drsn-cw", "wide", recipe(rname, seed), ckpt, progress=False, log=lambda s: None)
    seconds = time.perf_counter() - t0
    rep = evaluate_model(ckpt, None, (NOISE[0],), [NOISE[1], None], seed=0, repeats=2)
    cells = {("clean" if c["snr_db"] is None else f"{c['noise']} {c['snr_db']:g} dB"): c for c in rep["results"]}
    held = rep.get("clean_held_out_only", rep["clean"])
    row = {"tag": tag, "dataset": name, "recipe": rname, "seed": seed, "held_out": groups, "train_seconds": round(seconds, 1),
           "windows": rep["clean"]["windows"], "clean": cells["clean"]["balanced_accuracy"],
           "noisy": cells[f"{NOISE[0]} {NOISE[1]:g} dB"]["balanced_accuracy"],
           "clean_held_out_only": held["balanced_accuracy"], "fallback": rep["split"]["fallback"]}
    done.write_text(json.dumps(row, indent=1))  # the checkpoint stays: other benchmarks stream it
    return row


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per seed the mean over folds; then mean +- std over seeds, and the worst fold of any seed."""
    seeds = sorted({r["seed"] for r in rows})
    per_seed = {k: [np.mean([r[k] for r in rows if r["seed"] == s]) for s in seeds] for k in ("clean", "noisy")}
    return {k: {"mean": float(np.mean(v)), "std": float(np.std(v)), "worst_fold": float(min(r[k] for r in rows))}
            for k, v in per_seed.items()} | {"seeds": len(seeds), "runs": len(rows),
                                             "train_seconds_median": float(np.median([r["train_seconds"] for r in rows])),
                                             "clean_minus_noisy_min": float(min(a - b for a, b in zip(per_seed["clean"],
                                                                                                      per_seed["noisy"])))}


def to_markdown(out: dict[str, Any]) -> str:
    pm = lambda s: f"{100 * s['mean']:.2f} +- {100 * s['std']:.2f}"  # noqa: E731
    lines = ["# Clean beside noisy: does the training recipe hold up on clean input?", "",
             out["protocol"], "",
             f"Balanced accuracy % on the held-out groups' recordings, mean +- std over seeds of each seed's mean over "
             f"folds; worst fold of any seed; {NOISE[0]} noise at {NOISE[1]:g} dB drawn twice per window.", "",
             "| data (held out) | recipe | clean | gaussian -4 dB | clean >= -4 dB | worst fold clean | worst fold -4 dB | "
             "seeds x folds | train s (median) |", "|---|---|---|---|---|---|---|---|---|"]
    for key, s in out["summary"].items():
        data, rname = key.split("|")
        ok = "yes" if s["clean_minus_noisy_min"] >= 0 else "**no**"
        lines.append(f"| {data} | {rname} | **{pm(s['clean'])}** | {pm(s['noisy'])} | {ok} | "
                     f"{100 * s['clean']['worst_fold']:.2f} | {100 * s['noisy']['worst_fold']:.2f} | "
                     f"{s['seeds']} x {s['runs'] // s['seeds']} | {s['train_seconds_median']:.0f} |")
    m = out["machine"]
    lines += ["", f"Recipes: {out['recipes_doc']}", "", f"Machine: {m['cpu']}, one torch thread per run, {m['jobs']} runs "
              f"at a time; Python {m['python']}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    from drsn_edge.runtime.cpu_features import cpu_description

    ap = argparse.ArgumentParser()
    ap.add_argument("--cwru")
    ap.add_argument("--mfpt")
    ap.add_argument("--mfpt-lolo", action="store_true", help="also leave one MFPT load out (7 folds)")
    ap.add_argument("--recipes", default="default")
    ap.add_argument("--compare", default="clean-30-20", help="another recipe, run on MFPT only (the cheap data set)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--work", default="runs/clean_vs_noisy")
    ap.add_argument("--name", default="clean_vs_noisy")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    Path(args.work).mkdir(parents=True, exist_ok=True)
    recipes = args.recipes.split(",") + ([args.compare] if args.compare else [])
    jobs = [(args.work, f"{name}-{'+'.join(groups)}-{rname}-s{seed}", name, spec, groups, rname, seed)
            for rname in recipes for seed in map(int, args.seeds.split(","))
            for name, spec, groups in splits(args) if rname in args.recipes.split(",") or name.startswith("mfpt")]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = []
        for row in pool.map(run_one, jobs):
            rows.append(row)
            print(f"{row['tag']}: clean {100 * row['clean']:.2f} %, -4 dB {100 * row['noisy']:.2f} % "
                  f"({row['train_seconds']} s)", flush=True)
    summary = {}
    for key in dict.fromkeys(f"{r['dataset']}|{r['recipe']}" for r in rows):
        summary[key] = summarize([r for r in rows if f"{r['dataset']}|{r['recipe']}" == key])
    out = {"protocol": "\n\n".join(__doc__.split("\n\n")[1:3]), "recipes_doc": " ".join(recipe.__doc__.split()),
           "rows": rows, "summary": summary,
           "machine": {"cpu": cpu_description()["model"], "python": platform.python_version(), "jobs": args.jobs}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(out, indent=1))
    (RESULTS / f"{args.name}.md").write_text(to_markdown(out))
    print(to_markdown(out))


if __name__ == "__main__":
    main()
