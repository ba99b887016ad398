"""Enrol a machine from its healthy recordings only: an anomaly head fitted on its healthy windows, and a threshold
set so that its alarms come at a stated false-alarm rate.

- The baseline: the network's pooled features and log shrinkage ratios of the healthy windows, their mean and a
  Ledoit-Wolf covariance (:class:`~drsn_edge.models.heads.AnomalyHead`), exported in the graph beside the logits.
- The operating range: a recording of minutes holds the shaft speed it ran at, while a machine's speed moves with its
  load (an induction motor's slip) over hours. Each healthy window is also fitted resampled to a speed drawn within
  ``speed_range`` (+-2 % by default), so that drift does not read as an anomaly. Measured on a simulated machine whose
  speed and load drift over a day, with a model trained on CWRU only: the healthy score's median at the day's lowest
  load rose to 1.4-1.6x the enrolment's without it, 1.1x with it; mild faults still scored 25-300x (benchmarks/
  enrolment.py). Only the fit sees resampled windows; the threshold is set on the recorded ones.
- The threshold: every healthy window is scored by a baseline fitted without it (three folds: whole recordings
  where there are three or more, else interleaved time blocks). Those scores are replayed through the runtime's own
  smoothing and alarm state machine to find, per 10-s block, the highest threshold that still raises an alarm; an
  extreme-value fit of those levels gives the threshold one block a day (at the target rate) would reach.
- The rate the scored hours can *vouch* for (no alarm seen in T days bounds the rate at 3 / T per day, 95 %) is
  reported beside the estimate, never in its place.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from drsn_edge.bearing.diagnosis import names_a_fault
from drsn_edge.data.augment import Augment
from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.data.recording import Recording, cut_windows
from drsn_edge.data.splits import SplitSpec
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.evaluation.alarm_replay import Stream, alarm_figures, days_to_vouch, rate_bound, replay
from drsn_edge.modelfile.checkpoint import read_checkpoint_file
from drsn_edge.models.checkpoint import load_checkpoint, save_checkpoint
from drsn_edge.models.heads import AnomalyHead
from drsn_edge.runtime.config import ENROL_ALARM, StreamConfig, alarm_settings_of
from drsn_edge.runtime.decisions import AlarmConfig
from drsn_edge.training.config import ENROL_SPEED_RANGE
from drsn_edge.training.heads import network_features

#: cross-fitting: each fold's windows are scored by a baseline fitted on the other folds
FOLDS = 3
#: time blocks per recording when there are fewer recordings than folds
BLOCKS = 6
#: thresholds replayed to draw the alarm-count curve kept in the record
GRID = 40
#: the stretch of healthy signal whose alarm level is one sample of the extreme-value fit, and the fewest samples
BLOCK_S, MIN_BLOCKS = 10.0, 12
#: the threshold is this upper bound of the fitted level over bootstrap resamples of the blocks: few blocks say
#: little of a day's extremes, and the doubt goes towards fewer false alarms (measured on a simulated machine over
#: 24 h: the point estimate let 3 alarms through where 1 was asked for, the 90 % bound 1)
BOUND, BOOTSTRAP = 0.9, 200
#: bisection steps for a block's alarm level (a ratio of 2 ** -30 between the bounds, from a factor of ~2)
BISECTIONS = 30
#: an enrolment on less than a day of healthy signal cannot have seen the machine's daily cycle of load and speed: its
#: threshold is raised by this factor. Chosen on simulated machines 6-10 (24 h of drift sampled as 144 stretches of 30 s,
#: a CWRU-trained and a simulator-trained model, benchmarks/enrolment.py's machines are 1-5): the factor each needed for
#: no false alarm was 1 to 1.5; 2 leaves room for the 23 h a sample does not show, and every fault stayed alarmed (a
#: mild one later on two machines)
DRIFT_MARGIN = 2.0


def healthy_recordings(md, spec: DataSpec, force: bool = False,
                       log: Callable[[str], None] = print) -> tuple[list[Recording], str]:
    """The machine's recordings at the model's rate, labels ignored; refused (one line) where they cannot make a
    baseline, or where some are labelled as faults (``force``: said, and enrolled on all the same)."""
    spec = DataSpec(spec.source, spec.options, md.sample_rate, SplitSpec("all"), spec.seed)
    ds = load_dataset(spec, min_samples=md.window)
    if ds.in_channels != md.in_channels:
        raise DrsnEdgeError(f"the healthy data has {ds.in_channels} channel(s), the model takes {md.in_channels}")
    faults = [(r.rid or f"recording {i}", label) for i, r in enumerate(ds.recordings)
              if (label := r.meta.get("given_label", ds.class_names[r.label])) and names_a_fault(label)]
    if faults:
        said = (f"{len(faults)} of {len(ds.recordings)} recordings are labelled as faults ("
                + ", ".join(f"{rid}: {label}" for rid, label in faults[:3]) + (" ..." if len(faults) > 3 else "")
                + "): enrol takes every recording it is given as the machine's healthy state")
        if not force:
            raise DrsnEdgeError(f"{said}; give its healthy recordings only, or --force to enrol on these as well")
        log(f"warning: {said} (--force)")
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


def anomaly_features(model, x: np.ndarray) -> torch.Tensor:
    """What the anomaly head reads: pooled features and log shrinkage ratios (one pass, as the heads are fitted)."""
    return torch.cat(network_features(model, x), dim=1)


def block_levels(streams: list[Stream], window: int, hop: int, fs: float, alarm: AlarmConfig, n: int,
                 block_s: float = BLOCK_S) -> np.ndarray:
    """Per block of ``block_s`` of the healthy streams: the highest threshold at which the runtime's alarm logic
    still raises an alarm in it (bisection, every block at once: a block's scores over its candidate threshold are
    replayed against a threshold of 1, the same decisions)."""
    k = max(1, int(round(block_s * fs / hop)))
    # a stream shorter than a block (a few seconds of healthy signal in all) is one block of its own
    blocks = [b for s in streams for b in ([s.scores[i : i + k] for i in range(0, len(s.scores) - k + 1, k)]
                                           if len(s.scores) >= k else [s.scores]) if len(b)]
    if not blocks:
        return np.zeros(0)
    lo = np.array([max(float(b.min()), 1e-12) for b in blocks]) * 0.5
    hi = np.array([float(b.max()) for b in blocks]) * 1.0001 + 1e-12

    def alarmed(th: np.ndarray) -> np.ndarray:
        scaled = [Stream("", len(b) * hop / fs, scores=b / t) for b, t in zip(blocks, th)]
        return np.array([any(e.state == "alarm" for e in s.events)
                         for s in replay(scaled, window, hop, fs, alarm, n, threshold=1.0)])

    ok = alarmed(lo)  # a block that raises nothing even far below its scores is too short to count
    lo, hi = lo[ok], hi[ok]
    blocks = [b for b, o in zip(blocks, ok) if o]
    for _ in range(BISECTIONS):
        mid = np.sqrt(lo * hi)
        up = alarmed(mid)
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    return lo


def calibrate(streams: list[Stream], window: int, hop: int, fs: float, alarm: AlarmConfig, n: int,
              per_day: float) -> dict[str, Any]:
    """The threshold for ``per_day`` false alarms on the healthy ``streams`` (out-of-fold scores set), and the alarm
    counts at a range of thresholds (the trade-off curve, for the record). Under a day of signal, the threshold is
    raised by ``DRIFT_MARGIN`` for the drift the data cannot show.

    An alarm needs the score to stay above the threshold, so what matters is how high each stretch of healthy signal
    *holds* the score, not its single highest window: each block's alarm level (:func:`block_levels`) is that. Their
    logarithms are fitted with a Gumbel distribution (extreme values; on the log, the tail falls as a power law,
    more slowly than the Gumbel itself, which errs towards fewer false alarms), and the threshold is the upper
    ``BOUND`` of the level one block a day in ``1 / per_day`` would reach, over bootstrap resamples of the blocks. It
    is never below the highest block level seen; the estimate reported is the fit's rate at it."""
    from scipy.stats import gumbel_r

    scores = np.concatenate([s.scores for s in streams])
    days = sum(s.duration_s for s in streams) / 86400.0
    levels = block_levels(streams, window, hop, fs, alarm, n)
    if len(levels) >= MIN_BLOCKS:
        logs = np.log(levels)
        q = 1.0 - per_day * BLOCK_S / 86400.0  # one block a day in 1 / per_day
        loc, scale = gumbel_r.fit(logs)
        rng = np.random.default_rng(0)
        boots = [gumbel_r.ppf(q, *gumbel_r.fit(rng.choice(logs, len(logs)))) for _ in range(BOOTSTRAP)]
        threshold = max(float(np.exp(np.quantile(boots, BOUND))), float(levels.max()))
        estimate = float(86400.0 / BLOCK_S * gumbel_r.sf(np.log(threshold), loc, scale))  # before any drift margin
        how = (f"the alarm levels of {len(levels)} blocks of {BLOCK_S:g} s (Gumbel on their logarithm): the level "
               f"reached {per_day:g} time(s) a day, its upper {BOUND:.0%} bound over {BOOTSTRAP} resamples of the "
               "blocks")
    else:
        threshold, estimate = float(levels.max()) * 1.0001 if len(levels) else float(scores.max()), None
        how = (f"{len(levels)} blocks of {BLOCK_S:g} s are too few for the extreme-value fit (>= {MIN_BLOCKS}): just "
               "above the highest alarm level seen, no estimate of the rate")
    margin = DRIFT_MARGIN if days < 1.0 else 1.0
    if margin != 1.0:
        threshold *= margin
        how += (f"; then x{DRIFT_MARGIN:g}: {days * 24:.2g} h of signal cannot show the machine's daily drift in load and "
                "speed (the estimate is the fit's, before this margin)")
    grid = np.unique(np.geomspace(max(float(np.median(scores)), 1e-9), max(threshold, float(scores.max())) * 1.5, GRID))
    curve = [{"threshold": round(float(th), 5),
              "alarms": sum(1 for s in replay(streams, window, hop, fs, alarm, n, threshold=float(th))
                            for e in s.events if e.state == "alarm")} for th in grid]
    return {"threshold": threshold, "estimated_false_alarms_per_day": None if estimate is None else round(estimate, 4),
            "how": how, "curve": curve, "block_levels": {"count": int(len(levels)), "max": round(float(levels.max()), 5)
                                                         if len(levels) else None},
            "scored_days": days, "drift_margin": margin}


def speed_drifted(model, sig: np.ndarray, window: int, hop: int, speed_range: float,
                  rng: np.random.Generator) -> torch.Tensor | None:
    """Anomaly features of ``sig``'s windows, each resampled to a shaft speed within +-``speed_range``."""
    aug = Augment(speed=speed_range, gain_db=0.0, polarity=False)
    crops = cut_windows(sig, 0, sig.shape[1], aug.crop_length(window), hop)
    return anomaly_features(model, aug.apply(crops, window, rng)) if len(crops) else None


def enrol_model(model, md, recs: list[Recording], per_day: float = 1.0, stream: StreamConfig | None = None,
                max_windows: int = 20000, log: Callable[[str], None] = print,
                speed_range: float = ENROL_SPEED_RANGE) -> dict[str, Any]:
    """Fit the anomaly head on the healthy ``recs`` and set its threshold; returns the enrolment record (the model
    and its description are changed in place)."""
    if per_day <= 0:
        raise DrsnEdgeError("the false-alarm rate must be above 0 per day")
    if not 0 <= speed_range < 0.5:
        raise DrsnEdgeError(f"the speed range must be from 0 to 0.5 (a share of the shaft speed), not {speed_range:g}")
    stream = stream or StreamConfig(smoothing=ENROL_ALARM["smoothing"],
                                    alarm=AlarmConfig(min_raise_s=ENROL_ALARM["min_raise_s"]))
    hop = stream.hop or md.hop
    parts, how_split = split_folds(recs)
    windows = [cut_windows(sig, 0, sig.shape[1], md.window, hop) for _, sig, _ in parts]
    model.eval()
    dim = anomaly_features(model, np.zeros((1, md.in_channels, md.window), np.float32)).shape[1]
    total = sum(len(w) for w in windows)
    need = int(np.ceil(dim * FOLDS / (FOLDS - 1)))  # each fold's baseline sees (FOLDS - 1) / FOLDS of the windows
    if total < need:
        raise DrsnEdgeError(f"the healthy data gives {total} windows; the baseline has {dim} features and needs at least "
                            f"{need} windows (about {need * hop / md.sample_rate:.0f} s of signal at hop {hop})")
    feats = [anomaly_features(model, w) if len(w) else None for w in windows]
    rng = np.random.default_rng(0)
    drifted = [speed_drifted(model, sig, md.window, hop, speed_range, rng) if speed_range else None
               for _, sig, _ in parts]
    held = []
    for k in range(FOLDS):  # out-of-fold scores: every healthy window scored by a baseline that never saw it
        train = [x for f, d, (_, _, fold) in zip(feats, drifted, parts) if fold != k for x in (f, d) if x is not None]
        head = AnomalyHead(dim)
        head.fit(_spread(torch.cat(train), max_windows))
        for f, (name, sig, fold) in zip(feats, parts):
            if fold == k and f is not None:
                with torch.no_grad():
                    held.append(Stream(name, sig.shape[1] / md.sample_rate, scores=head(f).numpy()))
    head = AnomalyHead(dim)
    fitted = head.fit(_spread(torch.cat([f for f in (*feats, *drifted) if f is not None]), max_windows))
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
        "fit_windows": int(total), "features": dim, "speed_range": speed_range,
        "ledoit_wolf_shrinkage": round(fitted["shrinkage"], 4),
        "split": how_split, "threshold_from": cal["how"], "drift_margin": cal["drift_margin"],
        "block_levels": cal["block_levels"], "curve": cal["curve"],
        "alarm": alarm_settings_of(stream, md.hop),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if not record["vouched"]:
        log(f"note: {days * 24:.2f} h of healthy signal vouch for at most {vouched:.3g} false alarms per day (95 %); "
            f"{per_day:g} per day needs {need_h:.0f} h without one. The threshold follows "
            f"{_rate(record['false_alarms_per_day_estimate'])}; the model is marked unvouched")
    return record


def _spread(f: torch.Tensor, most: int) -> torch.Tensor:
    return f if len(f) <= most else f[np.linspace(0, len(f) - 1, most).astype(int)]


def _rate(v: float | None) -> str:
    """The estimated false-alarm rate in words (None: too few blocks of signal for the extreme-value fit)."""
    return ("the highest alarm level seen (too little signal to estimate the rate)" if v is None
            else f"the estimate of {v:.3g} false alarms per day")


def enrol_checkpoint(checkpoint: str, spec: DataSpec, out: str, per_day: float = 1.0,
                     stream: StreamConfig | None = None, log: Callable[[str], None] = print,
                     speed_range: float = ENROL_SPEED_RANGE, force: bool = False) -> dict[str, Any]:
    """Enrol the machine ``spec`` describes (healthy recordings) on ``checkpoint``'s network; write ``out``
    (``force``: also where some recordings are labelled as faults)."""
    ckpt = read_checkpoint_file(checkpoint)
    model, md = load_checkpoint(ckpt)
    recs, described = healthy_recordings(md, spec, force, log)
    log(f"enrolling on {described}")
    record = enrol_model(model, md, recs, per_day, stream, log=log, speed_range=speed_range)
    record["data"] = described
    record["source_checkpoint_sha256"] = ckpt.sha256
    previous = {k: v for k, v in md.enrolment.items() if k != "history"} if md.enrolment else None
    record["history"] = [*(md.enrolment.get("history") or []), previous] if previous else []
    md.enrolment = record
    save_checkpoint(out, model, md)
    log(f"wrote {out}: anomaly threshold {record['threshold']:.4g} "
        f"(set from {_rate(record['false_alarms_per_day_estimate'])}; target {per_day:g} per day)")
    return record
