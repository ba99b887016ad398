"""The decision that tells the truth: a model's class weighed against the envelope evidence.

The rule (its thresholds are the evidence's, :class:`drsn_edge.bearing.envelope.Rule`):

- the model names a fault, and the evidence agrees or is silent: the model's class;
- the model names a fault, and the evidence clearly names another location: "fault, location uncertain" (a fault is
  likely, since both see one; where it is, they disagree, and on a machine the model never saw its naming is the
  weaker of the two: 36 % right on an unseen bearing, against all 23 files for the envelope analysis);
- the model says "unknown" (a window unlike its classes), and the evidence names a location: that location;
- the model says healthy, and the evidence clearly names a location: the model's class stands, marked as disputed
  (``agrees`` false), so that a person looks;
- without evidence (no bearing given), the model's class, and the output says evidence is off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOCATIONS = ("inner_race", "outer_race", "ball")
UNCERTAIN = "fault, location uncertain"


def location_of(label: str | None) -> str | None:
    """The bearing location a class name speaks of (``inner_race_0.007`` -> ``inner_race``; ``IR``, ``roller``...),
    or None (healthy, unknown, or another kind of fault)."""
    if not label:
        return None
    s = label.lower().replace("-", "_").replace(" ", "_")
    if "inner" in s or s.startswith(("ir", "ir_")):
        return "inner_race"
    if "outer" in s or s.startswith(("or", "or_")):
        return "outer_race"
    if "ball" in s or "roller" in s or s.startswith("b_") or s == "b":
        return "ball"
    return None


@dataclass(frozen=True)
class Diagnosis:
    label: str  # what to act on: a class, the evidence's location, or "fault, location uncertain"
    location: str | None  # inner_race / outer_race / ball, where it is named
    source: str  # "model", "evidence", "model and evidence", "disagreement"
    agrees: bool | None  # whether the evidence agrees with the model (None: the evidence is silent)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "location": self.location, "source": self.source, "agrees": self.agrees}


def decide(model_label: str, evidence_location: str | None, healthy: str | None, evidence_on: bool = True) -> Diagnosis:
    """The diagnosis of a window or an alarm from the model's label (a class or "unknown") and the location the evidence
    names clearly (None: silent)."""
    model_loc = location_of(model_label)
    if not evidence_on or evidence_location is None:
        return Diagnosis(model_label, model_loc, "model", None)
    if model_label == "unknown":
        return Diagnosis(evidence_location, evidence_location, "evidence", None)
    if healthy is not None and model_label == healthy:
        return Diagnosis(model_label, None, "model", False)
    if model_loc == evidence_location:
        return Diagnosis(model_label, model_loc, "model and evidence", True)
    if model_loc is None:  # a fault class of no bearing location: the evidence adds where
        return Diagnosis(model_label, evidence_location, "model and evidence", None)
    return Diagnosis(UNCERTAIN, None, "disagreement", False)
