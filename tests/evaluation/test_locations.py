"""Location accuracy of the model alone, the evidence alone and the combined diagnosis (evaluation/locations.py), and
``evaluate`` reporting it."""

import json

import numpy as np
import pytest

from drsn_edge.bearing import UNCERTAIN
from drsn_edge.cli.main import main
from drsn_edge.evaluation.locations import format_locations, location_report

CLASSES = ["normal", "inner_race", "ball", "outer_race"]


def test_location_report_counts_each_source_per_window_and_per_recording():
    # recording 0: inner race, the model says ball, the evidence inner race -> uncertain
    # recording 1: outer race, the model right, the evidence silent -> the model's
    # recording 2: healthy windows are not scored
    y = np.array([1, 1, 1, 3, 3, 0])
    pred = np.array([2, 2, 1, 3, 3, 0])
    rec = np.array([0, 0, 0, 1, 1, 2])
    evidence = ["inner_race", "inner_race", None, None, None, None]
    r = location_report(y, pred, rec, evidence, CLASSES, ["a", "b", "c"], "normal")
    w = r["per_window"]
    assert w["windows"] == 5
    assert w["model"] == pytest.approx(3 / 5) and w["evidence"] == pytest.approx(2 / 5)
    assert w["evidence_silent"] == pytest.approx(3 / 5)
    assert w["combined_uncertain"] == pytest.approx(2 / 5) and w["combined"] == pytest.approx(3 / 5)
    assert w["combined_wrong"] == 0
    rows = {x["recording"]: x for x in r["recordings"]}
    assert set(rows) == {"a", "b"}
    assert {k: rows["a"][k] for k in ("truth", "model", "evidence", "combined")} == {
        "truth": "inner_race", "model": "ball", "evidence": "inner_race", "combined": UNCERTAIN}
    assert rows["b"]["combined"] == "outer_race" and rows["b"]["evidence"] is None
    assert r["per_recording"]["combined"] == 0.5 and r["per_recording"]["combined_uncertain"] == 0.5
    text = format_locations(r)
    assert "per recording" in text and all(len(line) <= 100 for line in text.splitlines())


def test_on_a_machine_the_model_never_saw_the_clear_evidence_names_the_location():
    y = np.array([1, 1, 1, 3, 3])
    pred = np.array([2, 2, 2, 1, 1])
    rec = np.array([0, 0, 0, 1, 1])
    evidence = ["not yet", "inner_race", "inner_race", None, None]  # recording 1: analysed, silent
    r = location_report(y, pred, rec, evidence, CLASSES, ["a", "b"], "normal", familiar=[False] * 5)
    rows = {x["recording"]: x for x in r["recordings"]}
    assert rows["a"]["combined"] == "inner_race" and rows["a"]["windows_analysed"] == 2
    assert rows["b"]["combined"] == UNCERTAIN  # the model's "inner race" on a machine it never saw, evidence silent
    assert r["per_window"]["combined_wrong"] == 0


def test_a_recording_named_not_firmly_leaves_the_models_class_on_its_own_machine():
    """A ball fault the model names right, whose evidence names the outer race below the firm level (CWRU 118):
    the model's class, not "fault, location uncertain"; named firmly it is uncertain as before."""
    y, pred, rec = np.array([2, 2, 2]), np.array([2, 2, 2]), np.array([0, 0, 0])
    evidence = ["outer_race", "outer_race", None]
    weak = location_report(y, pred, rec, evidence, CLASSES, ["118"], "normal", firm=[False, True, False])
    row = weak["recordings"][0]
    assert (row["evidence"], row["evidence_firm"], row["combined"]) == ("outer_race", False, "ball")
    firm = location_report(y, pred, rec, evidence, CLASSES, ["118"], "normal", firm=[True, True, False])
    assert firm["recordings"][0]["combined"] == UNCERTAIN
    assert weak["per_window"]["combined"] == pytest.approx(2 / 3) and firm["per_window"]["combined"] == pytest.approx(1 / 3)


def test_evaluate_reports_locations_on_the_simulator(sim_checkpoint, tmp_path, capsys):
    js = tmp_path / "r.json"
    assert main(["evaluate", str(sim_checkpoint), "--snr", "clean", "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "fault location" in out
    loc = json.loads(js.read_text())["locations"]
    # the simulator's recordings name their bearing (6205) and speed: the evidence is on without --bearing
    assert loc["per_recording"]["recordings"] >= 3
    assert loc["per_recording"]["evidence"] >= 0.6 and loc["per_recording"]["combined_wrong"] == 0


def test_evaluate_refuses_a_tachometer_and_a_bad_bearing(sim_checkpoint, capsys):
    from tests.cli_helpers import assert_one_line_error

    assert_one_line_error(capsys, ["evaluate", str(sim_checkpoint), "--bearing", "62O5"], "unknown bearing '62O5'")
    assert_one_line_error(capsys, ["evaluate", str(sim_checkpoint), "--tacho-channel", "1"], "--tacho-channel is for stream")
    assert_one_line_error(capsys, ["evaluate", str(sim_checkpoint), "--rpm", "-3"], "positive number of rpm")


def test_evaluate_reads_the_evidence_at_the_files_own_rate(sim_checkpoint, tmp_path, capsys):
    """A 48 kHz recording whose impacts ring at 12-18 kHz, above the 12-kHz model's Nyquist frequency, under other
    vibration below 5 kHz: evaluate made its evidence from the resampled signal and found nothing (BPFI 3-7 dB), where
    the stream (at the file's rate) names the inner race (27 dB); it now reads the file again at its own rate."""
    import soundfile as sf
    from scipy.signal import butter, sosfilt

    from drsn_edge.data.simulator import simulate_bearing

    low = sosfilt(butter(6, 5000, fs=48000, output="sos"), np.random.default_rng(1).standard_normal(8 * 48000))
    for label in ("normal", "inner_race"):
        x = simulate_bearing(label, fs=48000.0, duration=8.0, rpm=1772.0, seed=5, resonance_band=(12000.0, 18000.0))
        x = x + 0.3 * low / np.std(low)
        (tmp_path / "d" / label).mkdir(parents=True)
        sf.write(tmp_path / "d" / label / "a.wav", x, 48000, subtype="FLOAT")
    js = tmp_path / "r.json"
    assert main(["evaluate", str(sim_checkpoint), "--data", str(tmp_path / "d"), "--bearing", "6205", "--rpm", "1772",
                 "--snr", "clean", "--json", str(js)]) == 0, capsys.readouterr().err
    (row,) = json.loads(js.read_text())["locations"]["recordings"]
    assert row["evidence"] == "inner_race" and row["windows_analysed"] > 0, row
