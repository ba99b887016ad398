"""Enrolment on a machine's healthy recordings: a simulated fault alarms, a healthy stream does not, the threshold
comes with what the data can vouch for, and bad input is one line with nothing written."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from drsn_edge.data.simulator import Machine
from drsn_edge.modelfile import read_description
from drsn_edge.zoo import MODELS
from tests.cli_helpers import assert_one_line_error, run_cli

MODEL = MODELS["sim-paper"].path


@pytest.fixture(scope="module")
def machine_files(tmp_path_factory):
    """A machine the model never saw (its own structure, bearing, speed), at 0 dB SNR: three healthy recordings
    taken hours apart, one that develops an outer-race fault at 30 s, one healthy later in the day."""
    d = tmp_path_factory.mktemp("machine")
    m = Machine.draw(7)
    (d / "healthy").mkdir()
    for i in range(3):
        x = np.concatenate(list(m.stream(80, seed=i, snr_db=0, start_s=i * 3000)))
        np.save(d / "healthy" / f"h{i}.npy", x[None])
    np.save(d / "fail.npy", np.concatenate(list(m.stream(60, seed=9, snr_db=0, fault="outer_race", onset_s=30,
                                                         start_s=9000)))[None])
    np.save(d / "ok.npy", np.concatenate(list(m.stream(60, seed=10, snr_db=0, start_s=12000)))[None])
    return d


def test_enrol_then_a_fault_alarms_and_a_healthy_stream_does_not(machine_files, tmp_path, capsys):
    out = tmp_path / "pump.safetensors"
    code, text, err = run_cli(capsys, ["enrol", str(MODEL), "--data", str(machine_files / "healthy"), "--fs", "12000",
                                       "-o", str(out)])
    assert code == 0, err
    md = read_description(out)
    e = md.enrolment
    assert "anomaly" in md.extra_outputs and e["threshold"] > 0 and e["features"] > 0
    assert e["split"].startswith("3 folds of whole recordings") and e["scored_alarms"] == 0
    # 4 minutes cannot vouch for one false alarm a day: said, and the model marked
    assert not e["vouched"] and e["false_alarms_per_day_vouched"] > 500 and e["hours_to_vouch"] == pytest.approx(71.9)
    assert sum("vouch for at most" in line for line in (text + err).splitlines()) == 1
    code, text, err = run_cli(capsys, ["export", str(out), "-o", str(tmp_path / "pump.onnx")])
    assert code == 0 and "PASS" in text, err
    assert read_description(tmp_path / "pump.onnx").enrolment["threshold"] == e["threshold"]
    code, text, err = run_cli(capsys, ["stream", str(tmp_path / "pump.onnx"), str(machine_files / "fail.npy"),
                                       str(machine_files / "ok.npy"), "--fs", "12000", "--alarms-only"])
    assert "alarm settings" not in err  # without alarm flags, stream runs with those the machine was enrolled with
    assert e["alarm"]["smoothing"] == 10 and e["alarm"]["min_raise_s"] == 1.0  # enrol's own defaults
    recs = [json.loads(line) for line in text.splitlines()]
    alarms = [r for r in recs if r["type"] == "alarm" and r["state"] == "alarm"]
    assert code == 1 and [a["stream"] for a in alarms] == ["fail"]  # the healthy stream stays quiet
    a = alarms[0]
    assert a["kind"] == "anomaly" and 30.0 < a["stream_time"] < 32.0  # within 2 s of the onset
    assert a["score"] > a["threshold"] == pytest.approx(e["threshold"], rel=1e-5)
    assert a["hint"] in md.class_names and a["hint"] != "normal"
    # the terminal line and the HTML report name it an anomaly, with the hint
    import io

    from drsn_edge.runtime.sinks.console import ConsoleSink

    buf = io.StringIO()
    ConsoleSink(md, file=buf).emit(a)
    assert "unlike this machine's healthy state" in buf.getvalue() and f"hint: {a['hint']}" in buf.getvalue()
    code, _, _ = run_cli(capsys, ["stream", str(tmp_path / "pump.onnx"), str(machine_files / "fail.npy"), "--fs",
                                  "12000", "--alarms-only", "--report", str(tmp_path / "r.html")])
    html = (tmp_path / "r.html").read_text()
    assert f"ALARM anomaly (hint: {a['hint']})" in html and "#e6550d" in html
    # other alarm settings than the threshold was set under: said, in one line
    code, _, err = run_cli(capsys, ["stream", str(tmp_path / "pump.onnx"), str(machine_files / "ok.npy"), "--fs",
                                    "12000", "--alarms-only", "--min-raise-s", "2"])
    assert [line for line in err.splitlines() if "warning" in line] == [
        line for line in err.splitlines() if "--min-raise-s 2 (enrolled with 1)" in line] != []
    # evaluate replays the same decisions: a manifest marks the onset inside the recording
    (machine_files / "m.csv").write_text("path,label,fs,onset_s\nfail.npy,outer_race,12000,30\nok.npy,normal,12000,\n")
    code, text, err = run_cli(capsys, ["evaluate", str(tmp_path / "pump.onnx"), "--data", str(machine_files / "m.csv"),
                                       "--snr", "clean", "--sweep", "--json", str(tmp_path / "r.json")])
    assert code == 0, err
    r = json.loads((tmp_path / "r.json").read_text())["alarms"]
    assert r["decided_by"].startswith("anomaly") and r["false_alarms"] == 0 and r["alarmed"] == 1
    assert r["healthy_hours"] == pytest.approx(90 / 3600, abs=1e-3)  # ok.npy and the 30 s before the onset
    assert r["delay_median_s"] == pytest.approx(a["stream_time"] - 30.0, abs=1e-3)  # as the stream raised it
    assert "<- chosen" in text and sum(row["chosen"] for row in r["sweep"]) == 1


def test_enrolling_again_keeps_the_previous_baseline_in_history(machine_files, tmp_path, capsys):
    first, second = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    one = tmp_path / "one"
    one.mkdir()
    (one / "h0.npy").symlink_to(machine_files / "healthy" / "h0.npy")
    code, text, err = run_cli(capsys, ["enrol", str(MODEL), "--data", str(one), "--fs", "12000", "-o", str(first)])
    assert code == 0, err
    assert read_description(first).enrolment["split"].startswith("3 folds of time blocks")  # one recording
    # 80 s are too few blocks for the rate's estimate: said in words (it read "estimated no estimate false alarms")
    assert read_description(first).enrolment["false_alarms_per_day_estimate"] is None
    said = text + err
    assert "too little signal to estimate the rate" in said and "no estimate" not in said, said
    assert run_cli(capsys, ["enrol", str(first), "--data", str(machine_files / "healthy"), "--fs", "12000",
                            "-o", str(second), "--false-alarms-per-day", "0.1"])[0] == 0
    e = read_description(second).enrolment
    assert e["false_alarms_per_day_target"] == 0.1 and len(e["history"]) == 1
    assert e["history"][0]["split"].startswith("3 folds of time") and "history" not in e["history"][0]


def test_bad_enrolment_input_is_one_line_and_writes_nothing(machine_files, tmp_path, capsys):
    out = tmp_path / "x.safetensors"
    short = tmp_path / "short"
    short.mkdir()
    np.save(short / "s.npy", np.load(machine_files / "ok.npy")[:, :12000 * 4])
    assert_one_line_error(capsys, ["enrol", str(MODEL), "--data", str(short), "--fs", "12000", "-o", str(out)],
                          "needs at least")
    bad = tmp_path / "bad"
    bad.mkdir()
    x = np.load(machine_files / "ok.npy").copy()
    x[0, 5000:5100] = np.nan
    np.save(bad / "nan.npy", x)
    assert_one_line_error(capsys, ["enrol", str(MODEL), "--data", str(bad), "--fs", "12000", "-o", str(out)],
                          "nan.npy: 100 NaN / Inf samples")
    assert_one_line_error(capsys, ["enrol", str(MODEL).replace(".safetensors", ".onnx"), "--data", str(short),
                                   "--fs", "12000", "-o", str(out)], "needs its checkpoint")
    assert_one_line_error(capsys, ["enrol", str(MODEL), "--data", str(short), "--fs", "12000", "-o", str(out),
                                   "--false-alarms-per-day", "0"], "must be above 0")
    assert_one_line_error(capsys, ["enrol", str(MODEL), "--data", str(short), "--fs", "12000", "-o", str(out),
                          "--speed", "0.7"], "--speed must be from 0 to 0.5")
    import soundfile as sf

    mixed = tmp_path / "mixed"
    mixed.mkdir()
    sf.write(mixed / "a.wav", np.load(machine_files / "ok.npy")[0] / 4, 12000, subtype="FLOAT")
    sf.write(mixed / "b.wav", np.load(machine_files / "ok.npy")[0, ::2] / 4, 6000, subtype="FLOAT")
    assert_one_line_error(capsys, ["enrol", str(MODEL), "--data", str(mixed), "-o", str(out)], "b.wav: recorded at 6000 Hz")
    assert not out.exists()


def test_adapt_on_healthy_only_data_points_to_enrol(machine_files, tmp_path, capsys):
    assert_one_line_error(capsys, ["adapt", str(MODEL), "--data", str(machine_files / "healthy"), "--fs", "12000",
                                   "-o", str(tmp_path / "a.safetensors"), "--method", "adabn"], "drsn-edge enrol")
    # a manifest without a label column is a machine's recordings too (it was refused as "needs a 'label' column")
    manifest = machine_files / "healthy" / "nolabels.csv"
    manifest.write_text("path,fs\n" + "".join(f"h{i}.npy,12000\n" for i in range(3)))
    assert_one_line_error(capsys, ["adapt", str(MODEL), "--data", str(manifest), "-o", str(tmp_path / "a.safetensors"),
                                   "--method", "adabn"], "drsn-edge enrol")
    manifest.unlink()


def test_enrol_takes_a_manifest_without_labels_and_refuses_recordings_labelled_as_faults(machine_files, tmp_path,
                                                                                          capsys):
    """Labels are ignored, so a manifest needs none; but a recording its folder or manifest labels as a fault would
    become the machine's healthy state: refused in one line naming them, unless --force (then said)."""
    out = tmp_path / "m.safetensors"
    for i in range(3):  # copies: a manifest's files lie in its folder
        shutil.copy(machine_files / "healthy" / f"h{i}.npy", tmp_path)
    shutil.copy(machine_files / "fail.npy", tmp_path)
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,fs\n" + "".join(f"h{i}.npy,12000\n" for i in range(3)))
    code, _, err = run_cli(capsys, ["enrol", str(MODEL), "--data", str(manifest), "-o", str(out)])
    assert code == 0 and out.is_file(), err
    out.unlink()
    manifest.write_text("path,label,fs\n" + "".join(f"h{i}.npy,normal,12000\n" for i in range(3))
                        + "fail.npy,outer_race,12000\n")
    assert_one_line_error(capsys, ["enrol", str(MODEL), "--data", str(manifest), "-o", str(out)],
                          "1 of 4 recordings are labelled as faults (")
    assert not out.exists()
    folder = tmp_path / "by-label"
    for label, src in (("normal", "healthy/h0.npy"), ("normal", "healthy/h1.npy"), ("OuterRaceFault", "fail.npy")):
        (folder / label).mkdir(parents=True, exist_ok=True)
        (folder / label / Path(src).name).symlink_to(machine_files / src)
    assert_one_line_error(capsys, ["enrol", str(MODEL), "--data", str(folder), "--fs", "12000", "-o", str(out)],
                          "OuterRaceFault/fail.npy: OuterRaceFault")
    code, text, err = run_cli(capsys, ["enrol", str(MODEL), "--data", str(folder), "--fs", "12000", "-o", str(out),
                                       "--force"])
    assert code == 0 and out.is_file() and "warning: 1 of 3 recordings are labelled as faults" in text + err, err



def test_enrol_takes_one_recording_and_train_says_why_it_cannot(machine_files, tmp_path, capsys):
    """--data named one recording: refused as "a file that is not a manifest" although a machine's one healthy run is
    the commonest thing to enrol on."""
    out = tmp_path / "one.safetensors"
    one = machine_files / "healthy" / "h0.npy"
    code, text, err = run_cli(capsys, ["enrol", str(MODEL), "--data", str(one), "--fs", "12000", "-o", str(out)])
    assert code == 0 and out.is_file(), err
    assert "enrolling on recording (" in text + err
    assert read_description(out).enrolment["split"].startswith("3 folds of time")  # one recording: time blocks
    code, text, _ = run_cli(capsys, ["data", "inspect", str(one), "--fs", "12000"])
    assert code == 0 and "unlabelled" in text and "80.0" in text
    assert_one_line_error(capsys, ["train", "--data", str(one), "--fs", "12000", "-o", str(tmp_path / "t.safetensors")],
                          "h0.npy: one recording has no label to train or score on")
    (tmp_path / "notes.json").write_text("{}\n")
    assert_one_line_error(capsys, ["enrol", str(MODEL), "--data", str(tmp_path / "notes.json"), "-o", str(out)],
                          "neither a recording nor a manifest")


def test_the_baseline_is_also_fitted_at_shaft_speeds_around_the_recorded_one(monkeypatch):
    """A short recording holds one speed: the windows the baseline is also fitted on are resampled within +-2 %, so a
    tone at 400 Hz in them lies between 392 and 408 Hz, spread over the range (the features here: the tone's
    frequency)."""
    import torch

    from drsn_edge.training import enrol

    def tone_hz(model, w):
        spec = np.abs(np.fft.rfft(w[:, 0, :] * np.hanning(w.shape[2]), n=8 * w.shape[2], axis=1))
        return torch.from_numpy(np.argmax(spec, axis=1) * 12000.0 / (8 * w.shape[2]))[:, None]

    monkeypatch.setattr(enrol, "anomaly_features", tone_hz)
    x = np.sin(2 * np.pi * 400.0 * np.arange(12000 * 20) / 12000.0).astype(np.float32)[None]
    hz = enrol.speed_drifted(None, x, 2048, 256, 0.02, np.random.default_rng(0)).numpy()[:, 0]
    assert len(hz) > 800 and 400 * 0.979 < hz.min() < 400 * 0.99 and 400 * 1.01 < hz.max() < 400 * 1.021
    assert 0.3 < np.mean(hz > 400) < 0.7
    plain = tone_hz(None, enrol.cut_windows(x, 0, x.shape[1], 2048, 256)).numpy()[:, 0]
    assert np.all(np.abs(plain - 400) < 1)
