"""Every case of the decision rule (drsn_edge/bearing/diagnosis.py)."""

import pytest

from drsn_edge.bearing import UNCERTAIN, bearing_from_text, decide, familiar_machine, location_of
from drsn_edge.bearing.diagnosis import names_a_fault


@pytest.mark.parametrize("label,loc", [
    ("inner_race_0.007", "inner_race"), ("outer_race", "outer_race"), ("ball_0.021", "ball"), ("IR", "inner_race"),
    ("OR-3", "outer_race"), ("roller", "ball"), ("normal", None), ("unknown", None), ("misalignment", None), (None, None),
    ("IR007", "inner_race"), ("OR007@6", "outer_race"), ("B_014", "ball"), ("12k_DE_B021", "ball"),
    ("InnerRaceFault", "inner_race"), ("original", None), ("irrigation", None), ("border", None), ("baseline", None),
])
def test_location_of_a_class_name(label, loc):
    assert location_of(label) == loc


@pytest.mark.parametrize("label,fault", [
    ("IR007", True), ("faulty_pump", True), ("cracked-gear", True), ("OuterRaceFault", True), ("normal", False),
    ("original", False), ("healthy_2024", False), ("irrigation", False),
])
def test_names_a_fault_reads_whole_words(label, fault):
    """One label reader for enrol's refusal and the evaluation's locations: CWRU's IR007 names a fault (enrol missed
    it before), a folder "original" does not (location_of called it an outer race before)."""
    assert names_a_fault(label) is fault


def test_the_evidence_agrees():
    d = decide("inner_race_0.014", "inner_race", "normal")
    assert (d.label, d.location, d.source, d.agrees) == ("inner_race_0.014", "inner_race", "model and evidence", True)


def test_the_evidence_is_silent_the_model_stands():
    d = decide("ball_0.007", None, "normal")
    assert (d.label, d.location, d.source, d.agrees) == ("ball_0.007", "ball", "model", None)


def test_the_evidence_names_another_location_clearly():
    d = decide("ball_0.007", "outer_race", "normal")
    assert (d.label, d.location, d.source, d.agrees) == (UNCERTAIN, None, "disagreement", False)


def test_on_its_own_machine_the_model_stands_against_a_line_below_the_firm_level():
    """CWRU drive end, 118 and 225: ball faults the model named right, whose envelopes show race lines at 14-17 dB;
    they were "fault, location uncertain" before the firm level."""
    d = decide("ball_0.007", "outer_race", "normal", firm=False)
    assert (d.label, d.location, d.source, d.agrees) == ("ball_0.007", "ball", "model", False)
    d = decide("normal", "inner_race", "normal", firm=False)
    assert (d.label, d.location, d.source, d.agrees) == ("normal", None, "model", False)
    assert decide("unknown", "outer_race", "normal", firm=False).label == "outer_race"  # no word of the model's
    assert decide("ball_0.007", "ball", "normal", firm=False).agrees is True
    # elsewhere a clear line counts, firm or not
    assert decide("ball_0.007", "outer_race", "normal", familiar=False, firm=False).label == "outer_race"
    assert decide("normal", "inner_race", "normal", familiar=False, firm=False).label == "inner_race"


def test_the_model_says_unknown_the_evidence_names_the_location():
    d = decide("unknown", "outer_race", "normal")
    assert (d.label, d.location, d.source) == ("outer_race", "outer_race", "evidence")


def test_the_model_says_healthy_the_evidence_disputes_it():
    d = decide("normal", "inner_race", "normal")
    assert (d.label, d.location, d.agrees) == ("inner_race", "inner_race", False)


def test_a_fault_class_without_a_location_gets_the_evidences():
    d = decide("misalignment", "outer_race", "normal")
    assert (d.label, d.location, d.source) == ("misalignment", "outer_race", "model and evidence")


def test_evidence_off_leaves_the_model_alone():
    d = decide("ball", "outer_race", "normal", evidence_on=False)
    assert (d.label, d.source, d.agrees) == ("ball", "model", None)


def test_on_another_machine_a_clear_line_names_the_location():
    d = decide("ball_0.007", "outer_race", "normal", familiar=False)
    assert (d.label, d.location, d.source, d.agrees) == ("outer_race", "outer_race", "evidence", False)


def test_on_another_machine_silent_evidence_leaves_the_location_uncertain():
    d = decide("ball_0.007", None, "normal", familiar=False)
    assert (d.label, d.location, d.source) == (UNCERTAIN, None, "model")
    assert decide("normal", None, "normal", familiar=False).label == "normal"  # a healthy verdict stands


def test_the_models_own_machine_is_its_bearing_and_its_channels():
    trained = {"bearings": ["6205-2RS-JEM"], "shaft_hz": [28.8, 29.95]}
    b6205 = bearing_from_text("9,7.94,39.04,0")  # the same geometry, given as numbers
    assert familiar_machine(trained, b6205, ["DE"], ["DE"])
    assert familiar_machine(trained, b6205, ["0"], ["DE"])  # unnamed channels (a .npy): the bearing decides
    assert not familiar_machine(trained, b6205, ["FE"], ["DE"])  # another sensor
    assert not familiar_machine(trained, bearing_from_text("MFPT"), ["DE"], ["DE"])  # another bearing
    assert not familiar_machine(None, b6205, ["DE"], ["DE"])  # a model that does not record its machine
