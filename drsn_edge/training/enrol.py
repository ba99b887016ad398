"""Enrol a machine from its healthy recordings only: an anomaly head fitted on its healthy windows, and a threshold
set so that its alarms come at a stated false-alarm rate.

- The baseline: the network's pooled features and log shrinkage ratios of the healthy windows, their mean and a
  Ledoit-Wolf covariance (:class:`~drsn_edge.models.heads.AnomalyHead`), exported in the graph beside the logits.
- The threshold: every healthy window is scored by a baseline fitted without it (three folds: whole recordings
  where there are three or more, else interleaved time blocks). Those scores are replayed through the runtime's own
  smoothing and alarm state machine at a range of thresholds; where alarms can be counted, their rate against the
  threshold is fitted and followed to the target rate. The rate the scored hours can *vouch* for (no alarm seen in
  T days bounds the rate at 3 / T per day, 95 %) is reported beside the estimate, never in its place.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.data.recording import Recording, cut_windows
from drsn_edge.data.splits import SplitSpec
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.evaluation.alarm_replay import Stream, alarm_figures, days_to_vouch, rate_bound, replay
from drsn_edge.modelfile.checkpoint import read_checkpoint_file
from drsn_edge.models.checkpoint import load_checkpoint, save_checkpoint
from drsn_edge.models.heads import AnomalyHead, NoiseHead
from drsn_edge.runtime.config import StreamConfig
from drsn_edge.runtime.decisions import AlarmConfig

#: cross-fitting: each fold's windows are scored by a baseline fitted on the other folds
FOLDS = 3
#: time blocks per recording when there are fewer recordings than folds
BLOCKS = 6
#: thresholds replayed to draw the scored alarm-rate curve
GRID = 60


def healthy_recordings(md, spec: DataSpec) -> tuple[list[Recording], str]:
    """The machine's recordings at the model's rate, labels ignored; refused (one line) where they cannot make a
    baseline."""
    spec = DataSpec(spec.source, spec.options, md.sample_rate, SplitSpec("all"), spec.seed)
    ds = load_dataset(spec, min_samples=md.window)
    if ds.in_channels != md.in_channels:
        raise DrsnEdgeError(f"the healthy data has {ds.in_channels} channel(s), the model takes {md.in_channels}")
    rates = {float(r.meta.get("original_fs", r.fs)) for r in ds.recordings}
    low = sorted(r for r in rates if r < md.sample_rate * 0.999)
    if len(rates) > 1 and low:
        bad = next(r for r in ds.recordings if float(r.meta.get("original_fs", r.fs)) == low[0])
        raise DrsnEdgeError(f"{bad.rid or 'a recording'}: recorded at {low[0]:g} Hz among recordings at "
                            f"{', '.join(f'{x:g}' for x in sorted(rates - {low[0]}))} Hz; the model runs at "
                            f"{md.sample_rate:g} Hz and resampling up adds no content: one baseline would mix two "
                            "bandwidths (enrol on recordings of one rate)")
    return ds.recordings, f"{spec.describe()}: {len(ds.recordings)} recordings"


def split_folds(recs: list[Recording], folds: int = FOLDS) -> tuple[list[tuple[str, np.ndarray, int]], str]:
    """Parts (name, signal, fold): whole recordings where there are at least ``folds``, else blocks of each recording
    in time, every ``folds``-th block in one fold."""
    if len(recs) >= folds:
        return [(r.rid or f"recording {i}", r.signal, i % folds) for i, r in enumerate(recs)], \
            f"{folds} folds of whole recordings ({len(recs)})"
    parts = []
    for i, r in enumerate(recs):
        edges = np.linspace(0, r.samples, BLOCKS + 1).astype(int)
        parts += [(f"{r.rid or f'recording {i}'} block {b + 1}/{BLOCKS}", r.signal[:, edges[b]:edges[b + 1]], b % folds)
                  for b in range(BLOCKS)]
    return parts, f"{folds} folds of time blocks ({BLOCKS} per recording, every {folds}th in one fold)"


@torch.no_grad()
def anomaly_features(model, x: np.ndarray, batch: int = 256) -> torch.Tensor:
    parts = []
    for i in range(0, len(x), batch):
        f, alphas = model.features_and_alphas(torch.from_numpy(np.ascontiguousarray(x[i : i + batch])))
        parts.append(AnomalyHead.features(f, alphas))
    return torch.cat(parts)


def calibrate(streams: list[Stream], window: int, hop: int, fs: float, alarm: AlarmConfig, n: int,
              per_day: float) -> dict[str, Any]:
    """The threshold for ``per_day`` false alarms on the healthy ``streams`` (out-of-fold scores set), and the curve it came
    from.

    Alarms are counted by replay at thresholds from the median scored score to the highest. Low thresholds keep
    one long alarm (the count rises with the threshold there); above the count's peak, alarms thin out, and that
    branch is fitted as a power law (log count against log threshold: it falls more slowly than an exponential,
    so following it errs towards fewer false alarms) and followed to ``per_day``. The threshold is never below the
    lowest one at which the scored signal raised no alarm."""
    scores = np.concatenate([s.scores for s in streams])
    days = sum(s.duration_s for s in streams) / 86400.0
    lo, hi = float(np.median(scores)), float(scores.max())
    grid = np.unique(np.geomspace(max(lo, 1e-9), max(hi, lo * 1.001, 1e-9), GRID))
    curve = []
    for th in grid:
        count = sum(1 for s in replay(streams, window, hop, fs, alarm, n, threshold=float(th)) for e in s.events
                    if e.state == "alarm")
        curve.append((float(th), count))
    silent = next(th for th, c in curve if all(c2 == 0 for th2, c2 in curve if th2 >= th))
    peak = max(range(len(curve)), key=lambda i: (curve[i][1], i))
    pts = [(th, c) for th, c in curve[peak:] if c > 0]
    threshold, estimate = silent, None
    if len(pts) >= 2 and pts[0][1] > pts[-1][1]:
        lt, lc = np.log([p[0] for p in pts]), np.log([p[1] / days for p in pts])
        slope, intercept = np.polyfit(lt, lc, 1, w=np.sqrt([p[1] for p in pts]))  # Poisson: weight by sqrt(count)
        if slope < 0:
            threshold = max(float(np.exp((np.log(per_day) - intercept) / slope)), silent)
            estimate = float(np.exp(intercept + slope * np.log(threshold)))
            how = (f"scored alarm counts at {len(pts)} thresholds above the count's peak, a power law in the "
                   f"threshold (exponent {slope:.1f}), followed to {per_day:g} per day")
    if estimate is None:
        how = ("too few scored alarms to draw the rate curve: the lowest threshold with none on the scored "
               "signal, no estimate of the rate")
    return {"threshold": threshold, "estimated_false_alarms_per_day": None if estimate is None else round(estimate, 4),
            "how": how, "curve": [{"threshold": round(th, 5), "alarms": c} for th, c in curve],
            "scored_days": days}


def enrol_model(model, md, recs: list[Recording], per_day: float = 1.0, stream: StreamConfig | None = None,
                max_windows: int = 20000, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Fit the anomaly head on the healthy ``recs`` and set its threshold; returns the enrolment record (the model
    and its description are changed in place)."""
    if per_day <= 0:
        raise DrsnEdgeError("the false-alarm rate must be above 0 per day")
    stream = stream or StreamConfig()
    hop = stream.hop or md.hop
    parts, how_split = split_folds(recs)
    windows = [cut_windows(sig, 0, sig.shape[1], md.window, hop) for _, sig, _ in parts]
    model.eval()
    with torch.no_grad():
        f, alphas = model.features_and_alphas(torch.zeros(1, md.in_channels, md.window))
    dim = f.shape[1] + NoiseHead.features(alphas).shape[1] if alphas else f.shape[1]
    total = sum(len(w) for w in windows)
    need = int(np.ceil(dim * FOLDS / (FOLDS - 1)))  # each fold's baseline sees (FOLDS - 1) / FOLDS of the windows
    if total < need:
        raise DrsnEdgeError(f"the healthy data gives {total} windows; the baseline has {dim} features and needs at least "
                            f"{need} windows (about {need * hop / md.sample_rate:.0f} s of signal at hop {hop})")
    feats = [anomaly_features(model, w) if len(w) else None for w in windows]
    held = []
    for k in range(FOLDS):  # out-of-fold scores: every healthy window scored by a baseline that never saw it
        train = [f for f, (_, _, fold) in zip(feats, parts) if fold != k and f is not None]
        head = AnomalyHead(dim)
        head.fit(_spread(torch.cat(train), max_windows))
        for f, (name, sig, fold) in zip(feats, parts):
            if fold == k and f is not None:
                with torch.no_grad():
                    held.append(Stream(name, sig.shape[1] / md.sample_rate, scores=head(f).numpy()))
    head = AnomalyHead(dim)
    fitted = head.fit(_spread(torch.cat([f for f in feats if f is not None]), max_windows))
    model.anomaly = head
    if "anomaly" not in model.config.heads:
        model.config.heads = [*model.config.heads, "anomaly"]
    cal = calibrate(held, md.window, hop, md.sample_rate, stream.alarm, stream.smoothing, per_day)
    replay(held, md.window, hop, md.sample_rate, stream.alarm, stream.smoothing, threshold=cal["threshold"])
    seen = alarm_figures(held)
    days = cal.pop("scored_days")
    vouched = rate_bound(seen["false_alarms"], days)
    need_h = days_to_vouch(per_day) * 24
    record = {
        "threshold": cal["threshold"], "score": "mahalanobis distance to the healthy baseline / features",
        "false_alarms_per_day_target": per_day,
        "false_alarms_per_day_estimate": cal["estimated_false_alarms_per_day"],
        "false_alarms_per_day_vouched": round(vouched, 3),
        "vouched": bool(vouched <= per_day), "hours_to_vouch": round(need_h, 1),
        "scored_hours": round(days * 24, 4), "scored_alarms": seen["false_alarms"],
        "fit_windows": int(total), "features": dim, "ledoit_wolf_shrinkage": round(fitted["shrinkage"], 4),
        "split": how_split, "threshold_from": cal["how"], "curve": cal["curve"],
        "alarm": {"hop": hop, "smoothing": stream.smoothing, "raise_at": stream.alarm.raise_at,
                  "clear_at": stream.alarm.clear_at, "min_raise_s": stream.alarm.min_raise_s,
                  "min_clear_s": stream.alarm.min_clear_s},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if not record["vouched"]:
        log(f"note: {days * 24:.2f} h of healthy signal vouch for at most {vouched:.3g} false alarms per day (95 %); "
            f"{per_day:g} per day needs {need_h:.0f} h without one. The threshold follows the estimate "
            f"({_fmt(record['false_alarms_per_day_estimate'])} per day); the model is marked unvouched")
    return record


def _spread(f: torch.Tensor, most: int) -> torch.Tensor:
    return f if len(f) <= most else f[np.linspace(0, len(f) - 1, most).astype(int)]


def _fmt(v: float | None) -> str:
    return "no estimate" if v is None else f"{v:.3g}"


def enrol_checkpoint(checkpoint: str, spec: DataSpec, out: str, per_day: float = 1.0,
                     stream: StreamConfig | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Enrol the machine ``spec`` describes (healthy recordings) on ``checkpoint``'s network; write ``out``."""
    ckpt = read_checkpoint_file(checkpoint)
    model, md = load_checkpoint(ckpt)
    recs, described = healthy_recordings(md, spec)
    log(f"enrolling on {described}")
    record = enrol_model(model, md, recs, per_day, stream, log=log)
    record["data"] = described
    record["source_checkpoint_sha256"] = ckpt.sha256
    previous = {k: v for k, v in md.enrolment.items() if k != "history"} if md.enrolment else None
    record["history"] = [*(md.enrolment.get("history") or []), previous] if previous else []
    md.enrolment = record
    save_checkpoint(out, model, md)
    log(f"wrote {out}: anomaly threshold {record['threshold']:.4g} "
        f"(estimated {_fmt(record['false_alarms_per_day_estimate'])} false alarms per day, target {per_day:g})")
    return record
