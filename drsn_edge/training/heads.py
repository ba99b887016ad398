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
#: noise draws per validation window when calibrating the novelty threshold, and the most scores drawn in all
CALIBRATION_DRAWS, CALIBRATION_SCORES = 8, 4000
#: noise levels the noise head learns, in dB of noise relative to the vibration (-SNR)
NOISE_LEVELS_DB = (-30.0, 10.0)


@torch.no_grad()
def network_features(model, x: np.ndarray, batch: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled features (N, C) and log shrinkage ratios (N, A; A = 0 without shrinkage units), in batches."""
    fs, al = [], []
    for i in range(0, len(x), batch):
        f, alphas = model.features_and_alphas(torch.from_numpy(np.ascontiguousarray(x[i : i + batch])))
        fs.append(f)
        al.append(NoiseHead.features(alphas) if alphas else torch.zeros(len(f), 0))
    return torch.cat(fs), torch.cat(al)


def novelty_inputs(model, x: np.ndarray) -> torch.Tensor:
    """What ``model``'s novelty head scores for windows ``x`` (see ``ModelConfig.novelty_input``)."""
    f, a = network_features(model, x)
    return model.novelty_features(f, a if a.shape[1] else None)


def fit_heads(model, dataset: VibrationDataset, cfg: TrainConfig, windows: int = 3000,
              selected=None, source: tuple[Any, float] | None = None) -> dict[str, Any]:
    """Fit the heads the model has; returns what the model description records about them.

    ``selected``: the network before its refit (trained on the training recordings only), given when the refit
    also trained on the validation recordings. Those can then no longer calibrate the novelty threshold directly
    (windows a network trained on score lower than new ones), so the selected network's threshold on them is carried
    over, scaled by the ratio of the two networks' median scores on their training windows (Mahalanobis distances
    are in units of each network's own class spread, so the ratio stays near 1).

    ``source``: (network, its novelty threshold) when ``model`` was derived from a refitted network (``adapt``): the
    validation recordings are then training data for both, and the source's threshold is carried over the same way,
    the ratio taken on the same noisy windows of the training and validation recordings.
    """
    model.eval()
    window = model.config.window
    rng = np.random.default_rng(cfg.seed + 7)
    splits = ("train", "val") if selected is not None or source is not None else ("train",)
    out: dict[str, Any] = {}
    if model.novelty is not None:
        if source is not None:
            net, src_threshold = source
            scores, x = _fit_novelty(model, dataset, cfg, splits, windows, rng)
            with torch.no_grad():
                ratio = float(np.median(scores) / np.median(net.novelty(novelty_inputs(net, x)).numpy()))
            threshold = src_threshold * ratio
            where = (f"the source model's threshold, carried over (x {ratio:.3f}, the ratio of the two networks' median "
                     f"scores on {len(x)} noisy training and validation windows)")
        elif selected is None:
            _fit_novelty(model, dataset, cfg, splits, windows, rng)
            threshold, where = _held_out_threshold(model, dataset, cfg, rng)
        else:
            sel_train, _ = _fit_novelty(selected, dataset, cfg, ("train",), windows, np.random.default_rng(cfg.seed + 7))
            sel_threshold, where = _held_out_threshold(selected, dataset, cfg, np.random.default_rng(cfg.seed + 8))
            ratio = float(np.median(_fit_novelty(model, dataset, cfg, splits, windows, rng)[0]) / np.median(sel_train))
            threshold = sel_threshold * ratio
            where = (f"{where} through the network before its refit, carried over to the refitted network (x {ratio:.3f}, "
                     "the ratio of their median training-window scores)")
        ratios = model.novelty.means.shape[1] > model.bn.num_features
        scored = "pooled features" + (" and log shrinkage ratios" if ratios else "")
        out["novelty"] = {"score": f"mahalanobis distance to the nearest class mean ({scored})",
                          "threshold": threshold, "false_unknown_rate": FALSE_UNKNOWN_RATE, "calibrated_on": where}
    if model.noise is not None:
        x, _ = dataset.sample(splits, window, windows, rng)
        level = rng.uniform(*NOISE_LEVELS_DB, size=len(x))  # noise power relative to the window's, dB
        kinds = rng.choice(np.array(NOISE_TYPES), size=len(x))
        _, a = network_features(model, add_noise(x, -level[:, None], kinds, rng))
        model.noise.fit(a, torch.from_numpy(level).float())
        out["noise"] = {"output": "noise_level", "unit": "dB",
                        "meaning": "noise power relative to the vibration in the window (about -SNR), estimated from "
                                   "the network's soft thresholds",
                        "fitted_range_db": list(NOISE_LEVELS_DB), "fitted_windows": int(len(x))}
    return out


def _fit_novelty(model, dataset: VibrationDataset, cfg: TrainConfig, splits: tuple[str, ...], windows: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Fit the novelty head on noisy crops of ``splits``; returns their scores and the noisy crops."""
    model.eval()
    x, y = dataset.sample(splits, model.config.window, windows, rng)
    x = cfg.noise.apply(x, rng)
    f = novelty_inputs(model, x)
    model.novelty.fit(f, torch.from_numpy(y))
    with torch.no_grad():
        return model.novelty(f).numpy(), x


def _held_out_threshold(model, dataset: VibrationDataset, cfg: TrainConfig,
                        rng: np.random.Generator) -> tuple[float, str]:
    """The score that calls ``FALSE_UNKNOWN_RATE`` of the validation windows (with training noise) unknown. Each
    window is scored under several noise draws: the 99th percentile of a few hundred scores is about their third
    largest, and moved by a factor of 2-3 between draws (measured on the simulator)."""
    window = model.config.window
    try:
        xv, _ = dataset.windows("val", window, window // 2)
        where = "validation"
    except DrsnEdgeError:
        xv, _ = dataset.sample("train", window, 1000, rng)
        where = "training (no validation split)"
    draws = max(1, min(CALIBRATION_DRAWS, CALIBRATION_SCORES // len(xv))) if cfg.noise.enabled else 1
    with torch.no_grad():
        scores = np.concatenate([model.novelty(novelty_inputs(model, cfg.noise.apply(xv, rng))).numpy()
                                 for _ in range(draws)])
    return float(np.quantile(scores, 1 - FALSE_UNKNOWN_RATE)), f"{len(xv)} {where} windows x {draws} noise draws"
