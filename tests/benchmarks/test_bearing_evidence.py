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


def _rec(name: str, truth: str, model, evidence, combined) -> dict:
    return {"recording": name, "load_hp": 0, "truth": truth, "model": model, "evidence": evidence,
            "combined": combined}


def test_the_results_are_set_beside_the_published_grades_per_group():
    # 105 is graded Y2, 118 N1, 185 P2 (SMITH_RANDALL_DE)
    assert [bearing_evidence.SMITH_RANDALL_DE[f] for f in ("105.mat", "118.mat", "185.mat")] == ["Y2", "N1", "P2"]
    de = [_rec("105.mat", "inner_race", "inner_race", "inner_race", "inner_race"),
          _rec("118.mat", "ball", "ball", "outer_race", "ball"),
          _rec("185.mat", "ball", "ball", None, "ball")]
    fe = [_rec("105.mat", "inner_race", "ball", "inner_race", "inner_race"),
          _rec("118.mat", "ball", None, None, None),
          _rec("185.mat", "ball", "ball", None, "fault, location uncertain")]
    out = {"cwru_drive_end": {"recordings": de}, "cwru_fan_end": {"recordings": fe,
                                                                  "tally": bearing_evidence.tally(fe)}}
    md = "\n".join(bearing_evidence._benchmark_markdown(out))
    assert "| diagnosable (Y1, Y2) | 1 | 1 / 0 / 0 | 1 / 0 / 0 | 0 / 1 / 0 | 1 / 0 / 0 | 1 / 0 / 0 | - |" in md
    assert "| partly (P1, P2) | 1 | 0 / 0 / 1 | 1 / 0 / 0 | 1 / 0 / 0 | 0 / 0 / 1 | 0 / 0 / 1 | - |" in md
    assert "| not (N1, N2) | 1 | 0 / 1 / 0 | 1 / 0 / 0 | 0 / 0 / 1 | 0 / 0 / 1 | 0 / 0 / 1 | - |" in md
    assert "it rates 1 of the 3 recordings diagnosable" in md
    assert "Its wrong namings at the drive end: 118.mat (N1)." in md
    assert "the combined diagnosis named 1 right (1 among the 1) and 0 wrong" in md


def test_the_published_grades_cover_exactly_the_recordings_the_benchmark_reads():
    from drsn_edge.data.sources.cwru import CATALOGUE

    read = {f"{num}.mat" for num, e in CATALOGUE.items()
            if e.condition != "normal" and e.position in (None, "6") and e.fault_size != 0.028}
    assert set(bearing_evidence.SMITH_RANDALL_DE) == read
    assert set(bearing_evidence.SMITH_RANDALL_DE.values()) <= {"Y1", "Y2", "P1", "P2", "N1", "N2"}
