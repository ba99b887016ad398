"""Alarm-level accounting on score streams with a known answer, and the replay decides as the runtime does."""

import numpy as np
import pytest

from drsn_edge.evaluation.alarm_replay import Stream, alarm_figures, days_to_vouch, rate_bound, replay
from drsn_edge.modelfile import ModelMetadata
from drsn_edge.runtime import StreamConfig, StreamRunner
from drsn_edge.runtime.decisions import AlarmConfig
from drsn_edge.runtime.sources import ArraySource
from tests.runtime.test_stream import ListSink

FS, WINDOW, HOP = 1000.0, 100, 50  # a window each 50 ms


def bursts(n: int, at: list[int], length: int, level: float = 10.0) -> np.ndarray:
    s = np.zeros(n)
    for a in at:
        s[a : a + length] = level
    return s


def test_false_alarms_per_day_and_delay_on_a_known_stream():
    cfg = AlarmConfig(raise_at=0.8, clear_at=0.4, min_raise_s=0.5, min_clear_s=1.0)
    n = 36000  # 30 minutes of windows
    # three long bursts (alarms) and five short ones (2 windows: the smoothing and min_raise_s keep them quiet)
    healthy = Stream("healthy", 1800.0, scores=bursts(n, [1000, 9000, 20000], 40) + bursts(n, [3000, 5000, 7000,
                                                                                            11000, 30000], 2))
    fault = Stream("fault", 60.0, scores=bursts(1200, [600], 600), onset_s=30.0)  # faulty from window 600 on
    missed = Stream("missed", 60.0, scores=np.zeros(1200), onset_s=10.0)
    replay([healthy, fault, missed], WINDOW, HOP, FS, cfg, n=5, threshold=1.0)
    got = alarm_figures([healthy, fault, missed])
    assert [e.state for e in healthy.events] == ["alarm", "clear"] * 3
    assert got["false_alarms"] == 3
    hours = (1800 + 30 + 10) / 3600
    assert got["healthy_hours"] == pytest.approx(hours, abs=1e-4)
    assert got["false_alarms_per_day"] == pytest.approx(3 / (hours / 24), rel=1e-3)
    assert got["false_alarms_per_day_bound_95"] > got["false_alarms_per_day"]
    assert got["alarmed"] == 1 and got["missed"] == ["missed"]
    # window 600 ends at 0.1 + 600 * 0.05 = 30.1 s; 4 of the last 5 windows above from window 603 (30.25 s),
    # held 0.5 s: raised at 30.75 s, 0.75 s after the onset
    assert got["delay_median_s"] == pytest.approx(0.75, abs=1e-6)


def test_poisson_bound_and_hours_to_vouch():
    assert rate_bound(0, 3.0) == pytest.approx(0.9986, abs=1e-3)  # the rule of three
    assert rate_bound(2, 1.0) == pytest.approx(6.296, abs=1e-3)
    assert days_to_vouch(1.0) * 24 == pytest.approx(71.9, abs=0.1)


class ScoreBackend:
    """A model whose anomaly score is a window's mean (the signal below is its score, sample by sample)."""

    def infer(self, x):
        return self.infer_all(x)[0]

    def infer_all(self, x):
        m = x.mean(axis=(1, 2))
        return np.stack([np.zeros_like(m), m], 1).astype(np.float32), {"anomaly": m.astype(np.float32)}


def test_replay_raises_exactly_the_runtimes_alarms():
    rng = np.random.default_rng(3)
    level = np.repeat(rng.choice([0.0, 3.0], size=400, p=[0.8, 0.2]), int(FS * 0.3))  # 0.3 s steps, 2 minutes
    # (a constant window is rejected as a dead sensor; a window across a step has mean 1.5, clear of the threshold)
    level = (level + 0.01 * rng.standard_normal(len(level))).astype(np.float32)
    md = ModelMetadata(["normal", "fault"], FS, WINDOW, HOP, 1, ["x"], extra_outputs=["anomaly"],
                       enrolment={"threshold": 1.0})
    sink = ListSink()
    cfg = StreamConfig(alarm=AlarmConfig(min_raise_s=0.2, min_clear_s=0.3))
    StreamRunner(ScoreBackend(), md, ArraySource(level, FS, block=333), [sink], cfg).run(
        handle_signals=False)
    runtime = [(r["state"], r["stream_time"]) for r in sink.records if r["type"] == "alarm"]
    assert len(runtime) >= 4 and all(r["kind"] == "anomaly" for r in sink.records if r["type"] == "alarm")
    windows = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(level, WINDOW)[::HOP]).mean(axis=1)
    s = replay([Stream("x", len(level) / FS, scores=windows)], WINDOW, HOP, FS, cfg.alarm, cfg.smoothing,
               threshold=1.0)[0]
    assert [(e.state, round(e.stream_time, 6)) for e in s.events] == runtime


def test_a_threshold_calibrated_on_ten_minutes_holds_over_two_days():
    """Scores of a healthy machine (log-normal, each window correlated with the last as overlapping windows are):
    the threshold enrolment sets from 10 minutes for 1 false alarm a day lets through no more than about that many in
    two days of the same process, and it is not far off the edge: half of it lets through a great many."""
    from drsn_edge.training.enrol import calibrate

    def healthy(seconds: float, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        n = int(seconds * FS / HOP)
        e = rng.standard_normal(n)
        z = np.empty(n)
        z[0] = e[0]
        for i in range(1, n):  # AR(1), coefficient 0.5
            z[i] = 0.5 * z[i - 1] + np.sqrt(0.75) * e[i]
        return np.exp(0.4 * z)

    cfg = AlarmConfig()
    enrol = [Stream(f"b{i}", 200.0, scores=healthy(200.0, i)) for i in range(3)]
    cal = calibrate(enrol, WINDOW, HOP, FS, cfg, 5, 1.0)
    # 10 minutes cannot show a day's drift: the threshold carries the margin for it; the fit's own level is below
    assert cal["drift_margin"] == 2.0 and "daily drift" in cal["how"]
    fitted = cal["threshold"] / cal["drift_margin"]
    days = [Stream("day", 86400.0, scores=healthy(86400.0, 10 + d)) for d in range(2)]
    replay(days, WINDOW, HOP, FS, cfg, 5, threshold=fitted)
    assert alarm_figures(days)["false_alarms"] <= 4  # 2 expected at 1 a day; the bound errs towards fewer
    replay(days, WINDOW, HOP, FS, cfg, 5, threshold=fitted * 0.5)
    assert alarm_figures(days)["false_alarms"] > 20
    replay(days, WINDOW, HOP, FS, cfg, 5, threshold=cal["threshold"])  # a process that does not drift: none
    assert alarm_figures(days)["false_alarms"] == 0
    # a day or more of signal has seen the drift: no margin
    long = calibrate([Stream(f"d{i}", 43200.0, scores=healthy(200.0, 20 + i)) for i in range(2)], WINDOW, HOP, FS, cfg,
                     5, 1.0)  # (what the rule reads is the streams' length)
    assert long["drift_margin"] == 1.0 and "daily drift" not in long["how"]


def test_the_sweep_of_a_classifier_marks_the_chosen_raise_level():
    from drsn_edge.evaluation.alarm_replay import alarm_report

    md = ModelMetadata(["normal", "fault"], FS, WINDOW, HOP, 1, ["x"])
    p = np.tile([0.9, 0.1], (2400, 1))
    p[1200:] = [0.25, 0.75]  # a fault from 60 s that the classifier holds at 0.75
    streams = [Stream("a", 120.0, probs=p, onset_s=60.0), Stream("h", 120.0, probs=np.tile([0.9, 0.1], (2400, 1)))]
    r = alarm_report(streams, md, StreamConfig(), HOP, sweep=True)
    assert r["decided_by"] == "classes" and r["missed"] == ["a"]  # 0.75 never reaches --raise 0.8
    by = {row["raise_at"]: row for row in r["sweep"]}
    assert by[0.8]["chosen"] and by[0.7]["alarmed"] == 1 and by[0.7]["false_alarms"] == 0
