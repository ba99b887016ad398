"""On-the-fly changes to training windows that mimic what differs between machines (numpy only).

- speed: the window is resampled by a factor near 1, because fault frequencies scale with shaft speed (CWRU's loads
  run at 1730-1797 rpm, a 4 % spread; other machines differ more);
- band and tilt: a random low-pass and a spectral slope, because sensors, their mounting and anti-alias filters
  shape the spectrum differently;
- gain per channel and polarity: different sensitivities and mounting directions;
- masks: a few random bands of the spectrum removed, so that no one band decides the class (SpecAugment's frequency
  masking, Park et al., Interspeech 2019): a model taught on one load of one sensor then leans on the spectrum's
  broad shape, which holds across loads, more than on a band that moves with the load;
- eq: a smooth random gain curve over the spectrum (a random equalizer), because a load or a mounting moves the
  structure's resonances and so raises some bands and lowers others by a few dB.

Noise is mixed afterwards, by the training's noise schedule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: the spectral slope, dB per octave, that goes with train's ``--band`` (another sensor's response: its low-pass and
#: its tilt together)
BAND_TILT_DB_PER_OCTAVE = 3.0
#: the widest random mask, as a share of Nyquist (train's ``--masks``): with six such masks per window a wide model
#: learnt CWRU's fan-end sensor from one load best of what was tried (benchmarks/results/few_shot.md)
MASK_WIDTH = 0.2
#: more masks than this leave little of a window's spectrum
MAX_MASKS = 8
#: the random equalizer's points, equally spaced from 0 to Nyquist; the gain in dB is linear between them
EQ_POINTS = 8
#: train's ``--eq`` range: more than this turns bands into masks
MAX_EQ_DB = 20.0


@dataclass
class Augment:
    """The defaults are ``drsn-edge train``'s: speed, gain and polarity on; band and tilt off (measured on CWRU's
    leave-one-load-out, they cost drive-end accuracy; they help a model read another sensor: see the README)."""

    speed: float = 0.08  # resampling factor drawn from [1 - speed, 1 + speed]
    band: float = 0.0  # share of windows low-passed at a cutoff drawn from [band_low, 1) x Nyquist
    band_low: float = 0.35
    tilt_db_per_octave: float = 0.0  # spectral slope drawn from +-this
    gain_db: float = 6.0  # per-channel gain drawn from +-this (matters for multi-channel models)
    polarity: bool = True  # random sign flip
    masks: int = 0  # random bands removed per window
    mask_width: float = MASK_WIDTH  # each mask's width drawn from [0, mask_width) x Nyquist
    eq_db: float = 0.0  # the random equalizer's gain at each of EQ_POINTS drawn from +-this

    @property
    def spectral(self) -> bool:
        """Whether a window goes through the spectrum (band, tilt, masks, eq)."""
        return bool(self.band or self.tilt_db_per_octave or self.masks or self.eq_db)

    @property
    def enabled(self) -> bool:
        return bool(self.speed or self.spectral or self.gain_db or self.polarity)

    def crop_length(self, window: int) -> int:
        """Samples to crop so that resampling by up to 1 + speed still fills a window."""
        return int(np.ceil(window * (1 + self.speed))) + 2

    def apply(self, x: np.ndarray, window: int, rng: np.random.Generator) -> np.ndarray:
        """Windows ``(N, C, window)`` from crops ``(N, C, L >= crop_length(window))``."""
        n, c, length = x.shape
        if self.speed:
            f = rng.uniform(1 - self.speed, 1 + self.speed, size=n)
            span = (window - 1) * f
            start = rng.uniform(0, np.maximum(length - 1 - span, 0))
            pos = start[:, None] + np.arange(window)[None, :] * f[:, None]  # (N, W)
            i0 = np.minimum(pos.astype(np.int64), length - 2)
            frac = (pos - i0)[:, None, :]
            idx = np.broadcast_to(i0[:, None, :], (n, c, window))
            lo = np.take_along_axis(x, idx, axis=2)
            hi = np.take_along_axis(x, idx + 1, axis=2)
            y = (lo * (1 - frac) + hi * frac).astype(np.float32)
        else:
            y = np.ascontiguousarray(x[:, :, :window], dtype=np.float32)
        if self.spectral:
            spec = np.fft.rfft(y, axis=2)
            freqs = np.linspace(0, 1, spec.shape[2])  # relative to Nyquist
            gain = np.ones((n, 1, spec.shape[2]))
            if self.tilt_db_per_octave:
                slope = rng.uniform(-self.tilt_db_per_octave, self.tilt_db_per_octave, size=n)
                octaves = np.log2(np.maximum(freqs, freqs[1]) / 0.25)  # 0 dB at a quarter of Nyquist
                gain *= 10 ** (slope[:, None, None] * octaves[None, None, :] / 20)
            if self.band:
                cut = rng.uniform(self.band_low, 1.0, size=n)
                on = rng.random(n) < self.band
                width = 0.05
                edge = np.clip((cut[:, None] + width - freqs[None, :]) / (2 * width), 0, 1)  # a linear roll-off
                gain *= np.where(on[:, None], edge, 1.0)[:, None, :]
            for _ in range(self.masks):
                low = rng.uniform(0, 1, size=n)[:, None]
                high = low + rng.uniform(0, self.mask_width, size=n)[:, None]
                gain *= ~((freqs[None, :] >= low) & (freqs[None, :] < high))[:, None, :]
            if self.eq_db:
                points = rng.uniform(-self.eq_db, self.eq_db, size=(n, EQ_POINTS))
                slot = np.minimum(freqs * (EQ_POINTS - 1), EQ_POINTS - 1 - 1e-9)
                i, frac = slot.astype(int), slot % 1
                db = points[:, i] * (1 - frac) + points[:, i + 1] * frac  # (N, bins)
                gain *= 10 ** (db[:, None, :] / 20)
            y = np.fft.irfft(spec * gain, n=window, axis=2).astype(np.float32)
        if self.gain_db and c > 1:
            y *= (10 ** (rng.uniform(-self.gain_db, self.gain_db, size=(n, c, 1)) / 20)).astype(np.float32)
        if self.polarity:
            y *= rng.choice(np.array([-1.0, 1.0], np.float32), size=(n, 1, 1))
        return y

    def describe(self) -> dict:
        return asdict(self)


NO_AUGMENT = Augment(speed=0.0, band=0.0, tilt_db_per_octave=0.0, gain_db=0.0, polarity=False)
