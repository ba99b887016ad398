"""The evidence on real recordings (skipped where ../shared is absent): a CWRU drive-end outer-race file with the
speed its file records, and an MFPT inner-race file (another rig and bearing, 48,828 Hz)."""

from pathlib import Path

import pytest

from drsn_edge.bearing import EnvelopeAnalyzer, bearing_from_text
from drsn_edge.readers import ReadOptions
from drsn_edge.readers.registry import open_reader

MFPT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mfpt"


def _named(path: Path, bearing: str, options: ReadOptions, shaft_hz: float | None = None) -> tuple[list, float]:
    with open_reader(path, options) as r:
        x, info = r.read()[0], r.info
    a = EnvelopeAnalyzer(info.fs, bearing_from_text(bearing), shaft_hz or info.shaft_hz)
    names = []
    for k in range(0, len(x), 8192):
        if a.push(x[k : k + 8192]):
            names.append(a.latest["location"])
    return names, info.shaft_hz


def test_a_cwru_outer_race_file(cwru_dir):
    names, shaft = _named(cwru_dir / "130.mat", "6205", ReadOptions(fs=12000.0, channels=("DE",)))
    assert shaft == pytest.approx(1797 / 60, rel=0.01)  # X130RPM
    assert len(names) == 5 and names.count("outer_race") >= 4 and set(names) <= {"outer_race", None}


def test_a_cwru_healthy_file_names_nothing(cwru_dir):
    names, _ = _named(cwru_dir / "97.mat", "6205", ReadOptions(channels=("DE",)))
    assert names and all(n is None for n in names)


def test_an_mfpt_outer_race_file_at_its_own_rate():
    path = MFPT / "OuterRaceFault_vload_1.mat"
    if not path.is_file():
        pytest.skip(f"MFPT data not found at {MFPT}")
    names, shaft = _named(path, "MFPT", ReadOptions())
    assert shaft == pytest.approx(25.0)  # bearing.rate
    assert names == ["outer_race"]  # 3 s: one 2-s block
