"""Where is the fault? Location accuracy of the model alone, the bearing evidence alone and the combined diagnosis
(:func:`drsn_edge.bearing.decide`), per window and per recording, on any labelled data whose classes name bearing
locations (``inner_race_0.007`` -> inner race).

The evidence is made as the runtime makes it: an :class:`~drsn_edge.bearing.EnvelopeAnalyzer` fed with each
recording's test spans at the file's own rate (a file resampled for the model is read again: the band where impacts
ring often lies above the model's Nyquist frequency), a window taking the latest analysis made before its end, and
none before the first block. A recording's verdict weighs the model's majority label against
the location most of its analysed windows name (none where fewer than half name one; firmly where more than half name
it firmly), by the same rule."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from drsn_edge.bearing import (
    UNCERTAIN,
    BearingGeometry,
    EnvelopeAnalyzer,
    bearing_from_text,
    decide,
    familiar_machine,
    location_of,
)
from drsn_edge.data.dataset import VibrationDataset, WindowSet

#: a window before its recording's first analysis (distinct from None: analysed, and silent)
NOT_YET = "not yet"


def window_evidence(ds: VibrationDataset, ws: WindowSet, split: str, bearing: BearingGeometry | str | None,
                    shaft_hz: float | None, trained_on: dict[str, Any] | None = None,
                    model_channels: list[str] | None = None
                    ) -> tuple[list[str | None], list[bool], list[bool], list[str]]:
    """Per window: the location the evidence names (None: silent; :data:`NOT_YET`: no analysis yet or no evidence),
    whether it names it firmly, and whether the model listens to its own machine there; and notes on recordings left
    without evidence."""
    out: list[str | None] = [NOT_YET] * len(ws.y)
    firm = [False] * len(ws.y)
    familiar = [True] * len(ws.y)
    notes = []
    if isinstance(bearing, str):  # the command's bearing, read once; a recording's own is read where it names one
        bearing = bearing_from_text(bearing)
    for i, rec in enumerate(ds.recordings):
        idx = np.flatnonzero(ws.rec == i)
        if not len(idx):
            continue
        geo = bearing or (bearing_from_text(rec.meta["bearing"]) if rec.meta.get("bearing") else None)
        speed = shaft_hz or rec.shaft_hz
        if geo is None or speed is None:
            notes.append(f"{rec.rid}: no {'bearing' if geo is None else 'shaft speed'}, no evidence")
            continue
        own = familiar_machine(trained_on, geo, ds.channel_names, model_channels)
        made: list[tuple[float, str | None, bool]] = []
        signal, rate = rec.at_own_rate()
        r = rate / ds.fs  # the file's samples per model sample
        step = int(round(4096 * r))
        for start, stop in ds.plan.spans[i].get(split, []):
            a = EnvelopeAnalyzer(rate, geo, speed)
            x = signal[0, int(round(start * r)) : int(round(stop * r))]
            for k in range(0, len(x), step):
                if a.push(x[k : k + step]):  # its end, in model samples
                    made.append((start + min(k + step, len(x)) / r, a.latest["location"], a.latest["firm"]))
        ends = np.array([e for e, _, _ in made])
        for j in idx:
            familiar[j] = own
            before = np.flatnonzero(ends <= ws.end[j]) if len(ends) else []
            if len(before):
                _, out[j], firm[j] = made[before[-1]]
    return out, firm, familiar, notes


def _vote(vals: list) -> Any:
    """The most common value that is not None (None if there is none)."""
    return (Counter(v for v in vals if v is not None).most_common(1) or [(None, 0)])[0][0]


def location_report(y: np.ndarray, pred: np.ndarray, rec: np.ndarray, evidence: list[str | None],
                    class_names: list[str], rec_names: list[str], healthy: str | None,
                    familiar: list[bool] | None = None, firm: list[bool] | None = None) -> dict[str, Any]:
    """Location accuracy of model / evidence / combined over windows whose true class names a location; ``firm``: per
    window, whether the evidence names its location firmly (default: all)."""
    familiar = familiar or [True] * len(y)
    firm = firm or [True] * len(y)
    truth = [location_of(class_names[k]) for k in y.tolist()]
    keep = np.array([t is not None for t in truth])
    model = [location_of(class_names[k]) for k in pred.tolist()]
    seen = [None if e == NOT_YET else e for e in evidence]
    combined = [decide(class_names[p], e, healthy, familiar=f, firm=s)
                for p, e, f, s in zip(pred.tolist(), seen, familiar, firm)]
    rows = []
    for r in np.unique(rec[keep]):
        m = np.flatnonzero((rec == r) & keep)
        analysed = [evidence[j] for j in m if evidence[j] != NOT_YET]
        named = _vote(analysed)
        ev_loc = named if analysed and sum(v == named for v in analysed) * 2 > len(analysed) else None
        ev_firm = sum(evidence[j] == ev_loc and firm[j] for j in m) * 2 > len(analysed)
        label = Counter(class_names[pred[j]] for j in m).most_common(1)[0][0]
        d = decide(label, ev_loc, healthy, familiar=familiar[m[0]], firm=ev_firm)
        rows.append({"recording": rec_names[r], "truth": truth[m[0]], "model": location_of(label), "evidence": ev_loc,
                     "evidence_firm": ev_firm if ev_loc else None,
                     "combined": UNCERTAIN if d.label == UNCERTAIN else d.location, "model_label": label,
                     "models_own_machine": familiar[m[0]], "windows": len(m), "windows_analysed": len(analysed)})
    n = int(keep.sum())

    def share(vals: list, what) -> float | None:
        return float(np.mean([what(vals[j], truth[j]) for j in np.flatnonzero(keep)])) if n else None

    placed = [d.location if d.label != UNCERTAIN else None for d in combined]
    per_window = {"windows": n,
                  "model": share(model, lambda p, t: p == t),
                  "evidence": share(seen, lambda p, t: p == t),
                  "evidence_silent": share(seen, lambda p, t: p is None),
                  "combined": share(placed, lambda p, t: p == t),
                  "combined_uncertain": share([d.label for d in combined], lambda p, t: p == UNCERTAIN),
                  "combined_wrong": share(placed, lambda p, t: p is not None and p != t)}
    per_recording: dict[str, Any] = {"recordings": len(rows)}
    for k in ("model", "evidence", "combined"):
        per_recording[k] = float(np.mean([r[k] == r["truth"] for r in rows])) if rows else None
    per_recording["evidence_silent"] = float(np.mean([r["evidence"] is None for r in rows])) if rows else None
    per_recording["combined_uncertain"] = float(np.mean([r["combined"] == UNCERTAIN for r in rows])) if rows else None
    per_recording["combined_wrong"] = float(np.mean([r["combined"] not in (None, UNCERTAIN, r["truth"])
                                                     for r in rows])) if rows else None
    return {"per_window": per_window, "per_recording": per_recording, "recordings": rows,
            "models_own_machine": sorted({r["models_own_machine"] for r in rows})}


def format_locations(r: dict[str, Any]) -> str:
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}"  # noqa: E731
    w, rec = r["per_window"], r["per_recording"]
    own = r.get("models_own_machine", [])
    where = ("the model's own machine" if own == [True] else "a machine the model never trained on" if own == [False]
             else "its own machine and others")
    lines = [f"fault location (inner race / outer race / ball), right % (on {where}):",
             f"{'':14}{'model':>8}{'evidence':>10}{'combined':>10}  evidence silent  combined uncertain  combined wrong",
             f"{'per window':14}{pct(w['model']):>8}{pct(w['evidence']):>10}{pct(w['combined']):>10}  "
             f"{pct(w['evidence_silent']):>15}  {pct(w['combined_uncertain']):>18}  {pct(w['combined_wrong']):>14}",
             f"{'per recording':14}{pct(rec['model']):>8}{pct(rec['evidence']):>10}{pct(rec['combined']):>10}  "
             f"{pct(rec['evidence_silent']):>15}  {pct(rec['combined_uncertain']):>18}  {pct(rec['combined_wrong']):>14}"]
    return "\n".join(lines)
