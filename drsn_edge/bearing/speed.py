"""Shaft speed from a tachometer channel: once-per-revolution pulses."""

from __future__ import annotations

import numpy as np

from drsn_edge.errors import DrsnEdgeError


def tacho_speed(x: np.ndarray, fs: float) -> float:
    """The shaft rate in Hz from a once-per-revolution pulse train (the median interval between rising edges through
    the half-way level); a one-line error for a channel with no pulses."""
    x = np.asarray(x, np.float64)
    lo, hi = np.percentile(x, 1), np.percentile(x, 99)
    if not hi - lo > 1e-9:
        raise DrsnEdgeError("the tachometer channel has no pulses (it is flat)")
    above = x > (lo + hi) / 2
    edges = np.flatnonzero(~above[:-1] & above[1:])
    if len(edges) < 3:
        raise DrsnEdgeError(f"the tachometer channel has {len(edges)} pulse(s) in {len(x) / fs:.3g} s; at least 3 are "
                            "needed for a speed")
    gaps = np.diff(edges)
    spread = float(np.std(gaps) / np.mean(gaps))
    if spread > 0.2:  # a shaft does not change speed by that much within a block: not a once-per-revolution train
        raise DrsnEdgeError(f"the tachometer channel does not look like once-per-revolution pulses: the intervals "
                            f"between its pulses vary by {100 * spread:.0f} % (a vibration channel?)")
    return float(fs / np.median(gaps))
