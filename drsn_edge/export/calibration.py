"""Windows for INT8 calibration and for its accuracy budget: the model's own training data (training split, with
the training noise; validation split for the budget), or data given explicitly (``export --calib PATH``)."""

from __future__ import annotations

import numpy as np

from drsn_edge.data.dataset import DataSpec, VibrationDataset, load_dataset
from drsn_edge.data.noise import add_noise
from drsn_edge.modelfile import ModelMetadata


def calibration_data(md: ModelMetadata, data_spec: DataSpec | None = None) -> VibrationDataset:
    """The dataset calibration draws from, at the model's rate; a one-line error if it is not here."""
    spec = data_spec or DataSpec.from_dict(md.data)
    spec = DataSpec(spec.source, spec.options, md.sample_rate, spec.split, spec.seed)
    return load_dataset(spec, min_samples=md.window)


def _parts(ds: VibrationDataset) -> tuple[str, str]:
    """(calibration part, validation part): explicit data (split "all") is all test."""
    return ("test", "test") if ds.spec.split.kind == "all" else ("train", "val")


def calibration_windows(md: ModelMetadata, ds: VibrationDataset, count: int = 256, seed: int = 0) -> np.ndarray:
    """Random crops, with the noise the model was trained under."""
    rng = np.random.default_rng(seed)
    x, _ = ds.sample(_parts(ds)[0], md.window, count, rng)
    noise = (md.training or {}).get("noise") or {}
    if noise.get("kinds"):
        snr = rng.uniform(noise["snr_low"], noise["snr_high"], size=(len(x), 1))
        x = add_noise(x, snr, rng.choice(np.array(noise["kinds"]), size=len(x)), rng)
    return x.astype(np.float32)


def validation_set(md: ModelMetadata, ds: VibrationDataset, snrs=(None, 0.0, -4.0),
                   seed: int = 0) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, windows, labels in the model's class order) per condition: clean and Gaussian noise at each SNR.
    Empty when the data has no label the model knows."""
    x, y = ds.windows(_parts(ds)[1], md.window, md.hop)
    to_model = np.array([md.class_names.index(n) if n in md.class_names else -1 for n in ds.class_names])
    y = to_model[y]
    keep = y >= 0
    if not keep.any():
        return []
    x, y = x[keep], y[keep]
    rng = np.random.default_rng(seed)
    return [("clean" if s is None else f"gaussian {s:g} dB", x if s is None else add_noise(x, s, "gaussian", rng), y)
            for s in snrs]
