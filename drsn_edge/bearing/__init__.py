"""Bearing physics as evidence (numpy only, torch-free, in the device runtime): the kinematics of a rolling-element
bearing, its defect frequencies at a shaft speed, the envelope spectrum at those frequencies, and the decision that
weighs a model's class against that evidence."""

from drsn_edge.bearing.diagnosis import UNCERTAIN, Diagnosis, decide, diagnosis_words, familiar_machine, location_of
from drsn_edge.bearing.envelope import EnvelopeAnalyzer, evidence_of, named_location
from drsn_edge.bearing.kinematics import BEARINGS, BearingGeometry, bearing_from_text, check_speed
from drsn_edge.bearing.speed import tacho_speed

__all__ = ["BEARINGS", "UNCERTAIN", "BearingGeometry", "Diagnosis", "EnvelopeAnalyzer", "bearing_from_text",
           "check_speed", "decide", "diagnosis_words", "evidence_of", "familiar_machine", "location_of",
           "named_location", "tacho_speed"]
