import numpy as np

from drsn_edge.data.augment import EQ_POINTS, Augment

STILL = dict(speed=0.0, gain_db=0.0, polarity=False)


def _white(n: int = 64, window: int = 2048) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, 1, window)).astype(np.float32)


def test_masks_remove_bands_of_the_spectrum_and_nothing_else():
    x = _white()
    y = Augment(**STILL, masks=2).apply(x, 2048, np.random.default_rng(1))
    assert y.shape == x.shape and y.dtype == np.float32
    kept = np.abs(np.fft.rfft(y[:, 0], axis=1)) > 1e-3 * np.abs(np.fft.rfft(x[:, 0], axis=1))
    removed = (~kept).sum(1) / kept.shape[1]
    assert np.all(removed <= 2 * 0.2 + 1e-3)  # at most two masks of up to 20 % each
    assert removed.mean() > 0.1  # about 2 x 10 % on average, less where masks overlap
    # where a bin is kept, it is the input's bin unchanged
    sx, sy = np.fft.rfft(x[:, 0], axis=1), np.fft.rfft(y[:, 0], axis=1)
    np.testing.assert_allclose(sy[kept], sx[kept], rtol=1e-3, atol=1e-3)
    # each removed stretch is contiguous per mask: at most two runs of removed bins per window
    runs = (np.diff((~kept).astype(int), axis=1) == 1).sum(1) + (~kept)[:, 0]
    assert np.all(runs <= 2)


def test_masks_are_seeded_and_off_by_default():
    x = _white(8)
    a = Augment(**STILL, masks=4).apply(x, 2048, np.random.default_rng(3))
    b = Augment(**STILL, masks=4).apply(x, 2048, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert Augment().masks == 0
    np.testing.assert_array_equal(Augment(**STILL).apply(x, 2048, np.random.default_rng(3)), x)
    assert Augment(**STILL, masks=1).enabled and not Augment(**STILL).enabled


def test_eq_is_a_smooth_random_gain_within_its_range_and_keeps_phase():
    x = _white(32)
    y = Augment(**STILL, eq_db=6.0).apply(x, 2048, np.random.default_rng(5))
    assert y.shape == x.shape and y.dtype == np.float32
    sx, sy = np.fft.rfft(x[:, 0], axis=1), np.fft.rfft(y[:, 0], axis=1)
    ratio = sy / sx
    np.testing.assert_allclose(ratio.imag, 0, atol=1e-3)  # a real gain: phase unchanged
    db = 20 * np.log10(np.abs(ratio))
    assert np.all(np.abs(db) <= 6.0 + 1e-2)
    # linear between EQ_POINTS points: the step from bin to bin is at most 12 dB over a segment's bins
    step = 12.0 / ((db.shape[1] - 1) / (EQ_POINTS - 1))
    assert np.all(np.abs(np.diff(db, axis=1)) <= step + 1e-2)
    assert db.std(axis=1).mean() > 1.0  # it does change the spectrum
    assert np.abs(np.corrcoef(db[0], db[1])[0, 1]) < 0.9  # each window its own curve
    assert Augment().eq_db == 0 and Augment(**STILL, eq_db=1.0).enabled
