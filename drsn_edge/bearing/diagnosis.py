"""The decision that tells the truth: a model's class weighed against the envelope evidence.

Whether the model is on a machine it knows decides whose word on the location counts more. A model names locations
as it learnt them on its training machine; elsewhere it still detects faults but names the location right about a
third of the time (36 % on an unseen bearing), while a clear envelope line is right wherever the geometry and speed are
(all 23 unseen recordings). A machine is the model's own when the model's description records this bearing among those
it trained on and the same sensor channels (:func:`familiar_machine`); a model that records neither is on a machine
it does not know.

The rule (the evidence's thresholds are :class:`drsn_edge.bearing.envelope.Rule`):

- the model names a fault and the evidence agrees: the model's class;
- the model names a fault and the evidence is silent: on the model's own machine, the model's class; elsewhere
  "fault, location uncertain" (the detection stands; where, neither can say);
- the model names a fault and the evidence clearly names another location: on the model's own machine "fault,
  location uncertain" when the evidence names it firmly (``Rule.firm_db``), else the model's class with ``agrees``
  false (on its own machine the model was right on all 36 CWRU drive-end recordings of loads it never trained on,
  and the evidence's two wrong namings there were below the firm level); elsewhere the evidence's location, marked
  as disputed (``agrees`` false);
- the model says "unknown" (a window unlike its classes) and the evidence names a location: that location;
- the model says healthy and the evidence clearly names a location: that location, marked as disputed: the evidence's
  thresholds keep it silent on healthy recordings (CWRU's 97.mat, simulated healthy machines), so a named line is a
  defect the model missed; on the model's own machine only a firm naming, else the healthy verdict with ``agrees``
  false;
- without evidence (no bearing given), the model's class, and the output says evidence is off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from drsn_edge.bearing.kinematics import BearingGeometry, bearing_from_text
from drsn_edge.errors import DrsnEdgeError

LOCATIONS = ("inner_race", "outer_race", "ball")
UNCERTAIN = "fault, location uncertain"


#: words of a label that name a fault without a location (whole words or parts of one: "OuterRaceFault")
FAULT_WORDS = ("fault", "defect", "damage", "crack", "spall")


def label_words(label: str) -> list[str]:
    """A label's words, lower case (``12k_DE_IR007`` -> ``12k``, ``de``, ``ir007``)."""
    return [w for w in re.split(r"[^a-z0-9]+", label.lower()) if w]


def location_of(label: str | None) -> str | None:
    """The bearing location a label speaks of, by whole words (``inner_race_0.007``, ``IR007``, ``OR007@6``, ``B_014``,
    ``InnerRace``, ``roller``), or None (healthy, unknown, another kind of fault; "original" names no outer race)."""
    for w in label_words(label or ""):
        if w.startswith("inner") or re.fullmatch(r"ir\d*", w):
            return "inner_race"
        if w.startswith("outer") or re.fullmatch(r"or\d*", w):
            return "outer_race"
        if w.startswith(("ball", "roller")) or re.fullmatch(r"b\d*", w):
            return "ball"
    return None


def names_a_fault(label: str) -> bool:
    """Whether a label names a fault: a bearing location (:func:`location_of`) or a word for one (``faulty``,
    ``cracked``, ``OuterRaceFault``)."""
    return location_of(label) is not None or any(f in w for w in label_words(label) for f in FAULT_WORDS)


@dataclass(frozen=True)
class Diagnosis:
    label: str  # what to act on: a class, the evidence's location, or "fault, location uncertain"
    location: str | None  # inner_race / outer_race / ball, where it is named
    source: str  # "model", "evidence", "model and evidence", "disagreement"
    agrees: bool | None  # whether the evidence agrees with the model (None: the evidence is silent)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "location": self.location, "source": self.source, "agrees": self.agrees}


def decide(model_label: str, evidence_location: str | None, healthy: str | None, evidence_on: bool = True,
           familiar: bool = True, firm: bool = True) -> Diagnosis:
    """The diagnosis of a window or an alarm from the model's label (a class or "unknown"), the location the evidence
    names clearly (None: silent, or no analysis yet), whether the model is on its own machine, and whether the
    evidence names its location firmly (``Rule.firm_db``: what it takes to dispute the model on its own machine)."""
    model_loc = location_of(model_label)
    if not evidence_on:
        return Diagnosis(model_label, model_loc, "model", None)
    if evidence_location is None:
        if familiar or model_loc is None:
            return Diagnosis(model_label, model_loc, "model", None)
        return Diagnosis(UNCERTAIN, None, "model", None)
    if model_label == "unknown":
        return Diagnosis(evidence_location, evidence_location, "evidence", None)
    if model_loc == evidence_location:
        return Diagnosis(model_label, model_loc, "model and evidence", True)
    is_healthy = healthy is not None and model_label == healthy
    if familiar and not firm and (model_loc is not None or is_healthy):
        return Diagnosis(model_label, model_loc, "model", False)  # its own machine: the model's word stands
    if is_healthy:
        return Diagnosis(evidence_location, evidence_location, "evidence", False)
    if model_loc is None:  # a fault class of no bearing location: the evidence adds where
        return Diagnosis(model_label, evidence_location, "model and evidence", None)
    if familiar:
        return Diagnosis(UNCERTAIN, None, "disagreement", False)
    return Diagnosis(evidence_location, evidence_location, "evidence", False)


def diagnosis_words(d: dict[str, Any]) -> str:
    """A verdict's diagnosis in a few words: what to act on and whose word it is (``d``: :meth:`Diagnosis.to_dict`
    with the ``model_label`` weighed and the compact ``evidence``)."""
    ev = d.get("evidence") or {}
    where, label = ev.get("location"), d["label"]
    if d["source"] == "model and evidence":
        return f"{label} (evidence agrees)" if d["agrees"] else f"{label} (evidence: {where})"
    if d["source"] == "evidence":
        return f"{label} (evidence; the model: {d['model_label']})"
    if d["source"] == "disagreement":
        return f"{label} (model: {d['model_label']}, evidence: {where})"
    if d["agrees"] is False:
        return f"{label} (evidence leans to {where})"
    return f"{label} ({'evidence silent' if ev else 'no evidence yet'})"


def familiar_machine(trained_on: dict[str, Any] | None, bearing: BearingGeometry, channels: list[str] | None,
                     model_channels: list[str] | None) -> bool:
    """Whether a model whose description records ``trained_on`` (``training.machine``: bearings, shaft speeds) listens
    to its own machine: this bearing among its bearings (by geometry) and, where both are named, the same channels."""
    names = (trained_on or {}).get("bearings") or []
    if not any(_same_geometry(bearing, n) for n in names):
        return False
    named = [c for c in (channels or []) if not str(c).isdigit()]
    return not (named and model_channels and list(named) != list(model_channels))


def _same_geometry(bearing: BearingGeometry, name: str) -> bool:
    try:
        other = bearing_from_text(name)
    except DrsnEdgeError:
        return False
    return all(abs(a - b) < 1e-3 * max(1.0, b) for a, b in zip(bearing.orders().values(), other.orders().values()))
