"""Input checks before inference, on whole batches: NaN / Inf, flat lines, clipping, implausible values."""

from __future__ import annotations

import numpy as np

#: Why a window was not fed to the model (index = code; 0 = fine). ``model_output``: the model returned NaN / Inf.
REASONS = ("ok", "nan_or_inf", "flat", "clipped", "out_of_range", "model_output")
OK, NAN_OR_INF, FLAT, CLIPPED, OUT_OF_RANGE, MODEL_OUTPUT = range(6)
#: a run of this many identical samples at a window's extreme is a saturated ADC
CLIP_RUN = 8


def window_problems(x: np.ndarray, clip_level: float | None = None, max_abs: float = 1e4,
                    clip_fraction: float = 0.01) -> np.ndarray:
    """A code per window of ``x`` (N, C, T): 0 if it may be fed to the model, else the index into :data:`REASONS`.

    Clipping: with a known full-scale ``clip_level``, at least ``clip_fraction`` of samples at or beyond it; without
    one, a run of :data:`CLIP_RUN` identical samples at the window's extreme. A handful of passes over the batch.
    """
    n = len(x)
    if not n:
        return np.zeros(0, dtype=np.int8)
    hi, lo = x.max(axis=2), x.min(axis=2)  # NaN propagates; Inf shows
    bad = ~(np.isfinite(hi) & np.isfinite(lo)).all(axis=1)
    flat = (hi == lo).all(axis=1)
    peak = np.maximum(np.abs(hi), np.abs(lo))
    big = (peak > max_abs).any(axis=1)
    if clip_level is not None:
        clipped = np.mean(np.abs(x) >= clip_level, axis=(1, 2)) >= clip_fraction
    else:
        at_rail = np.abs(x) == peak[..., None]  # at either rail: a saturated signal flips between them
        many = (at_rail.sum(axis=2) >= CLIP_RUN).any(axis=1) & ~bad & ~flat
        clipped = np.zeros(n, dtype=bool)
        for i in np.nonzero(many)[0]:  # rare: only windows with many samples at an extreme
            clipped[i] = _has_run(at_rail[i])
    codes = np.where(bad, NAN_OR_INF, np.where(flat, FLAT, np.where(clipped, CLIPPED, np.where(big, OUT_OF_RANGE, OK))))
    return codes.astype(np.int8)


def _has_run(mask: np.ndarray) -> bool:
    """Whether any channel of ``mask`` (C, T) has CLIP_RUN consecutive True values."""
    c = np.cumsum(mask, axis=1, dtype=np.int32)
    runs = c[:, CLIP_RUN - 1 :] - np.concatenate([np.zeros_like(c[:, :1]), c[:, :-CLIP_RUN]], axis=1)
    return bool((runs >= CLIP_RUN).any())
