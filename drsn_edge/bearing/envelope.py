"""Envelope evidence (numpy only): where the impacts of a local defect ring, band-pass; take the envelope; look at its
spectrum at the bearing's defect frequencies (Randall & Antoni, MSSP 25(2), 2011, section 3).

- The band is the one of highest spectral kurtosis among the bands of a fast kurtogram's first levels (Antoni,
  "Fast computation of the kurtogram", MSSP 21(1), 2007): impacts make a band's envelope spiky.
- The band's analytic signal is computed by shifting its spectrum to zero frequency (the envelope does not change),
  so the envelope comes at a low rate from a small inverse FFT: one FFT of the record and a few small ones.
- For each defect (BPFO outer race, BPFI inner race, BSF ball), the envelope spectrum's harmonics 1x-3x are read
  over the local noise floor, in dB, each within a tolerance around its line (the speed is known to about 1 %); BPFI is
  also checked for sidebands at the shaft rate (an inner-race defect turns with the shaft through the load zone),
  BSF for sidebands at the cage rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drsn_edge.bearing.kinematics import BearingGeometry

#: defect -> (the location it points to, what the envelope shows)
DEFECTS = {"bpfo": "outer_race", "bpfi": "inner_race", "bsf": "ball"}
HARMONICS = 3
#: how far a line may sit from its nominal frequency (speed known to about this share, slip)
TOLERANCE = 0.012
#: a harmonic counts as found at this many dB over its local floor
FOUND_DB = 6.0


@dataclass(frozen=True)
class Rule:
    """When the evidence names a location: its defect's best score (the mean dB of its two strongest harmonics)
    reaches ``name_db`` with at least ``harmonics`` harmonics found, and leads the next defect by ``margin_db``.
    Chosen on the shared data only (benchmarks/bearing_evidence.py says how)."""

    name_db: float = 9.0
    margin_db: float = 3.0
    harmonics: int = 2


RULE = Rule()


def _bands(fs: float, n_bins: int, duration: float) -> list[tuple[int, int]]:
    """(first bin, last bin) of the bands of levels 1-3 of a dyadic kurtogram, DC and the top 5 % left out."""
    top = 0.475 * fs
    out = []
    for level in (1, 2, 3):
        width = top / 2**level
        for k in range(2**level):
            lo, hi = max(k * width, 0.02 * fs), (k + 1) * width
            a, b = int(lo * duration), min(int(hi * duration), n_bins - 1)
            if b - a > 8:
                out.append((a, b))
    return out


def _baseband(spec: np.ndarray, a: int, b: int, size: int) -> np.ndarray:
    """The complex envelope of the band [a, b) bins of a one-sided spectrum, at ``size`` points over the record."""
    z = np.zeros(size, np.complex128)
    z[: b - a] = spec[a:b]
    return np.fft.ifft(z) * (size / max(1, 2 * (len(spec) - 1)))


def _kurtosis(z: np.ndarray) -> float:
    p = np.abs(z) ** 2
    m2 = p.mean()
    return float((p * p).mean() / (m2 * m2) - 2.0) if m2 > 0 else 0.0


def _level_db(amp: np.ndarray, df: float, f: float, tol: float) -> tuple[float, float]:
    """(dB over the local floor, frequency) of the strongest line within ``tol`` Hz of ``f``; the floor is the median
    over +-10 % of ``f`` outside that window."""
    n = len(amp)
    i0, i1 = int(math.floor((f - tol) / df)), int(math.ceil((f + tol) / df)) + 1
    if i0 < 1 or i1 >= n:
        return float("nan"), f
    seg = amp[i0:i1]
    k = int(np.argmax(seg))
    span = max(int(0.1 * f / df), 12)
    lo, hi = max(1, i0 - span), min(n, i1 + span)
    around = np.concatenate([amp[lo:i0], amp[i1:hi]])
    floor = float(np.median(around)) if around.size else 0.0
    peak = float(seg[k])
    db = 20 * math.log10(peak / floor) if peak > 0 and floor > 0 else 0.0
    return db, (i0 + k) * df


@dataclass
class Spectrum:
    """An envelope spectrum: amplitude per bin of ``df`` Hz, from the band it was taken in."""

    amp: np.ndarray
    df: float
    band_hz: tuple[float, float]
    kurtosis: float


def envelope_spectrum(x: np.ndarray, fs: float, band: tuple[int, int] | None = None) -> Spectrum:
    """The squared-envelope spectrum of a record ``x`` (1-D) in its most impulsive band (or ``band``, in bins)."""
    x = np.asarray(x, np.float64)
    duration = len(x) / fs
    spec = np.fft.rfft(x - x.mean())
    bands = [band] if band is not None else _bands(fs, len(spec), duration)
    size = 1 << max(12, int(math.ceil(math.log2(max(b - a for a, b in bands)))))
    best = None
    for a, b in bands:
        z = _baseband(spec, a, b, size)
        k = _kurtosis(z)
        if best is None or k > best[0]:
            best = (k, a, b, z)
    k, a, b, z = best
    env = np.abs(z) ** 2
    amp = np.abs(np.fft.rfft(env - env.mean())) / len(env)
    return Spectrum(amp, 1.0 / duration, (a / duration, b / duration), k)


def evidence_of(x: np.ndarray, fs: float, bearing: BearingGeometry, shaft_hz: float,
                spectrum: Spectrum | None = None) -> dict[str, Any]:
    """Per defect: its harmonics' dB over the local floor, how many are found, its sidebands; and the location the
    evidence names (:func:`named_location`), or None."""
    s = spectrum or envelope_spectrum(x, fs)
    nyquist = len(s.amp) * s.df
    f = bearing.frequencies(shaft_hz)
    out: dict[str, Any] = {"band_hz": [round(v, 1) for v in s.band_hz], "shaft_hz": round(shaft_hz, 3),
                           "kurtosis": round(s.kurtosis, 2), "defects": {}, "skipped": []}
    for name in DEFECTS:
        fd = f[name]
        if HARMONICS * fd * (1 + TOLERANCE) + shaft_hz >= nyquist:
            out["skipped"].append(name)  # beyond the envelope's band: said, not guessed
            continue
        dbs = [_level_db(s.amp, s.df, k * fd, max(TOLERANCE * k * fd, 1.5 * s.df))[0] for k in range(1, HARMONICS + 1)]
        side_f = shaft_hz if name == "bpfi" else f["ftf"] if name == "bsf" else None
        sidebands = None
        if side_f is not None:
            sides = [_level_db(s.amp, s.df, fd + sign * side_f, max(TOLERANCE * fd, 1.5 * s.df))[0] for sign in (-1, 1)]
            sidebands = bool(np.nanmax(sides) >= FOUND_DB) if np.isfinite(sides).any() else False
        found = int(sum(d >= FOUND_DB for d in dbs if np.isfinite(d)))
        top2 = sorted((d for d in dbs if np.isfinite(d)), reverse=True)[:2]
        out["defects"][name] = {"hz": round(fd, 2), "db": [round(d, 1) for d in dbs], "found": found,
                                "score_db": round(float(np.mean(top2)) if top2 else 0.0, 1), "sidebands": sidebands}
    out["location"] = named_location(out)
    return out


def named_location(ev: dict[str, Any], rule: Rule = RULE) -> str | None:
    """The location the evidence names clearly (:class:`Rule`), or None when it is silent or undecided."""
    scored = sorted(((d["score_db"], name) for name, d in ev["defects"].items()), reverse=True)
    if not scored:
        return None
    best, name = scored[0]
    runner = scored[1][0] if len(scored) > 1 else 0.0
    d = ev["defects"][name]
    if best >= rule.name_db and d["found"] >= rule.harmonics and best - runner >= rule.margin_db:
        return DEFECTS[name]
    return None


@dataclass
class EnvelopeAnalyzer:
    """One unit's evidence in fixed memory: a ring of its last ``seconds`` of signal; an analysis every ``every_s``
    of stream time (the latest is what windows and alarms carry)."""

    fs: float
    bearing: BearingGeometry
    shaft_hz: float
    seconds: float = 2.0
    every_s: float = 1.0
    latest: dict[str, Any] | None = None
    latest_spectrum: Spectrum | None = None
    _ring: np.ndarray = field(init=False, repr=False)
    _filled: int = field(init=False, default=0)
    _since: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._ring = np.zeros(int(round(self.seconds * self.fs)), np.float32)

    def push(self, x: np.ndarray) -> bool:
        """Samples in stream order; True when a new analysis was made."""
        n, size = len(x), len(self._ring)
        if n >= size:
            self._ring[:] = x[-size:]
        else:
            self._ring = np.roll(self._ring, -n)
            self._ring[-n:] = x
        self._filled = min(size, self._filled + n)
        self._since += n
        if self._filled < size or self._since < self.every_s * self.fs:
            return False
        self._since = 0
        self.latest_spectrum = envelope_spectrum(self._ring, self.fs)
        self.latest = evidence_of(self._ring, self.fs, self.bearing, self.shaft_hz, self.latest_spectrum)
        return True

    def reset(self) -> None:
        """A gap: the ring starts again (a spectrum across a gap would smear the lines)."""
        self._filled = self._since = 0
