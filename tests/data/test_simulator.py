import numpy as np
import pytest
from scipy.signal import butter, hilbert, sosfiltfilt

from drsn_edge.data.simulator import BearingGeometry, impact_rate, make_sim_recordings, simulate_bearing


def envelope_spectrum(x, fs):
    sos = butter(4, [0.1 * fs, 0.45 * fs], btype="band", fs=fs, output="sos")
    env = np.abs(hilbert(sosfiltfilt(sos, x)))
    env -= env.mean()
    spec = np.abs(np.fft.rfft(env * np.hanning(len(env))))
    return np.fft.rfftfreq(len(env), 1 / fs), spec


def test_characteristic_frequencies_of_skf_6205():
    # Published CWRU multiples of shaft speed for the 6205-2RS: BPFI 5.4152, BPFO 3.5848, FTF 0.39828, BSF 2.3570
    f = BearingGeometry().frequencies(1.0)
    assert f["bpfi"] == pytest.approx(5.4152, rel=5e-3)
    assert f["bpfo"] == pytest.approx(3.5848, rel=5e-3)
    assert f["ftf"] == pytest.approx(0.39828, rel=5e-3)
    assert f["bsf"] == pytest.approx(2.3570, rel=5e-3)


@pytest.mark.parametrize("condition", ["outer_race", "inner_race", "ball"])
def test_envelope_spectrum_peaks_at_fault_frequency(condition):
    fs, rpm = 12000.0, 1750.0
    x = simulate_bearing(condition, fs=fs, duration=4.0, rpm=rpm, seed=3)
    freqs, spec = envelope_spectrum(x, fs)
    expected = impact_rate(condition, rpm / 60, BearingGeometry())
    band = (freqs > 20) & (freqs < 400)
    peak = freqs[band][np.argmax(spec[band])]
    # the strongest envelope line is the impact rate (or, for modulated faults, within a sideband of it)
    side = rpm / 60 if condition == "inner_race" else BearingGeometry().frequencies(rpm / 60)["ftf"]
    assert abs(peak - expected) < (1.5 if condition == "outer_race" else side + 1.5), (peak, expected)
    # and the line at the impact rate stands far above the envelope floor
    at = spec[np.argmin(np.abs(freqs - expected)) - 2 : np.argmin(np.abs(freqs - expected)) + 3].max()
    assert at > 8 * np.median(spec[band])


def test_normal_has_no_fault_line():
    fs, rpm = 12000.0, 1750.0
    freqs, spec = envelope_spectrum(simulate_bearing("normal", fs=fs, duration=4.0, rpm=rpm, seed=3), fs)
    band = (freqs > 20) & (freqs < 400)
    bpfo = impact_rate("outer_race", rpm / 60, BearingGeometry())
    at = spec[np.argmin(np.abs(freqs - bpfo)) - 2 : np.argmin(np.abs(freqs - bpfo)) + 3].max()
    assert at < 8 * np.median(spec[band])


def test_seeded_and_labelled():
    a = simulate_bearing("ball", duration=1.0, seed=7)
    assert np.array_equal(a, simulate_bearing("ball", duration=1.0, seed=7))
    assert not np.array_equal(a, simulate_bearing("ball", duration=1.0, seed=8))
    recs, names = make_sim_recordings("10", duration=1.0, recordings_per_class=2, seed=0)
    assert len(names) == 10 and len(recs) == 20
    assert sorted({r.label for r in recs}) == list(range(10))
    assert all(r.signal.shape == (1, 12000) and r.signal.dtype == np.float32 for r in recs)


def test_a_machine_streams_any_length_in_chunks_and_a_fault_grows_from_its_onset():
    from scipy.stats import kurtosis

    from drsn_edge.data.simulator import Machine

    m = Machine.draw(3)
    assert m.describe() == Machine.draw(3).describe() and m.describe() != Machine.draw(4).describe()
    chunks = list(m.stream(25.0, seed=1, chunk_s=10.0))
    assert [len(c) for c in chunks] == [120000, 120000, 60000] and all(c.dtype == np.float32 for c in chunks)
    x = np.concatenate(list(m.stream(40.0, seed=2, fault="outer_race", onset_s=20.0, grow_s=10.0)))
    fs = int(m.fs)
    assert kurtosis(x[: 19 * fs]) < 1.0 < kurtosis(x[21 * fs :])  # impacts only after the onset
    early, late = np.std(x[20 * fs : 22 * fs]), np.std(x[35 * fs :])
    assert late > early  # the fault grows
    noisy = np.concatenate(list(m.stream(10.0, seed=2, snr_db=0.0)))
    clean = np.concatenate(list(m.stream(10.0, seed=2)))
    assert np.var(noisy) == pytest.approx(2 * np.var(clean), rel=0.25)  # 0 dB: noise as strong as the vibration


def test_a_machine_state_follows_the_time_of_day_not_the_seed():
    from drsn_edge.data.simulator import Machine

    m = Machine.draw(5)
    rms = [float(np.std(np.concatenate(list(m.stream(5.0, seed=s, start_s=h * 3600.0))))) for h in (0, 1) for s in (1, 2)]
    assert rms[0] == pytest.approx(rms[1], rel=0.05) and rms[2] == pytest.approx(rms[3], rel=0.05)
    assert abs(rms[0] - rms[2]) / rms[0] > 0.05  # an hour later: another load
