"""Fit the novelty and noise heads of a trained network (see :mod:`drsn_edge.models.heads`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from drsn_edge.data.dataset import VibrationDataset
from drsn_edge.data.noise import NOISE_TYPES, add_noise
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.models.heads import NoiseHead
from drsn_edge.training.config import TrainConfig

#: the share of known-class validation windows a fitted novelty threshold calls unknown
FALSE_UNKNOWN_RATE = 0.01
#: noise levels the noise head learns, in dB of noise relative to the vibration (-SNR)
NOISE_LEVELS_DB = (-30.0, 10.0)


@torch.no_grad()
def _forward(model, x: np.ndarray, batch: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    fs, al = [], []
    for i in range(0, len(x), batch):
        f, alphas = model.features_and_alphas(torch.from_numpy(np.ascontiguousarray(x[i : i + batch])))
        fs.append(f)
        al.append(NoiseHead.features(alphas) if alphas else torch.zeros(len(f), 0))
    return torch.cat(fs), torch.cat(al)


def fit_heads(model, dataset: VibrationDataset, cfg: TrainConfig, windows: int = 3000) -> dict[str, Any]:
    """Fit the heads the model has; returns what the model description records about them."""
    model.eval()
    window = model.config.window
    rng = np.random.default_rng(cfg.seed + 7)
    out: dict[str, Any] = {}
    if model.novelty is not None:
        x, y = dataset.sample("train", window, windows, rng)
        f, _ = _forward(model, cfg.noise.apply(x, rng))
        model.novelty.fit(f, torch.from_numpy(y))
        try:
            xv, _ = dataset.windows("val", window, window // 2)
            where = "validation"
        except DrsnEdgeError:
            xv, _ = dataset.sample("train", window, 1000, rng)
            where = "training (no validation split)"
        with torch.no_grad():
            scores = model.novelty(_forward(model, cfg.noise.apply(xv, rng))[0]).numpy()
        out["novelty"] = {"score": "mahalanobis distance to the nearest class mean (pooled features)",
                          "threshold": float(np.quantile(scores, 1 - FALSE_UNKNOWN_RATE)),
                          "false_unknown_rate": FALSE_UNKNOWN_RATE, "calibrated_on": f"{len(xv)} {where} windows"}
    if model.noise is not None:
        x, _ = dataset.sample("train", window, windows, rng)
        level = rng.uniform(*NOISE_LEVELS_DB, size=len(x))  # noise power relative to the window's, dB
        kinds = rng.choice(np.array(NOISE_TYPES), size=len(x))
        _, a = _forward(model, add_noise(x, -level[:, None], kinds, rng))
        model.noise.fit(a, torch.from_numpy(level).float())
        out["noise"] = {"output": "noise_level", "unit": "dB",
                        "meaning": "noise power relative to the vibration in the window (about -SNR), estimated from "
                                   "the network's soft thresholds",
                        "fitted_range_db": list(NOISE_LEVELS_DB), "fitted_windows": int(len(x))}
    return out
