"""Train the zoo's pretrained models again, measure them, and write their model cards.

For every zoo model (``drsn_edge/zoo/``) the same recipe runs twice over:

- **held out**: one model per fold of groups left out entirely (CWRU loads, simulated machines), each tested on its
  fold: the figures a card quotes for data like the training data but from a load or machine it never saw;
- **shipped**: one model on every recording (10 % of them for choosing the epoch, then the refit on all), written to
  ``drsn_edge/zoo/<name>.safetensors``, then checked on what it is *not* for: CWRU's fan-end sensor (another sensor),
  MFPT (another rig and bearing) and a 1 kHz tone (no bearing state: should be called unknown).

Results go to ``benchmarks/results/zoo.{json,md}``; the cards ``drsn_edge/zoo/<name>.md`` are written from the JSON
(``--stage cards`` writes them again without training). Run on an otherwise idle machine::

    python benchmarks/train_zoo.py --cwru ../shared/data/cwru/12k_drive_end --mfpt ../shared/data/mfpt
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from drsn_edge.bench.machine import machine_info
from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.data.recording import cut_windows
from drsn_edge.data.splits import SplitSpec
from drsn_edge.evaluation.metrics import classification_report
from drsn_edge.evaluation.model_files import open_any_model
from drsn_edge.training.config import TrainConfig
from drsn_edge.training.pipeline import train_checkpoint
from drsn_edge.zoo import MODELS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
#: every recording trains; 10 % of them (per class) choose the epoch, then the refit trains on all
SHIP_SPLIT = SplitSpec("recording", (0.9, 0.1, 0.0))


def recipes(cwru: str) -> dict[str, dict[str, Any]]:
    return {
        "cwru-wide": {
            "arch": "drsn-cw", "preset": "wide",
            "data": lambda split: DataSpec("mix", {"parts": ["cwru", "sim"], "root": cwru, "label_set": "4"}, 12000.0,
                                           split),
            "folds": [("cwru/0hp", "cwru/1hp"), ("cwru/2hp", "cwru/3hp")],
            "trained_on": "CWRU 12 kHz drive-end recordings (all four loads, the normal recording resampled from 48 kHz) "
                          "and the simulator's 16 recordings (4 conditions x 4 simulated machines), pooled",
        },
        "sim-paper": {
            "arch": "drsn-cw", "preset": "paper",
            "data": lambda split: DataSpec("sim", {"label_set": "4"}, 12000.0, split),
            "folds": [("m0", "m1"), ("m2", "m3")],
            "trained_on": "the simulator's 16 recordings (4 conditions x 4 simulated machines, 10 s each)",
        },
    }


def location_report(be, md, spec: DataSpec) -> dict[str, Any] | None:
    """Balanced accuracy of the model's own classes on data another sensor or rig recorded (classes by name; None
    where the data has none of them)."""
    ds = load_dataset(spec, min_samples=md.window)
    names = list(md.class_names)
    ws = ds.window_set("test", md.window, md.window // 2)  # split "all": every window of every recording
    to = np.array([names.index(n) if n in names else -1 for n in ds.class_names])[ws.y]
    if not (to >= 0).any():
        return None
    x, y = ws.x[to >= 0], to[to >= 0]
    logits, extra = be.infer_all(x.astype(np.float32))
    rep = classification_report(y, logits.argmax(1), names)
    present = [names[c] for c in sorted(set(y.tolist()))]
    unknown = float(np.mean(extra["novelty"] > md.novelty["threshold"])) if "novelty" in extra else None
    return {"windows": int(len(y)), "classes": present, "balanced_accuracy": rep["balanced_accuracy"],
            "per_class_recall": {c: rep["per_class"][c]["recall"] for c in present}, "unknown_share": unknown}


def unknown_share(be, md, x: np.ndarray) -> float | None:
    """The share of windows ``x`` the novelty head calls unknown (None without one)."""
    _, extra = be.infer_all(x.astype(np.float32))
    return float(np.mean(extra["novelty"] > md.novelty["threshold"])) if "novelty" in extra else None


def tone_unknown(be, md) -> float | None:
    """The share of windows of a 1 kHz tone (with a little noise) the novelty head calls unknown."""
    t = np.arange(int(md.sample_rate * 8)) / md.sample_rate
    x = 0.3 * np.sin(2 * np.pi * 1000 * t) + 0.003 * np.random.default_rng(1).standard_normal(len(t))
    return unknown_share(be, md, cut_windows(x[None].astype(np.float32), 0, len(t), md.window, md.window // 2))


def held_out_unknown(path: Path, spec: DataSpec) -> float | None:
    """The share of a held-out fold's windows (clean) its model calls unknown: the price of the novelty head on data
    of the same kind from a load or machine it never saw."""
    be, md = open_any_model(path)
    be.activate()
    try:
        return unknown_share(be, md, load_dataset(spec, min_samples=md.window).windows("test", md.window, md.hop)[0])
    finally:
        be.close()


def train_one(name: str, recipe: dict[str, Any], work: Path, cwru: str, mfpt: str | None) -> dict[str, Any]:
    cfg = TrainConfig()
    out: dict[str, Any] = {"arch": recipe["arch"], "preset": recipe["preset"], "trained_on": recipe["trained_on"],
                           "recipe": "train's defaults: " + json.dumps(cfg.describe()["noise"]) + f", {cfg.epochs} "
                           f"epochs x {cfg.steps_per_epoch} steps, the best validation epoch, then the refit",
                           "held_out": []}
    for fold in recipe["folds"]:
        t0 = time.perf_counter()
        spec = recipe["data"](SplitSpec("group", test_groups=fold))
        ckpt = work / f"{name}-heldout-{'-'.join(g.replace('/', '_') for g in fold)}.safetensors"
        _, md = train_checkpoint(spec, recipe["arch"], recipe["preset"], cfg, ckpt, progress=False, log=lambda s: None)
        m = md.metrics
        out["held_out"].append({"groups": list(fold), "balanced_accuracy": m["balanced_accuracy"],
                                "accuracy": m["accuracy"], "windows": m["test_windows"],
                                "per_class_recall": m["per_class_recall"], "seconds": time.perf_counter() - t0,
                                "unknown_share": held_out_unknown(ckpt, spec)})
        print(f"{name} held out {'+'.join(fold)}: balanced accuracy {100 * m['balanced_accuracy']:.1f} %", flush=True)
    t0 = time.perf_counter()
    target = MODELS[name].path
    _, md = train_checkpoint(recipe["data"](SHIP_SPLIT), recipe["arch"], recipe["preset"], cfg, work / target.name,
                             progress=False, log=lambda s: None)
    out["train_seconds"] = time.perf_counter() - t0
    shutil.copy(work / target.name, target)
    be, md = open_any_model(target)
    be.activate()
    out["file"] = {"bytes": target.stat().st_size, "classes": md.class_names, "heads": [h for h in ("novelty", "noise")
                                                                                          if getattr(md, h)],
                   "novelty_score": md.novelty.get("score")}
    out["machine"] = machine_info()
    out["tone_unknown_share"] = tone_unknown(be, md)
    if "cwru" in recipe["trained_on"].lower():
        out["cwru_fan_end"] = location_report(be, md, DataSpec("cwru", {"root": cwru, "label_set": "4", "channels": ["FE"]},
                                                               12000.0, SplitSpec("all")))
    else:
        out["cwru_drive_end"] = location_report(be, md, DataSpec("cwru", {"root": cwru, "label_set": "4"}, 12000.0,
                                                                 SplitSpec("all")))
    if mfpt:
        out["mfpt"] = location_report(be, md, DataSpec("manifest", {"root": str(Path(mfpt) / "manifest.csv")}, 12000.0,
                                                       SplitSpec("all")))
    be.close()
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def machine_of(r: dict[str, Any]) -> str:
    """The machine a model was trained and measured on."""
    return f"{r['machine']['cpu']}, {r['machine']['cores']} cores"


def card(name: str, r: dict[str, Any], machine: str) -> str:
    ho = r["held_out"]
    score = r["file"].get("novelty_score")
    lines = [f"# {name}", "", MODELS[name].summary, "",
             "## What it trained on", "", f"{r['trained_on']}. Classes: {', '.join(r['file']['classes'])}. "
             f"Heads: {', '.join(r['file']['heads'])}{f' (novelty: {score})' if score else ''}. "
             f"{r['arch']}/{r['preset']}, {r['file']['bytes'] / 1024:.0f} KiB."
             + (" Its novelty score predates the log threshold ratios, which models trained now score beside the pooled "
                "features (benchmarks/results/open_set.md); fine-tuning from it (`train --init`) fits today's."
                if score and "ratios" not in score and r["arch"] != "resnet" else ""), "",
             "## Recipe", "", f"{r['recipe']}; {r['train_seconds']:.0f} s to train on {machine}. Reproduce with "
             "`python benchmarks/train_zoo.py` (benchmarks/results/zoo.md).", "",
             "## Held-out groups (same recipe, the groups left out of training entirely)", "",
             "| held out | balanced accuracy | windows | called unknown | recall per class |", "|---|---|---|---|---|"]
    for h in ho:
        per = ", ".join(f"{k} {_pct(v)}" for k, v in h["per_class_recall"].items() if v is not None)
        lines.append(f"| {' + '.join(h['groups'])} | {_pct(h['balanced_accuracy'])} | {h['windows']} | "
                     f"{_pct(h.get('unknown_share'))} | {per} |")
    weak = [f"{k} {_pct(v)} ({' + '.join(h['groups'])})" for h in ho for k, v in h["per_class_recall"].items()
            if v is not None and v < 0.5]
    if weak:
        lines += ["", f"Below 50 % on a held-out fold: {', '.join(weak)}. A class whose recordings all sat in the "
                  "held-out groups was learnt from the other data only (CWRU's one healthy recording is at 0 hp): a "
                  "machine's own healthy state is best learnt on that machine (`drsn-edge enrol`)."]
    lines += ["", "## What it is not for", ""]
    for key, what in (("cwru_fan_end", "CWRU's fan-end sensor (another sensor on the same motor)"),
                      ("cwru_drive_end", "CWRU's drive-end recordings (a real rig; it trained on simulated signals only)"),
                      ("mfpt", "MFPT (another rig, another bearing, 48,828 Hz resampled)")):
        if r.get(key):
            x = r[key]
            lines.append(f"- {what}: balanced accuracy {_pct(x['balanced_accuracy'])} over {', '.join(x['classes'])} "
                         f"({x['windows']} windows), {_pct(x['unknown_share'])} called unknown.")
    tone = r["tone_unknown_share"]
    lines += [f"- A 1 kHz tone (no bearing state makes one): {_pct(tone)} of its windows called unknown"
              + ("." if tone is not None and tone >= 0.8 else ": its novelty head does not flag this kind of input; do "
                 "not rely on it for 'unknown'."),
              "- Naming a fault on a machine it never saw: fine-tune it on a few labelled recordings of that machine "
              "(`drsn-edge train --init " + name + "`, benchmarks/results/few_shot.md), or enrol the machine's healthy "
              "state (`drsn-edge enrol`) and read the bearing evidence (`--bearing`).", ""]
    return "\n".join(lines)


def report(res: dict[str, Any]) -> str:
    lines = ["# The zoo: pretrained models, retrained and measured", "",
             "`python benchmarks/train_zoo.py` (`--models NAME` retrains one); each row names the machine it trained "
             "on (2 cores, one job at a time). Each model's card (drsn_edge/zoo/NAME.md) is written from "
             "benchmarks/results/zoo.json. Held-out folds: balanced accuracy, and in brackets the share of the fold's "
             "windows called unknown.", "",
             "| model | trained on | held out: balanced accuracy (each fold) | fan-end / drive-end sensor | MFPT | 1 kHz tone "
             "unknown | novelty score | train s |", "|---|---|---|---|---|---|---|---|"]
    for name, r in res["models"].items():
        other = r.get("cwru_fan_end") or r.get("cwru_drive_end")
        folds = ", ".join(f"{_pct(h['balanced_accuracy'])} ({' + '.join(h['groups'])}"
                          + (f"; {_pct(h['unknown_share'])} unknown" if h.get("unknown_share") is not None else "") + ")"
                          for h in r["held_out"])
        score = (r["file"].get("novelty_score") or "-").removeprefix("mahalanobis distance to the nearest class mean ")
        lines.append(f"| {name} | {r['trained_on'].split(' (')[0]} | {folds} | "
                     f"{_pct(other['balanced_accuracy']) if other else '-'} | "
                     f"{_pct(r['mfpt']['balanced_accuracy']) if 'mfpt' in r else '-'} | {_pct(r['tone_unknown_share'])} | "
                     f"{score.strip('()')} | {r['train_seconds']:.0f} ({machine_of(r).split(',')[0]}) |")
    return "\n".join(lines) + "\n"


def write_cards(res: dict[str, Any]) -> None:
    for name, r in res["models"].items():
        MODELS[name].card.write_text(card(name, r, machine_of(r)), encoding="utf-8")
    (RESULTS / "zoo.md").write_text(report(res), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cwru", default=str(ROOT.parent / "shared" / "data" / "cwru" / "12k_drive_end"))
    ap.add_argument("--mfpt", default=str(ROOT.parent / "shared" / "data" / "mfpt"))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--stage", choices=["train", "cards"], default="train")
    ap.add_argument("--work", default=str(ROOT / "runs" / "zoo"))
    a = ap.parse_args()
    path = RESULTS / "zoo.json"
    res = json.loads(path.read_text()) if path.is_file() else {"models": {}}
    if a.stage == "train":
        work = Path(a.work)
        work.mkdir(parents=True, exist_ok=True)
        mfpt = a.mfpt if (Path(a.mfpt) / "manifest.csv").is_file() else None
        for name in a.models.split(","):
            res["models"][name] = train_one(name, recipes(a.cwru)[name], work, a.cwru, mfpt)
            path.write_text(json.dumps(res, indent=1) + "\n")
    write_cards(res)


if __name__ == "__main__":
    main()
