"""The refit after model selection: pass 2 trains on training + validation recordings up to the chosen epoch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.models.config import resolve_config
from drsn_edge.models.factory import model_from_config
from drsn_edge.training.config import TrainConfig
from drsn_edge.training.noise_schedule import NoiseSchedule
from drsn_edge.training.trainer import train


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(DataSpec("sim", {"duration": 2.0, "recordings_per_class": 3}))


def _model(ds, seed: int = 0):
    config = resolve_config("drsn-cw", "paper")
    config.in_channels, config.num_classes = ds.in_channels, len(ds.class_names)
    torch.manual_seed(seed)
    return model_from_config(config)


def _cfg(refit: bool) -> TrainConfig:
    return TrainConfig(epochs=3, steps_per_epoch=4, batch_size=16, seed=0, refit=refit,
                       noise=NoiseSchedule(("gaussian",), 0, 10))


def test_refit_trains_on_the_validation_recordings_up_to_the_chosen_epoch(dataset, monkeypatch):
    drawn: list[tuple[str, ...]] = []
    sample = type(dataset).sample

    def spy(self, split, *a, **k):
        drawn.append((split,) if isinstance(split, str) else tuple(split))
        return sample(self, split, *a, **k)

    monkeypatch.setattr(type(dataset), "sample", spy)
    result = train(_model(dataset), dataset, _cfg(refit=True), progress=False, log=lambda s: None)
    best = result["best_epoch"]
    assert 1 <= best <= 3
    assert result["refit"] == {"epochs": best, "splits": ["train", "val"]}
    refit_rows = [r for r in result["history"] if r.get("pass") == "refit"]
    assert len(refit_rows) == best and all("val_acc" not in r for r in refit_rows)
    assert drawn[: 3 * 4] == [("train",)] * 12  # pass 1 never sees a validation recording
    assert drawn[12:] == [("train", "val")] * (best * 4)
    assert result["selected_state"] is not None


def test_without_refit_the_selected_epoch_is_the_model(dataset):
    result = train(_model(dataset), dataset, _cfg(refit=False), progress=False, log=lambda s: None)
    assert result["refit"] is None and result["selected_state"] is None
    assert all("pass" not in r for r in result["history"])


def test_a_reused_selection_gives_the_same_model_as_the_full_run(dataset):
    full_model = _model(dataset)
    full = train(full_model, dataset, _cfg(refit=True), progress=False, log=lambda s: None)
    resumed_model = _model(dataset)
    selection = {"best_epoch": full["best_epoch"], "best_val_balanced_acc": full["best_val_balanced_acc"],
                 "state": full["selected_state"]}
    resumed = train(resumed_model, dataset, _cfg(refit=True), progress=False, log=lambda s: None, selection=selection)
    assert resumed["best_epoch"] == full["best_epoch"]
    for k, v in full_model.state_dict().items():
        torch.testing.assert_close(resumed_model.state_dict()[k], v, rtol=0, atol=0, msg=k)


def test_after_a_refit_the_novelty_threshold_is_calibrated_through_the_selected_network(tmp_path):
    from drsn_edge.models.checkpoint import load_checkpoint
    from drsn_edge.training.pipeline import train_checkpoint

    spec = DataSpec("sim", {"duration": 2.0, "recordings_per_class": 3})
    _, md = train_checkpoint(spec, "drsn-cw", "paper", _cfg(refit=True), tmp_path / "m.safetensors", progress=False,
                             log=lambda s: None)
    assert "before its refit" in md.novelty["calibrated_on"] and "noise draws" in md.novelty["calibrated_on"]
    assert np.isfinite(md.novelty["threshold"]) and md.novelty["threshold"] > 0
    assert md.training["refit"]["epochs"] == md.training["best_epoch"]
    assert "selected_state" not in md.training
    assert load_checkpoint(tmp_path / "m.safetensors")[1].novelty == md.novelty


def test_adapting_a_refitted_model_carries_the_source_novelty_threshold_over(tmp_path):
    """The refit trained on the validation recordings, so ``adapt`` cannot calibrate the adapted model's threshold on
    them (it came out low: more known windows called unknown than stated); it carries the source's over instead."""
    import copy

    from drsn_edge.models.checkpoint import load_checkpoint
    from drsn_edge.training.adapt import adapt_checkpoint
    from drsn_edge.training.heads import fit_heads
    from drsn_edge.training.pipeline import train_checkpoint

    spec = DataSpec("sim", {"duration": 2.0, "recordings_per_class": 3})
    src = tmp_path / "m.safetensors"
    _, md = train_checkpoint(spec, "drsn-cw", "paper", _cfg(refit=True), src, progress=False, log=lambda s: None)
    adapt_checkpoint(str(src), spec, str(tmp_path / "a.safetensors"), method="adabn", log=lambda s: None, force=True)
    adapted = load_checkpoint(tmp_path / "a.safetensors")[1].novelty
    assert "carried over" in adapted["calibrated_on"] and "validation windows x" not in adapted["calibrated_on"]
    assert np.isfinite(adapted["threshold"]) and adapted["threshold"] > 0
    # a network that did not change keeps the source's threshold (up to the sample its head is refitted on)
    net, _ = load_checkpoint(src)
    same = copy.deepcopy(net)
    fitted = fit_heads(same, load_dataset(spec), _cfg(refit=True), source=(net, md.novelty["threshold"]))
    assert fitted["novelty"]["threshold"] == pytest.approx(md.novelty["threshold"], rel=0.1)


@pytest.mark.parametrize("tolerance", [0.0, 0.5, 1.0])
def test_the_chosen_epoch_is_the_latest_within_the_tolerance_of_the_best(dataset, tolerance):
    cfg = _cfg(refit=False)
    cfg.epochs, cfg.selection_tolerance = 4, tolerance
    result = train(_model(dataset), dataset, cfg, progress=False, log=lambda s: None)
    scores = [r["val_balanced_acc"] for r in result["history"]]
    expected = max(e for e, s in enumerate(scores, 1) if s >= max(scores) - tolerance)
    assert result["best_epoch"] == expected
    assert result["best_val_balanced_acc"] == scores[expected - 1]
    if tolerance == 1.0:
        assert result["best_epoch"] == 4  # every score is within 1.0 of the best: the last epoch
