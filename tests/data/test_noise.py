import numpy as np
import pytest
from scipy.signal import welch

from drsn_edge import DrsnEdgeError
from drsn_edge.data.noise import NOISE_TYPES, add_noise, parse_noise_types, parse_snr_list, parse_snr_range


def snr_db(clean, noisy):
    return 10 * np.log10(np.mean(clean**2, -1) / np.mean((noisy - clean) ** 2, -1))


@pytest.mark.parametrize("kind", NOISE_TYPES)
@pytest.mark.parametrize("target", [-4.0, 0.0, 7.5])
def test_snr_hits_target_within_0p1_db(kind, target):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 2, 2048)).astype(np.float32) * rng.uniform(0.1, 5, (16, 2, 1)).astype(np.float32)
    y = add_noise(x, target, kind, rng)
    assert y.dtype == np.float32
    np.testing.assert_allclose(snr_db(x.astype(np.float64), y.astype(np.float64)), target, atol=0.1)


def test_per_window_snr_and_kinds():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 1, 4096))
    snr = np.array([-6, -3, 0, 3, 6, 9.0])[:, None]
    y = add_noise(x, snr, np.array(["gaussian", "pink", "laplacian"] * 2), rng)
    np.testing.assert_allclose(snr_db(x, y), snr, atol=0.1)


def test_pink_slope_minus_10_db_per_decade():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 1 << 15))
    n = add_noise(x, 0.0, "pink", rng) - x
    f, p = welch(n, fs=1.0, nperseg=4096, axis=-1)
    p = p.mean(axis=0)
    band = (f > 1e-3) & (f < 0.3)
    slope = np.polyfit(np.log10(f[band]), 10 * np.log10(p[band]), 1)[0]
    assert slope == pytest.approx(-10.0, abs=1.0)


def test_laplacian_is_heavy_tailed():
    rng = np.random.default_rng(3)
    x = np.ones((4, 1, 1 << 14))
    n = add_noise(x, 0.0, "laplacian", rng) - x
    kurt = np.mean(n**4) / np.mean(n**2) ** 2
    assert kurt == pytest.approx(6.0, rel=0.15)  # Gaussian would be 3


def test_parsers():
    assert parse_snr_range("-6:10") == (-6.0, 10.0)
    assert parse_snr_range("-4") == (-4.0, -4.0)
    assert parse_snr_list("-4,0, clean") == [-4.0, 0.0, None]
    assert parse_noise_types("all") == NOISE_TYPES
    for bad in ("abc", "10:-6", "1:2:3"):
        with pytest.raises(DrsnEdgeError, match="bad SNR"):
            parse_snr_range(bad)
    with pytest.raises(DrsnEdgeError, match="bad SNR"):
        parse_snr_list("-4,loud")
    with pytest.raises(DrsnEdgeError, match="unknown noise type"):
        parse_noise_types("brown")
