"""Envelope evidence (numpy only): where the impacts of a local defect ring, band-pass; take the envelope; look at its
spectrum at the bearing's defect frequencies (Randall & Antoni, MSSP 25(2), 2011, section 3).

- The band is the one of highest spectral kurtosis among the bands of a fast kurtogram's first levels (Antoni,
  "Fast computation of the kurtogram", MSSP 21(1), 2007): impacts make a band's envelope spiky.
- The band's analytic signal is computed by shifting its spectrum to zero frequency (the envelope does not change),
  so the envelope comes at a low rate from a small inverse FFT: one FFT of the record and a few small ones.
- For each defect (BPFO outer race, BPFI inner race, BSF ball), the envelope spectrum's harmonics 1x-3x (1x-4x for a
  ball) are read over the local noise floor, in dB, each within a tolerance around its line (the speed is known to
  about 1 %); BPFI is also checked for sidebands at the shaft rate (an inner-race defect turns with the shaft through
  the load zone), BSF for sidebands at the cage rate.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np

from drsn_edge.bearing.kinematics import BearingGeometry

#: defect -> (the location it points to, what the envelope shows)
DEFECTS = {"bpfo": "outer_race", "bpfi": "inner_race", "bsf": "ball"}
#: harmonics read per defect: 1x-3x of BPFO and BPFI; a ball defect strikes both races, once each per spin, so its
#: lines are the even harmonics of BSF (2x, 4x) beside 1x and 3x
HARMONICS = {"bpfo": 3, "bpfi": 3, "bsf": 4}
#: a defect is read where at least this many of its harmonics (and a shaft-rate sideband) lie within the envelope's band
MIN_HARMONICS = 2
#: how far a line may sit from its nominal frequency (speed known to about this share, slip)
TOLERANCE = 0.012
#: a defect is read where its line lies at least this many bins of the envelope spectrum above 0 Hz (slower, its
#: harmonics and sidebands merge into the lowest bins, and a 2-s block cannot tell them apart)
MIN_BINS = 3
#: a harmonic counts as found at this many dB over its local floor
FOUND_DB = 6.0


@dataclass(frozen=True)
class Rule:
    """When the evidence names a location: its defect's score (the mean dB of its two strongest harmonics that no
    other defect shares) reaches ``name_db`` with at least ``harmonics`` of them found, and leads the next defect by
    ``margin_db``. Chosen on the shared data only: per 2-s block (one block, no average) they name the location of
    91 of 182 CWRU drive-end and 87 of 182 fan-end blocks with 10 and 1 wrong (ball faults whose envelope shows race
    lines), and all 14 MFPT recordings; 6 dB more cut the wrong namings to none and left 3 of MFPT's 14 silent
    (benchmarks/bearing_evidence.py and its results). The simulator was not used to choose them.

    ``firm_db``: the score at which a location is named **firmly** (same lead and harmonics): on the model's own
    machine, only a firm naming disputes the model (:func:`drsn_edge.bearing.decide`). 21 dB is the first level at
    which no 2-s block of CWRU's drive end named a wrong location; streamed (three blocks averaged), the drive-end
    evidence named a wrong location on 2 of the 36 fault recordings (118, 225: ball faults whose envelope shows race
    lines), both below 18 dB, while its 18 right namings all reach 21 dB."""

    name_db: float = 15.0
    margin_db: float = 5.0
    harmonics: int = 1
    firm_db: float = 21.0


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


def _power(z: np.ndarray) -> np.ndarray:
    return z.real * z.real + z.imag * z.imag


def _band_kurtosis(spec: np.ndarray, bands: list[tuple[int, int]], size: int) -> np.ndarray:
    """Spectral kurtosis of each band's envelope of one block's one-sided spectrum (the envelopes, the bands shifted to
    zero frequency at ``size`` points, in one inverse FFT; kurtosis does not depend on their scale)."""
    z = np.zeros((len(bands), size), np.complex128)
    for i, (a, b) in enumerate(bands):
        z[i, : b - a] = spec[a:b]
    p = _power(np.fft.ifft(z, axis=-1))
    m2 = p.mean(axis=-1)
    safe = np.where(m2 > 0, m2, 1.0)
    return np.where(m2 > 0, (p * p).mean(axis=-1) / (safe * safe) - 2.0, 0.0)


def _floor_bounds(n: int, df: float, f: float, tol: float) -> tuple[int, int, int, int] | None:
    """(lo, i0, i1, hi) bins of a line near ``f``: the peak is sought in [i0, i1), the floor is the median of
    [lo, i0) and [i1, hi) (+-10 % of ``f`` outside the peak's window); None where the window leaves the spectrum."""
    i0, i1 = int(math.floor((f - tol) / df)), int(math.ceil((f + tol) / df)) + 1
    if i0 < 1 or i1 >= n:
        return None
    span = max(int(0.1 * f / df), 12)
    return max(1, i0 - span), i0, i1, min(n, i1 + span)


class _Lines:
    """Where the lines of a spectrum of ``n`` bins are read, gathered so that one pass reads them all, for one spectrum
    or many: their peaks' and floors' bins depend on the bearing, the speed and the bin width only, so a stream
    computes them once."""

    def __init__(self, n: int, df: float, lines: list[tuple[float, float]]) -> None:
        bounds = [_floor_bounds(n, df, f, tol) for f, tol in lines]
        self.valid = np.array([b is not None for b in bounds], bool)
        kept = [b for b in bounds if b is not None]
        peaks = [range(i0, i1) for _, i0, i1, _ in kept]
        floors = [[*range(lo, i0), *range(i1, hi)] for lo, i0, i1, hi in kept]
        self.peak_idx = np.array([i for p in peaks for i in p], np.intp)
        self.peak_starts = np.cumsum([0] + [len(p) for p in peaks[:-1]], dtype=np.intp)
        # floors padded to one width with the spectrum's bin n (+inf), sorted per line: np.median's two middle values
        width = max((len(fl) for fl in floors), default=0)
        self.floor_idx = np.array([fl + [n] * (width - len(fl)) for fl in floors], np.intp).reshape(len(floors), width)
        sizes = np.array([len(fl) for fl in floors], np.intp)
        self.rows = np.arange(len(floors))
        self.mid_lo, self.mid_hi = (sizes - 1) // 2, sizes // 2

    def dbs(self, amp: np.ndarray) -> np.ndarray:
        """Each line's strongest bin over its floor, in dB (NaN where it leaves the spectrum); ``amp`` of shape (n,)
        or (spectra, n), the lines on the last axis of the result."""
        out = np.full((*amp.shape[:-1], len(self.valid)), np.nan)
        if not len(self.floor_idx):
            return out
        peaks = np.maximum.reduceat(amp[..., self.peak_idx], self.peak_starts, axis=-1)
        padded = np.concatenate([amp, np.full((*amp.shape[:-1], 1), np.inf)], axis=-1)
        srt = np.sort(padded[..., self.floor_idx], axis=-1)
        floors = (srt[..., self.rows, self.mid_lo] + srt[..., self.rows, self.mid_hi]) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            db = 20 * np.log10(peaks / floors)
        out[..., self.valid] = np.where((peaks > 0) & (floors > 0), db, 0.0)
        return out


@dataclass
class Spectrum:
    """An envelope spectrum: amplitude per bin of ``df`` Hz, from the band it was taken in."""

    amp: np.ndarray
    df: float
    band_hz: tuple[float, float]
    kurtosis: float


def choose_band(spec: np.ndarray, fs: float, duration: float) -> tuple[int, int, float]:
    """(first bin, last bin, spectral kurtosis) of the most impulsive band of a block's one-sided spectrum."""
    bands = _bands(fs, len(spec), duration)
    k = _band_kurtosis(spec, bands, _size(bands))
    best = int(np.argmax(k))
    return bands[best][0], bands[best][1], float(k[best])


def _size(bands: list[tuple[int, int]]) -> int:
    """Points of the baseband that holds the widest of ``bands`` (at least 4096: :func:`envelope_nyquist`)."""
    return 1 << max(12, int(math.ceil(math.log2(max(b - a for a, b in bands)))))


def envelope_nyquist(block_s: float) -> float:
    """The highest frequency of a block's envelope spectrum (at least a 4096-point baseband over the block)."""
    return 4096 / block_s / 2


def band_envelope_spectrum(spec: np.ndarray, a: int, b: int) -> np.ndarray:
    """The squared-envelope amplitude spectrum of the band [a, b) of blocks' one-sided spectra (the last axis)."""
    return _band_envelope(spec[..., a:b], spec.shape[-1], _size([(a, b)]))


def _band_envelope(band: np.ndarray, n_bins: int, size: int) -> np.ndarray:
    """The squared-envelope amplitude spectrum of a band's bins (the last axis) of one-sided spectra of ``n_bins``: the
    band shifted to zero frequency (the envelope does not change), its analytic signal at ``size`` points."""
    z = np.zeros((*band.shape[:-1], size), np.complex128)
    z[..., : band.shape[-1]] = band
    env = _power(np.fft.ifft(z, axis=-1))
    env -= env.mean(axis=-1, keepdims=True)
    scale = size / max(1, 2 * (n_bins - 1))  # ifft's output to the analytic signal in the record's units
    return np.abs(np.fft.rfft(env, axis=-1)) * (scale * scale / size)


def envelope_spectrum(x: np.ndarray, fs: float, block_s: float | None = 2.0) -> Spectrum:
    """The squared-envelope spectrum of a record ``x`` (1-D) in its most impulsive band; over a record longer than
    ``block_s``, the average of the spectra of its half-overlapping blocks (a steadier noise floor)."""
    x = np.asarray(x, np.float64)
    size_b = len(x) if block_s is None else min(len(x), int(round(block_s * fs)))
    duration = size_b / fs
    specs = [_spectra(x[None, a : a + size_b])[0] for a in range(0, len(x) - size_b + 1, max(1, size_b // 2))]
    bands = _bands(fs, len(specs[0]), duration)
    size = _size(bands)
    kurtosis = np.mean([_band_kurtosis(sp, bands, size) for sp in specs], axis=0)
    best = int(np.argmax(kurtosis))
    (a, b), k = bands[best], float(kurtosis[best])
    amp = np.mean([band_envelope_spectrum(sp, a, b) for sp in specs], axis=0)
    return Spectrum(amp, 1.0 / duration, (a / duration, b / duration), k)


def readable_harmonics(name: str, fd: float, shaft_hz: float, nyquist: float) -> int:
    """How many of a defect's harmonics (at ``fd`` Hz), with a shaft-rate sideband, lie within ``nyquist``."""
    return sum(k * fd * (1 + TOLERANCE) + shaft_hz < nyquist for k in range(1, HARMONICS[name] + 1))


def too_slow(fd: float, block_s: float) -> bool:
    """Whether a defect's line (``fd`` Hz) lies too close to 0 Hz for a block of ``block_s`` s to resolve."""
    return fd < MIN_BINS / block_s


def _shared(hz: float, name: str, f: dict[str, float], df: float) -> bool:
    """Whether a line at ``hz`` could as well be a harmonic of another defect (CWRU's 6205: 3 BPFO is within 0.7 %
    of 2 BPFI): such a harmonic tells the two apart in neither direction, and is left out of both."""
    return any(abs(hz - j * f[other]) < 2 * max(TOLERANCE * hz, 1.5 * df)
               for other in DEFECTS if other != name for j in range(1, HARMONICS[other] + 1))


@dataclass(frozen=True)
class _Plan:
    """What :func:`evidence_of` reads for one bearing, speed and spectrum size: per defect its frequency, how many
    harmonics are readable, which line each harmonic (None: shared with another defect) and sideband is."""

    freqs: dict[str, float]
    defects: dict[str, tuple[int, list[int | None], list[int]]]
    skipped: list[str]
    lines: _Lines


@lru_cache(maxsize=64)
def _plan(bearing: BearingGeometry, shaft_hz: float, df: float, n: int) -> _Plan:
    # the narrowest band's envelope reach, whatever band this block chose: a defect is read at every block or at none
    nyquist = min(n * df, envelope_nyquist(1.0 / df))
    f = bearing.frequencies(shaft_hz)
    lines: list[tuple[float, float]] = []
    defects: dict[str, tuple[int, list[int | None], list[int]]] = {}
    skipped = []

    def line(hz: float, tol: float) -> int:
        lines.append((hz, tol))
        return len(lines) - 1

    for name in DEFECTS:
        fd = f[name]
        top = readable_harmonics(name, fd, shaft_hz, nyquist)
        if top < MIN_HARMONICS or too_slow(fd, 1.0 / df):
            skipped.append(name)  # beyond the envelope's band or below its resolution: said, not guessed
            continue
        harmonics = [None if _shared(k * fd, name, f, df) else line(k * fd, max(TOLERANCE * k * fd, 1.5 * df))
                     for k in range(1, top + 1)]
        side_f = shaft_hz if name == "bpfi" else f["ftf"] if name == "bsf" else None
        sides = [] if side_f is None else [line(fd + sign * side_f, max(TOLERANCE * fd, 1.5 * df)) for sign in (-1, 1)]
        defects[name] = (top, harmonics, sides)
    return _Plan(f, defects, skipped, _Lines(n, df, lines))


def evidence_of(x: np.ndarray | None, fs: float, bearing: BearingGeometry, shaft_hz: float,
                spectrum: Spectrum | None = None, levels: list[float] | None = None) -> dict[str, Any]:
    """Per defect: its harmonics' dB over the local floor, how many are found, its sidebands; and the location the
    evidence names (:func:`named_location`), or None. ``levels``: the plan's lines already read from ``spectrum``."""
    s = spectrum or envelope_spectrum(x, fs)
    plan = _plan(bearing, float(shaft_hz), float(s.df), len(s.amp))
    if levels is None:
        levels = plan.lines.dbs(s.amp).tolist()
    nan = float("nan")
    out: dict[str, Any] = {"band_hz": [round(v, 1) for v in s.band_hz], "shaft_hz": round(shaft_hz, 3),
                           "kurtosis": round(s.kurtosis, 2), "defects": {}, "skipped": list(plan.skipped)}
    for name, (top, harmonics, sides) in plan.defects.items():
        dbs = [nan if i is None else levels[i] for i in harmonics]
        sidebands = any(math.isfinite(levels[i]) and levels[i] >= FOUND_DB for i in sides) if sides else None
        read = [d for d in dbs if math.isfinite(d)]
        top2 = sorted(read, reverse=True)[:2]
        dbs += [nan] * (HARMONICS[name] - top)  # beyond the band: not read
        out["defects"][name] = {"hz": round(plan.freqs[name], 2),
                                "db": [round(d, 1) if math.isfinite(d) else None for d in dbs],
                                "found": sum(d >= FOUND_DB for d in read),
                                "score_db": round(sum(top2) / len(top2) if top2 else 0.0, 1), "sidebands": sidebands}
    out["location"] = named_location(out)
    out["firm"] = out["location"] is not None and named_location(out, replace(RULE, name_db=RULE.firm_db)) is not None
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


class _Block:
    """One block of signal; its spectrum and its envelope spectra per band computed when first needed."""

    __slots__ = ("x", "_spec", "_env")

    def __init__(self, x: np.ndarray) -> None:
        self.x: np.ndarray | None = x
        self._spec: np.ndarray | None = None
        self._env: dict[tuple[int, int], np.ndarray] = {}

    def spec(self) -> np.ndarray:
        if self._spec is None:
            self._spec = _spectra(self.x[None])[0]
            self.x = None  # the spectrum is all that is read from here on
        return self._spec

    def env(self, a: int, b: int) -> np.ndarray:
        if (a, b) not in self._env:
            self._env[(a, b)] = band_envelope_spectrum(self.spec(), a, b)
        return self._env[(a, b)]


class Analysis:
    """The analysis at the end of one block: the envelope spectrum of the last blocks (up to the analyzer's
    ``average``) in the band of highest spectral kurtosis, and the evidence read from it. Both are computed when first
    asked for: a stream that writes no window records pays for the blocks its alarms read, not for every block."""

    def __init__(self, analyzer: EnvelopeAnalyzer, blocks: list[_Block], index: int, shaft_hz: float | None) -> None:
        self.analyzer, self.blocks, self.index, self.shaft_hz = analyzer, blocks, index, shaft_hz
        self._spectrum: Spectrum | None = None
        self._evidence: dict[str, Any] | None = None
        self._levels: list[float] | None = None  # its lines read beside other analyses' (analyse_together)

    @property
    def spectrum(self) -> Spectrum:
        if self._spectrum is None:
            an = self.analyzer
            a, b, k = an.band_for(self.index, self.blocks[-1])
            amp = np.mean([blk.env(a, b) for blk in self.blocks], axis=0)
            self._spectrum = Spectrum(amp, 1.0 / an.block_s, (a / an.block_s, b / an.block_s), k)
        return self._spectrum

    @property
    def evidence(self) -> dict[str, Any] | None:
        if self._evidence is None and self.shaft_hz:
            an = self.analyzer
            self._evidence = {**evidence_of(None, an.fs, an.bearing, self.shaft_hz, self.spectrum, self._levels),
                              "blocks": len(self.blocks)}
        return self._evidence


def _spectra(x: np.ndarray) -> np.ndarray:
    """One-sided spectra of blocks (rows), their means removed: computed in double precision (numpy's faster FFT),
    kept in single (a stream keeps the last few blocks' spectra of every channel)."""
    x = x.astype(np.float64)
    return np.fft.rfft(x - x.mean(axis=-1, keepdims=True), axis=-1).astype(np.complex64)


#: blocks transformed per numpy call by :func:`analyse_together`: more calls cost overhead, larger arrays leave the
#: cache (on a 2-core Xeon: 0.19 ms a 2-s block at 12 kHz one at a time, 0.12 in groups of 8, 0.24 in one of 64)
GROUP = 8


def analyse_together(analyses: list[Analysis]) -> None:
    """Compute the spectra of analyses made at the same moment (a stream's channels complete their blocks together)
    together: the new blocks' spectra and the envelope spectra a few blocks per FFT call (:data:`GROUP`). The values
    are those computed one at a time."""
    new = [an.blocks[-1] for an in analyses if an.blocks[-1]._spec is None]
    for size in {len(blk.x) for blk in new}:
        same = [blk for blk in new if len(blk.x) == size]
        for i in range(0, len(same), GROUP):
            group = same[i : i + GROUP]
            for blk, spec in zip(group, _spectra(np.stack([blk.x for blk in group]))):
                blk._spec, blk.x = spec, None
    wanted: dict[tuple[int, int], list[_Block]] = defaultdict(list)
    for an in analyses:
        a, b, _ = an.analyzer.band_for(an.index, an.blocks[-1])
        wanted[(a, b)] += [blk for blk in an.blocks if (a, b) not in blk._env]
    for (a, b), blocks in wanted.items():
        size = _size([(a, b)])
        for i in range(0, len(blocks), GROUP):
            group = blocks[i : i + GROUP]
            band = np.stack([blk.spec()[a:b] for blk in group])  # only the band of each spectrum copied
            for blk, env in zip(group, _band_envelope(band, len(group[0].spec()), size)):
                blk._env[(a, b)] = env
    plans: dict[tuple, list[Analysis]] = defaultdict(list)  # the lines of analyses alike read in one pass
    for an in analyses:
        if an.shaft_hz and an._evidence is None:
            plans[(an.analyzer.bearing, float(an.shaft_hz), float(an.spectrum.df), len(an.spectrum.amp))].append(an)
    for key, alike in plans.items():
        for an, levels in zip(alike, _plan(*key).lines.dbs(np.stack([an.spectrum.amp for an in alike])).tolist()):
            an._levels = levels


@dataclass
class EnvelopeAnalyzer:
    """One unit's evidence as a stream goes, in fixed memory and cheaply: signal in blocks of ``block_s``; an analysis
    at the end of each block over the last ``average`` blocks, in the band chosen (on the newest block) every
    ``band_every_s``; what windows and alarms carry is the latest analysis at their time. An analysis is computed
    when read (:class:`Analysis`)."""

    fs: float
    bearing: BearingGeometry
    shaft_hz: float | None
    block_s: float = 2.0
    average: int = 3
    band_every_s: float = 30.0  # resonances move slowly; choosing the band is half an analysis' cost
    analysis: Analysis | None = None

    @property
    def latest(self) -> dict[str, Any] | None:
        """The evidence of the latest block (None before the first, or without a speed)."""
        return self.analysis.evidence if self.analysis else None

    @property
    def latest_spectrum(self) -> Spectrum | None:
        return self.analysis.spectrum if self.analysis else None

    def __post_init__(self) -> None:
        self.size = int(round(self.block_s * self.fs))  # samples a block
        self._buf: np.ndarray | None = None  # made by the first push (a stream gathers its units' blocks itself)
        self._n = 0
        self._index = 0
        self._blocks: list[_Block] = []
        self._band: tuple[int, int, float] | None = None
        self._band_index = 0

    def push(self, x: np.ndarray) -> bool:
        """Samples in stream order; True when a block completed and a new analysis was made."""
        if self._buf is None:
            self._buf = np.zeros(self.size, np.float32)
        made = False
        while len(x):
            take = min(len(x), self.size - self._n)
            self._buf[self._n : self._n + take] = x[:take]
            self._n += take
            x = x[take:]
            if self._n == self.size:
                self._n = 0
                self.add_block(self._buf.copy())
                made = True
        return made

    def add_block(self, x: np.ndarray) -> Analysis:
        """A whole block (``size`` samples, the next in stream order, kept as given); the analysis it ends."""
        self._blocks = [*self._blocks[-(self.average - 1):], _Block(x)] if self.average > 1 else [_Block(x)]
        self._index += 1
        self.analysis = Analysis(self, list(self._blocks), self._index, self.shaft_hz)
        return self.analysis

    def band_for(self, index: int, block: _Block) -> tuple[int, int, float]:
        """The band for the analysis at block ``index``: the one chosen last, or chosen again on ``block`` once
        ``band_every_s`` has passed."""
        if self._band is None or abs(index - self._band_index) * self.block_s >= self.band_every_s:
            self._band, self._band_index = choose_band(block.spec(), self.fs, self.block_s), index
        return self._band

    def reset(self) -> None:
        """A gap: blocks start again (a spectrum across a gap would smear the lines)."""
        self._n = 0
        self._blocks = []
