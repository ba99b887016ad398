"""Envelope evidence on simulated signals of known geometry (three bearings no model here trained on), a healthy
machine kept silent, a defect beyond the envelope's band skipped and said, and the streaming analyzer."""

import zlib

import numpy as np
import pytest

from drsn_edge.bearing import EnvelopeAnalyzer, bearing_from_text, evidence_of
from drsn_edge.data.noise import add_noise
from drsn_edge.data.simulator import simulate_bearing

FS = 12000.0


def _signal(condition: str, bearing: str, rpm: float, snr_db: float | None, seed: int) -> np.ndarray:
    x = simulate_bearing(condition, fs=FS, duration=6.0, rpm=rpm, geometry=bearing_from_text(bearing), seed=seed)
    if snr_db is None:
        return x
    return add_noise(x[None, None, :], snr_db, "gaussian", np.random.default_rng(seed))[0, 0]


@pytest.mark.parametrize("bearing", ["MFPT", "UER204", "ZA-2115"])
@pytest.mark.parametrize("condition", ["inner_race", "outer_race", "ball"])
def test_evidence_names_the_location_at_0_db(bearing, condition):
    rpm = 1500.0
    x = _signal(condition, bearing, rpm, 0.0, seed=zlib.crc32(f"{bearing} {condition}".encode()) % 1000)
    ev = evidence_of(x, FS, bearing_from_text(bearing), rpm / 60)
    assert ev["location"] == condition, ev["defects"]
    assert set(ev["defects"]) == {"bpfo", "bpfi", "bsf"} and not ev["skipped"]


def test_a_location_is_firm_at_the_rules_firm_level_only():
    from drsn_edge.bearing.envelope import RULE

    for seed in range(3):
        ev = evidence_of(_signal("outer_race", "MFPT", 1500.0, 0.0, seed), FS, bearing_from_text("MFPT"), 25.0)
        assert ev["location"] == "outer_race"
        assert ev["firm"] is (ev["defects"]["bpfo"]["score_db"] >= RULE.firm_db)
    healthy = evidence_of(_signal("normal", "6205", 1750.0, None, 0), FS, bearing_from_text("6205"), 1750 / 60)
    assert healthy["location"] is None and healthy["firm"] is False


@pytest.mark.parametrize("seed", range(3))
def test_a_healthy_machine_names_nothing(seed):
    x = _signal("normal", "6205", 1750.0, None, seed)
    assert evidence_of(x, FS, bearing_from_text("6205"), 1750 / 60)["location"] is None


def test_a_defect_beyond_the_envelope_band_is_skipped_not_guessed():
    x = _signal("outer_race", "MFPT", 6600.0, None, 0)
    ev = evidence_of(x, FS, bearing_from_text("MFPT"), 110.0)
    assert "bpfi" in ev["skipped"] and "bpfi" not in ev["defects"]
    assert "bpfo" in ev["defects"]


def test_the_stream_analyzer_agrees_with_the_record_and_keeps_its_memory_fixed():
    x = _signal("inner_race", "MFPT", 1500.0, 0.0, 3)
    a = EnvelopeAnalyzer(FS, bearing_from_text("MFPT"), 25.0)
    made = sum(a.push(x[k : k + 1000]) for k in range(0, len(x), 1000))
    assert made == 3 and a.latest["blocks"] == 3
    assert a.latest["location"] == "inner_race"
    assert a._buf.nbytes == int(2 * FS) * 4 and len(a._blocks) <= a.average
    a.reset()
    assert a._n == 0 and not a._blocks


def test_lines_read_in_one_pass_equal_each_line_read_alone():
    """The gathered reading (peaks by reduceat, floors by one sort) gives each line's dB exactly as reading it alone:
    strongest bin in its window over the median of +-10 % around it; a line leaving the spectrum is NaN."""
    from drsn_edge.bearing.envelope import _floor_bounds, _Lines

    rng = np.random.default_rng(3)
    amp = rng.exponential(1.0, 4000)
    amp[[300, 901, 1500]] *= 40  # lines over the floor
    df = 0.5
    lines = [(150.0, 1.8), (450.5, 5.0), (750.0, 9.0), (0.2, 1.0), (1999.0, 3.0), (60.0, 0.75)]
    got = _Lines(len(amp), df, lines).dbs(amp)
    for (f, tol), db in zip(lines, got):
        b = _floor_bounds(len(amp), df, f, tol)
        if b is None:
            assert np.isnan(db)
            continue
        lo, i0, i1, hi = b
        floor = np.median(np.concatenate([amp[lo:i0], amp[i1:hi]]))
        assert db == pytest.approx(20 * np.log10(amp[i0:i1].max() / floor), rel=1e-12)
    assert np.isnan(got[3]) and np.isnan(got[4]) and got[0] > 25
    many = _Lines(len(amp), df, lines).dbs(np.stack([amp, amp[::-1].copy(), amp * 3]))
    np.testing.assert_array_equal(many[0], got)  # many spectra at once: each row as read alone
    np.testing.assert_array_equal(many[1], _Lines(len(amp), df, lines).dbs(amp[::-1].copy()))
    np.testing.assert_allclose(many[2], got, rtol=1e-12)  # the floor scales with the peak
