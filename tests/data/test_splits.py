import numpy as np

from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.data.recording import Recording, cut_windows


def test_spans_are_disjoint_and_ordered():
    rec = Recording(np.zeros((1, 10_000), np.float32), 12000.0, 0)
    tr, va, te = rec.span("train"), rec.span("val"), rec.span("test")
    assert tr[0] == 0 and tr[1] <= va[0] and va[1] <= te[0] and te[1] == 10_000


def test_windows_stay_inside_span():
    sig = np.arange(1000, dtype=np.float32)[None]
    w = cut_windows(sig, 100, 400, 128, 64)
    assert w.shape == (3, 1, 128)
    assert w.min() >= 100 and w.max() < 400
    np.testing.assert_array_equal(w[1, 0], np.arange(164, 292))


def test_no_test_window_overlaps_training_samples():
    # Encode each sample's index in the signal: windows then reveal where they came from.
    ds = load_dataset(DataSpec("sim", {"duration": 2.0, "recordings_per_class": 1}))
    for rec in ds.recordings:
        rec.signal = np.arange(rec.signal.shape[-1], dtype=np.float32)[None]
    rng = np.random.default_rng(0)
    xtr, _ = ds.sample("train", 512, 2000, rng)
    xte, _ = ds.windows("test", 512, 256)
    assert xtr.max() < xte.min()
