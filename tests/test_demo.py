"""The demo's enrolment step: a machine with healthy recordings only, enrolled, then streamed as a fault develops."""

import json

from drsn_edge.demo import DEMO_ONSET_S, enrol_demo
from drsn_edge.modelfile import read_description
from drsn_edge.zoo import MODELS


def test_the_demo_enrols_a_machine_and_alarms_its_fault_not_its_healthy_minutes(tmp_path, capsys):
    r = enrol_demo(tmp_path, MODELS["sim-paper"].path, 120.0)
    said = capsys.readouterr().out
    md = read_description(tmp_path / "machine.onnx")
    assert "anomaly" in md.extra_outputs and md.enrolment["threshold"] == r["threshold"]
    # 2 minutes cannot vouch for a rate: the demo shows enrol saying so
    assert "vouch for at most" in said and not md.enrolment["vouched"]
    raised = [a for a in r["alarms"] if a["state"] == "alarm"]
    assert raised and all(a["kind"] == "anomaly" and a["stream_time"] >= DEMO_ONSET_S for a in raised)
    assert r["false_alarms"] == 0 and "0 false alarm(s) before the fault" in said
    assert 0 < r["delay_s"] < 5.0 and f"alarmed {r['delay_s']:.2f} s after it started" in said
    written = [json.loads(line) for line in (tmp_path / "machine-stream.jsonl").read_text().splitlines()]
    assert [a for a in written if a["type"] == "alarm"] == r["alarms"]
