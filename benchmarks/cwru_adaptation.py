"""Leave-one-load-out on CWRU, step by step: 0.1's training -> the robust recipe (without, then with the refit) ->
+ adaptation (AdaBN, tent).

Uses the fold checkpoints of benchmarks/cwru_generalization.py (``--work``). For each held-out load, the adaptation
sees the first half of every held-out recording, unlabelled; every figure (before and after adaptation) is measured
on the second halves, so no evaluated window was seen by any step. The held-out load's 9 fault classes are scored
(the normal recording exists only at 0 hp; in that fold it was split by time and is left out here). Cross-sensor:
the same protocol on the fan-end channel (FE) of the same files, for models trained on the drive end.

Usage: python benchmarks/cwru_adaptation.py --data-dir ../shared/data/cwru/12k_drive_end
       [--recipes baseline,robust-norefit,robust] [--presets paper,wide] [--seeds 0,1,2] [--work runs/cwru_generalization]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.data.recording import cut_windows
from drsn_edge.data.splits import SplitSpec
from drsn_edge.evaluation.metrics import classification_report
from drsn_edge.models.checkpoint import load_checkpoint
from drsn_edge.runtime.cpu_features import cpu_description
from drsn_edge.training.adapt import adapt_model, training_augment, training_noise
from drsn_edge.training.trainer import predict_logits

RESULTS = Path(__file__).parent / "results"
FOLDS = ("0hp", "1hp", "2hp", "3hp")
STEPS = ("before", "adabn", "tent")
RECIPES = {
    "baseline": "drsn-edge 0.1's training (Gaussian noise -4..10 dB, no augmentation, the best validation epoch)",
    "robust-norefit": "the robust recipe (three noise kinds, speed jitter, gain, polarity, class-balanced crops) with "
                      "the best validation epoch's weights: train's default before the refit",
    "robust": "train's default: the robust recipe, then a refit on training + validation recordings up to the best "
              "validation epoch",
}


def halves(root: str, fold: str, channel: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(adaptation windows, evaluation windows, their labels) of the held-out load's fault recordings."""
    ds = load_dataset(DataSpec("cwru", {"root": root, "channels": [channel]}, 12000.0, SplitSpec("group", test_groups=(fold,))),
                      min_samples=2048)
    xa, xe, ye = [], [], []
    for r in ds.recordings:
        if r.group != fold or ds.class_names[r.label] == "normal":
            continue
        n = r.samples
        xa.append(cut_windows(r.signal, 0, n // 2, 2048, 1024))
        w = cut_windows(r.signal, n // 2, n, 2048, 1024)
        xe.append(w)
        ye.append(np.full(len(w), r.label))
    return np.concatenate(xa), np.concatenate(xe), np.concatenate(ye)


def score(model, x: np.ndarray, y: np.ndarray, names: list[str]) -> dict[str, Any]:
    rep = classification_report(y, predict_logits(model, x).argmax(1), names)
    return {"accuracy": rep["accuracy"], "balanced_accuracy": rep["balanced_accuracy"],
            "recall": {k: v["recall"] for k, v in rep["per_class"].items() if v["recall"] is not None}}


def run_checkpoint(path: Path, data: dict[str, tuple], done: Path) -> dict[str, Any]:
    if done.is_file():
        return json.loads(done.read_text())
    out: dict[str, Any] = {}
    for channel, (xa, xe, ye) in data.items():
        for step in STEPS:
            model, md = load_checkpoint(path)
            if step != "before":
                info = adapt_model(model, xa, step, log=lambda s: None, noise=training_noise(md),
                                   augment=training_augment(md))
                out.setdefault("adapt", {})[f"{channel} {step}"] = info
            out[f"{channel} {step}"] = score(model, xe, ye, md.class_names)
    done.write_text(json.dumps(out, indent=1))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--recipes", default="baseline,robust-norefit,robust")
    ap.add_argument("--presets", default="paper,wide")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--work", default="runs/cwru_generalization")
    ap.add_argument("--name", default="cwru_adaptation")
    args = ap.parse_args()
    work = Path(args.work)
    data = {fold: {ch: halves(args.data_dir, fold, ch) for ch in ("DE", "FE")} for fold in FOLDS}
    results: dict[str, Any] = {}
    for recipe in args.recipes.split(","):
        for preset in args.presets.split(","):
            cell: dict[str, Any] = {}
            for seed in args.seeds.split(","):
                for fold in FOLDS:
                    tag = f"{recipe}-{preset}-s{seed}-lolo-{fold}"
                    ck = work / f"{tag}.safetensors"
                    if not ck.is_file():
                        print(f"missing {ck}; run benchmarks/cwru_generalization.py first")
                        continue
                    r = run_checkpoint(ck, data[fold], work / f"{tag}.adapt.json")
                    cell.setdefault(fold, []).append(r)
                    print(f"{tag}: " + ", ".join(f"{k} {100 * v['balanced_accuracy']:.2f}" for k, v in r.items()
                                                 if k != "adapt"), flush=True)
            results[f"{recipe}/{preset}"] = summarize(cell)
    command = (f"python benchmarks/cwru_adaptation.py --data-dir {args.data_dir} --recipes {args.recipes} "
               f"--presets {args.presets} --seeds {args.seeds} --work {args.work}")
    out = {"protocol": __doc__.split("\n\n")[1], "command": command, "seeds": args.seeds, "results": results,
           "machine": {"cpu": cpu_description()["model"]}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(out, indent=1))
    (RESULTS / f"{args.name}.md").write_text(to_markdown(out))
    print(to_markdown(out))


def summarize(cell: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    s: dict[str, Any] = {"per_fold": {}, "mean": {}}
    keys = [f"{ch} {st}" for ch in ("DE", "FE") for st in STEPS]
    for fold, runs in cell.items():
        s["per_fold"][fold] = {k: _ms([r[k]["balanced_accuracy"] for r in runs]) for k in keys}
    n = min((len(r) for r in cell.values()), default=0)
    for k in keys:  # the mean over folds, per seed; then mean and std over seeds
        per_seed = [np.mean([cell[f][i][k]["balanced_accuracy"] for f in cell]) for i in range(n)]
        worst = [min(cell[f][i][k]["balanced_accuracy"] for f in cell) for i in range(n)]
        s["mean"][k] = {**_ms(per_seed), "worst_fold": _ms(worst), "lowest_fold": float(min(worst, default=np.nan))}
    # the share of confidently labelled target windows each adaptation relabelled (``adapt`` refuses above 30 %)
    s["relabelled_max"] = {k: max((r.get("adapt", {}).get(k, {}).get("confident_relabelled", 0.0)
                                   for runs in cell.values() for r in runs), default=0.0)
                           for k in keys if not k.endswith("before")}
    return s


def _ms(v: list[float]) -> dict[str, float]:
    a = np.asarray(v, dtype=float)
    return {"mean": float(a.mean()) if a.size else float("nan"), "std": float(a.std()) if a.size else float("nan"),
            "n": int(a.size)}


def to_markdown(out: dict[str, Any]) -> str:
    pm = lambda d: f"{100 * d['mean']:.2f} +- {100 * d['std']:.2f}"  # noqa: E731
    lines = [f"# CWRU leave-one-load-out, step by step (seeds {out['seeds']})", "", out["protocol"], "",
             f"Command: `{out.get('command', '')}`", "",
             "Balanced accuracy %, mean +- std over seeds, on the second half of every held-out recording (9 fault "
             "classes of the held-out load).", "",
             "| recipe / preset | step | held-out 0 hp | 1 hp | 2 hp | 3 hp | mean | worst fold | lowest fold, any seed |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, s in out["results"].items():
        for ch in ("DE", "FE"):
            for st in STEPS:
                k = f"{ch} {st}"
                folds = [pm(s["per_fold"][f][k]) if f in s["per_fold"] else "-" for f in FOLDS]
                m = s["mean"].get(k)
                lines.append(f"| {name} | {'' if ch == 'DE' else 'fan end (FE): '}{st} | " + " | ".join(folds) +
                             (f" | **{pm(m)}** | {pm(m['worst_fold'])} | {100 * m['lowest_fold']:.2f} |" if m
                              else " | - | - | - |"))
    shown = {n.split("/")[0] for n in out["results"]}
    lines += ["", "Recipes: " + "; ".join(f"`{r}`: {d}" for r, d in RECIPES.items() if r in shown) + ".", "",
              "Worst fold: each seed's lowest fold, mean +- std over seeds.", "",
              "Largest share of the target windows the source model was sure about (p >= 0.9) that an adaptation "
              "relabelled, over all folds and seeds (`drsn-edge adapt` refuses a result above 30 %: the sign of "
              "target recordings of one machine state):", ""]
    for name, s in out["results"].items():
        rel = s.get("relabelled_max", {})
        lines.append(f"- {name}: " + ", ".join(f"{k} {100 * v:.1f} %" for k, v in rel.items()))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
