"""Runtime building blocks: resampler, ring-buffer windows, input checks, smoothing and alarms."""

import numpy as np
import pytest
from scipy.signal import resample_poly, upfirdn

from drsn_edge.data.recording import cut_windows
from drsn_edge.runtime.decisions import AlarmConfig, AlarmStateMachine, Smoother
from drsn_edge.runtime.quality import window_problem
from drsn_edge.runtime.resampler import StreamResampler
from drsn_edge.runtime.windowing import RingWindower


@pytest.mark.parametrize("fs_in", [48000, 44100, 8000, 12000])
def test_streaming_resampler_equals_one_shot(fs_in):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 30000))
    r = StreamResampler(fs_in, 12000, 2)
    parts, i = [], 0
    while i < x.shape[1]:
        n = int(rng.integers(1, 4000))
        parts.append(r.process(x[:, i : i + n]))
        i += n
    y = np.concatenate(parts, axis=1)
    ref = x if r.identity else upfirdn(r.h, x, r.up, r.down, axis=-1)[:, : y.shape[1]]
    np.testing.assert_allclose(y, ref, atol=1e-5)
    assert abs(y.shape[1] - x.shape[1] * 12000 / fs_in) <= len(r.h) / r.down + 2


def test_resampler_antialiasing_and_passband():
    fs = 48000
    t = np.arange(fs) / fs
    r = StreamResampler(fs, 12000, 1)
    tone = r.process(np.sin(2 * np.pi * 1000 * t)[None])[0, 2000:-2000]
    alias = r.process(np.sin(2 * np.pi * 20000 * t)[None])[0, 2000:-2000]  # would fold to 4 kHz
    assert np.sqrt(np.mean(tone**2)) == pytest.approx(np.sqrt(0.5), rel=0.01)
    assert 20 * np.log10(np.sqrt(np.mean(alias**2)) / np.sqrt(0.5)) < -60
    # same passband behaviour as scipy's resample_poly (the offline training path)
    off = resample_poly(np.sin(2 * np.pi * 1000 * t), 1, 4)[2000:-2000]
    assert np.sqrt(np.mean(off**2)) == pytest.approx(np.sqrt(np.mean(tone**2)), rel=0.01)


def test_ring_windows_equal_offline_windows_across_chunks():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 10000)).astype(np.float32)
    w = RingWindower(0, 1, 512, 128)
    out, i = [], 0
    while i < x.shape[1]:
        n = int(rng.integers(1, 900))
        out += w.push(x[:, i : i + n], 0.0)
        i += n
    ref = cut_windows(x, 0, x.shape[1], 512, 128)
    assert len(out) == len(ref)
    np.testing.assert_array_equal(np.stack([o.data for o in out]), ref)
    assert [o.end_sample for o in out] == list(range(512, 10001, 128))


def test_ring_reset_never_straddles_a_gap():
    w = RingWindower(0, 1, 100, 50)
    assert len(w.push(np.zeros((1, 80), np.float32), 0)) == 0
    w.reset(80)
    ws = w.push(np.ones((1, 100), np.float32), 0)
    assert len(ws) == 1 and np.all(ws[0].data == 1) and ws[0].end_sample == 180


def test_window_problems():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 1024)).astype(np.float32)
    assert window_problem(x) is None
    bad = x.copy()
    bad[0, 10] = np.nan
    assert window_problem(bad) == "nan_or_inf"
    assert window_problem(np.zeros((1, 1024), np.float32)) == "flat"
    clipped = np.clip(x * 5, -2, 2)
    assert window_problem(clipped) == "clipped"
    assert window_problem(clipped, clip_level=2.0) == "clipped"
    assert window_problem(x, clip_level=10.0) is None


def run_machine(p_fault_series, cfg, dt=0.1):
    names = ["normal", "ball", "outer_race"]
    sm = AlarmStateMachine(0, cfg, names)
    events = []
    for i, p in enumerate(p_fault_series):
        e = sm.update(np.array([1 - p, 0.0, p]), i * dt)
        if e:
            events.append((round(i * dt, 3), e.state, e.label))
    return events


def test_alarm_hysteresis_and_durations():
    cfg = AlarmConfig(raise_at=0.8, clear_at=0.4, min_raise_s=0.3, min_clear_s=0.5)
    # brief spike (0.2 s) does not raise; sustained does after 0.3 s; dipping to 0.6 (above clear) keeps it
    series = [0.1] * 5 + [0.9] * 2 + [0.1] * 3 + [0.9] * 10 + [0.6] * 10 + [0.1] * 10
    events = run_machine(series, cfg)
    assert events == [(1.3, "alarm", "outer_race"), (3.5, "clear", "normal")]


def test_alarm_suppression_after_clear():
    cfg = AlarmConfig(raise_at=0.8, clear_at=0.4, min_raise_s=0.0, min_clear_s=0.0, suppress_s=1.0)
    events = run_machine([0.9, 0.1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9], cfg)
    assert [e[1] for e in events] == ["alarm", "clear", "alarm"]
    assert events[2][0] >= events[1][0] + 1.0


def test_alarm_config_validates():
    with pytest.raises(ValueError, match="hysteresis"):
        AlarmConfig(raise_at=0.3, clear_at=0.5)


def test_smoother_mean_and_vote():
    s = Smoother(3, n=3)
    for p in ([1, 0, 0], [0, 1, 0], [0, 1, 0]):
        out = s.update(np.array(p, float))
    np.testing.assert_allclose(out, [1 / 3, 2 / 3, 0])
    v = Smoother(3, n=4, mode="vote")
    for p in ([0.6, 0.4, 0], [0.1, 0.9, 0], [0.2, 0.8, 0], [0.3, 0.3, 0.4]):
        out = v.update(np.array(p))
    np.testing.assert_allclose(out, [0.25, 0.5, 0.25])
