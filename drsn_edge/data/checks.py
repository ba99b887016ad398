"""What can be wrong with a recording, found block by block (``data inspect`` and ``train`` share these checks)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: A clipped (saturated) channel has many samples at exactly its extreme value; a healthy one has one or two.
CLIP_MIN_SAMPLES = 16
CLIP_MIN_FRACTION = 1e-4


@dataclass
class Problem:
    file: str
    kind: str  # unreadable | too_short | nan_inf | clipped | constant | unknown_label | rate
    message: str
    error: bool = True  # errors stop training; warnings only with --strict

    def line(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class SignalCheck:
    """Accumulates per-channel statistics over blocks; ``problems()`` says what is wrong."""

    file: str
    channels: list[str]
    frames: int = 0
    nonfinite: int = 0
    hi: np.ndarray | None = None
    lo: np.ndarray | None = None
    hi_count: np.ndarray | None = None
    lo_count: np.ndarray | None = None
    first: np.ndarray | None = None
    varies: np.ndarray | None = None
    extra: list[Problem] = field(default_factory=list)

    def update(self, x: np.ndarray) -> None:
        if x.shape[1] == 0:
            return
        self.frames += x.shape[1]
        finite = np.isfinite(x)
        self.nonfinite += int(x.size - np.count_nonzero(finite))
        xs = np.where(finite, x, np.nan)
        with np.errstate(all="ignore"):
            hi, lo = np.nanmax(xs, axis=1), np.nanmin(xs, axis=1)
        hi_n = np.sum(xs == hi[:, None], axis=1)
        lo_n = np.sum(xs == lo[:, None], axis=1)
        if self.hi is None:
            self.hi, self.lo, self.hi_count, self.lo_count = hi, lo, hi_n, lo_n
            self.first = xs[:, 0].copy()
            self.varies = np.zeros(len(hi), bool)
        else:
            for cur, cnt, new, new_n, better in ((self.hi, self.hi_count, hi, hi_n, np.greater),
                                                 (self.lo, self.lo_count, lo, lo_n, np.less)):
                replace = better(new, cur) | (np.isnan(cur) & ~np.isnan(new))
                same = new == cur
                cnt[same] += new_n[same]
                cur[replace], cnt[replace] = new[replace], new_n[replace]
        with np.errstate(invalid="ignore"):
            self.varies |= np.nanmax(np.abs(xs - self.first[:, None]), axis=1) > 0

    def problems(self, fs: float, min_samples: int | None = None) -> list[Problem]:
        out = list(self.extra)
        if self.frames == 0:
            return out + [Problem(self.file, "too_short", "no samples")]
        if min_samples is not None and self.frames < min_samples:
            out.append(Problem(self.file, "too_short", f"too short: {self.frames / fs:.3g} s; one window needs "
                                                       f"{min_samples / fs:.3g} s"))
        if self.nonfinite:
            out.append(Problem(self.file, "nan_inf", f"{self.nonfinite} NaN / Inf samples"))
        for c, name in enumerate(self.channels):
            if not self.varies[c]:
                out.append(Problem(self.file, "constant", f"channel {name} is constant ({self.first[c]:g}): a dead or "
                                                          "disconnected sensor?"))
                continue
            for v, n in ((self.hi[c], self.hi_count[c]), (self.lo[c], self.lo_count[c])):
                if n >= max(CLIP_MIN_SAMPLES, CLIP_MIN_FRACTION * self.frames):
                    out.append(Problem(self.file, "clipped", f"channel {name}: {int(n)} samples stuck at {v:g} "
                                                             "(clipped: sensor or ADC saturated?)", error=False))
        return out
