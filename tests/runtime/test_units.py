"""Runtime building blocks: resampler, ring-buffer windows, input checks, smoothing and alarms."""

import numpy as np
import pytest
from scipy.signal import resample_poly, upfirdn

from drsn_edge.data.recording import cut_windows
from drsn_edge.runtime.decisions import AlarmConfig, AlarmStateMachine, Smoother
from drsn_edge.runtime.latency import LatencyStats
from drsn_edge.runtime.quality import REASONS, window_problems
from drsn_edge.runtime.resampler import StreamResampler
from drsn_edge.runtime.window_queue import Marker, WindowQueue
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
    for hop in (128, 512, 700):  # hop shorter than, equal to and longer than... the window is 512
        w = RingWindower(1, 1, 512, hop)
        data, ends, i = [], [], 0
        while i < x.shape[1]:
            n = int(rng.integers(1, 900))
            d, e, _ = w.push(x[:, i : i + n])
            data.append(d)
            ends.append(e)
            i += n
        ref = cut_windows(x, 0, x.shape[1], 512, hop)
        np.testing.assert_array_equal(np.concatenate(data), ref)
        assert np.concatenate(ends).tolist() == list(range(512, 10001, hop))
        assert w.tail.shape[1] < 512 + hop  # bounded: only what the next window needs


def test_ring_windows_of_many_units_come_unit_by_unit():
    """One buffer for every unit: each unit's windows equal its own offline windows, in unit order per chunk."""
    rng = np.random.default_rng(4)
    units, ch = 3, 2
    x = rng.standard_normal((units * ch, 5000)).astype(np.float32)
    w = RingWindower(units, ch, 256, 100)
    i = 0
    got: dict[int, list] = {u: [] for u in range(units)}
    while i < x.shape[1]:
        n = int(rng.integers(1, 400))
        d, e, u = w.push(x[:, i : i + n])
        assert d.shape[1:] == (ch, 256) and len(d) == len(e) == len(u) and (np.diff(u) >= 0).all()
        for k in range(units):
            got[k] += [(int(end), win) for end, win in zip(e[u == k], d[u == k])]
        i += n
    for k in range(units):
        ref = cut_windows(x[k * ch : (k + 1) * ch], 0, x.shape[1], 256, 100)
        np.testing.assert_array_equal(np.stack([win for _, win in got[k]]), ref)
        assert [end for end, _ in got[k]] == list(range(256, 5001, 100))


def test_ring_reset_never_straddles_a_gap():
    w = RingWindower(1, 1, 100, 50)
    assert len(w.push(np.zeros((1, 80), np.float32))[0]) == 0
    w.reset(80)
    d, e, _ = w.push(np.ones((1, 100), np.float32))
    assert len(d) == 1 and np.all(d[0] == 1) and e.tolist() == [180]


def test_window_problems():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 1, 1024)).astype(np.float32)
    x[1, 0, 10] = np.nan
    x[2] = 0.5
    x[3] = np.clip(x[3] * 5, -2, 2)
    x[4, 0, 7] = 2e4
    x[5, 0, 3] = np.inf
    assert [REASONS[c] for c in window_problems(x)] == ["ok", "nan_or_inf", "flat", "clipped", "out_of_range",
                                                          "nan_or_inf"]
    assert [REASONS[c] for c in window_problems(np.stack([x[0] * 0.3, x[3]]), clip_level=2.0)] == ["ok", "clipped"]
    assert window_problems(x[[0]], clip_level=10.0).tolist() == [0]
    # many samples at the extreme but no run of 8 in a row is not clipping (e.g. a coarse ADC)
    y = np.tile(np.array([1, -1, 0, 0.5], np.float32), 256)[None, None]
    assert window_problems(y).tolist() == [0]


def test_batched_smoothing_and_alarms_equal_one_window_at_a_time():
    rng = np.random.default_rng(3)
    fault = (np.arange(200) // 25) % 2 == 1  # 2.5 s healthy, 2.5 s faulty, ...
    probs = rng.dirichlet([0.5, 0.5, 0.5], size=200) * 0.4
    probs[:, 0] += np.where(fault, 0.0, 0.6)
    probs[:, 2] += np.where(fault, 0.6, 0.0)
    t = np.arange(200) * 0.1
    for mode in ("vote", "mean"):
        a, b = Smoother(3, 5, mode), Smoother(3, 5, mode)
        one = np.stack([a.update(p) for p in probs])
        many = np.concatenate([b.update(probs[i : i + k]) for i, k in zip(range(0, 200, 37), [37] * 6)])
        np.testing.assert_allclose(one, many)
    cfg = AlarmConfig(raise_at=0.6, clear_at=0.3, min_raise_s=0.2, min_clear_s=0.3, suppress_s=0.5)
    names = ["normal", "ball", "outer_race"]
    m1, m2 = AlarmStateMachine(0, cfg, names), AlarmStateMachine(0, cfg, names)
    ev1 = [e for p, ti in zip(one, t) if (e := m1.update(p, ti))]
    ev2 = [e for i in range(0, 200, 23) for e in m2.update_many(one[i : i + 23], t[i : i + 23])]
    assert [(e.state, e.label, e.stream_time) for e in ev1] == [(e.state, e.label, e.stream_time) for e in ev2]
    assert len(ev1) >= 4


def test_window_queue_bounds_and_counts_drops():
    q = WindowQueue(capacity=10, policy="drop-oldest")
    for i in range(5):
        q.put(0, np.full((4, 1, 8), i, np.float32), np.arange(4) + 4 * i, 0.0)
    q.mark(Marker("gap", 20))
    assert q.windows == 10 and q.dropped == 10
    b = q.get(batch_size=100, max_latency=0.0)
    assert len(b) == 10 and b.data[0, 0, 0] == 2 and b.ends.tolist() == list(range(10, 20))  # the newest survive
    assert isinstance(q.get(100, 0.0), Marker)
    q.close()
    assert q.get(100, 0.0) is None


def test_latency_stats_are_bounded_and_close():
    rng = np.random.default_rng(4)
    ms = rng.lognormal(0, 1, 100_000)
    s = LatencyStats()
    for chunk in np.array_split(ms, 50):
        s.add(chunk)
    for q in (0.5, 0.9, 0.99):
        assert s.quantile(q) == pytest.approx(np.quantile(ms, q), rel=0.06)
    assert s.summary()["max"] == ms.max() and s.counts.nbytes < 4000


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


def test_unit_smoothers_equal_one_smoother_per_unit():
    from drsn_edge.runtime.decisions import UnitSmoothers

    rng = np.random.default_rng(5)
    for mode in ("mean", "vote"):
        for n in (1, 3, 5):
            many, single = UnitSmoothers(6, 4, n, mode), [Smoother(4, n, mode) for _ in range(6)]
            for step in range(30):
                if step == 20:  # a gap in the stream: every history starts again
                    many.reset()
                    for one in single:
                        one.reset()
                k = int(rng.integers(1, 40))
                units, probs = rng.integers(0, 6, k), rng.dirichlet([1, 1, 1, 1], k)
                got = many.update(units, probs)
                for u in range(6):
                    idx = np.flatnonzero(units == u)
                    if len(idx):
                        np.testing.assert_allclose(got[idx], single[u].update(probs[idx]))
