"""The zoo: pretrained models shipped with the package, each current (novelty and noise heads), with a card whose
figures come from benchmarks/results/zoo.json, and named wherever a checkpoint is taken."""

import json
from pathlib import Path

import numpy as np
import pytest

from drsn_edge.data.recording import cut_windows
from drsn_edge.evaluation.model_files import open_any_model
from drsn_edge.modelfile import read_description
from drsn_edge.zoo import MODELS, resolve_model
from tests.cli_helpers import assert_one_line_error, run_cli

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "zoo.json"


@pytest.mark.parametrize("name", list(MODELS))
def test_every_zoo_model_is_current_and_its_card_quotes_the_results_file(name):
    m = MODELS[name]
    md = read_description(m.path)
    assert md.novelty["threshold"] > 0 and md.noise["output"] == "noise_level"
    assert {"novelty", "noise_level"} <= set(md.extra_outputs)
    card = m.card.read_text()
    res = json.loads(RESULTS.read_text())["models"][name]
    assert res["file"]["classes"] == md.class_names
    for fold in res["held_out"]:
        assert f"| {' + '.join(fold['groups'])} | {100 * fold['balanced_accuracy']:.1f} % |" in card
    assert f"{100 * res['tone_unknown_share']:.1f} % of its windows called unknown" in card


@pytest.mark.parametrize("name", list(MODELS))
def test_zoo_models_call_a_1khz_tone_unknown(name):
    """sim-paper's novelty head once scored its pooled features alone and called 0 % of the tone unknown; with the
    log threshold ratios it flags it (benchmarks/results/zoo.md)."""
    be, md = open_any_model(MODELS[name].path, threads=1)
    be.activate()
    try:
        t = np.arange(int(md.sample_rate * 6)) / md.sample_rate
        x = 0.3 * np.sin(2 * np.pi * 1000 * t) + 0.003 * np.random.default_rng(1).standard_normal(len(t))
        _, extra = be.infer_all(cut_windows(x[None].astype(np.float32), 0, len(t), md.window, md.window // 2))
        assert np.mean(extra["novelty"] > md.novelty["threshold"]) > 0.8
    finally:
        be.close()


def test_models_lists_the_zoo_and_shows_a_card(capsys):
    code, out, _ = run_cli(capsys, ["models"])
    assert code == 0 and all(line.split()[0] in MODELS for line in out.splitlines()) and len(out.splitlines()) == len(MODELS)
    assert "novelty, noise" in out
    code, out, _ = run_cli(capsys, ["models", "cwru-wide"])
    assert code == 0 and out.startswith("# cwru-wide") and str(MODELS["cwru-wide"].path) in out


def test_a_name_not_in_the_zoo_is_one_line_with_the_list(capsys, tmp_path):
    assert_one_line_error(capsys, ["models", "resnet-big"], "the zoo has: cwru-wide, sim-paper")
    assert_one_line_error(capsys, ["train", "--data", "sim", "--init", "cwru-wid", "--out", str(tmp_path / "x.st")],
                          "did you mean cwru-wide?")
    assert not (tmp_path / "x.st").exists()


def test_a_zoo_name_stands_for_its_file_and_a_path_stays_a_path(tmp_path):
    assert resolve_model("sim-paper") == MODELS["sim-paper"].path
    assert resolve_model(str(tmp_path / "mine.safetensors")) == tmp_path / "mine.safetensors"  # missing: caller says so
    (tmp_path / "cwru-wide").write_text("x")
    assert resolve_model(str(tmp_path / "cwru-wide")) == tmp_path / "cwru-wide"
