"""Kinematics against published defect-frequency ratios, and the one-line errors of a bad bearing or speed."""

import math

import pytest

from drsn_edge.bearing import BEARINGS, BearingGeometry, bearing_from_text, check_speed
from drsn_edge.errors import DrsnEdgeError


def test_cwru_drive_end_orders_match_the_data_centers_table():
    # CWRU Bearing Data Center, 6205-2RS JEM: BPFI 5.4152, BPFO 3.5848, FTF 0.39828, BSF 4.7135 (its BSF is 2x ours:
    # the ball spin frequency times two, the rate at which a ball defect strikes a race)
    o = bearing_from_text("6205").orders()
    assert o["bpfi"] == pytest.approx(5.4152, abs=2e-3)
    assert o["bpfo"] == pytest.approx(3.5848, abs=2e-3)
    assert o["ftf"] == pytest.approx(0.39828, abs=2e-4)
    assert 2 * o["bsf"] == pytest.approx(4.7135, abs=5e-3)


def test_cwru_fan_end_orders_match_the_data_centers_table():
    # 6203-2RS JEM: BPFI 4.9469, BPFO 3.0530, FTF 0.3817, BSF 3.9874 (2x)
    o = bearing_from_text("cwru-fe").orders()
    assert o["bpfi"] == pytest.approx(4.9469, abs=2e-3)
    assert o["bpfo"] == pytest.approx(3.0530, abs=2e-3)
    assert o["ftf"] == pytest.approx(0.3817, abs=2e-4)
    assert 2 * o["bsf"] == pytest.approx(3.9874, abs=5e-3)


def test_mfpt_frequencies_at_25_hz_match_its_readme():
    f = bearing_from_text("MFPT").frequencies(25.0)
    assert f["bpfo"] == pytest.approx(81.1, abs=0.1)
    assert f["bpfi"] == pytest.approx(118.9, abs=0.1)
    assert f["bsf"] == pytest.approx(63.9, abs=0.1)
    assert f["ftf"] == pytest.approx(10.1, abs=0.1)


def test_a_contact_angle_moves_the_lines_as_the_formula_says():
    flat = BearingGeometry(16, 8.4, 71.5, 0.0)
    angled = BearingGeometry(16, 8.4, 71.5, 15.17)
    r = 8.4 / 71.5 * math.cos(math.radians(15.17))
    assert angled.orders()["bpfo"] == pytest.approx(8 * (1 - r))
    assert angled.orders()["bpfo"] > flat.orders()["bpfo"]


def test_every_named_bearing_says_where_it_comes_from():
    assert len(BEARINGS) >= 5
    for name, b in BEARINGS.items():
        assert b.name == name and len(b.source) > 20
        o = b.orders()
        assert o["ftf"] < 0.5 < o["bsf"] < o["bpfo"] < o["bpfi"]


def test_a_geometry_given_as_numbers():
    b = bearing_from_text("9, 7.94, 39.04, 0")
    assert b.n_balls == 9 and b.pitch_diameter == pytest.approx(39.04)
    assert b.orders()["bpfo"] == pytest.approx(bearing_from_text("6205").orders()["bpfo"], abs=1e-2)


@pytest.mark.parametrize("text,needle", [
    ("6025", "unknown bearing '6025'; did you mean"),
    ("9,7.94,5,0", "pitch diameter (5) must exceed the ball diameter (7.94)"),
    ("9,0,39,0", "ball diameter must be positive"),
    ("2,7,39,0", "3 to 100 rolling elements"),
    ("9,a,39,0", "expected n,d,D,angle as numbers"),
    ("9,7,39,75", "contact angle must be 0 to 60 degrees"),
])
def test_a_bad_bearing_is_refused_in_one_line(text, needle):
    with pytest.raises(DrsnEdgeError) as e:
        bearing_from_text(text)
    assert needle in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("rpm,hz,needle", [
    (0, None, "positive number of rpm, got 0"),
    (-1500, None, "positive number of rpm"),
    (float("nan"), None, "positive number of rpm, got nan"),
    (None, float("inf"), "positive number of Hz"),
    (1500, 25, "give the shaft speed once"),
    (600000, None, "a unit slip?"),
])
def test_a_bad_speed_is_refused_in_one_line(rpm, hz, needle):
    with pytest.raises(DrsnEdgeError, match=None) as e:
        check_speed(rpm, hz)
    assert needle in str(e.value)


def test_a_speed_in_rpm_or_hz():
    assert check_speed(1500) == pytest.approx(25.0)
    assert check_speed(None, 29.95) == pytest.approx(29.95)
    assert check_speed() is None
