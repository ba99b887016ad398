"""The bearing-evidence benchmark's bookkeeping: which machine its figures name, and what its ceiling table counts."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
import bearing_evidence  # noqa: E402

XEON = {"cpu": "Xeon", "isa": ["amx_int8"]}
EPYC = {"cpu": "EPYC", "isa": []}


def test_an_untimed_stage_elsewhere_keeps_the_cost_stages_machine():
    out = {}
    bearing_evidence.record_machine(out, "cost", XEON)
    bearing_evidence.record_machine(out, "ceiling", EPYC)
    bearing_evidence.record_machine(out, "report", EPYC)
    assert out["machine"] == XEON
    assert out["stage_machines"] == {"cost": XEON, "ceiling": EPYC}


def _row(name: str, truth: str, fe: dict[str, float]) -> dict:
    de = {"outer_race": 30.0, "inner_race": 5.0, "ball": 5.0}
    return {"recording": name, "load_hp": 0, "truth": truth,
            "DE": {"scores_db": de, "named": "outer_race"}, "FE": {"scores_db": fe, "named": None}}


def test_the_ceiling_counts_a_recording_only_where_its_own_defect_leads_at_the_naming_level():
    t = {"rule": {"name_db": 15.0, "margin_db": 5.0}, "recordings": [
        _row("a.mat", "outer_race", {"outer_race": 21.0, "inner_race": 15.5, "ball": 3.0}),  # leads by 5.5: nameable
        _row("b.mat", "outer_race", {"outer_race": 14.9, "inner_race": 2.0, "ball": 2.0}),  # under the level
        _row("c.mat", "outer_race", {"outer_race": 20.0, "inner_race": 16.0, "ball": 2.0}),  # leads by 4 only
        _row("d.mat", "ball", {"outer_race": 1.0, "inner_race": 2.0, "ball": 9.9})]}
    md = "\n".join(bearing_evidence._ceiling_markdown(t))
    assert "at best 3 of 4 drive-end and 1 of 4 fan-end recordings" in md
    assert "ball faults named: 0 at the drive end, 0 at the fan end" in md
    assert "- fan end: 1 of 4 (IR 0 of 0, OR 1 of 3, ball 0 of 1); the ball faults' own score at most 9.9 dB." in md
