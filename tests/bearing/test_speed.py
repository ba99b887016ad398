import numpy as np
import pytest

from drsn_edge.bearing import tacho_speed
from drsn_edge.errors import DrsnEdgeError


def test_speed_from_once_per_revolution_pulses():
    fs, shaft = 12000.0, 29.53
    t = np.arange(int(2 * fs)) / fs
    x = (np.mod(t * shaft, 1.0) < 0.05).astype(float) * 5 + np.random.default_rng(0).normal(0, 0.1, len(t))
    assert tacho_speed(x, fs) == pytest.approx(shaft, rel=2e-3)


def test_a_flat_tacho_channel_is_refused():
    with pytest.raises(DrsnEdgeError, match="has no pulses"):
        tacho_speed(np.zeros(12000), 12000.0)


def test_a_tacho_channel_with_too_few_pulses_is_refused():
    x = np.zeros(12000)
    x[100:400] = 1  # one pulse, wide enough to be above the 99th percentile
    with pytest.raises(DrsnEdgeError, match="1 pulse"):
        tacho_speed(x, 12000.0)


def test_a_vibration_channel_is_not_taken_for_a_tachometer():
    x = np.random.default_rng(0).normal(size=24000)
    with pytest.raises(DrsnEdgeError, match="does not look like once-per-revolution pulses"):
        tacho_speed(x, 12000.0)
