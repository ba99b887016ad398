"""Windows for calibration (training split, training noise) and validation (validation split)."""

from __future__ import annotations

import numpy as np

from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.data.noise import add_noise
from drsn_edge.runtime.metadata import ModelMetadata


def calibration_windows(md: ModelMetadata, count: int = 256, seed: int = 0, data_spec: DataSpec | None = None) -> np.ndarray:
    """Random crops of the training split, with the noise the model was trained under."""
    ds = load_dataset(data_spec or DataSpec.from_dict(md.data))
    rng = np.random.default_rng(seed)
    x, _ = ds.sample("train", md.window, count, rng)
    noise = (md.training or {}).get("noise") or {}
    if noise.get("kinds"):
        snr = rng.uniform(noise["snr_low"], noise["snr_high"], size=(len(x), 1))
        x = add_noise(x, snr, rng.choice(np.array(noise["kinds"]), size=len(x)), rng)
    return x.astype(np.float32)


def validation_set(md: ModelMetadata, snrs=(None, 0.0, -4.0), seed: int = 0, data_spec: DataSpec | None = None,
                   split: str = "val") -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, windows, labels) per condition: clean and Gaussian noise at each SNR."""
    ds = load_dataset(data_spec or DataSpec.from_dict(md.data))
    x, y = ds.windows(split, md.window, md.window // 2)
    rng = np.random.default_rng(seed)
    out = []
    for s in snrs:
        out.append(("clean" if s is None else f"gaussian {s:g} dB",
                    x if s is None else add_noise(x, s, "gaussian", rng), y))
    return out
