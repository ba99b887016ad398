"""Enrolment on healthy data only: false alarms per day, detection delay, CWRU's fault recordings, and the cost.

Stages (each writes its part of ``benchmarks/results/enrolment.json``; ``report`` writes the Markdown):

- ``sim``: 5 simulated machines no model here trained on (each its own structure, bearing, set speed, load and shaft
  harmonics; sensor noise at 0 dB SNR against its healthy vibration), each enrolled on 10 minutes of its healthy
  signal, then streamed for ``--hours`` (24) of healthy time with speed and load drifting (cycles of hours), and
  through one run-to-failure stream per fault type (5 min healthy, then the fault, growing from mild to severe over a
  minute). Models: the zoo's sim-paper (simulator only) and cwru-wide (CWRU + simulator), and cwru-wide's recipe
  trained on CWRU alone (CWRU only; trained into the work folder first, with three training seeds: which faults a
  model trained elsewhere hears at their mildest varies from seed to seed). Scores come from the exported ONNX
  through the runtime's ONNX Runtime backend; alarms from the runtime's decision code (the replay).
- ``cwru``: enrolled on the first half of the healthy recording (97.mat; hop 32, since 2.5 s at the model's hop
  give too few windows for the baseline; alarms held 0.5 s over 5 windows, so that one within 1 s can happen); per
  fault recording (36), the window-level AUROC against the healthy second half, and the first alarm when the
  recording is streamed from its start; alarms on the second half. The same on the fan-end channel.
- ``cost``: the enrolled ONNX against the same network exported without the anomaly output, batch 64, interleaved
  rounds.

Run stages one at a time on an otherwise idle machine::

    OMP_NUM_THREADS=1 python benchmarks/enrolment.py --stage sim --stage cwru --stage cost --stage report
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from drsn_edge.bench.machine import machine_info
from drsn_edge.runtime.config import ENROL_ALARM

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
#: training seeds of the CWRU only model (seed 0 keeps the plain name)
CWRU_ONLY_SEEDS = (0, 1, 2)


def cwru_only_name(seed: int) -> str:
    return "CWRU only" if seed == 0 else f"CWRU only (seed {seed})"


#: the zoo's two, and wide DRSN-CWs trained on CWRU alone (the zoo's cwru-wide recipe without the simulator; trained
#: into the work folder by :func:`cwru_only`)
MODELS = {"simulator only": ROOT / "drsn_edge" / "zoo" / "sim-paper.safetensors",
          **{cwru_only_name(s): Path("cwru-only.safetensors" if s == 0 else f"cwru-only-s{s}.safetensors")
             for s in CWRU_ONLY_SEEDS},
          "CWRU + simulator": ROOT / "drsn_edge" / "zoo" / "cwru-wide.safetensors"}
MACHINES = (1, 2, 3, 4, 5)
SNR_DB = 0.0
ENROL_S, PRE_S, POST_S = 600.0, 300.0, 300.0
FAULTS = ("inner_race", "ball", "outer_race")
CWRU_HOP = 32
#: torch threads the CWRU only models train with: a float sum's order follows the thread count, so the same seed
#: trained on 1 thread and on 2 gives other weights (seed 2 did: its threshold on machine 1 was 1.77 and 1.60)
TRAIN_THREADS = 2


def cwru_only(work: Path, seed: int) -> None:
    """Train the CWRU only model of training seed ``seed`` into ``work`` (once): cwru-wide's recipe on CWRU's
    drive-end recordings alone."""
    from drsn_edge.data.dataset import DataSpec
    from drsn_edge.data.splits import SplitSpec
    from drsn_edge.training.config import TrainConfig
    from drsn_edge.training.pipeline import train_checkpoint

    name = cwru_only_name(seed)
    out = work / MODELS[name].name
    MODELS[name] = out
    if out.is_file():
        return
    root = SHARED / "cwru" / "12k_drive_end"
    if not root.is_dir():
        raise SystemExit(f"{root} not here: the CWRU only model cannot be trained")
    from drsn_edge.training.threads import use_threads

    use_threads(TRAIN_THREADS)
    t0 = time.perf_counter()
    train_checkpoint(DataSpec("cwru", {"root": str(root), "label_set": "4"}, 12000.0,
                              SplitSpec("recording", (0.9, 0.1, 0.0))), "drsn-cw", "wide", TrainConfig(seed=seed), out,
                     progress=False, log=lambda s: None)
    print(f"trained {out} in {time.perf_counter() - t0:.0f} s", flush=True)


def slug(name: str) -> str:
    """A model's name in file names ("CWRU only (seed 1)" -> "cwru-only-seed-1")."""
    return re.sub(r"[^a-z0-9+]+", "-", name.lower()).strip("-")


def enrolled(work: Path, model: str, tag: str, recs, stream_cfg=None) -> tuple[Path, dict]:
    """Enrol ``recs`` on ``model``, export; cached in ``work``."""
    from drsn_edge.export.onnx_export import export_onnx
    from drsn_edge.modelfile import read_description
    from drsn_edge.models.checkpoint import load_checkpoint, save_checkpoint
    from drsn_edge.training.enrol import enrol_model

    ckpt, onnx = work / f"{slug(model)}-{tag}.safetensors", work / f"{slug(model)}-{tag}.onnx"
    if not onnx.is_file():
        net, md = load_checkpoint(MODELS[model])
        md.enrolment = enrol_model(net, md, recs(), 1.0, stream_cfg, log=lambda s: None)
        save_checkpoint(ckpt, net, md)
        export_onnx(ckpt, onnx)
    return onnx, read_description(onnx).enrolment


class Scorer:
    """Anomaly scores of a chunked stream through the runtime's backend, windows carried across chunk edges."""

    def __init__(self, onnx: Path, hop: int | None = None) -> None:
        from drsn_edge.runtime import open_model

        self.be, self.md = open_model(onnx)
        self.be.activate()
        self.hop = hop or self.md.hop

    def scores(self, chunks) -> tuple[np.ndarray, float]:
        from drsn_edge.data.recording import cut_windows

        out, tail, n = [], np.zeros((1, 0), np.float32), 0
        for c in chunks:
            buf = np.concatenate([tail, np.atleast_2d(c)], axis=1)
            n += np.atleast_2d(c).shape[1]
            w = cut_windows(buf, 0, buf.shape[1], self.md.window, self.hop)
            for i in range(0, len(w), 512):
                out.append(self.be.infer_all(w[i : i + 512])[1]["anomaly"])
            tail = buf[:, len(w) * self.hop:]
        return (np.concatenate(out) if out else np.zeros(0, np.float32)), n / self.md.sample_rate


def figures(window: int, hop: int, threshold: float, streams, cfg) -> dict:
    from drsn_edge.evaluation.alarm_replay import alarm_figures, replay

    replay(streams, window, hop, 12000.0, cfg.alarm, cfg.smoothing, threshold=threshold)
    return alarm_figures(streams)


def machine_scores(work: Path, seed: int, hours: float) -> dict[str, np.ndarray]:
    """Every model's anomaly scores of the machine's day and run-to-failure streams (cached in ``work``: the
    baseline does not depend on the alarm settings, only the threshold does)."""
    from drsn_edge.data.recording import Recording
    from drsn_edge.data.simulator import Machine

    path = work / f"scores-m{seed}-{hours:g}h-{'+'.join(slug(m) for m in MODELS)}.npz"
    if path.is_file():
        return dict(np.load(path))
    m = Machine.draw(seed)

    def recs():
        x = np.concatenate(list(m.stream(ENROL_S, seed=1000 + seed, snr_db=SNR_DB)))
        return [Recording(x[None], m.fs, 0, {}, f"{m.name} enrolment")]

    scorers = {model: Scorer(enrolled(work, model, f"sim-m{seed}", recs)[0]) for model in MODELS}
    day: dict[str, list] = {model: [] for model in MODELS}
    for h in range(int(np.ceil(hours))):  # both models score the same chunks (simulated once), an hour at a time
        chunk = list(m.stream(min(3600.0, hours * 3600 - h * 3600), seed=2000 + 100 * seed + h, snr_db=SNR_DB,
                              start_s=ENROL_S + 3600.0 * h))
        for model, sc in scorers.items():
            day[model].append(sc.scores(chunk)[0])
    out = {f"day/{slug(model)}": np.concatenate(day[model]) for model in MODELS}
    for k, fault in enumerate(FAULTS):
        chunk = list(m.stream(PRE_S + POST_S, seed=3000 + 10 * seed + k, snr_db=SNR_DB, fault=fault, onset_s=PRE_S,
                              start_s=ENROL_S + 3600.0 * hours))
        for model, sc in scorers.items():
            out[f"{fault}/{slug(model)}"] = sc.scores(chunk)[0]
    np.savez(path, **out)
    return out


def sim(work: Path, hours: float, machines: tuple[int, ...], cfg) -> dict[str, Any]:
    from drsn_edge.data.recording import Recording
    from drsn_edge.data.simulator import Machine
    from drsn_edge.evaluation.alarm_replay import Stream
    from drsn_edge.training.config import ENROL_SPEED_RANGE
    from drsn_edge.training.enrol import DRIFT_MARGIN

    out: dict[str, Any] = {"machines": {}, "hours_per_machine": hours, "snr_db": SNR_DB, "enrol_s": ENROL_S,
                           "speed_range": ENROL_SPEED_RANGE, "drift_margin": DRIFT_MARGIN,
                           "alarm": {"smoothing": cfg.smoothing, "min_raise_s": cfg.alarm.min_raise_s,
                                     "raise_at": cfg.alarm.raise_at}}
    for seed in machines:
        t0 = time.perf_counter()
        m = Machine.draw(seed)
        scores = machine_scores(work, seed, hours)

        def recs(m=m, seed=seed):
            x = np.concatenate(list(m.stream(ENROL_S, seed=1000 + seed, snr_db=SNR_DB)))
            return [Recording(x[None], m.fs, 0, {}, f"{m.name} enrolment")]

        row: dict[str, Any] = {"machine": m.describe(), "models": {}}
        for model in MODELS:
            tag = f"sim-m{seed}" + ("" if (cfg.smoothing, cfg.alarm.min_raise_s) == (5, 0.5) else
                                    f"-s{cfg.smoothing}-r{cfg.alarm.min_raise_s:g}")
            _, r = enrolled(work, model, tag, recs, cfg)
            s = scores[f"day/{slug(model)}"]
            day_fig = figures(2048, 1024, r["threshold"], [Stream("day", hours * 3600.0, scores=s)], cfg)
            faults = [Stream(f, PRE_S + POST_S, scores=scores[f"{f}/{slug(model)}"], onset_s=PRE_S) for f in FAULTS]
            fault_fig = figures(2048, 1024, r["threshold"], faults, cfg)
            row["models"][model] = {
                "threshold": round(r["threshold"], 4), "estimate_per_day": r["false_alarms_per_day_estimate"],
                "enrolment_vouched_per_day": r["false_alarms_per_day_vouched"],
                "healthy": day_fig, "healthy_score_p50_p99_max": [round(float(v), 3) for v in
                                                                 np.quantile(s, [0.5, 0.99, 1.0])],
                "run_to_failure": fault_fig,
                "delays_s": {f.name: next((round(e.stream_time - PRE_S, 3) for e in f.events
                                           if e.state == "alarm" and e.stream_time >= PRE_S), None) for f in faults},
            }
        row["seconds"] = round(time.perf_counter() - t0, 1)
        out["machines"][m.name] = row
        print(m.name, json.dumps({k: {"fa": v["healthy"]["false_alarms"], "delays": v["delays_s"]}
                                  for k, v in row["models"].items()}), f"{row['seconds']:.0f} s", flush=True)
    return out


def merged(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """``new``'s machine rows over ``old``'s (runs of other models or machines, e.g. in parallel processes, are kept
    where their settings match), with the totals over every model."""
    from drsn_edge.evaluation.alarm_replay import rate_bound

    same = old and all(old.get(k) == new.get(k) for k in ("hours_per_machine", "alarm", "speed_range", "drift_margin",
                                                                   "snr_db"))
    out = {**new, "machines": {k: dict(v, models=dict(v["models"])) for k, v in (old["machines"] if same else {}).items()}}
    for name, row in new["machines"].items():
        out["machines"].setdefault(name, {**row, "models": {}})["models"].update(row["models"])
    out["totals"] = {}
    for model in dict.fromkeys(m for r in out["machines"].values() for m in r["models"]):
        rows = [r["models"][model] for r in out["machines"].values() if model in r["models"]]
        fa = sum(r["healthy"]["false_alarms"] for r in rows)
        days = sum(r["healthy"]["healthy_hours"] for r in rows) / 24
        delays = [d for r in rows for d in r["delays_s"].values()]
        out.setdefault("totals", {})[model] = {
            "false_alarms": fa, "healthy_days": round(days, 3), "false_alarms_per_day": round(fa / days, 3),
            "bound_95": round(rate_bound(fa, days), 3),
            "worst_machine_per_day": max(r["healthy"]["false_alarms_per_day"] for r in rows),
            "faults_alarmed": f"{sum(d is not None for d in delays)}/{len(delays)}",
            "delay_median_s": float(np.median([d for d in delays if d is not None])) if any(
                d is not None for d in delays) else None,
            "delay_worst_s": max((d for d in delays if d is not None), default=None)}
    return out


def cwru(work: Path, cfg) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    from drsn_edge.data.dataset import DataSpec, load_dataset
    from drsn_edge.data.recording import Recording
    from drsn_edge.data.splits import SplitSpec
    from drsn_edge.evaluation.alarm_replay import Stream
    from drsn_edge.runtime.config import StreamConfig

    root = SHARED / "cwru" / "12k_drive_end"
    if not root.is_dir():
        return {"skipped": f"{root} not here"}
    out: dict[str, Any] = {}
    for channel in ("DE", "FE"):
        ds = load_dataset(DataSpec("cwru", {"root": str(root), "label_set": "10", "channels": [channel]}, 12000.0,
                                   SplitSpec("all")))
        normal = ds.class_names.index(ds.normal_label)
        healthy = [r for r in ds.recordings if r.label == normal][0]
        half = healthy.samples // 2
        first_half, second_half = healthy.signal[:, :half], healthy.signal[:, half:]
        for model in MODELS:
            tag = f"cwru-{channel}" + ("" if (cfg.smoothing, cfg.alarm.min_raise_s) == (5, 0.5) else
                                       f"-s{cfg.smoothing}-r{cfg.alarm.min_raise_s:g}")
            onnx, record = enrolled(work, model, tag,
                                    lambda x=first_half: [Recording(x, 12000.0, 0, {}, "97 first half")],
                                    StreamConfig(hop=CWRU_HOP, smoothing=cfg.smoothing, alarm=cfg.alarm))
            sc = Scorer(onnx, CWRU_HOP)
            h_scores, h_s = sc.scores([second_half])
            rows, first_alarms, per_class = [], [], {}
            for r in ds.recordings:
                if r.label == normal:
                    continue
                f_scores, f_s = sc.scores([r.signal])
                auc = float(roc_auc_score(np.r_[np.zeros(len(h_scores)), np.ones(len(f_scores))],
                                          np.r_[h_scores, f_scores]))
                st = Stream(r.rid, f_s, scores=f_scores, onset_s=0.0)
                figures(sc.md.window, sc.hop, record["threshold"], [st], cfg)
                first_alarm = next((e.stream_time for e in st.events if e.state == "alarm"), None)
                first_alarms.append(first_alarm)
                name = ds.class_names[r.label]
                rows.append({"file": r.rid, "class": name, "auroc": round(auc, 4), "first_alarm_s": first_alarm})
                per_class.setdefault(name, []).append(auc)
            hfig = figures(sc.md.window, sc.hop, record["threshold"], [Stream("97 second half", h_s, scores=h_scores)],
                           cfg)
            out[f"{model} / {channel}"] = {
                "threshold": round(record["threshold"], 4), "enrol_windows": record["fit_windows"],
                "auroc_min": round(min(x["auroc"] for x in rows), 4),
                "auroc_per_class_min": {k: round(min(v), 4) for k, v in per_class.items()},
                "recordings_auroc_ge_0.99": sum(x["auroc"] >= 0.99 for x in rows),
                "alarmed_within_1s": sum(a is not None and a <= 1.0 for a in first_alarms),
                "alarmed": sum(a is not None for a in first_alarms), "recordings": len(rows),
                "first_alarm_worst_s": max((a for a in first_alarms if a is not None), default=None),
                "healthy_second_half_alarms": hfig["false_alarms"], "healthy_second_half_s": round(h_s, 2),
                "rows": rows}
            print(model, channel, {k: v for k, v in out[f"{model} / {channel}"].items() if k != "rows"}, flush=True)
    return out


def cost(work: Path) -> dict[str, Any]:
    from drsn_edge.bench.timing import interleaved, ratio
    from drsn_edge.export.onnx_export import export_onnx
    from drsn_edge.runtime import open_model

    plain = work / "sim-plain.onnx"
    if not plain.is_file():
        export_onnx(MODELS["simulator only"], plain)
    enrolled_onnx = work / f"{slug('simulator only')}-sim-m1.onnx"
    if not enrolled_onnx.is_file():
        return {"skipped": "run the sim stage first"}
    x = np.random.default_rng(0).standard_normal((64, 1, 2048)).astype(np.float32)
    fns = {}
    for name, path in (("plain", plain), ("enrolled", enrolled_onnx)):
        be, _ = open_model(path)
        be.activate()
        fns[name] = (lambda be=be: be.infer_all(x))
    t = interleaved(fns, rounds=9, calls=20, batch=64)
    r = ratio(t, "enrolled", "plain")
    return {"batch": 64, "plain_ms": round(t["plain"]["median_ms"], 3), "enrolled_ms": round(t["enrolled"]["median_ms"], 3),
            "ratio_median": round(r["median"], 4), "ratio_min": round(r["min"], 4), "ratio_max": round(r["max"], 4)}


def seeds_pooled(s: dict[str, Any], every_draw: bool = False) -> dict[str, Any] | None:
    """The CWRU only models of every training seed taken together (their machine rows pooled), or None under two;
    ``every_draw``: with the draws trained on another thread count (kept from earlier runs) too."""
    names = [m for m in s["totals"] if (m == "CWRU only" or m.startswith("CWRU only (seed"))
             and (every_draw or "thread" not in m)]
    if len(names) < 2:
        return None
    rows = [r["models"][m] for r in s["machines"].values() for m in names if m in r["models"]]
    delays = [d for r in rows for d in r["delays_s"].values()]
    found = [d for d in delays if d is not None]
    return {"seeds": len(names), "false_alarms": sum(r["healthy"]["false_alarms"] for r in rows),
            "healthy_days": round(sum(r["healthy"]["healthy_hours"] for r in rows) / 24, 3),
            "faults_alarmed": f"{len(found)}/{len(delays)}",
            "delay_median_s": float(np.median(found)) if found else None,
            "per_seed_median_s": [s["totals"][m]["delay_median_s"] for m in names],
            "delay_worst_s": max(found, default=None)}


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}"


def report(res: dict[str, Any]) -> str:
    lines = ["# Enrolment on healthy data only", "",
             f"Machine: {res.get('machine', {}).get('cpu', '?')}, {res.get('machine', {}).get('cores', '?')} cores. "
             "Written by `benchmarks/enrolment.py`.", ""]
    s = res.get("sim")
    if s:
        lines += [f"## Simulator: {len(s['machines'])} machines no model trained on, {s['hours_per_machine']:g} h healthy "
                  f"each (speed +-1.5 %, load +-15 % drifting), {s['snr_db']:g} dB SNR, enrolled on "
                  f"{s['enrol_s'] / 60:g} min", "",
                  "| model, alarm held | false alarms | healthy days | per day | 95 % bound | worst machine per day | "
                  "faults alarmed "
                  "| delay median s | delay worst s |", "|---|---|---|---|---|---|---|---|---|"]
        for part in (s, res.get("sim_fault_settings")):
            if not part:
                continue
            a = part["alarm"]
            for model, t in part["totals"].items():
                lines.append(f"| {model}, {a['smoothing']} windows, {a['min_raise_s']:g} s | {t['false_alarms']} | "
                             f"{t['healthy_days']:g} | {t['false_alarms_per_day']:g} | {t['bound_95']:g} | "
                             f"{t['worst_machine_per_day']:g} | {t['faults_alarmed']} | {t['delay_median_s']} | "
                             f"{t['delay_worst_s']} |")
        pooled = seeds_pooled(s)
        if pooled:
            lines += ["", f"**CWRU only over {pooled['seeds']} training seeds (the same recipe and data): "
                      f"{pooled['false_alarms']} false alarm(s) in {pooled['healthy_days']:g} healthy days, faults alarmed "
                      f"{pooled['faults_alarmed']}, delay median {pooled['delay_median_s']} s (per seed "
                      f"{', '.join(str(d) for d in pooled['per_seed_median_s'])}), worst {pooled['delay_worst_s']} s**"]
            every = seeds_pooled(s, every_draw=True)
            if every and every["seeds"] > pooled["seeds"]:
                lines += ["", f"With every draw ({every['seeds']}: a seed also trained on another thread count, its rows "
                          f"kept from an earlier run): faults alarmed {every['faults_alarmed']}, delay median "
                          f"{every['delay_median_s']:.3f} s, worst {every['delay_worst_s']} s"]
        lines += ["", "Machines 1 and 4 were looked at while enrol's defaults were chosen (the 1-s hold, the 90 % bound), "
                  "machine 3 while its speed range was (+-2 %, with an earlier CWRU only checkpoint than these, before "
                  "the drift margin: its false alarms came at the day's lowest load, 97 in 24 h without the range; that "
                  "run was not repeated with these models); 2 and 5 were not. Each enrolment's speed range: "
                  f"{s.get('speed_range', 0):g}. Delays are from the fault's onset; a fault starts mild and grows to "
                  "severe over a minute, a step every 10 s (28 % of its last level in the first 10 s, 35 % in the next): "
                  "a delay of about 1.7 s is an alarm in the first step (1 s of it held), one of about 11 s in the "
                  f"second. The CWRU only models train on {TRAIN_THREADS} torch threads: the order of a float sum follows "
                  "the thread count, and the same seed trained on another count is another model (retrained, seeds 0 "
                  "and 1 gave their machine-1 thresholds above to the last digit, and seed 2 on 1 thread the 1-thread row's).",
                  "", "| machine | bearing | rpm | model | threshold | false alarms | healthy score p50 / p99 / max | "
                  "delays s (inner, ball, outer) |", "|---|---|---|---|---|---|---|---|"]
        for name, row in s["machines"].items():
            for model, v in row["models"].items():
                d = v["delays_s"]
                lines.append(f"| {name} | {row['machine']['bearing']} | {row['machine']['rpm']:g} | {model} | "
                             f"{v['threshold']:g} | {v['healthy']['false_alarms']} | "
                             f"{' / '.join(f'{q:g}' for q in v['healthy_score_p50_p99_max'])} | "
                             f"{', '.join(str(d[f]) for f in FAULTS)} |")
    c = res.get("cwru")
    if c and "skipped" not in c:
        lines += ["", "## CWRU 12 kHz: enrolled on the first half of the healthy recording (97.mat), hop "
                  f"{CWRU_HOP}, alarms held 0.5 s over 5 windows (`--smooth 5 --min-raise-s 0.5`: enrol's default "
                  "of 1 s could not alarm within 1 s of a recording's start)", "",
                  "| model / channel | AUROC min (36 recordings) | recordings >= 0.99 | alarmed within 1 s | worst first "
                  "alarm s | alarms on the healthy second half |", "|---|---|---|---|---|---|"]
        for k, v in c.items():
            lines.append(f"| {k} | {v['auroc_min']:.4f} | {v['recordings_auroc_ge_0.99']}/{v['recordings']} | "
                         f"{v['alarmed_within_1s']}/{v['recordings']} | {_num(v['first_alarm_worst_s'])} | "
                         f"{v['healthy_second_half_alarms']} ({v['healthy_second_half_s']:g} s) |")
        lines.append("")
        for k, v in c.items():
            lines.append(f"**CWRU, {k}: window AUROC >= 0.99 on {v['recordings_auroc_ge_0.99']}/{v['recordings']} fault "
                         f"recordings (lowest {v['auroc_min']:.4f}), an anomaly alarm within 1 s on "
                         f"{v['alarmed_within_1s']}/{v['recordings']}{_late(v['rows'])}, {v['healthy_second_half_alarms']} "
                         "alarm(s) on the healthy second half**")
            lines.append("")
        lines += ["", "Lowest AUROC per class:", ""]
        for k, v in c.items():
            lines.append(f"- {k}: " + ", ".join(f"{cl} {a:.4f}" for cl, a in v["auroc_per_class_min"].items()))
    k = res.get("cost")
    if k and "skipped" not in k:
        lines += ["", f"## Cost: batch {k['batch']}, interleaved rounds", "",
                  f"**Cost of the anomaly output: {k['ratio_median']:.3f}x the plain graph's time at batch {k['batch']} "
                  f"(rounds {k['ratio_min']:.3f}-{k['ratio_max']:.3f}; {k['plain_ms']:.2f} -> {k['enrolled_ms']:.2f} ms)**",
                  ""]
    return "\n".join(lines) + "\n"


def _late(rows: list[dict[str, Any]]) -> str:
    """The recordings not alarmed within 1 s, with their first alarm (" (not within 1 s: 118.mat never)")."""
    late = [f"{r['file']} " + ("never" if r["first_alarm_s"] is None else f"at {r['first_alarm_s']:.2f} s")
            for r in rows if r["first_alarm_s"] is None or r["first_alarm_s"] > 1.0]
    return f" (not within 1 s: {', '.join(late[:6])}{' ...' if len(late) > 6 else ''})" if late else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", action="append", choices=["sim", "cwru", "cost", "report"], required=True)
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "enrolment")
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--machines", default=",".join(map(str, MACHINES)), help="simulated machines (seeds), e.g. 1,2,3")
    ap.add_argument("--smooth", type=int, default=ENROL_ALARM["smoothing"],
                    help="the alarm settings enrolment and streams run under (default: enrol's)")
    ap.add_argument("--min-raise-s", type=float, default=ENROL_ALARM["min_raise_s"])
    ap.add_argument("--models", default=",".join(MODELS), help="which models, comma-separated (default: all)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if unknown := set(args.models.split(",")) - set(MODELS):
        raise SystemExit(f"--models: no model {', '.join(sorted(unknown))}; choose from {', '.join(MODELS)}")
    for name in set(MODELS) - set(args.models.split(",")):
        del MODELS[name]
    if {"sim", "cwru"} & set(args.stage):
        for seed in CWRU_ONLY_SEEDS:
            if cwru_only_name(seed) in MODELS:
                cwru_only(args.work, seed)
    path = RESULTS / "enrolment.json"

    def latest() -> dict[str, Any]:  # what another process (another model's run) wrote meanwhile is kept
        res = json.loads(path.read_text()) if path.is_file() else {}
        res["machine"] = machine_info()
        return res

    res = latest()
    from drsn_edge.runtime.config import StreamConfig
    from drsn_edge.runtime.decisions import AlarmConfig

    cfg = StreamConfig(smoothing=args.smooth, alarm=AlarmConfig(min_raise_s=args.min_raise_s))
    for stage in args.stage:
        if stage == "sim":
            machines = tuple(int(m) for m in args.machines.split(","))
            new = sim(args.work, args.hours, machines, cfg)
            # beside it, a fault alarm's settings (5 windows, 0.5 s): why enrol's defaults hold longer
            new_fault = sim(args.work, args.hours, machines, StreamConfig())
            res = latest()
            res["sim"] = merged(res.get("sim"), new)
            res["sim_fault_settings"] = merged(res.get("sim_fault_settings"), new_fault)
        elif stage == "cwru":  # held 0.5 s over 5 windows: an alarm within 1 s of a recording's start is possible
            part = cwru(args.work, StreamConfig())
            res = latest()  # rows of the models not run this time are kept
            res["cwru"] = part if "skipped" in part else {**{k: v for k, v in (res.get("cwru") or {}).items()
                                                              if k != "skipped"}, **part}
        elif stage == "cost":
            part = cost(args.work)
            res = latest()
            res["cost"] = part
        path.write_text(json.dumps(res, indent=1) + "\n")
    (RESULTS / "enrolment.md").write_text(report(res))


if __name__ == "__main__":
    main()
