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
    return float(fs / np.median(np.diff(edges)))
