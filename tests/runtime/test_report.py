"""What a person sees: the HTML report opened in a real headless Chromium (no console errors, not blank, every input
present), PNG timelines, the terminal's alarm lines and verdict table, and many inputs in one run."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from drsn_edge.data.simulator import simulate_sequence
from tests.cli_helpers import assert_one_line_error, run_cli

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    d = tmp_path_factory.mktemp("recs")
    np.save(d / "pump-a.npy", simulate_sequence([("normal", 6.0), ("outer_race", 6.0), ("normal", 6.0)], seed=101)[None])
    x = simulate_sequence([("normal", 5.0), ("ball", 8.0)], seed=103)
    x[40000:40100] = np.nan  # rejected windows
    np.save(d / "pump-b.npy", np.stack([x, simulate_sequence([("normal", 13.0)], seed=7)]))
    (d / "sub").mkdir()
    np.save(d / "sub" / "fan.npy", simulate_sequence([("normal", 4.0)], seed=9)[None])
    return d


@pytest.fixture(scope="module")
def report(stream_model, recordings, tmp_path_factory):
    _, onnx = stream_model
    out = tmp_path_factory.mktemp("report")
    p = subprocess.run([sys.executable, "-m", "drsn_edge", "stream", str(onnx), str(recordings / "pump-a.npy"),
                        str(recordings / "pump-b.npy"), "--fs", "12000", "--report", str(out / "run.html"), "--plot",
                        str(out / "png"), "--jsonl", str(out / "o.jsonl")], capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stderr  # alarms were raised
    return out


def test_report_in_a_real_browser(report):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Chromium / chromedriver not installed (make test installs chromium and chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              f"--user-data-dir={report / 'chrome-profile'}", "--window-size=1100,1600"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        driver.get((report / "run.html").as_uri())
        assert driver.title == "drsn-edge stream report"
        streams = {s.get_attribute("data-stream") for s in driver.find_elements(By.CSS_SELECTOR, "section.stream")}
        assert streams == {"pump-a", "pump-b"}
        assert len(driver.find_elements(By.CSS_SELECTOR, "section.stream svg")) == 3  # pump-a: 1 channel, pump-b: 2
        assert driver.find_elements(By.CSS_SELECTOR, "rect.alarm")
        # time ticks at clean steps, each label placed where its time is (before: "0 s, 1 s, 1 s, 2 s" every 0.6 s)
        svg = driver.find_elements(By.CSS_SELECTOR, "section.stream svg")[0]
        ticks = svg.find_elements(By.CSS_SELECTOR, "text.time-tick")
        t = np.array([float(e.get_attribute("data-t")) for e in ticks])
        labels = [e.text for e in ticks]
        x = np.array([e.rect["x"] + e.rect["width"] / 2 for e in ticks])
        assert len(set(labels)) == len(labels) and all(lab == f"{v:g} s" for lab, v in zip(labels, t)), labels
        steps = np.diff(t)
        assert np.allclose(steps, steps[0]) and steps[0] in (0.5, 1, 2, 5, 10), steps
        assert np.allclose(np.diff(x) / steps, (x[-1] - x[0]) / (t[-1] - t[0]), rtol=0.02)
        assert any("dB" in e.text for e in svg.find_elements(By.CSS_SELECTOR, "text.noise-tick"))
        body = driver.find_element(By.TAG_NAME, "body").rect["width"]
        assert svg.rect["width"] > 0.95 * body, (svg.rect["width"], body)  # the page's full width
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert not errors, errors
        shot = report / "report.png"
        driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    import matplotlib.image as mpimg

    img = mpimg.imread(str(shot))
    assert img.shape[0] > 800 and float(img[..., :3].std()) > 0.05  # not blank
    if os.environ.get("DRSN_UPDATE_DOCS"):
        shutil.copy(shot, REPO / "docs" / "stream-report.png")


def test_png_timelines(report):
    pngs = sorted(p.name for p in (report / "png").iterdir())
    assert pngs == ["pump-a.png", "pump-b.png"]
    assert all((report / "png" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_many_inputs_one_summary(report, recordings, stream_model, capsys):
    recs = [json.loads(line) for line in (report / "o.jsonl").read_text().splitlines()]
    assert {r["stream"] for r in recs if r["type"] == "window"} == {"pump-a", "pump-b"}
    summary = recs[-1]
    assert summary["type"] == "summary" and [s["stream"] for s in summary["streams"]] == ["pump-a", "pump-b"]
    assert summary["processed"] == sum(s["processed"] for s in summary["streams"])
    # a folder (recursively), a glob, and both mixed
    _, onnx = stream_model
    code, out, _ = run_cli(capsys, ["stream", str(onnx), str(recordings), "--fs", "12000", "--alarms-only"])
    assert [s["stream"] for s in json.loads(out.splitlines()[-1])["streams"]] == ["pump-a", "pump-b", "fan"]
    code, out, _ = run_cli(capsys, ["stream", str(onnx), str(recordings / "pump-*.npy"), "--fs", "12000", "--alarms-only"])
    assert [s["stream"] for s in json.loads(out.splitlines()[-1])["streams"]] == ["pump-a", "pump-b"]


def test_terminal_output_alarm_lines_and_verdicts(stream_model, recordings):
    """On a terminal: readable alarm lines and a verdict table instead of JSON."""
    if not shutil.which("script"):
        pytest.skip("util-linux 'script' not available to give the command a terminal")
    _, onnx = stream_model
    cmd = f"{sys.executable} -m drsn_edge stream {onnx} {recordings / 'pump-a.npy'} {recordings / 'pump-b.npy'} --fs 12000"
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "COLUMNS": "120", "TERM": "xterm"})
    import re

    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", p.stdout).replace("\r", "\n")
    assert re.search(r"\d+\.\d\d s  pump-a/0  ALARM  outer_race  \(P\(fault\) \d\.\d\d\)", text), text[-2000:]
    assert re.search(r"pump-a/0  CLEAR  normal", text)
    assert "verdicts" in text and "dominant class" in text and '"type"' not in text
    if os.environ.get("DRSN_UPDATE_DOCS"):
        lines = [ln for ln in text.splitlines() if ln.strip() and not ("━━" in ln and ln.lstrip()[:1] not in "┏┡└")]
        (REPO / "docs" / "stream-terminal.txt").write_text("\n".join(lines) + "\n")


def test_warnings_for_inputs_that_would_mislead(stream_model, tmp_path, capsys):
    """A time column named like one is read as time, not streamed as a sensor; a model without a healthy class
    says what alarms then mean."""
    _, onnx = stream_model
    t = np.arange(36000) / 12000
    np.savetxt(tmp_path / "r.csv", np.c_[t, simulate_sequence([("normal", 3.0)], seed=3)], delimiter=",",
               header="time_s,accel_x", comments="")
    code, out, err = run_cli(capsys, ["stream", str(onnx), str(tmp_path / "r.csv"), "--alarms-only"])
    summary = json.loads(out.splitlines()[-1])
    assert summary["units"] == 1 and "column 'time_s' read as time stamps" in err
    code, out, err = run_cli(capsys, ["stream", str(onnx), str(tmp_path / "r.csv"), "--time-column", "time_s",
                                      "--channels", "accel_x", "--alarms-only"])
    assert json.loads(out.splitlines()[-1])["units"] == 1


def test_manifest_rows_set_rate_and_channels_and_refuse_what_stream_cannot_apply(recordings, stream_model, capsys):
    """A manifest's fs column used to be ignored by stream (a .npy listed with its rate was refused for lacking one,
    and a listed rate different from --fs was silently overridden)."""
    _, onnx = stream_model
    man = recordings.parent / "streams.csv"
    man.write_text(f"path,label,fs,channels\n{recordings / 'pump-a.npy'},x,12000,\n{recordings / 'pump-b.npy'},y,12000,1\n")
    code, out, err = run_cli(capsys, ["stream", str(onnx), str(man), "--alarms-only"])
    streams = json.loads(out.splitlines()[-1])["streams"]
    assert code == 1 and [s["stream"] for s in streams] == ["pump-a", "pump-b"], err
    assert [len(s["verdicts"]) for s in streams] == [1, 1], streams  # pump-b: only the channel the row names
    man.write_text(f"path,label,fs,start_s\n{recordings / 'pump-a.npy'},x,12000,3\n")
    assert_one_line_error(capsys, ["stream", str(onnx), str(man)], "start_s is for training")


def test_the_verdict_table_fits_80_columns_and_never_cuts_a_class_name():
    """At 80 columns rich cut class names to `inner_r…` and kept wide numeric columns."""
    import io

    from drsn_edge.runtime.sinks.console import verdict_table

    summary = {"streams": [{"stream": "a-long-recording-name-from-the-plant-gateway-of-pump-7", "verdicts": [
        {"unit": u, "dominant": name, "share": 0.93, "alarms_raised": 2, "alarm_active": name, "rejected": 1200,
         "unknown": 30, "duration_s": 12345.6}]} for u, name in enumerate(["inner_race_0.007", "outer_race_0.021"])]}
    out = io.StringIO()
    verdict_table(summary, out, width=80)
    lines = out.getvalue().splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert "inner_race_0.007" in out.getvalue() and "outer_race_0.021" in out.getvalue() and "…" not in out.getvalue()
    assert "12345.6" in out.getvalue()


def test_the_verdict_table_says_the_diagnosis_at_the_end_within_80_columns():
    import io

    from drsn_edge.runtime.sinks.console import verdict_table

    ev = {"location": "inner_race", "firm": True, "shaft_hz": 25.0, "bpfo_db": 3.0, "bpfi_db": 22.0, "bsf_db": 1.0}
    said = [{"label": "inner_race", "location": "inner_race", "source": "evidence", "agrees": False,
             "model_label": "outer_race", "evidence": ev},
            {"label": "fault, location uncertain", "location": None, "source": "model", "agrees": None,
             "model_label": "ball", "evidence": {**ev, "location": None}},
            None]
    summary = {"streams": [{"stream": f"pump-{u}", "verdicts": [
        {"unit": 0, "dominant": "outer_race", "share": 1.0, "alarms_raised": 1, "alarm_active": "outer_race",
         "rejected": 0, "unknown": 0, "duration_s": 3.0, "diagnosis": d}]} for u, d in enumerate(said)]}
    out = io.StringIO()
    verdict_table(summary, out, width=80)
    text = out.getvalue()
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
    assert "pump-0/0: inner_race (evidence; the model: outer_race)" in text
    assert "pump-1/0: fault, location uncertain (evidence silent)" in text and "pump-2/0: -" in text
    del summary["streams"][0]["verdicts"][0]["diagnosis"], summary["streams"][1]["verdicts"][0]["diagnosis"]
    del summary["streams"][2]["verdicts"][0]["diagnosis"]
    out = io.StringIO()
    verdict_table(summary, out, width=80)
    assert "diagnosis" not in out.getvalue()  # evidence off: the table alone, as before


def test_report_every_needs_a_report_and_a_duration(stream_model, recordings, capsys):
    _, onnx = stream_model
    code, _, err = run_cli(capsys, ["stream", str(onnx), str(recordings / "pump-a.npy"), "--fs", "12000",
                                    "--report-every", "10m"])
    assert code == 2 and "--report-every rewrites the --report file: give --report PATH too" in err
    code, _, err = run_cli(capsys, ["stream", str(onnx), str(recordings / "pump-a.npy"), "--fs", "12000",
                                    "--report", "r.html", "--report-every", "10 parsecs"])
    assert code == 2 and "bad --report-every '10 parsecs': give a duration (90s, 10m, 6h, 1d)" in err
    assert "Traceback" not in err
