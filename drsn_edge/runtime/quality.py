"""Input checks before inference: NaN / Inf, clipping (saturated sensor or ADC), flat lines."""

from __future__ import annotations

import numpy as np


def window_problem(x: np.ndarray, clip_level: float | None = None, clip_fraction: float = 0.01) -> str | None:
    """Why a window must not be fed to the model, or None if it is fine.

    Clipping: with a known full-scale ``clip_level``, at least ``clip_fraction`` of samples at or beyond it;
    without one, a run of 8+ identical samples at the window's extreme (a saturated ADC).
    """
    if not np.all(np.isfinite(x)):
        return "nan_or_inf"
    if np.all(x == x[..., :1]):
        return "flat"
    a = np.abs(x)
    if clip_level is not None:
        if np.mean(a >= clip_level) >= clip_fraction:
            return "clipped"
        return None
    peak = a.max(axis=-1, keepdims=True)
    at_peak = a >= peak
    # 8 or more consecutive samples stuck at the extreme value
    run = np.convolve(at_peak.reshape(-1).astype(np.int8), np.ones(8, np.int8), mode="valid")
    if run.size and run.max() >= 8 and np.count_nonzero(at_peak) >= 8:
        return "clipped"
    return None
