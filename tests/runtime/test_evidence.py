"""A stream's bearing evidence (runtime/evidence.py): every unit's blocks gathered together, the analyses of watched
units computed together on the reader thread, and the same values as each unit analysed alone."""

import numpy as np

from drsn_edge.bearing import BEARINGS, EnvelopeAnalyzer
from drsn_edge.data.simulator import simulate_bearing
from drsn_edge.runtime.evidence import EvidenceSettings, StreamEvidence

FS = 12000.0
SHAFT_HZ = 1772 / 60


def _signals(units: int, seconds: float) -> np.ndarray:
    conditions = ["outer_race", "inner_race", "ball", "normal"]
    return np.stack([simulate_bearing(conditions[u % 4], fs=FS, duration=seconds, rpm=1772.0, seed=u)
                     for u in range(units)]).astype(np.float32)


def test_analyses_made_together_equal_each_unit_analysed_alone():
    """10 units (more than one group of FFTs), chunks that end blocks mid-chunk, half the units watched (computed
    together as blocks end), half read afterwards one at a time; each equals an analyzer fed that unit alone and read
    as often (the band is chosen on the block of the first read)."""
    y = _signals(10, 9.0)
    settings = EvidenceSettings(BEARINGS["6205-2RS-JEM"], SHAFT_HZ)
    se = StreamEvidence(settings, FS, list(range(len(y))))
    for u in range(0, len(y), 2):
        se.watch(u, True)
    for k in range(0, y.shape[1], 7000):
        se.push(y[:, k : k + 7000], k / FS)
    for u in range(len(y)):
        alone = EnvelopeAnalyzer(FS, settings.bearing, SHAFT_HZ)
        for k in range(0, y.shape[1], 7000):
            if alone.push(y[u, k : k + 7000]) and u % 2 == 0:
                alone.latest  # noqa: B018 - read as it is made, as the stream reads a watched unit's
        got, spectrum = se.at(u, 9.0)
        assert got == alone.latest, u
        np.testing.assert_allclose(spectrum.amp, alone.latest_spectrum.amp, rtol=1e-12, atol=0)
        assert got["blocks"] == 3


def test_an_analysis_is_kept_at_its_blocks_end_not_its_chunks():
    y = _signals(2, 5.0)
    se = StreamEvidence(EvidenceSettings(BEARINGS["6205-2RS-JEM"], SHAFT_HZ), FS, [0, 1])
    for k in range(0, y.shape[1], 7000):  # blocks end at 24000 and 48000 samples, inside chunks
        se.push(y[:, k : k + 7000], k / FS)
    assert [t for t, _ in se.history[0]] == [2.0, 4.0]
    assert se.at(0, 1.99) == (None, None)
    assert se.at(1, 3.0)[0]["blocks"] == 1 and se.at(1, 4.0)[0]["blocks"] == 2
    se.reset()
    se.push(y[:, :12000], 10.0)  # half a block after a gap: nothing new
    assert [t for t, _ in se.history[0]] == [2.0, 4.0]


def test_a_watched_units_kept_blocks_stay_under_a_megabyte_at_12_khz():
    """The README's memory figure: what a unit's kept analyses hold (their blocks' spectra and envelope spectra) stays
    under 1 MB at 12 kHz with every block read; spectra kept in double precision held 1.3 MB (test failed before)."""
    y = _signals(2, 20.0)
    se = StreamEvidence(EvidenceSettings(BEARINGS["6205-2RS-JEM"], SHAFT_HZ), FS, [0, 1])
    se.watch(0, True)
    for k in range(0, y.shape[1], 2400):
        se.push(y[:, k : k + 2400], k / FS)
    blocks = {id(b): b for _, an in se.history[0] for b in an.blocks}.values()
    held = sum(b._spec.nbytes + sum(e.nbytes for e in b._env.values()) + (0 if b.x is None else b.x.nbytes)
               for b in blocks)
    assert len(blocks) >= 3 and held < 1e6, (len(blocks), held)
