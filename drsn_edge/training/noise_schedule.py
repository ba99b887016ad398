"""Noise drawn per window during training: a type and an SNR from a range, some windows clean."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from drsn_edge.data.noise import add_noise


@dataclass
class NoiseSchedule:
    """The defaults are those of ``drsn-edge train``: per window a noise type (Gaussian, Laplacian or pink) and an SNR
    from -4..10 dB. Measured on CWRU's leave-one-load-out (benchmarks/results/cwru_adaptation.md), always-noisy
    training holds up on new loads and lets adaptation (AdaBN under the same noise) work; clean windows in training
    made adaptation lose accuracy."""

    kinds: tuple[str, ...] = ("gaussian", "laplacian", "pink")
    snr_low: float = -4.0
    snr_high: float = 10.0
    clean_fraction: float = 0.0

    @property
    def enabled(self) -> bool:
        return bool(self.kinds)

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Noisy copy of the windows ``(N, C, T)``; each window gets its own type and SNR."""
        if not self.enabled:
            return x
        n = len(x)
        snr = rng.uniform(self.snr_low, self.snr_high, size=(n, 1))
        kinds = rng.choice(np.array(self.kinds), size=n)
        noisy = add_noise(x, snr, kinds, rng)
        clean = rng.random(n) < self.clean_fraction
        noisy[clean] = x[clean]
        return noisy

    def describe(self) -> dict:
        return asdict(self)
