"""``train --init``: a model that starts from a trained one (its weights, rate and window), a new classifier where
the classes differ, frozen layers that stay as they were, heads fitted again, and where it started recorded."""

import numpy as np
import pytest
import torch

from drsn_edge.cli.main import main
from drsn_edge.modelfile.checkpoint import read_checkpoint_file
from drsn_edge.modelfile.hashing import sha256_file
from drsn_edge.models.checkpoint import load_checkpoint
from tests.cli_helpers import assert_one_line_error

FAST = ["--sim-duration", "3", "--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "16", "--quiet"]


def test_other_classes_get_a_new_head_and_the_rest_starts_from_the_model(sim_checkpoint, tmp_path):
    out = tmp_path / "ft.safetensors"
    assert main(["train", "--data", "sim", "--labels", "10", "--init", str(sim_checkpoint), "--out", str(out), *FAST]) == 0
    md = read_checkpoint_file(out).md
    init_md = read_checkpoint_file(sim_checkpoint).md
    started = md.training["init"]
    assert started["head"] == "new" and started["sha256"] == sha256_file(sim_checkpoint)
    assert started["classes"] == init_md.class_names and len(md.class_names) == 10
    assert md.model["arch"] == init_md.model["arch"] and md.window == init_md.window
    assert md.sample_rate == init_md.sample_rate and md.training["backbone_lr_scale"] == 0.1
    assert md.novelty["threshold"] > 0 and md.extra_outputs == init_md.extra_outputs  # heads fitted on the new data


def test_a_frozen_backbone_stays_as_it_was(sim_checkpoint, tmp_path):
    out = tmp_path / "ft.safetensors"
    assert main(["train", "--data", "sim", "--init", str(sim_checkpoint), "--freeze", "backbone", "--no-refit",
                 "--out", str(out), *FAST]) == 0
    before, _ = load_checkpoint(sim_checkpoint)
    after, md = load_checkpoint(out)
    assert md.training["init"]["head"] == "kept" and md.training["init"]["freeze"] == "backbone"
    a, b = before.state_dict(), after.state_dict()
    weights = [k for k in a if k.endswith("weight") and k.startswith(("stem.", "units."))]
    assert weights and all(torch.equal(a[k], b[k]) for k in weights)
    assert not torch.equal(a["fc.weight"], b["fc.weight"])


def test_freezing_the_stem_trains_the_rest(sim_checkpoint, tmp_path):
    out = tmp_path / "ft.safetensors"
    assert main(["train", "--data", "sim", "--init", str(sim_checkpoint), "--freeze", "stem", "--no-refit",
                 "--out", str(out), *FAST]) == 0
    a, b = load_checkpoint(sim_checkpoint)[0].state_dict(), load_checkpoint(out)[0].state_dict()
    assert torch.equal(a["stem.weight"], b["stem.weight"])
    changed = [k for k in a if k.startswith("units.") and k.endswith("weight") and not torch.equal(a[k], b[k])]
    assert changed


@pytest.mark.parametrize("extra,needle", [
    (["--model", "resnet"], "--init takes the architecture, preset and window"),
    (["--window", "1024"], "--init takes the architecture, preset and window"),
    (["--cv", "group"], "--init and --cv together are not supported"),
    (["--backbone-lr-scale", "0"], "--backbone-lr-scale must be above 0"),
])
def test_what_cannot_work_with_init_is_one_line(sim_checkpoint, tmp_path, capsys, extra, needle):
    assert_one_line_error(capsys, ["train", "--data", "sim", "--init", str(sim_checkpoint), "--out",
                                   str(tmp_path / "x.safetensors"), *extra, *FAST], needle)
    assert not (tmp_path / "x.safetensors").exists()


def test_freeze_without_init_and_a_missing_init_are_one_line(sim_checkpoint, tmp_path, capsys):
    assert_one_line_error(capsys, ["train", "--data", "sim", "--freeze", "stem", "--out", str(tmp_path / "x.st"), *FAST],
                          "--freeze needs --init")
    assert_one_line_error(capsys, ["train", "--data", "sim", "--init", str(tmp_path / "none.safetensors"), "--out",
                                   str(tmp_path / "x.st"), *FAST], "no such file")


def test_another_channel_count_is_one_line(sim_checkpoint, tmp_path, capsys):
    d = tmp_path / "two"
    for label in ("normal", "ball"):
        for i in range(2):
            (d / label).mkdir(parents=True, exist_ok=True)
            np.save(d / label / f"r{i}.npy", np.random.default_rng(i).normal(size=(2, 12000 * 3)).astype(np.float32))
    assert_one_line_error(capsys, ["train", "--data", str(d), "--fs", "12000", "--init", str(sim_checkpoint), "--out",
                                   str(tmp_path / "x.st"), "--epochs", "1", "--steps-per-epoch", "2", "--quiet"],
                          "the data has 2 channel(s) per recording, the initial model takes 1")


def test_an_onnx_model_is_not_a_start(stream_model, tmp_path, capsys):
    _, onnx_path = stream_model
    assert_one_line_error(capsys, ["train", "--data", "sim", "--init", str(onnx_path), "--out", str(tmp_path / "x.st"),
                                   *FAST], "starts from the training checkpoint (.safetensors) it was exported from")


def test_fine_tuning_runs_its_own_number_of_epochs_unless_told(sim_checkpoint, tmp_path):
    from drsn_edge.training.config import FINETUNE_EPOCHS, FINETUNE_SELECTION_TOLERANCE, TrainConfig

    short = ["--data", "sim", "--sim-duration", "3", "--steps-per-epoch", "1", "--batch-size", "8", "--quiet", "--no-refit"]
    assert main(["train", *short, "--init", str(sim_checkpoint), "--out", str(tmp_path / "a.st")]) == 0
    training = read_checkpoint_file(tmp_path / "a.st").md.training
    assert training["epochs"] == FINETUNE_EPOCHS < TrainConfig().epochs
    # the epoch: the latest within a point of the best on validation, where a new model takes the best
    assert training["selection_tolerance"] == FINETUNE_SELECTION_TOLERANCE > TrainConfig().selection_tolerance == 0
    assert main(["train", *short, "--init", str(sim_checkpoint), "--epochs", "2", "--out", str(tmp_path / "b.st")]) == 0
    assert read_checkpoint_file(tmp_path / "b.st").md.training["epochs"] == 2


def test_last_epoch_keeps_the_last_epoch_whatever_validation_says(sim_checkpoint, tmp_path, capsys):
    from drsn_edge.training.config import LAST_EPOCH_TOLERANCE

    short = ["--data", "sim", "--sim-duration", "3", "--steps-per-epoch", "1", "--batch-size", "8", "--quiet", "--no-refit"]
    assert main(["train", *short, "--init", str(sim_checkpoint), "--epochs", "3", "--last-epoch",
                 "--out", str(tmp_path / "a.st")]) == 0
    assert "the epoch: the last" in capsys.readouterr().out  # not "the latest within 100 points of the best"
    training = read_checkpoint_file(tmp_path / "a.st").md.training
    assert training["selection_tolerance"] == LAST_EPOCH_TOLERANCE and training["best_epoch"] == 3
    assert_one_line_error(capsys, ["train", *short, "--last-epoch", "--patience", "2", "--out", str(tmp_path / "b.st")],
                          "--patience stops at the best epoch on validation and --last-epoch keeps the last; give one")


def test_a_model_from_before_the_ratios_joined_the_novelty_score_gets_todays_novelty_head(tmp_path):
    """cwru-wide's novelty head scores its pooled features only (written before ``novelty_input``); the heads are
    fitted again when fine-tuning, so the new model scores the features and the log threshold ratios."""
    from drsn_edge.zoo import MODELS

    assert read_checkpoint_file(MODELS["cwru-wide"].path).md.model.get("novelty_input") is None
    out = tmp_path / "ft.safetensors"
    assert main(["train", "--data", "sim", "--init", "cwru-wide", "--no-refit", "--out", str(out), *FAST]) == 0
    model, md = load_checkpoint(out)
    assert md.model["novelty_input"] == "features+ratios" and "log shrinkage ratios" in md.novelty["score"]
    assert model.novelty.means.shape[1] == 64 + 2 * (16 + 32 + 64)
